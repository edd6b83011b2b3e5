"""Medium draws (30-120 nodes): fa2 vs milp only, with a time limit; the decisions checked
by ref.Ctx (no brute force). python medium.py SEED COUNT [TL_FA2] [TL_MILP] [hard] [tight]"""
from __future__ import annotations

import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from gen import draw  # noqa: E402
from ref import Ctx, REL  # noqa: E402
from fuzz import solve, OUT, WORK  # noqa: E402


def main():
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    tl = sys.argv[3] if len(sys.argv) > 3 else "20"
    tls = {"fa2": tl, "milp": sys.argv[4] if len(sys.argv) > 4 else tl}
    hard = "hard" in sys.argv[5:]
    tight = "tight" in sys.argv[5:]  # SLAs at the last ulp of a random choice's latency
    rng = random.Random(seed)
    d = f"{WORK}/med{seed}"
    os.makedirs(d, exist_ok=True)
    os.makedirs(OUT, exist_ok=True)
    st = {"n": 0, "both_opt": 0, "infeasible": 0, "tl_fa2": 0, "tl_milp": 0, "fail": 0}
    t0 = time.time()
    batch = 10
    for b0 in range(0, count, batch):
        insts, paths = [], []
        for i in range(b0, min(count, b0 + batch)):
            inst = draw(rng, n_lo=30, n_hi=120, max_comb=10 ** 300, ext_p=0.3, medium=True, hard=hard,
                        tight=tight)
            p = f"{d}/m{i}.json"
            with open(p, "w") as fh:
                json.dump(inst, fh)
            insts.append(inst)
            paths.append(p)
        res = {}
        for m in ("fa2", "milp"):
            r, err = solve(paths, m, ["--time-limit", tls[m]])
            if r is None:
                print("CLI failure", m, err, flush=True)
                continue
            res[m] = r
        if len(res) < 2:
            continue
        for j, (inst, p) in enumerate(zip(insts, paths)):
            st["n"] += 1
            ctx = Ctx(inst)
            a, b = res["fa2"][j], res["milp"][j]
            probs = []
            sa, sb = a["status"], b["status"]
            st["tl_fa2"] += sa == "time_limit"
            st["tl_milp"] += sb == "time_limit"
            for ans in (a, b):
                if ans["status"] not in ("optimal", "infeasible", "time_limit"):
                    probs.append(f"{ans['method']} status {ans['status']} {ans.get('message', '')[:200]}")
                if ans.get("nodes"):
                    probs += [f"{ans['method']} {x}" for x in ctx.decision_problems(ans)]
                if ans["status"] == "time_limit" and "lower_bound" not in ans:
                    probs.append(f"{ans['method']} time_limit without lower_bound key")
            if sa == "optimal" and sb == "optimal":
                st["both_opt"] += 1
                va, vb = a.get("objective", a["cost"]), b.get("objective", b["cost"])
                if abs(va - vb) > REL * max(1, abs(vb)):
                    probs.append(f"objective fa2 {va!r} milp {vb!r}")
            if "infeasible" in (sa, sb):
                st["infeasible"] += 1
                if {sa, sb} - {"infeasible", "time_limit"}:
                    probs.append(f"status fa2 {sa} milp {sb}")
            for x, y in ((a, b), (b, a)):  # a time_limit bound vs the other's proven optimum
                if x["status"] == "time_limit" and y["status"] == "optimal":
                    lb = x.get("lower_bound")
                    vy = y.get("objective", y["cost"])
                    if lb is not None and lb > vy + REL * max(1, abs(vy)):
                        probs.append(f"{x['method']} time_limit lb {lb} > optimum {vy}")
                if x["status"] == "time_limit" and y["status"] == "infeasible" and x.get("nodes"):
                    probs.append(f"{x['method']} incumbent on proven infeasible")
            if probs:
                st["fail"] += 1
                name = f"{OUT}/med_{seed}_{os.path.basename(p)}"
                with open(name, "w") as fh:
                    json.dump(inst, fh)
                print(name, probs[:4], a.get("solve_ms"), b.get("solve_ms"), flush=True)
        print(b0 + batch, st, f"{time.time() - t0:.0f}s", flush=True)
    print(seed, st, f"{time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
