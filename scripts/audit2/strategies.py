"""In-process audit of the coupling searches at wide magnitudes, against ref.py's brute force.

gen.py's ``wide`` draws (each node's units and latencies scaled by its own power of ten,
10^-10..10^10), decided by ``fa2opt.solve(inst, "fa2")`` in this process so the search's
dispatch can be forced (what the CLI-driven fuzz.py cannot do):

    python scripts/audit2/strategies.py SEED COUNT small  # 4-10 nodes; each search forced in turn
    python scripts/audit2/strategies.py SEED COUNT flow   # 10-18 nodes (<= 7 with 2-3 rows),
                                                          # default dispatch; counts flow-bound searches
    python scripts/audit2/strategies.py SEED COUNT compiled  # 4-10 nodes, the compiled component
                                                             # DP loaded (fa2opt.tree_kernel); counts
                                                             # the answers it gave

Failing instances are written to $AUDIT2_OUT (default /tmp/audit2) as JSON.
"""
from __future__ import annotations

import importlib
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(__file__))
from gen import draw  # noqa: E402
from ref import Ctx  # noqa: E402
from fuzz import keep_failure  # noqa: E402

WT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, WT)
import fa2opt  # noqa: E402
from fa2opt.io import instance_from_dict  # noqa: E402

OUT = os.environ.get("AUDIT2_OUT", "/tmp/audit2")
S = importlib.import_module("fa2opt.reductions.search")
FB = importlib.import_module("fa2opt.reductions.flow_bound")
MODES = {"flow": dict(FIXING_MAX_SPACE=0, FLOW_MIN_COUPLING=1),
         "lagrange": dict(FIXING_MAX_SPACE=0, FLOW_MIN_COUPLING=10**9, LAGRANGE_MIN_SPACE=0),
         "equal": dict(FIXING_MAX_SPACE=0, FLOW_MIN_COUPLING=10**9, LAGRANGE_MIN_SPACE=10**18),
         "fixing": dict(FIXING_MAX_SPACE=10**9, FIXING_MIN_SPACE=1, FLOW_MIN_COUPLING=10**9)}
DEFAULT = {k: getattr(S, k) for m in MODES.values() for k in m}


def main() -> int:
    seed, count, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rng = random.Random(seed)
    calls = {"flow bound": 0}
    lp_search = FB.lp_search

    def counted(*a, **k):  # (search imports lp_search at call time: this one is found)
        calls["flow bound"] += 1
        return lp_search(*a, **k)

    FB.lp_search = counted
    if kind == "compiled":  # loaded as the comparison harness does (else Python paths)
        from fa2opt import cpu_kernels
        cpu_kernels.warm_up()
        calls["compiled"] = 0
    modes = MODES if kind == "small" else {kind: {}} if kind == "compiled" else {"default": {}}
    stats = {"n": 0, "feasible": 0, "fail": 0}
    os.makedirs(OUT, exist_ok=True)
    for i in range(count):
        if kind in ("small", "compiled"):
            doc = draw(rng, n_lo=4, n_hi=10, max_comb=4000, ext_p=0.0, wide=True)
        else:
            doc = draw(rng, n_lo=10, n_hi=18, max_comb=10**9, ext_p=0.0, multi=7, medium=True,
                       wide=True)
        try:
            inst = instance_from_dict(doc)
        except Exception:  # an input error (fuzz.py checks those): not this audit's subject
            continue
        ctx = Ctx(doc)
        if ctx.ncomb() > 4000:
            continue
        best, _ = ctx.brute()
        stats["n"] += 1
        stats["feasible"] += best is not None
        for mode, setting in modes.items():
            for k, v in {**DEFAULT, **setting}.items():
                setattr(S, k, v)
            ans = fa2opt.solve(inst, "fa2")
            if "compiled" in calls:
                calls["compiled"] += bool(ans.extra.get("compiled"))
            keep_failure(stats, ctx.check_answer(json.loads(ans.dumps()), best), mode,
                         f"{OUT}/strategies_{kind}_{seed}_{i}_{mode}.json", doc, shown=2)
    print(seed, kind, {**stats, **calls})
    return 1 if stats["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
