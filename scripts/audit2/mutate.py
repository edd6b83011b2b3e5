"""Same structure, many instances in ONE CLI call (plan / decomposition caches): a base draw
and mutations of it (edge latencies, flow membership/names/order, rates, SLAs, rows, queueing,
multipliers, extensions), each checked against the brute force.
python mutate.py SEED GROUPS [PER_GROUP]"""
from __future__ import annotations

import copy
import json
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from gen import draw  # noqa: E402
from ref import Ctx  # noqa: E402
from fuzz import keep_failure, solve, OUT, WORK  # noqa: E402


def mutate(rng, inst):
    x = copy.deepcopy(inst)
    kind = rng.choice(["dlat", "rates", "sla", "rows", "queue", "mult", "flowname", "floworder",
                       "nodeorder", "edgeorder", "ext", "dlat0", "rho"])
    if kind in ("dlat", "dlat0"):
        for e in x["edges"]:
            if kind == "dlat0":
                del e[2:]
            elif rng.random() < 0.5:
                e[2:] = [rng.choice([0.0, 1e-7, 2.5, 10.0, 40.0])]
    elif kind == "rates":
        if "flows" in x:
            for f in x["flows"]:
                f["rate_rps"] = f["rate_rps"] * rng.choice([0.5, 2, 3, 1.0000001])
        else:
            x["rate_rps"] *= rng.choice([0.5, 2, 3])
    elif kind == "sla":
        fs = x.get("flows") or [x]
        for f in fs:
            f["sla_ms"] = f["sla_ms"] * rng.choice([0.9, 1.1, 1.0, 2.0]) + rng.choice([0, 1e-6, -1e-6])
            if f["sla_ms"] <= 0:
                f["sla_ms"] = 1.0
    elif kind == "rows":
        for nd in x["nodes"]:
            for r in nd["configs"]:
                if rng.random() < 0.5:
                    r["latency_ms"] = r["latency_ms"] * rng.choice([0.5, 1.5, 1.0000000001])
    elif kind == "queue":
        x["queueing"] = rng.choice(["none", "batch-fill", "worst-case"])
    elif kind == "mult":
        for nd in x["nodes"]:
            if rng.random() < 0.5:
                nd["multiplier"] = rng.choice([0.5, 1.0, 4.0])
    elif kind == "flowname" and "flows" in x:
        ren = {f["name"]: f"g{k}_{rng.randint(0, 9)}" for k, f in enumerate(x["flows"])}
        for f in x["flows"]:
            f["name"] = ren[f["name"]]
        if x.get("accuracy", {}).get("min"):
            x["accuracy"]["min"] = {ren[k]: v for k, v in x["accuracy"]["min"].items()}
        # swap the floors between flows sometimes (same structure, different per-flow data)
        if x.get("accuracy", {}).get("min") and rng.random() < 0.5:
            ks = list(x["accuracy"]["min"])
            vs = list(x["accuracy"]["min"].values())
            rng.shuffle(vs)
            x["accuracy"]["min"] = dict(zip(ks, vs))
    elif kind == "floworder" and "flows" in x:
        rng.shuffle(x["flows"])
    elif kind == "nodeorder":
        rng.shuffle(x["nodes"])
    elif kind == "edgeorder":
        rng.shuffle(x["edges"])
    elif kind == "rho":
        x["max_utilization"] = rng.choice([1.0, 0.5, 0.9])
    elif kind == "ext":
        for k in ("capacity", "accuracy", "current", "switch_cost"):
            if k in x and rng.random() < 0.5:
                del x[k]
                if k == "accuracy":
                    for nd in x["nodes"]:
                        for r in nd["configs"]:
                            r.pop("accuracy", None)
        if "capacity" in x:
            x["capacity"] = {h: c * rng.choice([0.5, 1, 2]) for h, c in x["capacity"].items()}
        if "current" in x:
            x["switch_cost"] = rng.choice([0.0, 3.0, 100.0])
    return x


def main():
    seed, groups = int(sys.argv[1]), int(sys.argv[2])
    per = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    rng = random.Random(seed)
    d = f"{WORK}/mut{seed}"
    os.makedirs(d, exist_ok=True)
    os.makedirs(OUT, exist_ok=True)
    st = {"n": 0, "fail": 0, "infeasible": 0}
    t0 = time.time()
    for g in range(0, groups, 4):
        insts, paths = [], []
        for gg in range(g, min(groups, g + 4)):  # 4 groups per CLI call, interleaved
            base = draw(rng, n_lo=2, n_hi=7, max_comb=2000)
            items = [base] + [mutate(rng, base) for _ in range(per - 1)]
            for k, it in enumerate(items):
                if k > 0 and rng.random() < 0.3:
                    it = mutate(rng, it)
                insts.append(it)
        order = list(range(len(insts)))
        rng.shuffle(order)
        insts = [insts[i] for i in order]
        for i, it in enumerate(insts):
            p = f"{d}/g{g}_{i}.json"
            with open(p, "w") as fh:
                json.dump(it, fh)
            paths.append(p)
        for m in ("fa2", "milp"):
            r, err = solve(paths, m)
            if r is None:
                print("CLI failure", m, err, flush=True)
                continue
            for it, p, ans in zip(insts, paths, r):
                ctx = Ctx(it)
                best, _ = ctx.brute()
                if m == "fa2":
                    st["n"] += 1
                    st["infeasible"] += best is None
                keep_failure(st, ctx.check_answer(ans, best), m,
                             f"{OUT}/mut_{m}_{seed}_{os.path.basename(p)}", it)
    print(seed, st, f"{time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
