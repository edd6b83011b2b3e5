"""Own instance generator straight from the spec's file format (no fa2opt imports)."""
from __future__ import annotations

import math

from ref import Ctx, flows_of, derive

HW = ["cpu", "gpu", "tpu", "npu"]
RATES = [10, 40, 100, 125, 250, 0.5, 1 / 3, 7.3, 1000, 64, 3]


def nice(rng, lo, hi):
    return rng.choice([round(rng.uniform(lo, hi), rng.choice([0, 1, 3])), rng.uniform(lo, hi)])


def dag(rng, n, shape):
    """Edges over a hidden order (file order is shuffled separately)."""
    E = set()
    if shape == "chain":
        E = {(i, i + 1) for i in range(n - 1)}
    elif shape == "fan" and n >= 3:
        for i in range(1, n - 1):
            E.add((0, i)); E.add((i, n - 1))
        # a long path among the branches sometimes
        if n >= 5 and rng.random() < 0.5:
            E.add((1, 2)); E.add((2, 3))
    elif shape == "manysrc":
        k = max(1, n // 2)
        for j in range(k, n):
            for i in rng.sample(range(k), rng.randint(1, k)):
                E.add((i, j))
    elif shape == "empty":
        pass
    elif shape == "bip":
        a = n // 2
        for i in range(a):
            for j in range(a, n):
                if rng.random() < 0.6:
                    E.add((i, j))
    else:
        p = rng.choice([0.2, 0.4, 0.7])
        for i in range(n):
            for j in range(i + 1, n):
                if rng.random() < p:
                    E.add((i, j))
    return sorted(E)


def draw_flows(rng, names, edges):
    n = len(names)
    F = rng.choice([1, 1, 2, 2, 3, 4, 8, 12])
    sets = []
    for k in range(F):
        mode = rng.choice(["all", "rand", "single", "sub", "rand", "succ"])
        if mode == "all":
            s = list(names)
        elif mode == "single":
            s = [rng.choice(names)]
        elif mode == "sub" and sets:
            base = rng.choice(sets)
            s = rng.sample(base, rng.randint(1, len(base)))
        elif mode == "succ":  # a node and its descendants
            v = rng.choice(names)
            s = [v]
            for _ in range(n):
                for a, b, *_ in edges:
                    if a in s and b not in s:
                        s.append(b)
        else:
            s = rng.sample(names, rng.randint(1, n))
        sets.append(s)
    covered = set().union(*map(set, sets))
    for v in names:
        if v not in covered:
            if rng.random() < 0.5:
                sets.append([v])
            else:
                rng.choice(sets).append(v)
    for s in sets:
        rng.shuffle(s)
    return sets


def draw(rng, n_lo=1, n_hi=7, max_comb=3000, ext_p=0.35, medium=False, hard=False, multi=None,
         tight=False, wide=False):
    """``wide``: each node's drawn units and latencies scaled by its own powers of ten
    (10^-10..10^10): costs and latencies of one instance twenty decades apart."""
    n = rng.randint(n_lo, n_hi)
    shape = rng.choice(["chain", "fan", "manysrc", "empty", "bip", "rand", "rand"])
    names = [f"v{i}" for i in range(n)]
    hidden = dag(rng, n, shape)
    edges = []
    dmode = rng.choice(["zero", "some", "all", "tiny"])
    for i, j in hidden:
        e = [names[i], names[j]]
        if dmode == "some" and rng.random() < 0.4:
            e.append(rng.choice([0.5, 3, 1.25, 0.1, 7]))
        elif dmode == "all":
            e.append(nice(rng, 0, 10))
        elif dmode == "tiny" and rng.random() < 0.5:
            e.append(rng.choice([1e-7, 1e-6, 5e-7, 2e-6]))
        edges.append(e)
    rng.shuffle(edges)
    fsets = draw_flows(rng, names, edges)
    implicit = len(fsets) == 1 and set(fsets[0]) == set(names) and rng.random() < 0.6
    inst = {"name": "a2"}
    qm = rng.choice(["none", "batch-fill", "worst-case", None])
    if qm:
        inst["queueing"] = qm
    rho = rng.choice([None, 1.0, 0.8, 0.5, 0.75, 0.3])
    if rho is not None:
        inst["max_utilization"] = rho
    rho = rho or 1.0
    hws = rng.sample(HW, rng.randint(1, 3))
    prices = {}
    for h in hws:
        r = rng.random()
        if r < 0.3:
            continue  # missing -> 1.0
        prices[h] = rng.choice([1.0, 0.0, 2.5, 0.3, 4.0]) if r < 0.9 else 0.0
    inst["prices"] = prices
    if implicit:
        inst["rate_rps"] = rng.choice(RATES)
        inst["sla_ms"] = 1.0
    else:
        inst["flows"] = [{"name": f"f{k}", "rate_rps": rng.choice(RATES), "sla_ms": 1.0,
                          "nodes": s} for k, s in enumerate(fsets)]
    # node rows (need λ_v for boundary rows)
    fl = flows_of({**inst, "nodes": [{"name": v} for v in names]})
    tie = rng.random() < 0.3
    bound = rng.random() < 0.35
    nodes = []
    budget = max_comb
    multi_set = set(rng.sample(names, min(n, multi))) if multi else None
    for idx, v in enumerate(names):
        m = rng.choice([1.0, 1.0, 2.3, 0.5, 3.0, 1.5])
        lam = m * sum(r for (_, r, _, mem) in fl if v in mem)
        left = n - idx
        kmax = max(1, min(10 if hard else 5, int(budget ** (1.0 / left))))
        k = rng.randint(1, kmax)
        if multi_set is not None:
            k = rng.randint(2, 3) if v in multi_set else 1
        budget = max(1, budget // k)
        su, sp = (10.0 ** rng.randint(-10, 10), 10.0 ** rng.randint(-10, 10)) if wide else (1, 1)
        rows, ids = [], set()
        for _ in range(k * 2):
            if len(rows) >= k:
                break
            b = rng.choice([1, 1, 2, 3, 4, 8, 16])
            h = rng.choice(hws)
            u = rng.choice([1, 1, 2, 4, 0.5, 1.5]) * su
            var = rng.choice([None, None, "x", "y"])
            if tie and rows and rng.random() < 0.6:
                o = rng.choice(rows)
                p = o["latency_ms"]
                po = prices.get(o["hardware"], 1.0)
                r2 = rng.random()
                if r2 < 0.35 and po > 0:
                    # same b, p (so same n, L) and same cost on another hardware kind
                    h2 = rng.choice([k for k in HW if k != o["hardware"]])
                    p2 = prices.get(h2, 1.0)
                    if p2 > 0:
                        b, h, u = o["batch"], h2, o["units"] * po / p2
                        if h2 not in hws:
                            hws.append(h2)
                elif r2 < 0.7:
                    b, h, u = o["batch"], o["hardware"], o["units"]
                    var = rng.choice(["x", "y", "z", None])
            elif bound:
                kk = rng.randint(1, 4)
                p = 1000.0 * b * rho * kk / lam
                r = rng.random()
                if r < 0.3:
                    p = math.nextafter(p, math.inf)
                elif r < 0.6:
                    p = math.nextafter(p, 0)
            else:
                p = nice(rng, 1, 120) * sp
            if p <= 0 or p > 1e15 or p < 1e-15:
                continue
            row = {"batch": b, "hardware": h, "units": u, "latency_ms": p}
            if var is not None:
                row["variant"] = var
            idt = (b, h, float(u), var)
            if idt in ids:
                continue
            ids.add(idt)
            rows.append(row)
        nd = {"name": v, "configs": rows}
        if m != 1.0 or rng.random() < 0.2:
            nd["multiplier"] = m
        if rng.random() < 0.2 and rows:
            tmp = derive({**inst, "nodes": [{"name": w, "configs": []} for w in names if w != v] + [nd]})[v]
            nd["max_replicas"] = max(1, rng.choice(tmp)["n"] - (0 if medium else rng.choice([0, 0, 0, 0, 1])))
        if rng.random() < 0.15 and rows:
            nd["max_batch"] = max(0, rng.choice(rows)["batch"] - (0 if medium else rng.choice([0, 0, 0, 0, 1])))
        nodes.append(nd)
    order = list(range(n))
    rng.shuffle(order)
    inst["nodes"] = [nodes[i] for i in order]
    inst["edges"] = edges
    # extensions
    exts = []
    if rng.random() < ext_p:
        exts = rng.sample(["capacity", "accuracy", "switch"], rng.randint(1, 3))
    ctx = Ctx(inst)
    rnd = {}
    for v in ctx.names:
        av = [i for i, r in enumerate(ctx.rows[v]) if r["avail"]] or list(range(len(ctx.rows[v])))
        rnd[v] = rng.choice(av)
    if "accuracy" in exts:
        scale = rng.choice([1.0, 100.0])
        for nd in inst["nodes"]:
            if rng.random() < 0.8:
                for r in nd["configs"]:
                    r["accuracy"] = round(rng.uniform(0.6, 1.0), rng.choice([2, 6])) * scale
        acc = {"aggregate": rng.choice(["product", "min"])}
        if scale != 1.0:
            acc["scale"] = scale
        if rng.random() < 0.5:
            acc["weight"] = rng.choice([0.5, 3.0, 100.0, 1e-3])
        ctx = Ctx({**inst, "accuracy": acc})
        floors = {}
        for (fname, _, _, mem), (ordr, _) in zip(ctx.fl, ctx.topos):
            if rng.random() < 0.7:
                a = [1.0 if ctx.rows[v][rnd[v]]["a"] is None else ctx.rows[v][rnd[v]]["a"] for v in ordr]
                if acc["aggregate"] == "product":
                    s = 0.0
                    for x in a:
                        s += math.log(x)
                    A = math.exp(s)
                else:
                    A = min(a)
                A = rng.choice([A, A, min(1.0, A * 1.0000001), A * 0.99, A - 1e-9, min(1.0, A + 1e-9)]
                               if not medium else [A, A * 0.99])
                if 0 < A <= 1:
                    floors[fname] = A
        acc["min"] = floors
        inst["accuracy"] = acc
    if "switch" in exts:
        cur = {}
        for nd in inst["nodes"]:
            if rng.random() < 0.6:
                r = rng.choice(nd["configs"])
                c = {"batch": r["batch"], "hardware": r["hardware"], "units": r["units"]}
                if "variant" in r:
                    c["variant"] = r["variant"]
                cur[nd["name"]] = c
        inst["current"] = cur
        if rng.random() < 0.5:
            inst["switch_cost"] = rng.choice([0.0, 1.0, 0.5, 25.0])
        else:
            inst["switch_cost"] = {v: rng.choice([0.0, 2.0, 0.25]) for v in cur if rng.random() < 0.7}
    ctx = Ctx(inst)
    if "capacity" in exts:
        use = {}
        for v in ctx.names:
            r = ctx.rows[v][rnd[v]]
            use[r["hw"]] = use.get(r["hw"], 0.0) + r["n"] * r["u"]
        cap = {}
        for h in hws:
            if rng.random() < 0.8:
                base = use.get(h, 0.0)
                cap[h] = rng.choice([base, base, base + 1e-10, max(0.0, base - 0.5), base * 3, 0.0]
                                    if not medium else [base, base * 1.1, base * 3])
        inst["capacity"] = cap
    # SLAs: at a random choice's latency and around it
    ctx = Ctx(inst)
    fast = {v: min((r["L"] for r in ctx.rows[v] if r["avail"]), default=ctx.rows[v][0]["L"]) for v in ctx.names}
    slow = {v: max(r["L"] for r in ctx.rows[v]) for v in ctx.names}
    targets = []
    from ref import longest
    for (fname, _, _, mem), (ordr, preds) in zip(ctx.fl, ctx.topos):
        mode = rng.choice(["edge", "edge", "edge", "edge", "between", "between", "loose", "below", "fast"])
        if medium:
            mode = rng.choice(["edge", "between", "between", "loose"] if not hard else ["edge", "between", "between"])
        if multi or tight:
            mode = rng.choice(["tight", "tight", "tight", "between", "loose"])
        Lr = {v: ctx.rows[v][rnd[v]]["L"] for v in ctx.names}
        x = longest(ordr, preds, Lr)
        if mode == "between":
            lo, hi = longest(ordr, preds, fast), longest(ordr, preds, slow)
            S = rng.uniform(lo, hi) if not hard else lo + rng.uniform(0.05, 0.4) * (hi - lo)
        elif mode == "loose":
            S = longest(ordr, preds, slow) * 2 + 1
        elif mode == "below":
            S = longest(ordr, preds, fast) * 0.999
        elif mode == "fast":
            S = longest(ordr, preds, fast)
            x = S
        if mode in ("edge", "fast"):
            t = rng.choice(["eq", "m1e6", "p1e6", "ulp"] if not medium else ["eq", "p1e6"])
            if t == "eq":
                S = x
            elif t == "m1e6":
                S = x - 1e-6
            elif t == "p1e6":
                S = x + 1e-6
            else:
                S = x - 1e-6
                for _ in range(rng.randint(1, 4)):
                    S = math.nextafter(S, rng.choice([0, math.inf]))
        if mode == "tight":  # the least S whose budget fl(S + 1e-6) admits x, or one ulp below
            S = x - 1e-6
            while S + 1e-6 < x:
                S = math.nextafter(S, math.inf)
            # (x within a few ulps of 1e-6 or below it -- the wide draws -- makes every small
            # S admit x: the ulp walk towards 0 would not end, so it is capped)
            for _ in range(10_000):
                if math.nextafter(S, 0) + 1e-6 < x:
                    break
                S = math.nextafter(S, 0)
            if rng.random() < 0.1:
                S = math.nextafter(S, 0)
        if not (S > 0) or not math.isfinite(S):
            S = x if x > 0 else 1.0
        targets.append(S)
    if "flows" in inst:
        for f, S in zip(inst["flows"], targets):
            f["sla_ms"] = S
    else:
        inst["sla_ms"] = targets[0]
    return inst
