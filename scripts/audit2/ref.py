"""Independent reference for the spec (/work/shared/spec/problem.md): no fa2opt imports.

derive(inst)  -> per node list of row dicts (n, L, c, avail, ident, acc)
flows(inst)   -> list of (name, rate, sla, members)
evaluate(inst, choice) -> dict(feasible, cost, objective, flow_lat, problems)
brute(inst)   -> (status, best_objective, best_choice, n_optimal_ties)
check_answer(inst, ans, opt) -> list of problems
"""
from __future__ import annotations

import itertools
import math
from fractions import Fraction

SLA_TOL = 1e-6
REL = 1e-9


def flows_of(inst):
    if inst.get("flows"):
        return [(f["name"], float(f["rate_rps"]), float(f["sla_ms"]), list(f["nodes"]))
                for f in inst["flows"]]
    return [("main", float(inst["rate_rps"]), float(inst["sla_ms"]),
             [v["name"] for v in inst["nodes"]])]


def price(inst, h):
    return float(inst.get("prices", {}).get(h, 1.0))


def ident(r):
    return (int(r["batch"]), r["hardware"], float(r["units"]), r.get("variant"))


def derive(inst):
    fl = flows_of(inst)
    rho = float(inst.get("max_utilization", 1.0))
    qm = inst.get("queueing", "batch-fill")
    acc_scale = float(inst.get("accuracy", {}).get("scale", 1.0)) if inst.get("accuracy") else 1.0
    out = {}
    for v in inst["nodes"]:
        m = float(v.get("multiplier", 1.0))
        lam = 0.0  # the flows' rates left to right (Python's sum compensates from 3.12)
        for (_, r, _, mem) in fl:
            if v["name"] in mem:
                lam += r
        lam = m * lam
        rows = []
        for r in v["configs"]:
            b, p, u = int(r["batch"]), float(r["latency_ms"]), float(r["units"])
            mu = 1000.0 * b / p
            n = max(1, math.ceil(lam / (rho * mu) - 1e-9))
            avail = True
            if v.get("max_replicas") is not None and n > v["max_replicas"]:
                avail = False
            if v.get("max_batch") is not None and b > v["max_batch"]:
                avail = False
            q = {"none": 0.0, "batch-fill": 1000.0 * (b - 1) / lam, "worst-case": p}[qm]
            a = r.get("accuracy")
            rows.append(dict(ident=ident(r), n=n, p=p, L=p + q, c=n * u * price(inst, r["hardware"]),
                             avail=avail, hw=r["hardware"], u=u,
                             a=None if a is None else float(a) / acc_scale))
        out[v["name"]] = rows
    return out


def topo(members, edges):
    inside = set(members)
    preds = {v: [] for v in members}
    succ = {v: [] for v in members}
    for e in edges:
        if e[0] in inside and e[1] in inside:
            d = float(e[2]) if len(e) > 2 else 0.0
            preds[e[1]].append((e[0], d))
            succ[e[0]].append(e[1])
    indeg = {v: len(preds[v]) for v in members}
    order = [v for v in members if indeg[v] == 0]
    for v in order:
        for w in succ[v]:
            indeg[w] -= 1
            if indeg[w] == 0:
                order.append(w)
    return order, preds


def longest(order, preds, L, exact=False):
    fin = {}
    for v in order:
        s = Fraction(0) if exact else 0.0
        for u, d in preds[v]:
            x = fin[u] + (Fraction(d) if exact else d)
            if x > s:
                s = x
        fin[v] = s + (Fraction(L[v]) if exact else L[v])
    return max(fin.values())


