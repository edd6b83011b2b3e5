"""Other methods (brute-force, heuristics) and tiny time limits on small draws: every
decision valid, every 'optimal'/'infeasible' claim right, every lower bound <= optimum.
python others.py SEED COUNT"""
from __future__ import annotations
import json, os, random, sys, time
sys.path.insert(0, os.path.dirname(__file__))
from gen import draw
from ref import Ctx, REL
from fuzz import solve, OUT, WORK

RUNS = [("brute-force", []), ("greedy", []), ("slack-split", []), ("nexus", []),
        ("fixed-batch", []), ("fa2-grid", []), ("fa2", ["--time-limit", "0.002"]),
        ("milp", ["--time-limit", "0.01"])]
EXT = ("capacity", "accuracy", "current", "switch_cost")


def main():
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(seed)
    d = f"{WORK}/oth{seed}"; os.makedirs(d, exist_ok=True); os.makedirs(OUT, exist_ok=True)
    st = {}
    t0 = time.time()
    for b0 in range(0, count, 50):
        big = len(sys.argv) > 3 and sys.argv[3] == "big"
        insts = [draw(rng, n_lo=20, n_hi=90, multi=7, medium=True) if big else draw(rng) for _ in range(min(50, count - b0))]
        paths = []
        for i, it in enumerate(insts):
            p = f"{d}/o{b0 + i}.json"; json.dump(it, open(p, "w")); paths.append(p)
        ctxs = [Ctx(it) for it in insts]
        bests = [c.brute()[0] for c in ctxs]
        for m, extra in RUNS:
            r, err = solve(paths, m, extra)
            if r is None:
                print("CLI failure", m, err[-500:], flush=True); continue
            for it, p, ans, ctx, best in zip(insts, paths, r, ctxs, bests):
                key = f"{m}{''.join(extra)}:{ans['status']}"
                st[key] = st.get(key, 0) + 1
                probs = []
                s = ans["status"]
                hasext = any(k in it for k in EXT)
                if s == "error":
                    if not hasext or not any(k in ans.get("message", "") for k in EXT):
                        probs.append(f"error {ans.get('message', '')[:200]}")
                elif s == "optimal":
                    probs += ctx.check_answer(ans, best)
                elif s == "infeasible":
                    if best is not None:
                        probs.append(f"infeasible but optimum {best}")
                elif ans.get("nodes"):
                    probs += [f"{s} {x}" for x in ctx.decision_problems(ans)]
                if s in ("feasible", "time_limit", "no_solution") and ans.get("lower_bound") is not None \
                        and best is not None and ans["lower_bound"] > best + REL * max(1, abs(best)):
                    probs.append(f"lower_bound {ans['lower_bound']} > optimum {best}")
                if s == "time_limit" and "lower_bound" not in ans:
                    probs.append("time_limit without lower_bound key")
                if probs:
                    name = f"{OUT}/oth_{m}_{seed}_{os.path.basename(p)}"
                    json.dump(it, open(name, "w"))
                    print(m, extra, name, probs[:3], flush=True)
    print(seed, dict(sorted(st.items())), f"{time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
