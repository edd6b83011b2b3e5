"""Differential fuzz: own generator + own brute force vs `fa2opt solve` (fa2, milp).

The second audit's suite (scripts/audit2/): gen.py draws instances straight from the spec's
file format (shapes fa2opt.generate never makes: partly overlapping flows, single-node
flows, flows that are subgraphs of others, wide fans, many sources/sinks, exact-tie rows,
replica counts at their ceilings, SLAs at the last ulp of the budget, every queueing model
and extension); ref.py is an independent checker and brute force from the spec text alone
(no fa2opt imports). Each script runs the CLI of this checkout (PYTHONPATH = repo root) and
reports every disagreement; failing instances are kept in $AUDIT2_OUT/fail/.

    python scripts/audit2/fuzz.py SEED COUNT [BATCH] [big|wide]  # fa2 + milp vs brute force
    python scripts/audit2/mutate.py SEED GROUPS [PER]       # one structure, many variants per call
    python scripts/audit2/medium.py SEED COUNT TL_FA2 [TL_MILP] [hard]  # 30-120 nodes, fa2 vs milp
    python scripts/audit2/others.py SEED COUNT [big]        # every other method, tiny time limits
    python scripts/audit2/yamleq.py SEED COUNT; python scripts/audit2/csveq.py SEED COUNT
    python scripts/audit2/strategies.py SEED COUNT small|flow  # wide magnitudes, searches forced
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from gen import draw  # noqa: E402
from ref import Ctx  # noqa: E402

WT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # repo root
WORK = os.environ.get("AUDIT2_OUT", "/tmp/audit2")  # drawn instances; failures in WORK/fail
OUT = f"{WORK}/fail"


def keep_failure(stats, problems, label, path, inst, shown=3):
    """A check's problems, if any: counted in ``stats["fail"]``, the instance kept at
    ``path`` (JSON), the first ``shown`` problems printed (every audit script's report)."""
    if problems:
        stats["fail"] += 1
        with open(path, "w") as fh:
            json.dump(inst, fh)
        print(label, path, problems[:shown], flush=True)


def solve(paths, method, extra=()):
    env = dict(os.environ, PYTHONPATH=WT)
    p = subprocess.run([sys.executable, "-m", "fa2opt", "solve", *paths, "--json", "-m", method, *extra],
                       capture_output=True, text=True, env=env, cwd="/tmp")
    lines = [l for l in p.stdout.splitlines() if l.strip().startswith("{")]
    if len(lines) != len(paths):
        return None, p.stderr[-2000:]
    return [json.loads(l) for l in lines], p.stderr


def differing(paths_a, paths_b, method="fa2"):
    """Pairs of files that should give one answer (the same instance written two ways) whose
    answers differ in status, cost, objective or decision: [(path_a, key_a, key_b, message)]."""
    def key(x):
        return (x["status"], x.get("cost"), x.get("objective"),
                json.dumps(x.get("nodes"), sort_keys=True))
    (ra, _), (rb, _) = solve(paths_a, method), solve(paths_b, method)
    return [(a, key(x)[:3], key(y)[:3], y.get("message", "")[:200])
            for a, x, y in zip(paths_a, ra, rb) if key(x) != key(y)]


def main():
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    big = len(sys.argv) > 4 and sys.argv[4] == "big"  # 20-90 nodes, <= 7 of them with 2-3 rows
    wide = len(sys.argv) > 4 and sys.argv[4] == "wide"  # magnitudes 20 decades apart
    os.makedirs(OUT, exist_ok=True)
    d = f"{WORK}/run{seed}"
    os.makedirs(d, exist_ok=True)
    rng = random.Random(seed)
    stats = {"n": 0, "infeasible": 0, "fail": 0, "ext": 0, "exact_differs": 0, "base_runs": 0}
    t0 = time.time()
    for b0 in range(0, count, batch):
        insts, paths = [], []
        for i in range(b0, min(count, b0 + batch)):
            inst = (draw(rng, n_lo=20, n_hi=90, multi=7, medium=True) if big
                    else draw(rng, wide=wide))
            p = f"{d}/i{i}.json"
            with open(p, "w") as fh:
                json.dump(inst, fh)
            insts.append(inst)
            paths.append(p)
        res = {}
        for m in ("fa2", "milp"):
            r, err = solve(paths, m)
            if r is None:
                print("CLI failure", m, err)
                for p in paths:
                    os.system(f"cp {p} {OUT}/")
                continue
            res[m] = r
        base_res = None
        if any(k in inst for inst in insts for k in ("capacity", "accuracy", "current")):
            base_res, _ = solve(paths, "fa2", ["--formulation", "base"])
        for j, (inst, p) in enumerate(zip(insts, paths)):
            ctx = Ctx(inst)
            best, _ = ctx.brute()
            bex, _ = ctx.brute(exact=True)
            stats["n"] += 1
            stats["infeasible"] += best is None
            stats["ext"] += any(k in inst for k in ("capacity", "accuracy", "current"))
            if (best is None) != (bex is None) or (best is not None and abs(best - bex) > 1e-9 * max(1, abs(best))):
                stats["exact_differs"] += 1
                with open(f"{OUT}/exact_{os.path.basename(p)}", "w") as fh:
                    json.dump(inst, fh)
            for m, r in res.items():
                keep_failure(stats, ctx.check_answer(r[j], best), m,
                             f"{OUT}/{m}_{seed}_{os.path.basename(p)}", inst)
            if base_res is not None and any(k in inst for k in ("capacity", "accuracy", "current")):
                stats["base_runs"] += 1
                bb, _ = ctx.brute(ext=False)
                probs = ctx.check_answer(base_res[j], bb, ext=False)
                if probs:
                    stats["fail"] += 1
                    name = f"{OUT}/base_{seed}_{os.path.basename(p)}"
                    with open(name, "w") as fh:
                        json.dump(inst, fh)
                    print("base", name, probs[:3], flush=True)
    print(seed, stats, f"{time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