class Ctx:
    def __init__(self, inst):
        self.inst = inst
        self.fl = flows_of(inst)
        self.rows = derive(inst)
        self.names = [v["name"] for v in inst["nodes"]]
        self.topos = [topo(mem, inst.get("edges", [])) for (_, _, _, mem) in self.fl]
        self.cap = inst.get("capacity")
        acc = inst.get("accuracy")
        self.acc = acc
        self.cur = inst.get("current") or {}
        self.sw = inst.get("switch_cost", 0.0)

    def sw_cost(self, v):
        if isinstance(self.sw, dict):
            return float(self.sw.get(v, 0.0))
        return float(self.sw or 0.0)

    def evaluate(self, choice, exact=False, ext=True):
        """choice: node -> row index. Returns (feasible, cost, objective, flow_lat, why)."""
        why = []
        L = {}
        cost = 0.0
        for v in self.names:
            r = self.rows[v][choice[v]]
            if not r["avail"]:
                why.append(f"{v} unavailable")
            L[v] = r["L"]
            cost += r["c"]
        flat = {}
        for (name, _, sla, mem), (order, preds) in zip(self.fl, self.topos):
            x = longest(order, preds, L, exact)
            flat[name] = float(x)
            if exact:
                if x > Fraction(sla) + Fraction(SLA_TOL):
                    why.append(f"flow {name} exact")
            elif not x <= sla + SLA_TOL:
                why.append(f"flow {name} {x!r} > {sla!r}+1e-6")
        obj = cost
        if ext and self.cap:
            use = {}
            for v in self.names:
                r = self.rows[v][choice[v]]
                if r["hw"] in self.cap:
                    use[r["hw"]] = use.get(r["hw"], 0.0) + r["n"] * r["u"]
            for h, C in self.cap.items():
                if use.get(h, 0.0) > float(C) + 1e-9:
                    why.append(f"capacity {h}")
        if ext and self.acc:
            agg = self.acc.get("aggregate", "product")
            a = {v: (1.0 if self.rows[v][choice[v]]["a"] is None else self.rows[v][choice[v]]["a"])
                 for v in self.names}
            for (name, _, _, mem), (order, _) in zip(self.fl, self.topos):
                A = self.acc.get("min", {}).get(name)
                if A is None:
                    continue
                if agg == "product":
                    s = 0.0
                    for v in order:
                        s += math.log(a[v])
                    if not s >= math.log(A) - 1e-9:
                        why.append(f"acc {name}")
                else:
                    if any(not a[v] >= A - 1e-9 for v in mem):
                        why.append(f"accmin {name}")
            w = float(self.acc.get("weight", 0.0))
            obj -= w * sum(a[v] for v in self.names)
        if ext and self.cur:
            for v, cr in self.cur.items():
                cid = (int(cr["batch"]), cr["hardware"], float(cr["units"]), cr.get("variant"))
                if self.rows[v][choice[v]]["ident"] != cid:
                    obj += self.sw_cost(v)
        return (not why), cost, obj, flat, why

    def ncomb(self):
        k = 1
        for v in self.names:
            k *= len(self.rows[v])
        return k

    def brute(self, ext=True, exact=False):
        best = None
        bestc = None
        for combo in itertools.product(*[range(len(self.rows[v])) for v in self.names]):
            ch = dict(zip(self.names, combo))
            ok, cost, obj, _, _ = self.evaluate(ch, exact=exact, ext=ext)
            if ok and (best is None or obj < best):
                best, bestc = obj, ch
        return best, bestc

    def check_answer(self, ans, best, ext=True):
        """Problems with `ans` (a parsed JSON answer) given the brute-force optimum `best`."""
        P = []
        st = ans.get("status")
        want = [n for n, keys in (("capacity", ("capacity",)), ("accuracy", ("accuracy",)),
                                  ("switch", ("current", "switch_cost"))) if any(k in self.inst for k in keys)] if ext else []
        if st != "error" and ans.get("formulation") != want:
            P.append(f"formulation {ans.get('formulation')} != {want}")
        if best is None:
            if st != "infeasible":
                P.append(f"expected infeasible, got {st}")
            if st == "infeasible" and (ans.get("nodes") or ans.get("cost") is not None):
                P.append("infeasible with decision")
            return P
        if st != "optimal":
            P.append(f"expected optimal ({best!r}), got {st} {ans.get('message', '')}")
            return P
        nodes = ans.get("nodes", {})
        if set(nodes) != set(self.names):
            P.append("node set differs")
            return P
        ch = {}
        for v in self.names:
            d = nodes[v]
            idt = (d["batch"], d["hardware"], float(d["units"]), d.get("variant"))
            idx = [i for i, r in enumerate(self.rows[v]) if r["ident"] == idt]
            if len(idx) != 1:
                P.append(f"{v}: row {idt} not found")
                return P
            r = self.rows[v][idx[0]]
            ch[v] = idx[0]
            if d["replicas"] != r["n"]:
                P.append(f"{v}: replicas {d['replicas']} != {r['n']}")
            for k, want in (("latency_ms", r["L"]), ("cost", r["c"]), ("profile_latency_ms", r["p"])):
                if abs(d[k] - want) > REL * max(1.0, abs(want)):
                    P.append(f"{v}: {k} {d[k]!r} != {want!r}")
        Q, cost, obj, flat = self._judged(ans, ch, ext)
        P += Q
        if ans.get("cost") is None or abs(ans["cost"] - cost) > REL * max(1.0, abs(cost)):
            P.append(f"cost {ans.get('cost')!r} != recomputed {cost!r}")
        for name, x in flat.items():
            got = ans.get("flow_latency_ms", {}).get(name)
            if got is None or abs(got - x) > REL * max(1.0, abs(x)):
                P.append(f"flow_latency {name} {got!r} != {x!r}")
        if set(ans.get("flow_latency_ms", {})) != set(flat):
            P.append("flow_latency keys differ")
        if "objective" not in ans and abs(obj - cost) > REL * max(1.0, abs(obj)):
            P.append(f"objective missing but objective {obj!r} != cost {cost!r}")
        if abs(obj - best) > REL * max(1.0, abs(best)):
            P.append(f"objective {obj!r} != brute optimum {best!r}")
        return P

    def choice_of(self, ans):
        """An answer's decision as node -> row index (rows found by their identity)."""
        ch = {}
        for v in self.names:
            d = ans["nodes"][v]
            idt = (d["batch"], d["hardware"], float(d["units"]), d.get("variant"))
            ch[v] = [r["ident"] for r in self.rows[v]].index(idt)
        return ch

    def decision_problems(self, ans):
        """Problems with an answer's decision judged without an optimum: it is valid, its
        reported objective is the recomputed one and its lower bound lies below it."""
        return self._judged(ans, self.choice_of(ans))[0]

    def _judged(self, ans, ch, ext=True):
        """(problems, cost, objective, flow latencies) of the decision ``ch`` (node -> row
        index) an answer reports: valid, its reported objective the recomputed one, its lower
        bound below it -- what :meth:`check_answer` and :meth:`decision_problems` share."""
        ok, cost, obj, flat, why = self.evaluate(ch, ext=ext)
        P = [] if ok else ["decision infeasible: " + "; ".join(why[:3])]
        rep = ans.get("objective", ans.get("cost"))
        if rep is None or abs(rep - obj) > REL * max(1.0, abs(obj)):
            P.append(f"reported objective {rep!r} != recomputed {obj!r}")
        lb = ans.get("lower_bound")
        if lb is not None and lb > obj + REL * max(1.0, abs(obj)):
            P.append(f"lower_bound {lb!r} > objective {obj!r}")
        return P, cost, obj, flat
