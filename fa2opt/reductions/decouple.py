"""Step 3: decoupling of flows at shared and duplicated nodes.

Input: an :class:`~fa2opt.reductions.sp_decompose.SPProblem`. Output: a
:class:`DecoupledProblem` naming the *coupling* nodes -- nodes with more than one leaf over
all flows' trees: nodes shared by several flows, and nodes duplicated by the reduction of a
non-series-parallel flow. Once every coupling node's configuration is fixed, the flows are
independent series-parallel problems in which each remaining node occurs exactly once, so
each is solved exactly by an SP curve DP (:mod:`.search` does that search).

Cost accounting: the total cost is ``Σ_{coupling w} c_w + Σ_f (cost of f's other nodes)``,
so a shared or duplicated node is counted once. Nodes in no flow (``free``) have no latency
constraint and take their cheapest candidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat
from types import MappingProxyType
from typing import Iterable, Mapping, Sequence

from .base import Choice, Reduction
from .pruning import Candidates
from .sp_decompose import SPFlow, SPProblem, leaf_counts
from .sptree import leaves


@dataclass(frozen=True)
class DecoupledProblem:
    """What the coupling search needs.

    ``coupling``: the coupling nodes in search order (most leaves first, then fewest
    candidates); ``flow_coupling[i]``: the coupling nodes in ``flows[i]``'s tree;
    ``leaf_count[v]``: v's number of leaves over all trees; ``free``: nodes in no flow.
    """

    candidates: Mapping[str, Candidates]
    flows: tuple[SPFlow, ...]
    coupling: tuple[str, ...]
    flow_coupling: tuple[tuple[str, ...], ...]
    leaf_count: Mapping[str, int]
    free: tuple[str, ...]


def linked_flows(per_flow: Sequence[Iterable[str]]) -> list[list[int]]:
    """The flows grouped into connected components (two flows are linked when they share a
    coupling node), each group's flows in order, the groups by their first flow:
    union-find with path halving. Each node's first flow is found at C speed
    (``dict.setdefault`` over a map), so the Python steps per flow are its *distinct*
    first flows, not its nodes (3,000 flows sharing 300 nodes: 1.2 s -> 0.1 s).
    O(Σ_f |coupling_f| + unions · α)."""
    parent = list(range(len(per_flow)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[str, int] = {}
    for i, cw in enumerate(per_flow):
        owners = set(map(first.setdefault, cw, repeat(i)))
        owners.discard(i)
        if owners:
            a = find(i)
            for j in owners:
                b = find(j)
                if a != b:
                    parent[b] = a
    groups: dict[int, list[int]] = {}
    for i in range(len(per_flow)):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


class Decouple(Reduction):
    """SPProblem → DecoupledProblem; solutions pass through unchanged."""

    def apply(self, sp: SPProblem) -> tuple[DecoupledProblem, None]:
        flows = sp.flows
        cands = sp.candidates
        if len(flows) == 1:
            # one flow: its own (cached, hence read-only here) counts, no merging, and its
            # duplicated nodes (cached with it) are the coupling nodes
            counts = MappingProxyType(flows[0].node_leaves)
            coupling = list(flows[0].duplicated)
        else:
            counts = leaf_counts(flows)
            coupling = [v for v, k in counts.items() if k > 1]
        if coupling:
            coupling.sort(key=lambda v: (-counts[v], len(cands[v]), v))
            order = {v: i for i, v in enumerate(coupling)}
            per_flow = tuple(
                tuple(sorted({v for v in (f.leaf_count or leaves(f.tree)) if v in order},
                             key=order.__getitem__))
                for f in flows)
        else:  # the common case: every flow series-parallel, no node shared
            per_flow = ((),) * len(flows)
        # the trees' nodes are candidate nodes, so equal sizes mean no free node
        free = () if len(counts) == len(cands) else tuple(v for v in cands if v not in counts)
        return DecoupledProblem(cands, flows, tuple(coupling), per_flow, counts, free), None

    def invert(self, solution: Choice, inverse_data: None) -> dict[str, int]:
        return solution if type(solution) is dict else dict(solution)  # Chain passes a copy
