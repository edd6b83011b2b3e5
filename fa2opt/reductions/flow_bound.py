"""The coupling search for large components: branch and bound with an LP-guided
flow-Lagrangian bound; the decision is the DP's.

When node reduction duplicates many nodes (dense DAGs, lattices, joins whose edges carry
their own latencies) or many flows share most nodes, nearly every node is a coupling node and
the copy-agreement bound of :mod:`.search` needs many DP solves over large trees per search
node. This search (taken by :func:`.search.search` for components of at least
``FLOW_MIN_COUPLING`` coupling nodes) bounds on the *original* DAGs instead, by a relaxation
of the longest-path rule that costs one pass over the nodes.

**The bound.** Let flow f have DAG G_f and budget B_f, and let y_f ≥ 0 be any flow in G_f
from a super-source (into f's sources) to a super-sink (out of f's sinks), Y_{f,v} the flow
through node v and |y_f| its value. It decomposes into weighted paths, and every path P of a
choice meeting the budget has length ≤ B_f, so Σ_v Y_{f,v} L_v + Σ_e y_{f,e} d_e ≤ |y_f| B_f.
Hence for every such y (Lagrangian relaxation of the path constraints)

    LB(y) = Σ_v min_{k allowed at v} (c_{v,k} + Y_v L_{v,k})
            + Σ_f (Σ_e y_{f,e} d_e − |y_f| B_f),          Y_v = Σ_f Y_{f,v}          (1)

is a lower bound on the cost of every feasible choice. Its maximum over y equals the LP
relaxation in which each node's candidates are convexified -- the continuous time-cost
trade-off (Fulkerson 1961, Kelley 1961; used as the bound of branch and bound for the
discrete problem by Demeulemeester, Herroelen & Elmaghraby, EJOR 1996). We solve that LP
with HiGHS (dual simplex, warm-started from node to node) only to *find* a good y: its row
duals, made exactly conservative by one topological pass, are plugged into (1), so the bound
is computed by the formula, valid whatever the LP's tolerances, and an LP that fails leaves
the parent's y, still a valid bound.

**Fixing by reduced cost.** With w forced to candidate k, (1) rises by
``r_{w,k} = c_{w,k} + Y_w L_{w,k} − min_j (c_{w,j} + Y_w L_{w,j})``; a candidate with
``LB + r_{w,k} ≥ incumbent`` cannot improve on the incumbent and leaves the subtree.
**Propagation**: a candidate that breaks a budget even with every other node at its fastest
allowed one leaves it too (:meth:`LPSearch.propagate`). **A pool of multipliers**: (1)
bounds every node at any y, so the root's y and those of the last search nodes prune and
fix by their reduced costs at each later node before its LP (:class:`DualPool`). **Cost
grain**: when every cost is a
multiple of g (:func:`cost_grain`), a bound above incumbent − g already prunes; when they are
on a grain except at a few nodes (accuracy prices c − w·a), bounds round up to the totals'
classes modulo the grain (:mod:`.residues`), and reduced-cost fixing with them.

**Cuts.** When the search reaches its ``CUT_FIRST``-th node, cover cuts of the path rows
(:mod:`.flow_cuts`), with the cliques (6) of their pairwise conflicts (at most one of a set
of nodes is slow where any two slow break a path), are separated at the root's LP and kept
in the LP; they enter (1) by their duals π ≥ 0 (each cut α·λ ≤ β adds π·α to the
candidates' values, −π·β to the constant), so
(1) stays a bound for any π; the rounds stop within ``SEPARATE_SHARE`` of the search's work
so far, counted in units (λ columns and DAG slots a node, the labels its pass makes a round)
rather than seconds, so that the cuts, and the search after them, are the same on any
machine. One trial round comes first, at the ``CUT_TRY``-th node; the rounds go on at once
where it closes ``TRIAL_GAIN`` of the gap (many flows through one pool of models), else the
schedule stands. Components of at least ``GMI_MIN_COUPLING`` coupling nodes get
Gomory mixed-integer cuts (4) from the root LP's optimal tableau instead (each round with
the violated cliques (6)), separated at the root (:func:`.flow_cuts.gmi_cuts`) -- and
smaller one-flow ones too once their search is still open at its ``GMI_STALLED``-th node
(then at that node, at the root's LP, on top of any covers and instead of the later ones;
not where the one-flow-exact bound (2) is kept, which needs (1)), and components of
several flows whose search's bound is flat at their ``GMI_STALLED_SEVERAL``-th node or a
doubling of it (``GMI_FLAT``), or that are still open at a doubling from ``GMI_LONG`` nodes
on ((2) is switched off there); they have finish-time columns,
which (1)'s flows cannot price, so the bound is then the general Lagrangian relaxation (5)
of every row but the convexity rows, at the LP's duals clipped to their sign, over λ in each
node's simplex and each finish time in [0, B_f] (:meth:`FlowLP.lagrange_weights`): again a
formula valid for any multipliers, computed in the same form as (1) (a value per candidate
and a constant), so reduced-cost fixing, the children's keys and the fixing bound use it
unchanged. After the root's rounds, a search node whose LP point is integral at every
coupling node but fractional at a node the DPs decide (stuck: branching cannot move it)
gets one round of the same global covers and cliques, a few of each, while their rows and
work stay within ``STUCK_MAX_ROWS`` and ``SEPARATE_SHARE`` (:meth:`LPSearch.stuck_covers`),
and is branched on such a node (``FREE_BRANCH``, :meth:`LPSearch.branch`).

**The search.** Branch and bound over the coupling nodes' candidate sets (bit masks), best
bound first. At each search node: the LP → y → LB (1) and fixing; the primal: each node at
the cheapest allowed candidate no slower than its LP latency ℓ_w = Σ_k λ_{w,k} L_{w,k} (every
node no slower than in the LP keeps every path within the budget), then greedy slack filling
(while some node fits a cheaper candidate in its room -- the budget less the longest path
through it without it -- the move saving most), and the rest of each flow decided exactly by
the remainder DP (:class:`~.search._Exact`, memoised per flow) -- so the decision is always the
DP's. A fixing reaches the DP only when :meth:`LPSearch.fixing_bound` (the other nodes at
their cheapest; (1) with the fixing; the other nodes at their cheapest candidate that fits
beside it) is below the incumbent. Branch on the coupling node whose rounding loses most
against its LP cost, by latency: candidates at most ℓ_w, and slower ones (both children cut
off the LP point), chosen among the ``STRONG`` best by their children's LP values (strong
branching until a node has ``RELIABLE`` observations, then its average gains: reliability
branching); a strong-branching child keeps its LP solution and bound (1) at its duals, so it
is not solved again, and when that bound prunes, its sibling alone is the branch. Where the LP
picks a single candidate F_w at every coupling node but the DP's value is above the bound, F
is valued and the rest of the node partitioned around it (for each undecided node j in turn:
j faster or slower than F_j, the nodes before it at F; Murty 1968). Children are queued by (1)
at their parent's y over their own candidates. A search node whose coupling nodes are all
decided is the DP's exact value: a leaf. In components of at least ``GMI_MIN_COUPLING``
coupling nodes pseudocosts are trusted after ``RELIABLE_LARGE`` observations, and every
``PLUNGE_EVERY``-th node popped starts a dive of up to ``PLUNGE_DEPTH`` steps into the best
child (depth first for a better incumbent; the other children queued as usual). A better
incumbent is improved by local search whose
moves are evaluated in one batch (:func:`fa2opt.dag_batch.evaluate_fixings`, the batch axis
over one instance's subproblems).

**Handing over to the copy split.** With several flows, a search still open at its
``COPY_SPLIT_AT``-th node bounds the root once more by the copy split of :mod:`.search`
(every flow kept exact by its own DP, each shared node's cost split between the flows'
copies, the split improved by subgradient steps), started not from the equal split but from
the root LP's flows: ``q_{w,j}(k) = (c_{w,k} + Y_w L_{w,k}) / n_w − Y_{f_j,w} L_{w,k} / m``
(:meth:`~.search._LagrangianSearch.latency_prices`; m: flow f_j's copies of w), at which
every flow's copies rank w's candidates as the LP does, so with each node once in each
flow the split's bound is at least (1) at the root's y before its first step. Where that
bound leaves at most ``COPY_SPLIT_GAP`` of the gap this search has left, the copy split
searches the rest of the component from it (one incumbent, one memo of fixings); else this
search goes on. This closes the shape whose LP bound stalls: few flows, each a long path
through one pool of models, under loose SLAs (every flow's path knapsack is far from its
convex hull; the split keeps each one integral). The steps after the first are taken only
where they cost at most ``COPY_SPLIT_SHARE`` of the work this search's nodes have earned
(:mod:`.dp_bound`'s units), so a component whose flows are large trees does not pay for
them, and they stop at the ``COPY_SPLIT_TRIAL[0]``-th step where the bound still leaves more
than ``COPY_SPLIT_TRIAL[1]`` times the search's gap (sixty flows' DPs a step do not pay for
thirty steps that would not be taken). A search still open after a declined try tries again
at twice its nodes (up to ``COPY_SPLIT_LAST``), the ascent going on from the split the last
try left by up to ``COPY_SPLIT_RETRY`` steps within the same budget (all tries together),
θ halved only after ``SPLIT_STALL`` steps without a better bound: on a hundred flows, or
long paths, the split closes on the optimum over hundreds of steps, not thirty, and a split
behind this search's bound at the first try may lead it at a later one. A try after the
first, where this search's own bound is flat (it closed less than ``SPLIT_FLAT`` of its gap
since the last try), races the split whatever its bound: the split's search runs while the
work of all its races stays within ``COPY_SPLIT_SHARE`` of this search's, and where it does
not finish it is suspended (its stack of generators kept, :class:`.sptree.Suspended`) and
this search goes on, the incumbent shared, until the next race resumes it. Where the gap is
in the flows' private nodes, which branching on coupling nodes does not close and the split
(every flow exact) does, the split wins; elsewhere the race costs at most
``COPY_SPLIT_SHARE`` of this search's work. The budgets count the DPs' work as
:mod:`.dp_bound` does, the compiled DP's included (its pairs and candidates,
:data:`fa2opt.tree_kernel.CALL_PAIRS` a call): uncounted, the split on two flows through
stacked diamonds (a DP 42 ms) ran ten times its share, into a 20 s limit. Races start only
once judging has stopped without a no-good (the split is blind to the rule) and not below a
cutoff.

**LP work.** A search node's LP is HiGHS's dual simplex from the last basis, told to stop
once its objective reaches the incumbent (``objective_bound``, as MIP solvers set the LP's
objective limit to the cutoff; ``EARLY_STOP``): the node is then pruned at those
(dual-feasible, not optimal) duals when (1)/(5) at them prunes, else its LP is finished. A
search below a cutoff -- one of the subproblems the SLA edge's enumeration
(:func:`fa2opt.edge.decide_exact`) solves on the same flow graphs -- starts its LP from the
previous such search's root basis (given as an alien basis, columns matched by node, latency
and cost) and reuses its structure-only arrays. A cutoff c is pruned against as an incumbent
at the next cost-grain point g·⌈c/g⌉ would be (the totals are multiples of g).

**The SLA rule at the leaves.** The search's budgets are those of the DP it serves, which
:func:`fa2opt.edge.decide_exact` widens by the float margin; the flows' sums then admit
choices an ulp over an SLA, and with many flows at their edge at once the enumeration
around the search split their no-goods one flow at a time (many-flows 8x6x30 #294346716
three ulps below its edge: 2,656 DP solves, 12 s, against the MILP's 0.37 s). So this
search judges its leaves by the rule itself (:meth:`.search._Exact.rule`: a flow's
remainder is replaced by the least one the rule accepts, or rejected), and every no-good it
meets -- a path P whose latencies θ break the rule, as does every choice at least as slow
on all of P -- enters the LP as the cut Σ_{v ∈ P} Σ_{k: L_{v,k} ≥ θ_v} λ_{v,k} ≤ |P| − 1
(:meth:`LPSearch.add_nogoods`: a cover (3) that the widened budgets cannot separate; the
MILP adds the same rows, ``formulations/solve.py``), kept when slack. Its bound (1) stays
a bound on every choice the rule accepts, so the answer is the rule's optimum (that draw:
one search, 36 nodes, 0.08 s). Where the LP's optimum is shared by many choices the rule
rejects and one it accepts, the roundings keep landing on rejected fixings; after
``JUDGE_STALL`` search nodes without a better incumbent, or (once the rule has met a no-good)
``JUDGE_FLAT`` without a better incumbent or a higher bound (:meth:`LPSearch.judge_stall`), the
leaves take the widened budgets alone (the cuts kept), and ``JUDGE_RESTART`` nodes later the
component is searched again without judging or cuts (where the rule met a no-good: else this
search is that one already); the widened optimum that either search answers goes back to
the enumeration as before. The copy split
(:meth:`LPSearch.hand_over`) is blind to the cuts: judging stops there (the leaves from then
on valued by the widened budgets, the rule's rejections forgotten:
:meth:`.search._Exact.stop_judging`). A judged search whose fastest candidates break the
rule answers "no choice" at once.

Exact: a subtree is dropped only when (1) is not below the incumbent (less ``PRUNE_TOL``
relative, as in :mod:`.search`), and a fixing is not valued only when a lower bound of its
value is not below it (``tests/test_flow_bound.py`` checks both bounds, and that the
partition around F loses no fixing, against enumeration). Per search node O(LP + Σ_f |G_f| + Σ_v |candidates|);
exponential in the coupling nodes in the worst case (the problem is strongly NP-hard, De,
Dunne, Ghosh & Wells 1997), but the LP bound closes most of the gap at the root on random
DAGs and lattices. At the deadline: the incumbent, with the least open bound as lower bound.
"""

from __future__ import annotations

import bisect
import heapq
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .. import cpu_kernels, pareto, spec
from ..deadline import (DPDeadline, check_stage, current as deadline_in_force,
                        passed as past_dp_deadline)
from ..dag_batch import DagStructure, evaluate_fixings, evaluate_fixings_numpy
from ..problem import FlowGraph
from .decouple import DecoupledProblem
from . import flow_cuts, residues
from .search import (INF, PRUNE_TOL, RemainderSolver, SearchResult, _Deadline, _Exact,
                     ROOT_ITERS, _LagrangianSearch, _Paused, leaf_candidates, pinned)
from .dp_bound import PAIRS_PER_UNIT, DPBound

_LP_INF = 1e30  # HiGHS's infinity
LOCAL_SEARCH_MIN = 16  # coupling nodes from which a better incumbent is improved by local search
MAX_PAIRS = 20_000  # pair moves evaluated per local-search round (the most saving ones)
IMPROVE_BLOCK = 1024  # moves evaluated at once between the local search's deadline checks
STRONG = 8  # branching candidates scored (by their children's LPs until RELIABLE, then by pseudocosts)
# cover cuts (3) are separated at the root's LP when the CUT_FIRST-th search node is explored
# (0: never): where the plain LP bound closes the gap within a few hundred nodes, separating
# costs more than it saves (measured in docs/fa2.md); the cuts are global, so every node
# solved afterwards has them
CUT_FIRST = 256
# ... or already at the CUT_EARLY-th node when the bounds popped so far have closed less than
# CUT_STALL of the root's gap to the incumbent: on the bench families the search had closed
# 43-96 % of it by its 32nd node (random 50-300, lattices 5x5-12x12 and 4x30, vsp 60-100),
# on the fuzzed 5x5 lattice that ran 105,560 nodes without cuts 9 % (docs/fa2.md)
CUT_EARLY = 32
CUT_STALL = 0.25
# cover-cut separation rounds (LPSearch.separate), in work units, not seconds (so the cuts,
# and the nodes after them, do not depend on the machine's speed or load): a search node
# earns FlowLP.work (λ columns + DAG slots), a round costs the labels its pass made
# (flow_cuts.cover_cuts: ~2-4 µs each, a node's unit ~3-10 µs); rounds while they have cost
# at most SEPARATE_SHARE of what the nodes explored so far earned, or SEPARATE_MIN_WORK (the
# last round's labels the estimate of the next). The pass's cost per DAG slot varies 10x with
# the flows' shapes (60 chains over 120 nodes: ~5 labels a slot, 12 ms a round; vsp 200: 37,
# 17 ms; shared-large 100x5: 47, 35 ms), which a fixed cost per slot missed both ways
SEPARATE_SHARE, SEPARATE_MIN_WORK = 0.25, 16_000
# ... and a trial round comes first, at the CUT_TRY-th node: the rounds go on (within the
# budget above) only where the first closes at least TRIAL_GAIN of the gap left to the
# incumbent (many flows, each a short path through a pool of models: 30-65 % of the gap
# there, against 1-20 % on random DAGs, lattices, vsp and shared-large graphs; docs/fa2.md),
# else its one pass is all it costs and the schedule of CUT_FIRST / CUT_EARLY stands
CUT_TRY, TRIAL_GAIN = 8, 0.2
# ... and only where its pass is cheap: at most TRIAL_WORK nodes' work in labels, else it
# stops there without cuts (the pass costs 3 nodes' work on those 60 chains, 5-8 on vsp
# graphs of 60-200 nodes, 21 on shared-large 100x5, where its 20-50 ms doubled searches
# of 10-15 nodes)
TRIAL_WORK = 4
# rounds of covers and cliques at a search node whose LP point is integral at every coupling
# node but not at a node the DPs decide (LPSearch.stuck_covers), once the root's rounds are
# done (0: none); at most STUCK_CUTS of each family a round, while the LP holds fewer than
# STUCK_MAX_ROWS cut rows. Without the caps a one-flow ladder of 60 with an accuracy weight
# of 1e6 piled up 1,023 rows of 110,000 nonzeros and its LPs took 3.5 instead of 0.5 ms;
# more rounds a node, or rounds from the 2nd node on, moved its searches both ways
# (docs/fa2.md)
STUCK_ROUNDS = 1
STUCK_CUTS = 5
STUCK_MAX_ROWS = 200
# a stuck node (its LP point integral at every coupling node) is branched on a fractional
# node the DPs decide: the search's masks hold those nodes too (after the coupling nodes),
# the leaves stay where every coupling node is decided (LPSearch.branch)
FREE_BRANCH = True
NUMBA_AFTER_S = 2.0  # seconds of search after which the compiled passes are loaded (_kernels)
DROP_SLACK = True  # remove the cuts not binding at the root's last LP
# the cut family separated: "gmi" (GMI cuts (4) from the root's tableau, bound (5)) or
# "cover" (path covers (3), bound (1))
CUTS = "gmi"
# ... GMI only for components of at least GMI_MIN_COUPLING coupling nodes (covers below):
# on the benchmark families (<= 200 nodes) GMI at the root was slower as often as faster
# (shared-large 100x5: 0.35 -> 4.1 s, the one-flow-exact bound (2) needs (1)'s per-flow
# weights), on random and vsp graphs of 300-400 nodes it closes what the search could not
# (docs/fa2.md)
GMI_MIN_COUPLING = 250
# GMI rounds are separated at the CUT_FIRST_GMI-th node (the root): they close most of the
# root gap where the search is long (random 300: 16433.6 -> 16461.8 of the optimum 16464)
# and cost ~10 ms on a 50-node DAG; at most GMI_ROUNDS rounds of GMI_PER_ROUND cuts, until
# a round gains less than GMI_STALL of what the rounds before gained
CUT_FIRST_GMI = 1
# ... and in smaller one-flow components, once the search is still open at its
# GMI_STALLED-th node (the root gap not closed by 128 nodes of branching: random 100 seed 1
# under worst-case queueing ran 2,299 nodes without them, 243 with them; docs/fa2.md), unless
# the one-flow-exact bound (2) is kept (it needs (1)'s per-flow weights). Not so with several
# flows (only at a flat bound, below): on the 3-6-flow family the rounds cost more than they saved wherever they fired
# (and shared-large 100x5 went 0.35 -> 4.1 s with them at the root). 64 searched fewer nodes
# than 128 (random DAGs 5,291 -> 4,032 nodes over 28 searches) but cost lattices and vsp graphs
# that close within 64-128 nodes 20-80 ms each (docs/fa2.md)
GMI_STALLED = 128
# ... and in components of several flows at their GMI_STALLED_SEVERAL-th node, only where the
# search's bound is flat by then: the bounds popped from node GMI_STALLED_SEVERAL // 2 on
# closed less than GMI_FLAT of the gap left there (shared-large 200x10 seed 0: none of it,
# 594 nodes without the rounds, 101 with them at 64, 206 at 128; where the bound still
# moves, 25-50 % on shared-large 150x6 and 200x10 seed 1, the rounds cost nodes: 256 -> 449
# on 150x6 at 128; at 32 the 3-6-flow family lost, 120x6 #0 rho 0.6 66 -> 142; docs/fa2.md).
# Where the bound still moved there, the test is asked again at each doubling of the nodes
# (128, 256, ...: the bounds popped since the last test) until it holds (shared-large 100x5
# default_rng(2): 10.2 % from 32 to 64, 3 % from 64 to 128; 20-60 s time limits -> 0.5 s),
# once the cover rounds have run (CUT_FIRST): rounds that replace them cost long-paths
# 14x8x16 #946296371 two ulps below its edge 446 -> 1,881 nodes.
# The rounds then switch the one-flow-exact bound (2) off: (5) has no per-flow weights.
GMI_STALLED_SEVERAL, GMI_FLAT = 64, 0.1
# ... and, flat or not, at the first of those tests from GMI_LONG nodes on (the covers run by
# then): a bound that closes 20-25 % of the gap a doubling never counts as flat, but each
# doubling doubles the nodes (audit 18's h1_9505, two flows: 306.4 at node 2,000, 306.6 at
# 4,000, 306.85 at 8,000 of the optimum 307.5, unproven at 60 s; proven in 18 s with the
# rounds at 512). 44 several-flow files of 100-400 nodes (20 s limits): 10 searched other
# nodes, median 0.90x the time, 122 -> 113 s in all (docs/fa2.md)
GMI_LONG = 512
# several flows: a search still open at its COPY_SPLIT_AT-th node bounds the root by the copy
# split (.search._LagrangianSearch: every flow exact by its own DP, shared costs split between
# the flows, the split started from the root LP's flows) and hands the rest of the component
# over to it where that bound leaves at most COPY_SPLIT_GAP of the gap left to this search;
# the ascent's steps after the first only where they cost at most COPY_SPLIT_SHARE of the
# work this search's nodes have earned (dp_bound's units). Few flows, each a long path
# through a pool of models, loose SLAs: the LP bound stalls there (12x8x10: root 450.4, 3,296
# nodes to prove 459.45) where the split starts at 459.29 (docs/fa2.md). 0: never
JUDGE_STALL = 200  # search nodes without a better incumbent that end judging by the rule
JUDGE_FLAT = 25  # ... or this many, where the bound has not risen either and a no-good was met
JUDGE_RESTART = 500  # search nodes after that stall before searching again without judging
# (2,000 until 2026-12-05: the draw that asked for it, long-paths 12x8x10 #730555604, no
# longer stalls; of the stress record's 299 edge draws two do: 14x8x16 #484308527 at -2
# 4.4 -> 2.1 s (1.0 s at 0), #420148472 at -3 0.6 s either way (its search ends 424 nodes
# after the stall; at 0: 1.9 s, 19 DP solves), docs/fa2.md)
COPY_SPLIT_AT = 64
# ... and a try from the second on races the split (hand_over) where this search's bound is
# flat: the bound popped since the last try (the nodes doubled) closed less than SPLIT_FLAT of
# the gap left there; the split's search runs while all its races' work stays within
# COPY_SPLIT_SHARE of this search's (until 2026-12-06: for as many nodes as this search
# explored since the last race, a split node costing 26 DPs of 11 ms on stacked diamonds).
# Few long paths through a pool: the split's root (10 steps) looked worse
# than this search's bound, which then closed 10-16 % of the gap a doubling, on into 20-60 s
# time limits (long-paths 14x8x16 #322969530: 1,472.1 -> 1,474.5 of 1,485 in 16,000 nodes;
# default_rng draws 14x8x16 #4, 20x4x10 #3), where the split's search (every flow exact by its
# DP sees the gap in the flows' private nodes) closes them in 0.3-4 s. A race, not a
# hand-over: handed over outright, long-paths draws at their SLA edge whose flow-LP search
# was about to close went from 0.4-2.8 s to 17 s - 60 s time limits (docs/fa2.md). The first
# try leaves a flat bound to the GMI rounds (GMI_STALLED_SEVERAL). 0: never
SPLIT_FLAT = 0.25
COPY_SPLIT_GAP, COPY_SPLIT_SHARE = 0.5, 1.5
# ... and the ascent gives up after COPY_SPLIT_TRIAL[0] steps when its bound still leaves more
# than COPY_SPLIT_TRIAL[1] times the search's gap (every hand-over taken on the probes had left
# at most 1.12 times it by then; 7 of the 14 declined more than 2.6 times; docs/fa2.md)
COPY_SPLIT_TRIAL = (10, 1.5)
# ... and a search still open after a declined try tries again at twice its nodes (128, 256,
# ... up to COPY_SPLIT_LAST), the ascent going on from the split the last try left by up to
# COPY_SPLIT_RETRY more steps within the same budget (COPY_SPLIT_SHARE of the work earned, all
# tries together): 100 flows over a 200-node pool (many_flows(20, 10, 100) seed 1) took the
# hand-over at its 5th try, 16,750 -> 1,217 nodes, 34 -> 10 s; 20 long paths with the Python
# DPs (the kernels not warmed up: a step's work counted there cut the first try's ascent to
# one step) at its 2nd, unproven at 60 s -> 7.8 s (docs/fa2.md). 0: one try
# The retries' ascent halves its step factor θ only after SPLIT_STALL steps without a better
# bound (the searches' STALL = 4 shrinks θ 2^-25 in 100 steps). Long-paths 14x8x16 #322969530
# from the root LP's split: 1,473.9 after 300 or 1,000 steps at STALL 4, 1,481.6 / 1,483.7 at
# 16 (optimum 1,485, grain 1); there the split led the LP search at the 2nd try and took over
# at the 3rd, 7.4 -> 1.2 s; many_flows(20, 10, 100) #0: 60 s time limit -> 39 s. The retries
# went on ascending only while the split led the LP search's bound, and with at most 30 steps
# (ROOT_ITERS), before. The first try keeps STALL: with 16 there, long-paths draws that hand
# over at 128 went 0.12 -> 0.42 s (docs/fa2.md)
COPY_SPLIT_RETRY, COPY_SPLIT_LAST = 10 * ROOT_ITERS, 32 * COPY_SPLIT_AT
# ... and never where one step of the split's ascent (_split_work: every flow's leaves'
# candidates, each copy of a node its own leaf) is past COPY_SPLIT_MAX_WORK units, whatever
# the budget: a 179-node random DAG of two flows (audit 18's h1_9505) unfolds to 345,683
# leaves, 1.5·10⁶ units a step; tried at node 1,024, its first step was still running 90 s
# later (fronts past the compiled DP's max_points, so the Python DP), past a 60 s limit,
# while the flow-LP search alone raised the bound 302.1 -> 306.8 (optimum 307.5) in the
# same 60 s. The split's steps cost at most 2·10³ units on the benchmarks' families, 6·10³
# on many_flows(20, 10, 100), 2·10³-4.6·10⁵ on audit 18's other files (one at 1.0·10⁶, whose
# search ends before its turn; docs/fa2.md)
COPY_SPLIT_MAX_WORK = 2 ** 19
SPLIT_STALL = 16
GMI_ROUNDS, GMI_PER_ROUND, GMI_STALL = 20, 100, 0.02
# the GMI rounds stop by the counts above, not by the time spent (so a search does not depend
# on the machine's load; ~20-60 ms a round on 300-400 nodes), only the deadline stops them sooner
# plunges (components of at least GMI_MIN_COUPLING coupling nodes): every PLUNGE_EVERY-th
# search node popped from the queue starts a dive of up to PLUNGE_DEPTH steps, each into the
# best child of the node before (its LP near integral, its rounding a better primal)
PLUNGE_EVERY, PLUNGE_DEPTH = 50, 20
RELIABLE = 1  # strong-branching observations of a node after which its average gains stand in
# ... in components of at least GMI_MIN_COUPLING coupling nodes: their searches run to
# thousands of nodes, where more observations pay (vsp 300 seed 1: 2,088 -> 751 nodes, 6.4 ->
# 3.6 s; random 400 seed 1: 15,730 -> 8,446 nodes, 48 -> 25 s); on the benchmark families
# 4 searched fewer nodes but took longer as often as not (docs/fa2.md)
RELIABLE_LARGE = 4
# ... and in smaller one-flow components from the GMI_STALLED-th node on (with the GMI
# rounds there): such a search runs long, where more observations pay (vsp 200 #3 at rho 0.6:
# 3,017 -> 1,772 nodes; docs/fa2.md)
RELIABLE_STALLED = True
# a search node's LP ends once HiGHS's dual objective reaches the incumbent (less the pruning
# tolerance): the node is pruned at those duals without the rest of the simplex iterations
EARLY_STOP = True
# the search node from which the one-flow-exact bound (.dp_bound) is measured (and then kept
# where it pays): searches the LP bound closes in fewer nodes never pay its DPs
DP_BOUND_FROM = 6
# the multipliers y kept (the root's and the last POOL_SIZE - 1 search nodes'), applied at
# every later node before its LP (DualPool): bound (1) at each y prunes, reduced costs at each
# y fix (vsp 200 seed 4: 2,581 -> 1,613 search nodes; docs/fa2.md); 0 switches the pool off
POOL_SIZE = 16


# the root LP's basis of the last search, for the next search on the same flow graphs (the
# SLA edge's enumeration solves dozens of subproblems that differ in a few nodes' rows):
# (the graphs, kept alive so their ids stay theirs; {(node, latency, cost): λ column status};
# the finish-time columns' statuses; the path and convexity rows' statuses)
_ROOT_BASIS: list = [None]
# the structure-only parts of the last FlowLP and LPSearch (the LP's layout with the slots and
# edges of the flows' DAGs, the DagStructure), for the next on the same flow graphs: (graphs,
# _Layout, DagStructure)
_STRUCTURE: list = [None]
# the multipliers y (weights Y and constant of (1)) at the root LPs of the last few searches
# without a cutoff, for the searches with one on the same flow graphs after them (the
# subproblems of an enumeration: :meth:`LPSearch.settled_at_root`): (graphs, (Y, const)),
# the latest first (several: the SLA edge's narrowed solve comes between its relaxed
# solve and the children, on other graphs)
_ROOT_WEIGHTS: list = []
ROOT_WEIGHTS_KEPT = 4


def _same_graphs(last: tuple | None, graphs: tuple) -> bool:
    """Whether ``last`` (a cached entry's graphs) are ``graphs`` themselves (identity)."""
    return last is not None and len(last) == len(graphs) and all(
        a is b for a, b in zip(last, graphs))


def _csr(lists: list[list[tuple[int, float]]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-slot lists of (slot, delay) as CSR arrays (pointers, slots, delays), in order."""
    ptr = np.zeros(len(lists) + 1, dtype=np.int64)
    np.cumsum([len(x) for x in lists], out=ptr[1:])
    return (ptr, np.asarray([u for x in lists for u, _ in x], dtype=np.int64),
            np.asarray([d for x in lists for _, d in x], dtype=float))


def _kernels(started: float) -> object | None:
    """The compiled passes (:mod:`.flow_numba`), or None (the Python loops, same values):
    only when Numba runs and is already imported, or the search (started at ``started``,
    ``perf_counter``) has run ``NUMBA_AFTER_S``: loading Numba and the kernels' cache costs
    ~0.3 s in a fresh process (a CLI call solving a 5x5 lattice: 14 -> 322 ms) and the
    passes gain 10-20 % of a search, so only long searches pay for it."""
    cpu_kernels.load_when_cached(started)  # (every kernel, where Numba's cache holds them)
    if "numba" not in sys.modules and time.perf_counter() - started < NUMBA_AFTER_S:
        return None
    if not cpu_kernels.available():
        return None
    from . import flow_numba
    return flow_numba


class _Layout:
    """What :class:`FlowLP` takes from the flow graphs alone (cached per graphs,
    ``_STRUCTURE``): the nodes in column order, each flow's topological plan, its slots
    (:func:`_slot_arrays`), the slot of each finish-time column, and per path row its
    *chain*: the nodes whose ℓ it subtracts, its finish-time column and the one it starts
    from (−1 at a source; both counted from the first finish-time column) and its lower side
    (the chain's Σ d_uv).

    A slot of one out-edge and at most one in-edge has no finish-time column: its T is
    substituted by its predecessor's plus its ℓ (or by its ℓ at a source), which loses
    nothing (T appears on the lower side of its one out-row alone, so the LP may set it to
    its least value). Its rows merge with the out-row's into one row over the whole chain,
    and each edge and source still lies in exactly one row (``e_row``, ``src_row``). Flows
    along long shared chains (the tree-like draws of the ``shared`` families: 90-99 % of the
    slots) so give LPs of a few rows per flow, every solve of which costs a fraction of the
    full one's. O(Σ_f |G_f|)."""

    def __init__(self, graphs: tuple[FlowGraph, ...]):
        nodes = list(dict.fromkeys(v for g in graphs for v in g.nodes))
        self.nodes = nodes
        self.index = index = {v: i for i, v in enumerate(nodes)}
        chain: list[list[int]] = []  # per row: the nodes of its chain
        row_t: list[int] = []
        row_tu: list[int] = []
        row_lo: list[float] = []
        t_slot: list[int] = []  # the slot of each finish-time column

        def row(tu: int, lo: float) -> int:
            chain.append([])
            row_t.append(-1)  # set where the chain ends
            row_tu.append(tu)
            row_lo.append(lo)
            return len(chain) - 1

        self.plans: list[list[tuple]] = []
        base = 0  # the flow's first slot
        for g in graphs:
            check_stage()  # (a set-up: 3,000 flows' layouts took 5 s past the limit)
            pos = {v: j for j, v in enumerate(g.nodes)}
            plan: list[list] = []
            t_of: list[int] = []  # per position: its finish-time column, −1 when substituted
            open_row: list[int] = []  # per substituted position: the row its chain goes on in
            for j, v in enumerate(g.nodes):
                vi, src, ins = index[v], -1, []
                preds = g.preds[v]
                through = len(g.succs[v]) == 1 and len(preds) <= 1  # T_v substituted
                t = -1 if through else len(t_slot)
                if not through:
                    t_slot.append(base + j)
                t_of.append(t)
                if not preds:  # T_v − ℓ_v ≥ 0 (or the chain from here)
                    src = r = row(-1, 0.0)
                for u, d in preds:  # T_v − T_u − ℓ_v ≥ d (or the chain through u goes on)
                    pu = pos[u]
                    if t_of[pu] < 0:
                        r = open_row[pu]
                        row_lo[r] += float(d)
                    else:
                        r = row(t_of[pu], float(d))
                    ins.append((pu, r, float(d)))
                    if plan[pu][3] < 0:
                        plan[pu][3] = r
                rows_in = ([src] if src >= 0 else []) + [r for _, r, _ in ins]
                for r in rows_in:
                    chain[r].append(vi)
                    if not through:
                        row_t[r] = t
                open_row.append(rows_in[0] if through else -1)
                plan.append([vi, src, ins, -1, not g.succs[v]])
            self.plans.append([tuple(x) for x in plan])
            base += len(plan)
        i64 = lambda a: np.asarray(a, dtype=np.int64)  # noqa: E731
        self.chain_ptr = np.zeros(len(chain) + 1, dtype=np.int64)
        np.cumsum([len(c) for c in chain], out=self.chain_ptr[1:])
        self.chain_node = i64([v for c in chain for v in c])
        self.row_t, self.row_tu = i64(row_t), i64(row_tu)
        self.row_lo = np.asarray(row_lo, dtype=float)
        self.t_slot = i64(t_slot)
        self.slots = _slot_arrays(self.plans)

    def entries(self, ptr: np.ndarray, lat: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The LP's rows as HiGHS takes them (row starts, column indices, values), for
        candidates ``ptr`` (node i's λ columns ptr[i]:ptr[i+1]) of latencies ``lat``: each
        path row ``T_v (− T_u) − Σ_{w in its chain} Σ_k L_{w,k} λ_{w,k}`` in that order,
        then each node's convexity row ``Σ_k λ_{v,k}``. O(nonzeros), in numpy."""
        n_lam = int(ptr[-1])
        cnt = np.diff(ptr)
        n_t = np.where(self.row_tu >= 0, 2, 1)
        R = len(n_t)
        # per (row, chain node) entry, a block: its node's λ columns, one block after another
        node = self.chain_node
        block_n = cnt[node]
        block_start = np.cumsum(block_n) - block_n  # among all the rows' λ entries
        lam_n = np.add.reduceat(block_n, self.chain_ptr[:-1]) if node.size else np.zeros(R, np.int64)
        lens = n_t + lam_n
        start = np.zeros(R + len(cnt), dtype=np.int64)
        np.cumsum(lens[:-1], out=start[1:R])
        flow_nnz = int(lens.sum())
        start[R:] = flow_nnz + ptr[:-1]
        index = np.empty(flow_nnz + n_lam, dtype=np.int32)
        value = np.empty(flow_nnz + n_lam)
        head = start[:R]
        index[head], value[head] = n_lam + self.row_t, 1.0
        e = self.row_tu >= 0
        index[head[e] + 1], value[head[e] + 1] = n_lam + self.row_tu[e], -1.0
        block_row = np.repeat(np.arange(R), np.diff(self.chain_ptr))
        # where each block starts: after its row's T entries and the row's blocks before it
        block_at = (head + n_t)[block_row] + block_start - block_start[self.chain_ptr[:-1]][block_row]
        k = np.arange(int(block_n.sum())) - np.repeat(block_start, block_n)
        col = np.repeat(ptr[:-1][node], block_n) + k
        at = np.repeat(block_at, block_n) + k
        index[at], value[at] = col, -lat[col]
        index[flow_nnz:], value[flow_nnz:] = np.arange(n_lam), 1.0
        return start.astype(np.int32), index, value


def _slot_arrays(plans: list[list[tuple]]) -> dict[str, object]:
    """The flows' (flow, node) *slots* as flat arrays, and per slot its in- and out-edges
    for the passes over the DAGs (the attributes :data:`_SLOT_ATTRS` of a FlowLP), from
    each flow's topological plan."""
    slot_node, slot_flow, sink, first_out = [], [], [], []
    e_u, e_v, e_row, e_d, src_slot, src_row = [], [], [], [], [], []
    for f, plan in enumerate(plans):
        check_stage()
        base = len(slot_node)
        for j, (vi, src, ins, first, is_sink) in enumerate(plan):
            slot_node.append(vi)
            slot_flow.append(f)
            sink.append(is_sink)
            first_out.append(first)
            if src >= 0:
                src_slot.append(base + j)
                src_row.append(src)
            for u, r, d in ins:
                e_u.append(base + u)
                e_v.append(base + j)
                e_row.append(r)
                e_d.append(d)
    i64 = lambda a: np.asarray(a, dtype=np.int64)  # noqa: E731
    # per slot, in topological order (flows one after another): its in-edges (tail slot,
    # d), out-edges (head slot, d) and out-edge indices -- plain lists, since a pass over a
    # few hundred edges in Python costs less than a few numpy calls per hop level
    S = len(slot_node)
    ins: list[list[tuple[int, float]]] = [[] for _ in range(S)]
    outs: list[list[tuple[int, float]]] = [[] for _ in range(S)]
    out_edges: list[list[tuple[int, int]]] = [[] for _ in range(S)]
    for e, (u, v, d) in enumerate(zip(e_u, e_v, e_d)):
        ins[v].append((u, d))
        outs[u].append((v, d))
        out_edges[u].append((e, v))
    # the same in- and out-edges as CSR arrays, for the compiled passes (.flow_numba)
    in_ptr, in_src, in_d = _csr(ins)
    out_ptr, out_dst, out_d = _csr(outs)
    out_eid = np.asarray([e for x in out_edges for e, _ in x], dtype=np.int64)  # (out_ptr's order)
    return {"slot_node": i64(slot_node), "slot_flow": i64(slot_flow), "first_out": i64(first_out),
            "sink": np.asarray(sink, dtype=bool), "e_u": i64(e_u), "e_v": i64(e_v),
            "e_row": i64(e_row), "e_d": np.asarray(e_d, dtype=float), "src_slot": i64(src_slot),
            "src_row": i64(src_row), "ins": ins, "outs": outs, "out_edges": out_edges,
            "in_ptr": in_ptr, "in_src": in_src, "in_d": in_d, "out_ptr": out_ptr,
            "out_dst": out_dst, "out_d": out_d, "out_eid": out_eid}


_SLOT_ATTRS = ("slot_node", "slot_flow", "first_out", "sink", "e_u", "e_v", "e_row", "e_d",
               "src_slot", "src_row", "ins", "outs", "out_edges", "in_ptr", "in_src", "in_d",
               "out_ptr", "out_dst", "out_d", "out_eid")


class FlowLP:
    """The convexified LP of one component and the bound (1) from its duals.

    Columns: λ_{v,k} for every candidate of every node in the component's flows, then a
    finish time T_{f,v} per flow and node (but where :class:`_Layout` substitutes it). Rows:
    per flow, ``T_{f,v} − ℓ_v ≥ 0`` at each source and ``T_{f,v} − T_{f,u} − ℓ_v ≥ d_{uv}``
    per edge, with ℓ_v = Σ_k L_{v,k} λ_{v,k} (the rows along a substituted T merged into one
    over the chain), then Σ_k λ_{v,k} = 1 per node; ``T_{f,v} ≤ B_f`` at f's sinks (column
    bound). Objective Σ c_{v,k} λ_{v,k}. Built once per search (O(Σ candidates + Σ_f
    |G_f|))."""

    def __init__(self, dp: DecoupledProblem, graphs: list[FlowGraph]):
        """``graphs[i]``: the DAG of ``dp.flows[i]`` (its budget is the SPFlow's)."""
        import highspy._core as highs  # the raw class: the wrapper prints a banner on stdout

        self.started = time.perf_counter()  # (when the compiled passes may load: _kernels)
        cands = dp.candidates
        graphs = tuple(graphs)
        last = _STRUCTURE[0]
        cached = last is not None and _same_graphs(last[0], graphs)
        layout = last[1] if cached else _Layout(graphs)
        self.__dict__.update(layout.slots)
        nodes = layout.nodes
        self.nodes = nodes
        self.index = layout.index
        ptr = np.zeros(len(nodes) + 1, dtype=np.int64)
        np.cumsum([len(cands[v]) for v in nodes], out=ptr[1:])
        self.ptr = ptr
        self.lat = np.asarray([x for v in nodes for x in cands[v].latency], dtype=float)
        self.cost = np.asarray([x for v in nodes for x in cands[v].cost], dtype=float)
        self.owner = np.repeat(np.arange(len(nodes)), np.diff(ptr))  # node of each λ column
        # each node's largest |cost| and their sum: what bounds |c| in the rounding
        # allowance of a value c + Y·L (|c| + Y·L ≤ |c + Y·L| + 2|c|; :meth:`total`)
        self.cost_abs_node = (np.maximum.reduceat(np.abs(self.cost), ptr[:-1]) if len(nodes)
                              else np.zeros(0))
        self.cost_abs = float(self.cost_abs_node.sum())
        self.n_lam = n_lam = int(ptr[-1])
        self.budget = np.asarray([f.budget_ms for f in dp.flows], dtype=float)
        # per flow, in topological order: (node index, source row or -1,
        # [(pred position, edge row, d)], first out-edge row or -1, is sink)
        self.flows: list[tuple[list, float]] = list(zip(layout.plans, self.budget.tolist()))
        self.t_slot = t_slot = layout.t_slot  # the finish-time columns' slots
        t_ub = np.where(self.sink[t_slot], self.budget[self.slot_flow[t_slot]], _LP_INF)
        start, index, value = layout.entries(ptr, self.lat)
        row_lo = np.concatenate([layout.row_lo, np.ones(len(nodes))])
        row_hi = np.concatenate([np.full(len(layout.row_lo), _LP_INF), np.ones(len(nodes))])
        lp = highs._Highs()
        lp.setOptionValue("output_flag", False)
        lp.setOptionValue("threads", 1)
        # latencies reach ~1e21 ms inside the input range (batch-fill delays at λ_v = 1e-12):
        # HiGHS refuses matrix entries above large_matrix_value (default 1e15), and addRows
        # would leave the LP without rows (empty duals); any finite entry is fine for the
        # bound, which (1) recomputes from the duals
        lp.setOptionValue("large_matrix_value", math.inf)
        n_col = n_lam + len(t_ub)
        lp.addCols(n_col, np.concatenate([self.cost, np.zeros(len(t_ub))]), np.zeros(n_col),
                   np.concatenate([np.ones(n_lam), t_ub]),
                   0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
        status = lp.addRows(len(row_lo), row_lo, row_hi, len(index), start, index, value)
        if status == highs.HighsStatus.kError:  # never silently an LP without its rows
            raise RuntimeError("HiGHS refused the flow LP's rows")
        self.lp = lp
        # each finish-time column's box for the general bound (5): [0, its flow's budget]
        # (a choice meeting the budgets has finish times T_{f,v} ≤ B_f: its earliest ones)
        self.t_cap = self.budget[self.slot_flow[t_slot]]
        self.n_col = n_col
        self.general = False  # a cut with finish-time columns (GMI) is in: (5), not (1)
        self._rows = None  # (row matrix, lower, upper) of the LP as HiGHS holds it, cached
        self._conflicts: tuple | None = None  # (conflicts(),) once made
        self.n_base_rows = len(row_lo)  # path and convexity rows; the cuts (3) follow them
        self.cut_idx = np.zeros(0, dtype=np.int64)  # the cuts' λ columns, concatenated
        self.cut_row = np.zeros(0, dtype=np.int64)  # the cut of each entry of cut_idx
        self.cut_rhs = np.zeros(0)
        # every cut row's flag, in row order (the covers, then in (5)'s mode every row): never
        # dropped as slack (the rule's no-goods)
        self.cut_kept = np.zeros(0, dtype=bool)
        self.optimal = highs.HighsModelStatus.kOptimal
        self.at_bound = highs.HighsModelStatus.kObjectiveBound
        self._stop, self.stopped = INF, False  # the objective_bound set, and whether it ended a solve
        self._until: float | None = None  # the deadline HiGHS's time_limit was last set from
        self.last_ub = np.ones(n_lam)  # λ's upper bounds in the LP now
        # a search node's work units (the budgets of SEPARATE_SHARE and dp_bound.SHARE): the
        # λ columns and the DAG slots its LP and passes go over
        self.work = n_lam + len(self.slot_flow)
        if not cached:
            _STRUCTURE[0] = (graphs, layout, None)

    def _run(self, ub: np.ndarray, stop: float = INF) -> bool:
        """Solve the LP with λ's upper bounds ``ub`` (0: candidate excluded), warm-started
        from the last basis; whether HiGHS reports an optimum (or, with a finite ``stop``,
        that its dual simplex reached ``stop``: ``stopped``)."""
        changed = np.nonzero(ub != self.last_ub)[0]
        if changed.size:
            self.lp.changeColsBounds(changed.size, changed.astype(np.int32), np.zeros(changed.size),
                                     ub[changed])
            self.last_ub = ub
        if stop != self._stop:
            self.lp.setOptionValue("objective_bound", stop if stop < INF else math.inf)
            self._stop = stop
        # one LP is stopped where one DP is (the deadline in force: the time limit and its
        # grace); a root LP of a 5,000-node DAG ran 3 s past a 3 s limit. Stopped, it has no
        # optimum (None): the search bounds by the parent's multipliers (valid at any) and
        # stops at its next check
        until = deadline_in_force()
        if until is not None or self._until is not None:
            self.lp.setOptionValue("time_limit", math.inf if until is None else
                                   max(until - time.perf_counter(), 1e-3))
            self._until = until
        self.lp.run()
        status = self.lp.getModelStatus()
        self.stopped = stop < INF and status == self.at_bound
        return status == self.optimal or self.stopped

    def solve(self, ub: np.ndarray, stop: float = INF) -> tuple[np.ndarray, np.ndarray] | None:
        """(λ, row duals) of the LP with upper bounds ``ub`` (its value kept in ``value``),
        or None when HiGHS reports no optimum. ``stop``: HiGHS's dual simplex may end as
        soon as its objective reaches ``stop`` (its ``objective_bound``; then ``stopped``):
        its duals are then feasible but not optimal -- (1) and (5) are bounds at any
        multipliers, so they still bound, and where the search prunes at ``stop`` they
        prune -- and λ is no LP optimum."""
        if not self._run(ub, stop):
            return None
        sol = self.lp.getSolution()
        self.value = self.lp.getInfo().objective_function_value
        return np.asarray(sol.col_value)[:self.n_lam], np.asarray(sol.row_dual)

    def support(self, lam: np.ndarray) -> np.ndarray:
        """Per node, how many of its candidates carry weight (> 1e-9) in the LP point λ: a
        node with two or more is fractional there."""
        return np.add.reduceat((lam > 1e-9).astype(np.int64), self.ptr[:-1])

    def objective(self, ub: np.ndarray) -> float:
        """The LP's optimal value with upper bounds ``ub`` (inf when it reports no
        optimum): for choosing a branch only, never as a bound."""
        return self.lp.getInfo().objective_function_value if self._run(ub) else INF

    def add_cuts(self, cuts: list[tuple[list[int], float]], kept: bool = False,
                 general: bool = False) -> None:
        """Add cover cuts (3) of :mod:`.flow_cuts` (each: its λ columns, all coefficient 1,
        and its right side) as rows ``Σ λ ≤ rhs`` of the LP; ``kept``: never dropped as
        slack (:meth:`drop_slack_cuts`: a dropped cover is separated again, these are not);
        ``general``: in (5)'s mode even before any GMI cut (the extensions' LP, whose
        bound (1) has no part for cuts)."""
        if not cuts:
            return
        if self.general or general:  # (5)'s mode reads every row from HiGHS: the same rows, as ≥
            self.add_general_cuts([(np.asarray(c, dtype=np.int64), -np.ones(len(c)), -r)
                                   for c, r in cuts], kept)
            return
        lens = [len(c) for c, _ in cuts]
        idx = np.asarray([j for c, _ in cuts for j in c], dtype=np.int64)
        rhs = np.asarray([r for _, r in cuts], dtype=float)
        starts = np.zeros(len(cuts), dtype=np.int32)
        np.cumsum(lens[:-1], out=starts[1:])
        self.lp.addRows(len(cuts), np.full(len(cuts), -_LP_INF), rhs, idx.size, starts,
                        idx.astype(np.int32), np.ones(idx.size))
        first = self.cut_rhs.size
        self.cut_idx = np.concatenate([self.cut_idx, idx])
        self.cut_row = np.concatenate([self.cut_row, np.repeat(np.arange(first, first + len(cuts)), lens)])
        self.cut_rhs = np.concatenate([self.cut_rhs, rhs])
        self.cut_kept = np.concatenate([self.cut_kept, np.full(len(cuts), kept)])
        self._rows = None  # (read again by lagrange_weights: the extensions' ray check reads
        # them before any general cut)

    def drop_slack_cuts(self, duals: np.ndarray) -> None:
        """Remove the cuts whose multiplier π is 0 at ``duals`` (not binding: they only make
        every later LP solve slower)."""
        pi = -np.asarray(duals[self.n_base_rows:self.n_base_rows + self.cut_rhs.size])
        slack = np.nonzero((pi <= 0) & ~self.cut_kept)[0]
        if not slack.size:
            return
        self.lp.deleteRows(slack.size, (self.n_base_rows + slack).astype(np.int32))
        keep = np.ones(self.cut_rhs.size, dtype=bool)
        keep[slack] = False
        renum = np.cumsum(keep) - 1
        entry = keep[self.cut_row]
        self.cut_idx, self.cut_row = self.cut_idx[entry], renum[self.cut_row[entry]]
        self.cut_rhs, self.cut_kept = self.cut_rhs[keep], self.cut_kept[keep]
        self._rows = None

    def flow_weights(self, duals: np.ndarray, per_flow: bool = False) -> tuple:
        """Exactly conservative flows y_f from the LP's row duals (one pass down every flow in
        topological order: a node's inflow leaves through its out-edges in proportion to their
        duals, along the first one when they are all zero): the weights Y_v = Σ_f Y_{f,v} of
        (1) and its constant Σ_f (Σ_e y_{f,e} d_e − |y_f| B_f); ``per_flow``: also
        (Y_{f,v} per flow and node, each flow's constant), for :mod:`.dp_bound` (third entry,
        None without ``per_flow``). With cuts (3) in the LP, their multipliers
        π = max(0, −dual) (HiGHS: a ≤ row's dual is ≤ 0): each column's π·α as a fourth entry
        and −π·β in the constant: (1) relaxes the cuts too, valid for any π ≥ 0."""
        if self.general:
            return self.lagrange_weights(duals)
        y = np.maximum(duals, 0.0)
        S = len(self.slot_node)
        raw = y[self.e_row]
        out_raw = np.bincount(self.e_u, weights=raw, minlength=S)
        tot = out_raw[self.e_u]
        ratio = np.where(tot > 0, raw / np.where(tot > 0, tot, 1.0),
                         (self.e_row == self.first_out[self.e_u]).astype(float))
        inflow_a = np.zeros(S)
        inflow_a[self.src_slot] = y[self.src_row]
        nb = _kernels(self.started)
        if nb is not None:  # the same operations in the same order, compiled (.flow_numba)
            inflow, edge = inflow_a, np.zeros(ratio.size)
            nb.push_flow(inflow, np.ascontiguousarray(ratio, dtype=float), self.out_ptr,
                         self.out_dst, self.out_eid, edge)
        else:
            inflow, r = inflow_a.tolist(), ratio.tolist()
            edge = [0.0] * len(r)
            for s, outs in enumerate(self.out_edges):  # topological: a slot's inflow is complete
                x = inflow[s]
                if x:
                    for e, v in outs:
                        f = x * r[e]
                        edge[e] = f
                        inflow[v] += f
            inflow = np.asarray(inflow)
            edge = np.asarray(edge)
        F = len(self.flows)
        Y = np.bincount(self.slot_node, weights=inflow, minlength=len(self.nodes))
        value_in = np.bincount(self.slot_flow[self.src_slot], weights=y[self.src_row], minlength=F)
        value_out = np.bincount(self.slot_flow[self.sink], weights=inflow[self.sink], minlength=F)
        # conservation holds up to rounding: the larger value keeps (1) a lower bound
        value = np.maximum(value_in, value_out)
        # every constant is lowered by its rounding allowance (:meth:`slack`; Σ y_e d_e and
        # |y|·B also bound the error of y's own conservation, times any path's latency)
        spent = spec.dot(edge, self.e_d)
        const = spent - spec.dot(value, self.budget)
        const -= self.slack(spent + spec.dot(value, np.abs(self.budget)))
        extra = None
        if per_flow:
            N = len(self.nodes)
            Yf = np.bincount(self.slot_flow * N + self.slot_node, weights=inflow, minlength=F * N)
            spent_f = np.bincount(self.slot_flow[self.e_u], weights=edge * self.e_d, minlength=F)
            cf = spent_f - value * self.budget
            cf -= self.slack(spent_f + value * np.abs(self.budget))
            extra = (Yf.reshape(F, N), cf)
        if not self.cut_rhs.size:
            return (Y, const) if extra is None else (Y, const, extra)
        pi = np.maximum(-np.asarray(duals[self.n_base_rows:self.n_base_rows + self.cut_rhs.size]), 0.0)
        shift = np.bincount(self.cut_idx, weights=pi[self.cut_row], minlength=self.n_lam)
        const -= spec.dot(pi, self.cut_rhs) + self.slack(spec.dot(pi, np.abs(self.cut_rhs))
                                                     + float(shift.sum()))
        return Y, const, extra, shift

    def conflicts(self) -> np.ndarray | None:
        """The path knapsacks' pairwise conflicts (:func:`.flow_cuts.conflict_rooms`, at the
        widened budgets), made on first use."""
        if self._conflicts is None:
            self._conflicts = (flow_cuts.conflict_rooms(self.lat, self.ptr, self.flows,
                                                        self.widened_budgets(1.0)),)
        return self._conflicts[0]

    def cliques(self, lam: np.ndarray, most: int = 100) -> list[tuple[list[int], float]]:
        """The cliques (6) violated at ``lam`` (:func:`.flow_cuts.clique_cuts` over
        :meth:`conflicts`; none where no table is made)."""
        room = self.conflicts()
        return [] if room is None else flow_cuts.clique_cuts(self.lat, self.ptr, room, lam, most)

    def widened_budgets(self, sign: float) -> np.ndarray:
        """Each flow's budget moved by ``sign`` times the spec's float margin of its
        plan's terms (+1: widened, so that propagation and covers drop no fitting row; −1:
        narrowed)."""
        return np.asarray([budget + sign * spec.fp_margin_ms(budget, len(plan) + sum(
            len(x[2]) for x in plan)) for plan, budget in self.flows], dtype=float)

    def rows(self) -> tuple:
        """((column, row, value) of every matrix entry, row lower bounds, row upper bounds) of
        the LP as HiGHS holds it now (cuts included); rebuilt only after the rows change."""
        if self._rows is None:
            a = self.lp.getLp()
            self._rows = (flow_cuts.matrix_entries(a.a_matrix_, self.n_col),
                          np.asarray(a.row_lower_), np.asarray(a.row_upper_))
        return self._rows

    def lagrange_weights(self, duals: np.ndarray) -> tuple:
        """Bound (5): the Lagrangian relaxation of every row but the convexity rows, at the
        multipliers μ = the LP's row duals clipped to their valid sign (≥ 0 on a ≥ row,
        ≤ 0 on a ≤ row), over λ in each node's simplex and each finish time T in
        [0, ``t_cap``]:

            LB(μ) = Σ_r μ_r b_r + Σ_v min_k (c − A^T μ)_{v,k} + Σ_T min(0, (−A^T μ)_T) · cap_T

        (b_r: the row's bound on μ_r's side). A lower bound for every such μ (on a feasible
        choice with its earliest finish times every dropped term μ_r (a_r x − b_r) is ≥ 0),
        whatever the rows (GMI cuts with finish-time columns included) and the LP's
        tolerances; at the LP's optimal duals it equals the LP's value. Returned in the form
        of :meth:`flow_weights` (Y = 0, the constant, no per-flow part, each λ column's
        −(A^T μ) as the shift), so :meth:`bound` computes it. O(nonzeros)."""
        (ent_col, ent_row, ent_val), lo, hi = self.rows()
        mu = np.asarray(duals[:lo.size], dtype=float).copy()
        ge = lo > -_LP_INF / 2
        le = hi < _LP_INF / 2
        mu[ge & ~le] = np.maximum(mu[ge & ~le], 0.0)
        mu[le & ~ge] = np.minimum(mu[le & ~ge], 0.0)
        mu[ge & le] = 0.0  # the convexity rows (equalities): each node's min takes them
        mu[~ge & ~le] = 0.0
        side = np.where(mu > 0, lo, np.where(mu < 0, hi, 0.0))
        terms = ent_val * mu[ent_row]
        atmu = np.bincount(ent_col, weights=terms, minlength=self.n_col)
        rc_t = np.minimum(-atmu[self.n_lam:], 0.0)
        const = spec.dot(mu, side) + spec.dot(rc_t, self.t_cap)
        # lowered by the rounding allowance of its terms and of every A^T μ entry (:meth:`slack`)
        const -= self.slack(spec.dot(np.abs(mu), np.abs(side)) - spec.dot(rc_t, self.t_cap)
                            + float(np.abs(terms).sum()))
        return np.zeros(len(self.nodes)), const, None, -atmu[:self.n_lam]

    def add_general_cuts(self, cuts: list[tuple[np.ndarray, np.ndarray, float]],
                         kept: bool = False) -> None:
        """Add cuts ``Σ a x ≥ rhs`` over any columns (λ and finish times: GMI cuts (4) of
        :func:`.flow_cuts.gmi_cuts`, each as (columns, coefficients, rhs)); from then on the
        bound is (5). ``kept``: never dropped as slack (:meth:`drop_slack_rows`)."""
        if not cuts:
            return
        self.cut_kept = np.concatenate([self.cut_kept, np.full(len(cuts), kept)])
        lens = [len(c[0]) for c in cuts]
        starts = np.zeros(len(cuts), dtype=np.int32)
        np.cumsum(lens[:-1], out=starts[1:])
        self.lp.addRows(len(cuts), np.asarray([c[2] for c in cuts], dtype=float),
                        np.full(len(cuts), _LP_INF), int(sum(lens)), starts,
                        np.concatenate([c[0] for c in cuts]).astype(np.int32),
                        np.concatenate([c[1] for c in cuts]).astype(float))
        self.general = True
        self._rows = None

    def drop_slack_rows(self, duals: np.ndarray) -> None:
        """In (5)'s mode: remove every cut row whose dual is 0 at ``duals``, but the kept
        ones (the rule's no-goods: not separated again)."""
        m = self.lp.getNumRow()
        d = np.asarray(duals[self.n_base_rows:m])
        slack = np.nonzero((d == 0.0) & ~self.cut_kept)[0]
        if slack.size:
            self.lp.deleteRows(slack.size, (self.n_base_rows + slack).astype(np.int32))
            self.cut_kept = np.delete(self.cut_kept, slack)
            self._rows = None

    def bound_at(self, y: tuple, ub: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """:meth:`bound` at what :meth:`flow_weights` returned (its cut entry included)."""
        return self.bound(y[0], y[1], ub, y[3] if len(y) > 3 else None)

    def bound(self, Y: np.ndarray, const: float, ub: np.ndarray,
              shift: np.ndarray | None = None) -> tuple[float, np.ndarray, np.ndarray]:
        """(1) over the allowed candidates (``ub`` > 0): the bound (:meth:`total`: below
        (1)'s value in real arithmetic), each column's value c + Y·L (+ the cuts' π·α,
        ``shift``) (inf where excluded) and each node's minimum. Several y at once
        (:class:`DualPool`): ``Y`` (K, nodes), ``const`` (K,), ``shift`` (K, columns) give
        K bounds, values and minima, row by row the same bits as K calls."""
        val = self.cost + Y[..., self.owner] * self.lat
        if shift is not None:
            val = val + shift
        val = np.where(ub > 0, val, INF)
        mins = np.minimum.reduceat(val, self.ptr[:-1], axis=-1)
        return self.total(mins, const), val, mins

    # -- rounding: (1) and (5) are bounds in real arithmetic; computed in doubles, each sum
    # is lowered by a bound on its rounding error. Its terms can dwarf the bound itself
    # (Y·L ≫ c when latencies are large and the LP's slopes steep: errors of 1e-4 of the cost
    # were measured without it, against PRUNE_TOL = 1e-10), so the allowance scales with
    # the terms' magnitude, not with the bound's.

    def slack(self, magnitude: np.ndarray | float) -> np.ndarray | float:
        """The rounding allowance (:func:`fa2opt.spec.sum_slack`) of a value computed in
        this LP's bounds from operands of total magnitude ``magnitude``: no chain of their
        operations (y's propagation, A^T μ, the sums over nodes) is longer than the LP's
        columns plus rows."""
        return spec.sum_slack(self.n_col + self.lp.getNumRow(), magnitude)

    def total(self, mins: np.ndarray, const: float, magnitude: float = 0.0) -> float:
        """Σ ``mins`` + ``const`` from below (``const`` already lowered by its own
        allowance): the doubles' sum less the allowance of the mins -- each c + Y·L (+ a
        shift of its own), whose operands are at most |min| + 2|c| -- and of ``magnitude``
        (any other operands the caller added)."""
        s = mins.sum(axis=-1) + const  # (several y, rows of mins: a bound each)
        allowance = self.slack(np.abs(mins).sum(axis=-1) + 2.0 * self.cost_abs + magnitude)
        out = s - np.where(np.isfinite(s), allowance, 0.0)  # (inf stays inf)
        return float(out) if mins.ndim == 1 else out

    def reduced_slack(self, val: np.ndarray, mins: np.ndarray,
                      extra: np.ndarray | float = 0.0) -> np.ndarray:
        """Per column, the rounding allowance of its reduced cost ``val − mins[owner]``
        (excluded columns, valued inf, count 0; ``extra``: per column, the magnitude of
        operands in ``val`` beyond c + Y·L)."""
        v = np.abs(np.where(np.isfinite(val), val, 0.0))
        m = np.abs(np.where(np.isfinite(mins), mins, 0.0))[..., self.owner]
        return self.slack(v + m + 4.0 * self.cost_abs_node[self.owner] + extra)


class DualPool:
    """The multipliers y of the root and of the last ``size`` − 1 search nodes (Y, the
    constant and the cuts' shift of (1) or (5), :meth:`FlowLP.flow_weights`), kept as rows of
    arrays. (1) is
    a lower bound at *any* y over *any* node's candidates (every cut in the LP is global),
    so a y that proved one node's bound proves at another node whatever its masks: before a
    node's LP, :meth:`LPSearch.pooled` prunes it where (1) at some pooled y reaches the
    incumbent, and fixes by each pooled y's reduced costs (the root's reduced costs applied
    at every node are Achterberg's "root reduced cost strengthening", Constraint Integer
    Programming, 2007, §7.7; here the last nodes' y, as a conflict pool keeps the last
    proofs). All K bounds in one pass of numpy over a (K, columns) array: O(K · columns)
    a node, against an LP's simplex iterations."""

    __slots__ = ("Y", "const", "shift", "size", "next")

    def __init__(self, nodes: int, columns: int, size: int):
        size = max(size, 2)  # (the root's row and at least one other)
        self.Y, self.const = np.zeros((size, nodes)), np.zeros(size)
        self.shift = np.zeros((size, columns))
        self.size = self.next = 0

    def add(self, y: tuple) -> None:
        """Keep ``y``: the first (the root's) for good, each later one in place of the
        oldest of the others when full."""
        i = self.next
        self.Y[i], self.const[i] = y[0], y[1]
        self.shift[i] = y[3] if len(y) > 3 and y[3] is not None else 0.0
        self.next = max(1, (i + 1) % len(self.const))
        self.size = min(self.size + 1, len(self.const))

    def weights(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(Y, constants, shifts) of the y kept, a row each: :meth:`FlowLP.bound`'s input."""
        n = self.size
        return self.Y[:n], self.const[:n], self.shift[:n]


def cost_grain(costs: np.ndarray) -> float:
    """The largest g such that every cost is an integer multiple of g (within 1e-9
    relative), found among decimal scalings 10⁰…10⁶; 0 when there is none. Then every
    choice's total is a multiple of g too (the objective's integrality, as MILP solvers
    detect it), so a bound above incumbent − g already prunes."""
    for k in range(7):
        x = costs * 10.0 ** k
        r = np.round(x)
        if r.size and r.max() < 2.0 ** 52 and np.all(np.abs(x - r) <= 1e-9 * np.maximum(1.0, x)):
            g = int(np.gcd.reduce(r.astype(np.int64)))
            return g / 10.0 ** k if g > 0 else 0.0
    return 0.0


def cut_rounds(lp: FlowLP, ub: np.ndarray, sol: tuple, separate: Callable[[np.ndarray], int],
               stop: float | None, rounds: int, most: float = INF) -> tuple | None:
    """Rounds of cuts at the root's LP (``ub``: the root's bounds, so the cuts are global):
    ``separate(λ)`` adds the cuts it finds violated by λ to ``lp`` and returns how many;
    the LP is solved again after each round, until a round finds none, raises the LP value
    by less than ``GMI_STALL`` of what the rounds before raised it, ``most`` cuts are in,
    the deadline ``stop`` (``perf_counter`` seconds; None: none) or ``rounds`` rounds; then,
    in (5)'s mode, the cuts with a zero dual are dropped. Returns the last (λ, duals), or
    None when HiGHS reports no optimum. The loop of :func:`gmi_rounds` and of the
    extensions' cover rounds (:meth:`fa2opt.extensions.lp_search._Search.cover_rounds`)."""
    first, added = lp.value, 0
    for _ in range(rounds):
        if added >= most or (stop is not None and time.perf_counter() > stop):
            break
        before = lp.value
        found = separate(sol[0])
        if not found:
            break
        added += found
        sol = lp.solve(ub)
        if sol is None:
            return None
        if lp.value - before < GMI_STALL * max(lp.value - first, 1e-9 * max(1.0, abs(first))):
            break
    if DROP_SLACK and lp.general:
        lp.drop_slack_rows(sol[1])
        sol = lp.solve(ub)
    return sol


def gmi_rounds(lp: FlowLP, ub: np.ndarray, sol: tuple, stop: float | None) -> tuple | None:
    """Rounds (:func:`cut_rounds`) of GMI cuts (4) (:func:`.flow_cuts.gmi_cuts`), each with
    the violated cliques (6) (:meth:`FlowLP.cliques`), at most ``GMI_ROUNDS`` of
    ``GMI_PER_ROUND`` cuts. Shared by :class:`LPSearch` and the extensions' LP search
    (:mod:`fa2opt.extensions.lp_search`)."""
    def separate(lam: np.ndarray) -> int:
        cliques = lp.cliques(lam, GMI_PER_ROUND)
        cuts = flow_cuts.gmi_cuts(lp.lp, lp.n_lam, lp.t_cap, GMI_PER_ROUND, stop)
        lp.add_cuts(cliques)
        lp.add_general_cuts(cuts)
        return len(cliques) + len(cuts)

    return cut_rounds(lp, ub, sol, separate, stop, GMI_ROUNDS)


@dataclass
class _SplitTry:
    """The copy split between :meth:`LPSearch.hand_over`'s tries: its search, the root its
    ascent has reached, one ascent step's work, the work all tries' ascents have spent and
    that of its search's races."""

    lag: _LagrangianSearch
    root: tuple
    work: float
    spent: float
    race_work: float = 0.0


class _JudgeStalled(Exception):
    """A judged search's incumbent stalled (:meth:`LPSearch.judge_stall`): :func:`lp_search`
    searches again without judging."""


def fastest_meets_rule(dp: DecoupledProblem, graphs: list[FlowGraph]) -> bool:
    """Whether every flow meets the spec's SLA rule with each node at its fastest candidate:
    whether any choice of ``dp`` does (the rule is monotone in every latency), so that the
    search, whose leaves the rule judges, has an answer. O(Σ_f |G_f|)."""
    cands = dp.candidates
    return all(g.meets_sla({v: cands[v].latency[0] for v in g.nodes}) for g in graphs)


def _split_work(dp: DecoupledProblem) -> float:
    """The work units of one step of the copy split's ascent before its pairs: every flow's
    :func:`.search.leaf_candidates`."""
    return float(sum(leaf_candidates(dp, i) for i in range(len(dp.flows))))


WIDE_COLS = 64  # LPSearch.without clears more columns than this slot by slot, not bit by bit


def mask_bits(m: int, width: int) -> np.ndarray:
    """Bits 0 … width−1 of a search node's mask (a Python int) as a bool array: its
    little-endian bytes unpacked, O(width / 8) in C where a loop over the bits took a
    Python step each (fronts of 2,000 rows: 9 ms per search node)."""
    raw = np.frombuffer(m.to_bytes((width + 7) // 8, "little"), dtype=np.uint8)
    return np.unpackbits(raw, bitorder="little")[:width].astype(bool)


def bits_mask(bits: np.ndarray) -> int:
    """:func:`mask_bits`'s inverse: a bool array as a mask."""
    return int.from_bytes(np.packbits(bits, bitorder="little").tobytes(), "little")


class LPSearch:
    """Branch and bound over one component's coupling nodes with the bound of :class:`FlowLP`
    (see the module docstring). A search node is a tuple of bit masks, one per coupling node
    (bit k: candidate k allowed), then (``FREE_BRANCH``) one per other node with several
    candidates, which only a stuck node branches on (:meth:`branch`); a node whose coupling
    masks are decided is a leaf, valued by the DP over every candidate of the others (a
    superset of the leaf's own, so its value is feasible and at most the leaf's optimum)."""

    def __init__(self, dp: DecoupledProblem, graphs: list[FlowGraph], remainder: RemainderSolver,
                 deadline: float | None, cutoff: float = INF, judged: bool = True):
        self.deadline = deadline
        self.started = time.perf_counter()
        self.exact = _Exact(dp, remainder, cutoff, judged)  # judged: the LP takes its no-goods
        self.lp = FlowLP(dp, graphs)
        self.coupling = list(dp.coupling)
        ix = self.lp.index
        self.slot = [ix[w] for w in self.coupling]
        self.n_c = len(self.slot)
        self.cslot = np.asarray(self.slot, dtype=np.int64)
        # every node at its cheapest candidate (the last): the bound with nothing known
        # (costs are positive), and the least the non-coupling nodes can add to a fixing
        cheapest = self.lp.cost[self.lp.ptr[1:] - 1]
        self.trivial = float(cheapest.sum())
        free = np.ones(len(cheapest), dtype=bool)
        free[self.slot] = False
        self.free_floor = float(cheapest[free].sum())
        self.free = np.nonzero(free)[0]  # the nodes that are not coupling nodes
        if FREE_BRANCH:  # the other nodes with a choice, after the coupling nodes (branch)
            sizes = np.diff(self.lp.ptr)
            self.slot = self.slot + [int(i) for i in self.free if sizes[i] >= 2]
        self.wcols = [(int(self.lp.ptr[i]), int(self.lp.ptr[i + 1])) for i in self.slot]
        self.col_index = np.arange(self.lp.n_lam)
        self.wstart = np.asarray([a for a, _ in self.wcols], dtype=np.int64)
        self.explored = 0
        self.nogoods_added: set[tuple] = set()  # the rule's no-goods in the LP (add_nogoods)
        self.judged_best, self.judged_at = INF, 0  # the incumbent judge_stall saw improve last
        self.flat_bound, self.flat_at = -INF, 0  # the search's bound judge_stall saw rise last
        self.stalled_at: int | None = None  # the search node at which judging stalled
        self.copy_split_root = -INF  # the copy split's root bound, when computed (hand_over)
        self.root_lb: float | None = None  # the root node's bound (valid for the whole search)
        # the copy split between its tries (hand_over), and the search node of the next try
        self.split: _SplitTry | None = None
        self.next_split = COPY_SPLIT_AT
        self.step_over = 0.0  # a first ascent step was stopped past this many units (hand_over)
        self.split_popped = -INF  # the search's bound at the last try (hand_over)
        self.raced = 0  # the copy split's nodes in races this search went on after
        self.root_flows: np.ndarray | None = None  # the root LP's flow per flow and node
        self.grain = cost_grain(self.lp.cost)
        self.graphs = tuple(graphs)
        # nothing meets the rule, or (a subproblem of an enumeration) its parent's root
        # multipliers settle it: no choice (a judged search would exhaust the widened
        # choices to prove the first: an infeasible many-flows draw at its edge, 2.9 -> 18 ms)
        self.settled = (judged and not fastest_meets_rule(dp, graphs)
                        or cutoff < INF and self.settled_at_root())
        if self.settled:
            return
        self.residues = residues.split(self.lp.cost, self.lp.ptr)  # off the grain at a few nodes
        self.pseudo = [[0.0, 0.0, 0] for _ in self.slot]  # Σ fast gain, Σ slow gain, count
        last = _STRUCTURE[0]
        if last is not None and last[2] is not None and _same_graphs(last[0], tuple(graphs)):
            self.dag = last[2]
        else:
            self.dag = DagStructure.from_flows(self.lp.nodes, graphs)
            if last is not None and _same_graphs(last[0], tuple(graphs)):
                _STRUCTURE[0] = (last[0], last[1], self.dag)
        # the budgets widened by the float margin (propagation must not drop a fitting row);
        # each λ column's coupling slot (−1: not a coupling node's)
        self.slack_budget = self.lp.widened_budgets(1.0)
        self.tight_budget = self.lp.widened_budgets(-1.0)
        col_slot = np.full(self.lp.n_lam, -1, dtype=np.int64)
        for i, (a, b) in enumerate(self.wcols):
            col_slot[a:b] = i
        self.coupled_col = col_slot >= 0
        self.col_slot = col_slot.tolist()
        self.cc_slot_of = col_slot  # (as an array: LPSearch.without)
        # the coupled columns, their slots and bits: masks <-> bounds in a few numpy calls
        # (masks of up to 62 candidates fit an int64; wider ones take the Python loop)
        self.cc = np.nonzero(self.coupled_col)[0]
        self.cc_slot = col_slot[self.cc]
        self.cc_bit = self.cc - np.asarray([a for a, _ in self.wcols], dtype=np.int64)[self.cc_slot]
        self.narrow = all(b - a <= 62 for a, b in self.wcols)
        self.dpb = DPBound(dp, self.lp, remainder)
        self.pool = DualPool(len(self.lp.nodes), self.lp.n_lam, POOL_SIZE) if POOL_SIZE else None
        # a search with a cutoff is a subproblem of an enumeration (the SLA edge's, the
        # extensions'): its root basis is kept for the next one (a plain decision pays
        # nothing), and it races no copy split (hand_over)
        self.subproblem = cutoff < INF
        self.warm_start()
        large = len(self.coupling) >= GMI_MIN_COUPLING
        self.cuts = "gmi" if CUTS == "gmi" and large else "cover"
        self.reliable = RELIABLE_LARGE if large else RELIABLE
        self.plunge = large
        self.stuck_work = 0  # the labels of the cover passes at stuck nodes (stuck_covers)

    def judge_stall(self, bound: float) -> None:
        """Leaves judged by the rule (:class:`.search._Exact`) until ``JUDGE_STALL`` search
        nodes pass without a better incumbent, or, once the rule has met a no-good,
        ``JUDGE_FLAT`` nodes without a better incumbent or a higher ``bound`` (the search's,
        the largest popped). Where many
        choices at the LP's bound break
        the rule by an ulp and only one meets it, the rounding keeps landing on rejected
        fixings (a 20-flow many-flows draw: 36,000 of them over 25,666 nodes, all at bound
        1,640.94 against the optimum 1,641). From there the leaves take the widened budgets
        alone (the rule's rejections forgotten, its cuts kept) and the search answers their
        optimum, at most the rule's, which the SLA edge's enumeration settles
        (:func:`fa2opt.edge.decide_exact`): with the cuts in, that optimum often meets the
        rule already (long-paths 16x10x12 #617905944 three ulps below its edge: 1.2 s, one
        DP solve). But the cuts can make it as hard to prove as the rule's (long-paths
        12x8x10 #730555604, one ulp below: past 60 s, 120,015 nodes, bound 1,508.9 against
        1,510), so ``JUDGE_RESTART`` nodes after the stall :func:`lp_search` searches again
        without judging or cuts, for the widened optimum as before judging existed (that
        draw: 2.6 s; 13.8 s before judging, 8.6 s restarting at the stall itself) -- where
        the rule has met a no-good by the stall: where it rejected nothing, no rule's cut is
        in and no leaf was valued otherwise, so this search is already the one a restart
        would run, node for node but for the copy split's races (which wait for judging to
        stop), and goes on (vsp 200 default_rng(15): 4,464 nodes twice, 16.1 s, before).
        Counting the rule's rejections per node instead of the incumbent's stall was tried too
        (a long-paths 14x8x16 draw: 10 s before handing back anyway).

        A flat bound stalls sooner where the rule has met a no-good: where neither the
        incumbent nor the bound has moved in ``JUDGE_FLAT`` nodes, the gap is the widened
        choices' that the rule rejects by an ulp, which judging more leaves does not close
        (many-flows 6x5x20 #734493575 one ulp below its edge: the rule's optimum 764 found
        at node 9, the bound 704.2 from then to the stall at node 209, and again in the
        enumeration's first child), while a
        search whose bound still rises may yet find or prove the rule's optimum (long-paths
        14x8x16 #548828616 at -2: a better incumbent 30 nodes after the last, its bound
        rising all along; stalling after 25 nodes took it from 1 DP solve to 19). Where the
        rule has rejected nothing, stopping judging changes no leaf's value but starts the
        copy split's races (:meth:`hand_over`), so a flat bound there waits for
        ``JUDGE_STALL`` as before (long-paths 14x8x16 #322969530 as drawn, its bound flat
        from the 64th node: the split handed the search at node 1,024 instead of 512, 1.8 ->
        2.3 s)."""
        best = self.exact.best
        if bound > self.flat_bound:
            self.flat_bound, self.flat_at = bound, self.explored
        if best < self.judged_best:
            self.judged_best, self.judged_at = best, self.explored
            return
        met = bool(self.nogoods_added or self.exact.nogoods)  # else the rule rejected nothing
        if self.explored - self.judged_at >= JUDGE_STALL or (
                met and self.explored - max(self.judged_at, self.flat_at) >= JUDGE_FLAT):
            self.exact.stop_judging()
            if met:  # (else this search is the one a restart would run)
                self.stalled_at = self.explored

    def add_nogoods(self) -> None:
        """The SLA rule's no-goods that the leaves met (:meth:`.search._Exact.rule`) as cuts
        of the LP: a path P whose nodes at latencies θ_v break the rule is broken by every
        choice at least as slow at each of them (float addition and max are monotone), so
        every choice meeting the rule has Σ_{v ∈ P} Σ_{k: L_{v,k} ≥ θ_v} λ_{v,k} ≤ |P| − 1,
        a cover (3) of :mod:`.flow_cuts` that the widened budgets' covers cannot find (it
        is an ulp over the SLA, within the margin); the MILP adds the same rows
        (``formulations/solve.py``). They enter (1) by their duals as every cover does."""
        lp, cands = self.lp, self.exact.dp.candidates
        cuts = []
        for path, theta in self.exact.nogoods:
            if (path, theta) in self.nogoods_added:
                continue
            self.nogoods_added.add((path, theta))
            cols = []
            for v, t in zip(path, theta):
                a = int(lp.ptr[lp.index[v]])
                lat = cands[v].latency  # fastest first: the rows at least as slow as θ_v
                cols.extend(range(a + bisect.bisect_left(lat, t), a + len(lat)))
            cuts.append((cols, float(len(path) - 1)))
        self.exact.nogoods.clear()
        lp.add_cuts(cuts, kept=True)

    def settled_at_root(self) -> bool:
        """Whether nothing below the cutoff is left: the bound (1) at the root multipliers of
        a recent search without a cutoff on the same flow graphs (:data:`_ROOT_WEIGHTS`: an
        enumeration's parent problem; (1) bounds at any conservative flow y and the budgets
        are the graphs' own), with every candidate of this search allowed, reaches it. Then
        the search is not built any further: an edge enumeration's children differ from
        their parent at a few nodes (:func:`fa2opt.edge.orthant_partition`), and one whose
        split nodes all cost more at those multipliers is settled for the price of building
        this LP. O(Σ candidates)."""
        y = next((y for graphs, y in _ROOT_WEIGHTS if _same_graphs(graphs, self.graphs)), None)
        return y is not None and (self.lp.bound(*y, np.ones(self.lp.n_lam))[0]
                                  >= self.exact.best - self.tol())

    def col_keys(self) -> list[tuple]:
        """Each λ column as (node, latency, cost): what identifies a candidate across
        subproblems whose tables are cut differently (their positions are not)."""
        lp = self.lp
        return list(zip(lp.owner.tolist(), lp.lat.tolist(), lp.cost.tolist()))

    def keep_root_basis(self) -> None:
        """Remember the root LP's basis for the next search on the same flow graphs."""
        import highspy._core as highs

        basis = self.lp.lp.getBasis()
        if not basis.valid:
            return
        n_lam, base = self.lp.n_lam, self.lp.n_base_rows
        cols, rows = list(basis.col_status), list(basis.row_status)
        lam = dict(zip(self.col_keys(), cols[:n_lam]))
        _ROOT_BASIS[0] = (self.graphs, lam, cols[n_lam:], rows[:base], highs.HighsBasisStatus.kLower)

    def warm_start(self) -> None:
        """Start the LP from the last search's root basis when it was on the same flow graphs
        (same rows but the cuts; λ columns matched by :meth:`col_keys`, new ones nonbasic at
        0), given to HiGHS as an *alien* basis (it repairs a wrong count of basic variables).
        Only the LP's first solve changes: every bound is still computed from the duals
        HiGHS returns, so the search stays exact whatever basis it starts from. O(columns)."""
        import highspy._core as highs

        last = _ROOT_BASIS[0]
        if last is None or not _same_graphs(last[0], self.graphs):
            return
        _, lam, t_status, row_status, lower = last
        if len(t_status) != self.lp.n_col - self.lp.n_lam or len(row_status) != self.lp.n_base_rows:
            return
        basis = highs.HighsBasis()
        basis.col_status = [lam.get(k, lower) for k in self.col_keys()] + list(t_status)
        basis.row_status = list(row_status)
        basis.alien = True
        basis.valid = True
        self.lp.lp.setBasis(basis)

    def propagate(self, masks: tuple[int, ...]) -> tuple[int, ...] | None:
        """Drop each coupling node's candidates that break a flow's budget even with every
        other node at its fastest allowed candidate: ``start_v + L_{v,k} + tail_v`` above the
        budget (widened by the float margin), start/tail from one pass each way over every
        flow in topological order. None: some node keeps none (the search node is
        infeasible). O(Σ_f |G_f|)."""
        lp = self.lp
        lat = lp.lat
        fast = lat[lp.ptr[:-1]]  # fastest allowed latency per node
        fast[self.slot] = lat[self.wstart + self.lowest_bits(masks)]
        start, tail = self.start_tail(fast)
        room_slot = self.slack_budget[lp.slot_flow] - start - tail
        room = np.full(len(lp.nodes), INF)
        np.minimum.at(room, lp.slot_node, room_slot)
        bad = np.nonzero((lat > room[lp.owner]) & self.coupled_col)[0]
        if not bad.size:
            return masks
        return self.without(masks, bad)

    def without(self, masks: tuple[int, ...], cols: np.ndarray) -> tuple[int, ...] | None:
        """``masks`` less the candidates of columns ``cols`` (coupling nodes' columns); None
        when a node keeps none. Masks of at most 62 candidates: the bits to clear ORed per
        node in one numpy call (the same masks as the loop over the columns, which wider
        ones take). O(coupling nodes + |cols|)."""
        if self.narrow and cols.size > 8:
            slots = self.cc_slot_of[cols]
            clear = np.zeros(len(masks), dtype=np.int64)
            np.bitwise_or.at(clear, slots, np.left_shift(1, cols - self.wstart[slots]))
            m = np.asarray(masks, dtype=np.int64) & ~clear
            if not m.all():
                return None
            return tuple(m.tolist())
        out = list(masks)
        if cols.size > WIDE_COLS:  # (wide masks: each slot's bits cleared at once)
            slots = self.cc_slot_of[cols]
            for i in np.unique(slots).tolist():
                a, b = self.wcols[i]
                bits = np.zeros(b - a, dtype=bool)
                bits[cols[slots == i] - a] = True
                out[i] &= ~bits_mask(bits)
        else:
            for c in cols.tolist():
                i = self.col_slot[c]
                out[i] &= ~(1 << (c - self.wcols[i][0]))
        if not all(out):
            return None
        return tuple(out)

    def improve(self) -> None:
        """Local search from the incumbent (the primal side's batch work): every move of one
        node to a cheaper candidate that fits its room (the budget less the longest path
        through it without it), then every pair of one node one step faster and another
        cheaper that fits only with the latency given back, evaluated at once by
        :func:`fa2opt.dag_batch.evaluate_fixings` (the spec's longest-path rule); the best feasible cheaper move is taken until none is left, and
        the coupling nodes' result goes back to the DP (:class:`~.search._Exact`) for the
        other nodes. O(moves · (V + E)) per round, on the batch backend."""
        exact = self.exact
        if exact.best_fix is None:
            return
        lp = self.lp
        choice = exact.choice(exact.best_fix)
        idx = np.asarray([lp.ptr[j] + choice.get(v, 0) for j, v in enumerate(lp.nodes)])
        first, owner, cols = lp.ptr[:-1], lp.owner, np.arange(lp.n_lam)
        for _ in range(4 * len(lp.nodes)):
            if self.deadline is not None and time.perf_counter() > self.deadline:
                break
            cur = float(lp.cost[idx].sum())
            # each node's room: the budget (widened by the float margin) less the longest
            # path through it without it; a move that cannot fit in it (or, for a pair, in it
            # plus what speeding the other node up gives back) is not evaluated
            start, tail = self.start_tail(lp.lat[idx])
            room = np.full(len(lp.nodes), INF)
            np.minimum.at(room, lp.slot_node, self.slack_budget[lp.slot_flow] - start - tail)
            cheaper = cols > idx[owner]
            need = lp.lat - room[owner]
            # single moves: node owner[c] to a cheaper (slower) candidate c
            single = cols[cheaper & (need <= 0)]
            rows_v = owner[single]
            # pairs: u one step faster, v to a cheaper candidate that does not fit alone,
            # cheaper in total
            over = cols[cheaper & (need > 0)]
            faster = idx - 1
            us = np.nonzero(faster >= first)[0]
            gain = lp.cost[faster[us]] - lp.cost[idx[us]]  # (U,) what speeding u up costs
            back = lp.lat[idx[us]] - lp.lat[faster[us]]  # (U,) the latency it gives back
            save = lp.cost[over] - lp.cost[idx[owner[over]]]  # (O,) what the move saves
            iu, iv = np.nonzero((gain[:, None] + save[None, :] < -1e-12)
                                & (us[:, None] != owner[over][None, :])
                                & (need[over][None, :] <= back[:, None]))
            if iu.size > MAX_PAIRS:  # the pairs that would save most
                keep = np.argpartition(gain[iu] + save[iv], MAX_PAIRS)[:MAX_PAIRS]
                iu, iv = iu[keep], iv[keep]
            pu, pv = us[iu], over[iv]
            B = rows_v.size + pu.size
            if B == 0:
                break
            moves = np.tile(idx, (B, 1))
            moves[np.arange(rows_v.size), rows_v] = single
            r = np.arange(rows_v.size, B)
            moves[r, pu] = faster[pu]
            moves[r, owner[pv]] = pv
            # the compiled kernel once Numba is loaded; else the numpy twin (same bits), so a
            # single decision does not pay for loading Numba's cache
            evaluate = evaluate_fixings if "numba" in sys.modules else evaluate_fixings_numpy
            # in blocks, the DPs' deadline checked between them: one round's 20,000 moves over
            # 1,000 flows took a second, past a 3 s limit and its grace (the same values)
            total = np.empty(B)
            for a in range(0, B, IMPROVE_BLOCK):
                if past_dp_deadline():
                    return
                z = moves[a:a + IMPROVE_BLOCK]
                ev = evaluate(self.dag, lp.lat[z], lp.cost[z], budget=lp.budget)
                total[a:a + len(z)] = np.where(ev.ok, ev.total, INF)
            b = int(np.argmin(total))
            if not total[b] < cur - 1e-12 * max(1.0, cur):
                break
            idx = moves[b]
        fix = {w: int(idx[s] - lp.ptr[s]) for w, s in zip(self.coupling, self.slot)}
        exact.value(fix, past_dp_deadline)

    def separate(self, ub: np.ndarray, sol: tuple, trial: bool = False) -> tuple | None:
        """Rounds of cover cuts (3) (:func:`.flow_cuts.cover_cuts`) and cliques (6)
        (:meth:`FlowLP.cliques`) violated by the LP's λ, each added to the LP (globally:
        they hold for every choice meeting the budgets) and the LP solved again, until none
        is found, the LP value stalls, ``MAX_CUTS`` are in, or the rounds have spent their
        budget (``trial``: also when the first round closes less than ``TRIAL_GAIN`` of the
        gap left to the incumbent). Returns the last (λ, duals), or None when HiGHS reports
        no optimum."""
        lp = self.lp
        if sol is None:
            return None
        if self.cuts == "gmi":
            return gmi_rounds(lp, ub, sol, self.deadline)
        # rounds within SEPARATE_SHARE of the search's work so far, at least
        # SEPARATE_MIN_WORK (six flows over 150 nodes took 2.4 s of rounds after a 1.9 s
        # search that they did not shorten; the stalled lattice's 36 took 0.07 s)
        budget = max(SEPARATE_MIN_WORK, SEPARATE_SHARE * self.explored * lp.work)
        spent = last = 0
        for r in range(flow_cuts.MAX_ROUNDS):
            if lp.cut_rhs.size >= flow_cuts.MAX_CUTS or spent + last > budget:
                break
            if self.deadline is not None and time.perf_counter() > self.deadline:
                break
            cuts, last = flow_cuts.cover_cuts(lp.lat, lp.ptr, lp.flows, self.slack_budget, sol[0],
                                              max_labels=TRIAL_WORK * lp.work if trial and r == 0
                                              else math.inf)
            spent += last
            cuts += lp.cliques(sol[0])
            if not cuts:
                break
            before = lp.value
            lp.add_cuts(cuts)
            sol = lp.solve(ub)
            if sol is None or lp.value - before < 1e-6 * max(1.0, abs(before)):
                break
            if trial and r == 0 and lp.value - before < TRIAL_GAIN * (self.exact.best - before):
                break  # (an infinite incumbent: no gap to judge, the trial stops)
        if sol is not None and lp.cut_rhs.size and DROP_SLACK:
            lp.drop_slack_cuts(sol[1])
            sol = lp.solve(ub)
        return sol

    def stuck_covers(self, ub: np.ndarray, sol: tuple) -> tuple | None:
        """Cover cuts (3) and cliques (6) at a search node whose LP point is integral at every
        coupling node but not at some other node (a node the DPs decide): branching cannot
        move that point (:meth:`branch` partitions the subtree around it, and each part
        keeps the other nodes' fractions), so without cuts only the leaves' DPs close the
        gap those fractions open -- a one-flow ladder of 60 nodes with an accuracy weight of
        10⁶ (a row's cost is then its accuracy's: a sliver of a slow, accurate row pays for
        a fast one elsewhere) ran 45,000 nodes into the time limit. The cuts are global (the
        root's rounds' families); up to ``STUCK_ROUNDS`` rounds here, the LP solved again
        after each, ``STUCK_CUTS`` of each family a round, while the rounds' labels stay
        within ``SEPARATE_SHARE`` of the search's work and the LP holds fewer than
        ``STUCK_MAX_ROWS`` cut rows. Returns the node's (λ, duals) (None when HiGHS reports
        no optimum: the node then keeps its parent's bound, as any such node does)."""
        lp = self.lp
        for _ in range(STUCK_ROUNDS):
            support = lp.support(sol[0])
            if (support[self.cslot] >= 2).any() or not (support >= 2).any():
                return sol
            if (lp.lp.getNumRow() - lp.n_base_rows >= STUCK_MAX_ROWS
                    or self.stuck_work > SEPARATE_SHARE * self.explored * lp.work):
                return sol
            cuts, labels = flow_cuts.cover_cuts(lp.lat, lp.ptr, lp.flows, self.slack_budget,
                                                sol[0], STUCK_CUTS)
            self.stuck_work += labels
            cuts += lp.cliques(sol[0], STUCK_CUTS)
            if not cuts:
                return sol
            lp.add_cuts(cuts)
            sol = lp.solve(ub)
            if sol is None:
                return None
        return sol

    def past_deadline(self) -> bool:
        """Whether the search's deadline (if any) has passed: checked before each node and
        twice within one (before its primal heuristics and before its branching), so a
        node of a large component does not run a second past the limit."""
        return self.deadline is not None and time.perf_counter() > self.deadline

    def tol(self) -> float:
        """How far below the incumbent a bound must be to keep a subtree: PRUNE_TOL, or
        almost the cost grain when every cost is a multiple of it (nothing better than the
        incumbent costs more than incumbent − grain)."""
        b = self.exact.best
        if b == INF:
            return 0.0
        scale = max(1.0, abs(b))
        g = self.grain
        if self.exact.best_fix is None and g > 0:
            # a cutoff c, no choice behind it, maybe off the grain: the totals wanted are the
            # multiples of g below c, i.e. below b' = g·⌈c/g⌉ (c on the grain up to the sums'
            # rounding: taken as on it), so prune as an incumbent b' would
            on = g * math.ceil(b / g * (1.0 - 1e-12))
            return max(PRUNE_TOL * scale, b - on + g - 1e-9 * scale)
        if self.exact.best_fix is None:
            return PRUNE_TOL * scale
        return max(PRUNE_TOL * scale, g - 1e-9 * scale)

    def upper_bounds(self, masks: tuple[int, ...]) -> np.ndarray:
        """λ's upper bounds of a search node: 0 for the candidates its masks exclude, else 1."""
        ub = np.ones(self.lp.n_lam)
        if self.narrow:
            m = np.asarray(masks, dtype=np.int64)
            ub[self.cc] = (m[self.cc_slot] >> self.cc_bit) & 1
            return ub
        for (a, b), m in zip(self.wcols, masks):
            if m != (1 << (b - a)) - 1:  # (a full mask leaves its 1s)
                ub[a:b] = mask_bits(m, b - a)
        return ub

    def rounding(self, lam: np.ndarray, ub: np.ndarray) -> list[int]:
        """Each coupling node at its cheapest allowed candidate no slower than its LP latency
        (its fastest allowed one when the LP's tolerance leaves none), then :meth:`fill`."""
        lp = self.lp
        starts = lp.ptr[:-1]
        ell = np.add.reduceat(lam * lp.lat, starts)
        ell += 1e-9 * np.maximum(1.0, np.abs(ell))
        cols = np.arange(lp.n_lam)
        allowed = ub > 0
        fits = np.maximum.reduceat(np.where(allowed & (lp.lat <= ell[lp.owner]), cols, -1), starts)
        first = np.minimum.reduceat(np.where(allowed, cols, lp.n_lam), starts)
        pick = np.where(fits >= 0, fits, first)
        pick = self.fill(pick, allowed)
        return (pick - starts)[self.slot].tolist()

    def fill(self, pick: np.ndarray, allowed: np.ndarray) -> np.ndarray:
        """Greedy slack filling of a full choice (column per node): while some node can move
        to a cheaper allowed candidate that keeps every path through it within the budget
        (``start_v + L + tail_v``, the other nodes as chosen; budgets narrowed by the float
        margin), take the move saving most. O(moves · Σ_f |G_f|)."""
        lp = self.lp
        lat, cost, owner = lp.lat, lp.cost, lp.owner
        pick = pick.copy()
        nb = _kernels(self.started)
        if nb is not None:  # the same moves, compiled (.flow_numba)
            pick = pick.astype(np.int64)
            nb.fill(pick, np.ascontiguousarray(allowed, dtype=np.bool_), lat, cost, owner,
                    lp.slot_node, lp.slot_flow, self.tight_budget, lp.in_ptr, lp.in_src, lp.in_d,
                    lp.out_ptr, lp.out_dst, lp.out_d)
            return pick
        for _ in range(len(lp.nodes)):
            if self.past_deadline():  # (each move is a pass over every flow; the moves so
                break  # far keep the choice within the budgets)
            start, tail = self.start_tail(lat[pick])
            room_slot = self.tight_budget[lp.slot_flow] - start - tail
            room = np.full(len(lp.nodes), INF)
            np.minimum.at(room, lp.slot_node, room_slot)
            cur = pick[owner]
            saving = np.where(allowed & (lat <= room[owner]) & (cost < cost[cur]),
                              cost[cur] - cost, 0.0)
            c = int(np.argmax(saving))
            if saving[c] <= 0:
                break
            pick[owner[c]] = c
        return pick

    def start_tail(self, L_node: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per slot, the longest path ending just before it (start) and leaving it (tail),
        node latencies ``L_node``: one pass each way in topological order, O(Σ_f |G_f|)."""
        lp = self.lp
        nb = _kernels(self.started)
        if nb is not None:  # the same sums, compiled (.flow_numba)
            L_slot = np.ascontiguousarray(L_node[lp.slot_node], dtype=float)
            start, tail = np.empty(L_slot.size), np.empty(L_slot.size)
            nb.start_tail(L_slot, lp.in_ptr, lp.in_src, lp.in_d, lp.out_ptr, lp.out_dst, lp.out_d,
                          start, tail)
            return start, tail
        L = L_node[lp.slot_node].tolist()
        S = len(L)
        start, finish = [0.0] * S, [0.0] * S
        for v, ins in enumerate(lp.ins):
            st = 0.0
            for u, d in ins:
                t = finish[u] + d
                if t > st:
                    st = t
            start[v] = st
            finish[v] = st + L[v]
        tail = [0.0] * S
        for u in range(S - 1, -1, -1):
            tl = 0.0
            for v, d in lp.outs[u]:
                t = d + L[v] + tail[v]
                if t > tl:
                    tl = t
            tail[u] = tl
        return np.asarray(start), np.asarray(tail)

    @staticmethod
    def fastest(masks: tuple[int, ...]) -> list[int]:
        return [(m & -m).bit_length() - 1 for m in masks]

    def lowest_bits(self, masks: tuple[int, ...]) -> np.ndarray:
        """Each mask's lowest set bit (its fastest allowed candidate), as an array."""
        if not self.narrow:
            return np.asarray(self.fastest(masks), dtype=np.int64)
        m = np.asarray(masks, dtype=np.int64)
        return np.frexp((m & -m).astype(float))[1].astype(np.int64) - 1  # exact: powers of 2

    def fixing_bound(self, picks: list[int], lagrange: tuple | None = None,
                     limit: float = INF) -> float:
        """A lower bound of the exact value of a coupling fixing (coupling costs plus the DP's
        completion; INF when no completion meets the budgets), the largest of: the other nodes
        at their cheapest; the search node's bound (1) with the coupling nodes fixed
        (``lagrange`` = (val, mins, const) of :meth:`FlowLP.bound`: ``const + Σ_w val[w, pick]
        + Σ_{other v} mins_v`` -- (1) holds for every choice, this one included); and every
        other node at its cheapest candidate that fits beside the fixed nodes with the rest at
        their fastest (``start_v + L + tail_v`` within the budget widened by the float margin;
        INF when some node fits nowhere). Returns as soon as one reaches ``limit``.
        O(Σ_f |G_f| + Σ candidates)."""
        lp = self.lp
        n = self.n_c
        cols = self.wstart[:n] + np.asarray(picks[:n], dtype=np.int64)
        fixed = float(lp.cost[cols].sum())
        lb = fixed + self.free_floor
        if lb >= limit:
            return lb
        if lagrange is not None:
            val, mins, const = lagrange
            mins = mins.copy()
            mins[self.cslot] = val[cols]
            lb = max(lb, lp.total(mins, const))
            if lb >= limit:
                return lb
        if self.free.size:
            L = lp.lat[lp.ptr[:-1]]
            L[self.cslot] = lp.lat[cols]
            start, tail = self.start_tail(L)
            room = np.full(len(lp.nodes), INF)
            np.minimum.at(room, lp.slot_node, self.slack_budget[lp.slot_flow] - start - tail)
            fit = np.maximum.reduceat(np.where(lp.lat <= room[lp.owner], self.col_index, -1),
                                      lp.ptr[:-1])
            if (fit[self.cslot] < cols).any() or (fit < 0).any():
                return INF
            lb = max(lb, fixed + float(lp.cost[fit[self.free]].sum()))
        return lb

    def value(self, picks: list[int], lagrange: tuple | None = None) -> float | None:
        """The exact value of a coupling fixing (the DP decides the other nodes), or None
        when it cannot beat the incumbent: the DP runs only when :meth:`fixing_bound` is below
        the incumbent (most roundings are settled by it)."""
        limit = self.exact.best - self.tol()
        if self.fixing_bound(picks, lagrange, limit) >= limit:
            return None
        return self.exact.value(dict(zip(self.coupling, picks)))

    def child_lp(self, child: tuple[int, ...]) -> tuple[float, tuple | None]:
        """A child's LP for strong branching: (its LP value for the score, INF when HiGHS
        reports no optimum; and what :meth:`settle` turns into the child's bound)."""
        ub = self.upper_bounds(child)
        sol = self.lp.solve(ub)
        if sol is None:
            return INF, None
        return self.lp.value, (ub, sol[0], sol[1], self.lp.value, None)

    def settle(self, solved: tuple | None, parent_lb: float) -> tuple | None:
        """(bound (1) at a strong-branching child's duals, y, λ, LP value): carried into the
        child, so it is not solved again and is dropped at once when the bound prunes.
        ``solved``: what :meth:`child_lp` returned (5 entries), or already settled (4)."""
        if solved is None or len(solved) == 4:
            return solved
        ub, lam, duals, value, _ = solved
        y = self.lp.flow_weights(duals, True)
        return (max(self.lp.bound_at(y, ub)[0], parent_lb), y, lam, value)

    def branch(self, lam: np.ndarray | None, masks: tuple[int, ...], picks: list[int],
               lb: float) -> list[tuple[tuple[int, ...], tuple | None]]:
        """Children of a search node (each with what strong branching learnt of it, or None):
        by latency at the coupling node whose rounding loses most against its LP cost; where
        the LP point is integral at every coupling node (stuck), the same at a fractional
        node the DPs decide (``FREE_BRANCH``: no coupling split moves such a point, a
        one-flow ladder of 60 with an accuracy weight of 10⁶ took 12,400 search nodes
        without it and 29 with it); without a fractional node, the partition around the
        LP's choice, or the widest undecided node split into its rounded candidate, the
        faster and the slower ones. A child whose strong-branching bound prunes is left out
        (its sibling alone: a fixing)."""
        lat, cost = self.lp.lat, self.lp.cost
        options = []  # (rounding loss, coupling slot, fast mask, slow mask)
        if lam is not None:
            # the masked nodes (coupling nodes first) with two or more candidates in the LP's
            # support
            support = self.lp.support(lam)[self.slot]
            frac = np.nonzero(support >= 2)[0]
            if frac.size and frac[0] < self.n_c:
                frac = frac[frac < self.n_c]  # the DPs' nodes only at a stuck point
            for i in frac.tolist():
                (a, b), m = self.wcols[i], masks[i]
                if m & (m - 1) == 0:
                    continue
                x = lam[a:b]
                split = spec.dot(x, lat[a:b])
                fast = 0
                for k in np.flatnonzero(lat[a:b] <= split).tolist():
                    fast |= 1 << k
                fast &= m
                if fast and m & ~fast:
                    options.append((cost[a + picks[i]] - spec.dot(x, cost[a:b]), i, fast, m & ~fast))
        if options:
            options.sort(reverse=True)
            best, best_score, best_info = options[0], -1.0, (None, None)
            base = self.lp.value
            for opt in options[:STRONG] if len(options) > 1 else ():
                _, i, fast, slow = opt
                seen = self.pseudo[i]
                info = (None, None)
                if seen[2] and seen[2] >= self.reliable:  # reliable: the average gains observed so far
                    gains = (seen[0] / seen[2], seen[1] / seen[2])
                else:  # strong branching: solve both children's LPs, and remember the gains
                    kids = [masks[:i] + (c,) + masks[i + 1:] for c in (fast, slow)]
                    (v0, i0), (v1, i1) = (self.child_lp(k) for k in kids)
                    info = (i0, i1)
                    gains = tuple(min(max(v - base, 1e-9), 1e9) for v in (v0, v1))
                    self.pseudo[i] = [seen[0] + gains[0], seen[1] + gains[1], seen[2] + 1]
                    # the bound (1) only where the LP value says it may prune (it equals the
                    # LP's value up to the LP's tolerances)
                    limit = self.exact.best - self.tol()
                    near = limit - 1e-6 * max(1.0, abs(limit))
                    info = tuple(self.settle(x, lb) if v >= near else x
                                 for v, x in zip((v0, v1), info))
                    alive = [(k, x) for k, x in zip(kids, info)
                             if x is None or len(x) == 5 or x[0] < limit]
                    if len(alive) < 2:  # a child pruned: branch here, on the other alone
                        return [(k, self.settle(x, lb)) for k, x in alive]
                score = max(gains[0], 1e-9) * max(gains[1], 1e-9)
                if score > best_score:
                    best, best_score, best_info = opt, score, info
            _, i, fast, slow = best
            return [(masks[:i] + (c,) + masks[i + 1:], self.settle(x, lb))
                    for c, x in zip((fast, slow), best_info)]
        undecided = sorted((j for j, m in enumerate(masks[:self.n_c]) if m & (m - 1)),
                           key=lambda j: (-bin(masks[j]).count("1"), j))
        if not undecided:
            return []
        if lam is not None:
            # the LP picks one candidate F_w at every coupling node: F's exact value is the
            # DP's (valued here), and the rest of the subtree is partitioned without it: for
            # each undecided node j in turn, j faster / slower than F_j with the nodes before
            # it at F (Murty 1968's partition) -- no chain of children that keep F's LP point
            F = [int(np.argmax(lam[a:b])) for a, b in self.wcols]
            if all((m >> k) & 1 for m, k in zip(masks, F)):
                self.value(F)
                kids, fixed = [], list(masks)
                for j in undecided:
                    m, k = masks[j], F[j]
                    for part in (m & ((1 << k) - 1), m & ~((1 << (k + 1)) - 1)):
                        if part:
                            kids.append((tuple(fixed[:j]) + (part,) + tuple(fixed[j + 1:]), None))
                    fixed[j] = 1 << k
                return kids
        i = undecided[0]
        m, k = masks[i], picks[i]
        parts = (m & (1 << k), m & ((1 << k) - 1), m & ~((1 << (k + 1)) - 1))
        return [(masks[:i] + (c,) + masks[i + 1:], None) for c in parts if c]

    def child_bound(self, child: tuple[int, ...], masks: tuple[int, ...], val: np.ndarray,
                    mins: np.ndarray, raw: float, lb: float) -> float:
        """A child's bound before its own LP: (1) at the parent's y over the child's allowed
        candidates (``raw`` plus, at each coupling node the child narrows, its least reduced
        cost left), and never below the parent's ``lb``."""
        add = mag = 0.0
        for i, (c, m) in enumerate(zip(child, masks)):
            if c != m:
                a, b = self.wcols[i]
                s_ = self.slot[i]
                least = float(val[a:b][mask_bits(c, b - a)].min())
                add += least - float(mins[s_])
                mag += abs(least) + abs(float(mins[s_])) + 4.0 * float(self.lp.cost_abs_node[s_])
        if add == INF:
            return INF
        return max(lb, raw + add - self.lp.slack(mag))  # raw: lowered already (FlowLP.total)

    def pooled(self, masks: tuple[int, ...], parent_lb: float) -> tuple[int, ...] | None:
        """A search node's ``masks`` narrowed by the pool's multipliers (:class:`DualPool`):
        None where (1) at some pooled y (never below ``parent_lb``, rounded to the
        residues' classes) reaches the incumbent, else the masks less what the pooled
        reduced costs fix (:meth:`fix_by_reduced_cost`). Nothing before an incumbent."""
        if self.pool is None or not self.pool.size or self.exact.best == INF:
            return masks
        ub = self.upper_bounds(masks)
        Y, const, shift = self.pool.weights()
        raw, val, mins = self.lp.bound(Y, const, ub, shift)
        limit = self.exact.best - self.tol()
        lb = max(float(raw.max()), parent_lb)
        if self.residues is not None:
            lb = residues.round_up(self.residues, lb, ub, limit)
        if lb >= limit:
            return None
        return self.fix_by_reduced_cost(masks, val, mins, raw, ub)

    def fix_by_reduced_cost(self, masks: tuple[int, ...], val: np.ndarray, mins: np.ndarray,
                            raw: float, ub: np.ndarray | None = None) -> tuple[int, ...] | None:
        """Drop every candidate whose forced bound ``raw + r`` reaches the incumbent (``raw``:
        bound (1) at the y that gave the reduced costs r -- not a larger bound inherited from
        an ancestor, which plus r bounds nothing); None when a node keeps none (the subtree
        cannot beat the incumbent). With ``ub`` (the search node's) and costs off the grain
        at a few nodes, "reaches" after rounding to the subtree's classes (.residues).
        Several y at once (``val``, ``mins`` and ``raw`` by rows, :class:`DualPool`): a
        candidate leaves when any of them drops it."""
        limit = self.exact.best - self.tol()
        if ub is not None and self.residues is not None:
            limit = residues.threshold(self.residues, limit, ub)
        cc = self.cc
        hit = ((val[..., cc] - mins[..., self.lp.owner[cc]])
               - self.lp.reduced_slack(val, mins)[..., cc] >= (limit - np.asarray(raw))[..., None])
        drop = cc[hit if hit.ndim == 1 else hit.any(axis=0)]  # (several y: dropped by any)
        if not drop.size:
            return masks
        return self.without(masks, drop)

    def cut_root(self, heap: list, trial: bool = False) -> list:
        """Cuts separated at the root's LP (:meth:`separate`; ``trial``: its trial round),
        then the open nodes ``heap`` re-keyed by them (:meth:`rekey`): the new heap."""
        root = np.ones(self.lp.n_lam)
        cut_sol = self.separate(root, self.lp.solve(root), trial)
        return heap if cut_sol is None else self.rekey(heap, cut_sol)

    def rekey(self, heap: list, root_sol: tuple) -> list:
        """After cuts are separated at the root: the root's rounding with them valued (where
        they close the gap it is often the optimum), and every open search node's key raised
        to bound (1) at the root's new y over its own candidates (the cuts' multipliers
        included: (1) holds for every y and π ≥ 0), those that then reach the incumbent
        dropped -- instead of popping and solving each (a fuzzed 5x5 lattice whose cuts close
        the whole gap at node 32 still solved the ~390 nodes queued by then). O(open nodes ·
        coupling candidates)."""
        lam, duals = root_sol
        every = np.ones(self.lp.n_lam)
        if not self.past_deadline():  # (a primal heuristic: not past the limit)
            self.value(self.rounding(lam, every))
        raw, val, mins = self.lp.bound_at(self.lp.flow_weights(duals, True), every)
        full = tuple((1 << (b - a)) - 1 for a, b in self.wcols)
        limit = self.exact.best - self.tol()
        out = []
        for key, tie, masks, parent_y, known in heap:
            key = self.child_bound(masks, full, val, mins, raw, key)
            if key < limit:
                out.append((key, tie, masks, parent_y, known))
        heapq.heapify(out)
        return out

    def hand_over(self, heap: list, parent_lb: float,
                  popped: float = -INF) -> SearchResult | None | bool:
        """The copy split's turn: a component of several flows still open at this search's
        ``COPY_SPLIT_AT``-th node. The copy split (:class:`.search._LagrangianSearch`, sharing
        this search's incumbent and memoised fixings) bounds the root, starting from the split
        of the root LP's flows (:meth:`copy_weights`), with its first ascent step and then the
        rest of its ``ROOT_ITERS`` where they cost at most ``COPY_SPLIT_SHARE`` of what this
        search's nodes earned (work units as :mod:`.dp_bound` counts them), given up at
        ``COPY_SPLIT_TRIAL``'s step where they still leave too much of the gap. Where the bound
        leaves at most ``COPY_SPLIT_GAP`` of the gap this search has left (its incumbent less
        the least open bound, the current node's included), the rest of the component is
        searched by the copy split from that root and its result is the answer; else False:
        this search goes on (its lower bound at a deadline then takes the root's too), and
        tries again at twice its nodes (``self.next_split``, up to ``COPY_SPLIT_LAST``). A
        try after the first goes on with up to ``COPY_SPLIT_RETRY`` more steps from the split
        the last one left, within the same budget (all tries together; θ halved after
        ``SPLIT_STALL`` steps without gain); and where ``popped``, this search's bound, closed
        less than ``SPLIT_FLAT`` of the gap left at the last try, it races the split whatever
        the split's bound (:meth:`race`). Where one step of the ascent alone
        costs more than the budget -- by :func:`_split_work`'s estimate, or stopped there
        (:func:`.pareto.capped`) -- the turn passes to the next doubling without a step;
        past ``COPY_SPLIT_MAX_WORK``, to none."""
        exact = self.exact
        open_lb = min([parent_lb] + [h[0] for h in heap])
        gap = exact.best - open_lb
        budget = COPY_SPLIT_SHARE * self.explored * self.lp.work
        state = self.split
        cap = min(budget, COPY_SPLIT_MAX_WORK)
        step = max(_split_work(exact.dp), self.step_over) if state is None else 0.0
        if step >= cap:
            # not even one ascent step within the budget (node reduction's copies, each a
            # leaf of its own: a 227-node graph of two flows, 10⁶ units a step against
            # 6·10⁴, one step past a 5 s limit)
            return self.pass_turn(step)
        # (the split prunes by this search's margin: a bound above the incumbent less the
        # cost grain proves it, as here)
        lag = (_LagrangianSearch(exact.dp, exact.remainder, self.deadline, exact.best,
                                 pinned(exact.dp), exact, self.tol) if state is None
               else state.lag)
        try:
            if state is None:
                pairs = pareto.PAIRS[0]
                try:
                    with pareto.capped(cap):
                        root = lag.root(self.copy_weights(lag), 1)
                except pareto.WorkSpent:
                    # the step's DPs outgrew the cap, which _split_work's leaves do not
                    # foresee: the relaxed flows' fronts (8 flows over merged runs of a
                    # 2,000-node chain, chain-windows 2000x8 #0: 3.9·10⁷ units, 32 s, where
                    # the budget was 2·10⁶ and this search took 3.5 s in all)
                    self.step_over = cap
                    return self.pass_turn(cap)
                # its cost: the flows' DPs' work (leaf-candidates and pairs)
                work = (pareto.PAIRS[0] - pairs) / PAIRS_PER_UNIT
                state = self.split = _SplitTry(lag, root, work, work)
                trial, slack = COPY_SPLIT_TRIAL
                short = root[0] == "branch" and (ROOT_ITERS - 1) * work > budget
                if root[0] == "branch" and not short:
                    root = lag.root(iters=ROOT_ITERS - 1, start=root, give_up=lambda steps, lb: (
                        steps + 1 == trial and exact.best - lb > slack * gap))
                    state.spent += (ROOT_ITERS - 1) * work
            else:  # a retry: the ascent goes on from the split the last try left
                root, work = state.root, state.work
                steps = max(0, min(COPY_SPLIT_RETRY, int((budget - state.spent) // work)))
                if root[0] == "branch" and steps:
                    root = lag.root(iters=steps, start=root, stall_after=SPLIT_STALL)
                    state.spent += steps * work
            state.root = root
        except _Deadline:
            return exact.result(self.explored + lag.explored, lag.solves, True,
                                max(open_lb, lag.root_lb, self.trivial))
        self.copy_split_root = max(self.copy_split_root, root[1])
        # this search's bound flat since the last try: from the second try on (the first
        # leaves a flat bound to the GMI rounds, GMI_STALLED_SEVERAL), once judging has
        # stopped without a no-good met (the split is blind to the rule), not in a subproblem
        flat = (SPLIT_FLAT > 0 and exact.best < INF and self.split_popped > -INF
                and not exact.judged and not exact.nogoods and not self.subproblem
                and popped - self.split_popped < SPLIT_FLAT * (exact.best - self.split_popped))
        weak = root[0] == "branch" and exact.best - root[1] > COPY_SPLIT_GAP * gap
        if weak and not flat:
            # again later, the ascent going on there
            if COPY_SPLIT_RETRY and 2 * self.explored <= COPY_SPLIT_LAST:
                self.next_split = 2 * self.explored
            self.split_popped = popped
            return False
        exact.stop_judging()  # the split's bound is blind to the rule's no-goods (_Exact)
        # a split whose bound leaves at most COPY_SPLIT_GAP of the gap takes the rest; a weak
        # one on a flat bound races this search
        return self.race(state, budget if weak else INF, open_lb, popped)

    def pass_turn(self, step: float) -> bool:
        """The copy split's turn passes without a step that costs ``step`` work units: again
        at twice the nodes (a larger budget) -- never past ``COPY_SPLIT_LAST`` nodes, nor
        for a step of ``COPY_SPLIT_MAX_WORK`` or more. False (:meth:`hand_over`'s answer)."""
        if 2 * self.explored <= COPY_SPLIT_LAST and step < COPY_SPLIT_MAX_WORK:
            self.next_split = 2 * self.explored
        return False

    def race(self, state: _SplitTry, budget: float, open_lb: float, popped: float
             ) -> SearchResult | None | bool:
        """The split's search raced against this one: it runs (or resumes) while the work of
        all its races -- its DPs' leaf-candidates and pairs (:mod:`.dp_bound`'s units) --
        stays within ``budget``; where it does not finish there it is suspended and this
        search goes on, with the split's incumbent, to its next try (at twice its nodes),
        which resumes it (False). Its result otherwise."""
        lag = state.lag
        pairs, raced = pareto.PAIRS[0], state.race_work

        def spent_all() -> bool:
            state.race_work = raced + (pareto.PAIRS[0] - pairs) / PAIRS_PER_UNIT
            return state.race_work > budget

        try:
            res = lag.run(state.root, spent_all)
        except _Paused:
            self.raced = lag.explored
            self.next_split = 2 * self.explored
            self.split_popped = popped
            return False
        if res is not None:
            res.explored += self.explored
            res.stats["handed_over"] = self.explored
            if res.timed_out:
                res.lower_bound = min(res.cost, max(res.lower_bound, open_lb, self.trivial))
        return res

    def copy_weights(self, lag: _LagrangianSearch) -> dict[str, list[float]] | None:
        """Each copy's latency weight for :meth:`.search._LagrangianSearch.latency_prices`:
        the root LP's flow y_f through the copy's node in its flow, over that flow's copies
        of it (None when the root's multipliers have no per-flow part: bound (5))."""
        if self.root_flows is None:
            return None
        ix = self.lp.index
        psi = {}
        for w, copies in lag.copies.items():
            check_stage()  # (10⁵ copies and more once shared sub-expressions are unfolded)
            m = Counter(i for i, _ in copies)
            psi[w] = [float(self.root_flows[i, ix[w]]) / m[i] for i, _ in copies]
        return psi

    def run(self) -> SearchResult | None:
        """The search (:meth:`_run`). A DP inside that passes the DPs' deadline (the time
        limit and its grace: :mod:`fa2opt.deadline`) ends it as the search's own deadline
        does, with the incumbent and the least bound of its open nodes: abandoning the whole
        decision there lost the incumbent (a 227-node graph of two flows, `time_limit` 5 s:
        the copy split's DPs ran to 29 s, then answered the all-fastest 2,085 against an
        incumbent of ~1,419)."""
        self.open_nodes: tuple[list, float] = ([], -INF)  # (_run's queue, its node's bound)
        try:
            return self._run()
        except DPDeadline:
            root = -INF if self.root_lb is None else self.root_lb
            heap, node_lb = self.open_nodes  # every open node: the queue and the one popped
            open_lb = min([node_lb, self.exact.best] + [h[0] for h in heap])
            lower = max(root, self.trivial, self.copy_split_root, open_lb)
            return self.exact.result(self.explored + self.raced, 0, True, lower)

    def _run(self) -> SearchResult | None:
        if self.settled:
            return None
        exact = self.exact
        counter = 0
        # (bound, tie, masks, the parent's y, what strong branching solved of this node)
        heap: list = [(-INF, counter, tuple((1 << (b - a)) - 1 for a, b in self.wcols), None, None)]
        popped = -INF  # the largest bound popped so far (best first: the search's lower bound)
        timed_out = False
        cut_at = CUT_FIRST_GMI if self.cuts == "gmi" else CUT_FIRST
        # GMI rounds (4) when a smaller component's search is still open at its GMI_STALLED-th
        # node (one flow) or flat at its GMI_STALLED_SEVERAL-th (several)
        several = len(self.lp.flows) > 1
        stalled = GMI_STALLED_SEVERAL if several else GMI_STALLED
        gmi_at = stalled if CUTS == "gmi" and self.cuts == "cover" and stalled else INF
        half_popped = -INF  # the search's bound at node gmi_at // 2 (several flows' flat test)
        dive, dive_left = None, 0  # the child a plunge takes next, and its steps left
        while heap or dive is not None:
            if dive is not None:
                parent_lb, _, masks, parent_y, known = dive
                dive = None
            else:
                parent_lb, _, masks, parent_y, known = heapq.heappop(heap)
                if parent_lb < exact.best - self.tol():
                    popped = max(popped, parent_lb)
                    dive_left = (PLUNGE_DEPTH if self.plunge and self.explored % PLUNGE_EVERY == 0
                                 else 0)
            if parent_lb >= exact.best - self.tol():
                continue
            # (a DP past the deadline ends the search in run(): its bound, the open nodes'.
            # The queue a root cut round replaces keeps every node open then, at keys no
            # higher, and the children pushed meanwhile are above this node's bound)
            self.open_nodes = (heap, parent_lb)
            if self.deadline is not None and time.perf_counter() > self.deadline:
                heapq.heappush(heap, (parent_lb, 0, masks, parent_y, known))
                timed_out = True
                break
            self.explored += 1
            if exact.judged:
                self.judge_stall(popped)
            elif self.stalled_at is not None and self.explored - self.stalled_at >= JUDGE_RESTART:
                raise _JudgeStalled  # (judge_stall) the widened optimum, as without judging
            if (self.explored == CUT_EARLY and cut_at > CUT_EARLY and self.root_lb is not None
                    and exact.best < INF
                    and popped - self.root_lb < CUT_STALL * (exact.best - self.root_lb)):
                cut_at = CUT_EARLY  # the bound stalls: separate now (below), not at CUT_FIRST
            if self.explored == CUT_TRY and cut_at > CUT_TRY and self.cuts == "cover":
                heap = self.cut_root(heap, trial=True)  # its cuts kept whatever it gains
            if self.explored == gmi_at // 2:
                half_popped = popped
            if several and self.explored == self.next_split:
                handed = self.hand_over(heap, parent_lb, popped)
                if handed is not False:
                    return handed
            if self.explored == gmi_at and several and not (
                    exact.best < INF and (gmi_at >= GMI_LONG or popped - half_popped
                                          < GMI_FLAT * (exact.best - half_popped))
                    and (gmi_at == stalled or cut_at == INF)):
                # still moving short of GMI_LONG nodes, or (after the first test) the cover
                # rounds still to come: the test again at the next doubling
                half_popped, gmi_at = popped, 2 * gmi_at
            elif self.explored == gmi_at and (several or self.dpb.kept is None):
                # one flow: not where (2) is kept ((5) would switch it off); several: where
                # the bound is flat (GMI_FLAT) or the search long (GMI_LONG), whether (2) is
                # kept or not
                self.dpb.kept = None  # (5) has no per-flow weights: (2) is off from here
                # still open: GMI rounds now (below; on top of covers separated at a stall
                # before), and no covers after them; a long search: pseudocosts trusted
                # after RELIABLE_LARGE observations from now on, as in large components
                self.cuts, cut_at = "gmi", gmi_at
                if RELIABLE_STALLED:
                    self.reliable = max(self.reliable, RELIABLE_LARGE)
            if exact.nogoods:
                self.add_nogoods()
            narrowed = self.propagate(masks)
            if narrowed is not None:
                narrowed = self.pooled(narrowed, parent_lb)
            if narrowed is None:
                continue
            ub = self.upper_bounds(narrowed)
            lam = None
            if known is not None and narrowed == masks:  # its LP is solved already
                _, y, lam, self.lp.value = known
            else:
                limit = exact.best - self.tol()
                sol = self.lp.solve(ub, limit if EARLY_STOP and self.explored < cut_at else INF)
                if sol is not None and self.lp.stopped:
                    # the dual simplex reached the incumbent: the bound at its duals prunes
                    # (it is one at any multipliers); else the LP is solved to its optimum
                    y = self.lp.flow_weights(sol[1], True)
                    lb = max(self.lp.bound_at(y, ub)[0], parent_lb)
                    if self.residues is not None:
                        lb = residues.round_up(self.residues, lb, ub, limit)
                    if lb >= limit:
                        continue
                    sol = self.lp.solve(ub)
                if sol is not None and self.explored >= cut_at:
                    # separate at the root's LP (every candidate allowed): its covers are
                    # global, and every node solved from now on has them (once: at the
                    # first node from cut_at whose LP is solved here)
                    if exact.best == INF and self.explored == 1:
                        # an incumbent before the rounds: on a 5,000-node DAG they took 10 s
                        # of a 20 s limit, and the cut LP's rounding broke the SLA (the
                        # answer: the all-fastest choice at 3x the root LP's rounding)
                        self.value(self.rounding(sol[0], ub))
                    cut_at = INF
                    heap = self.cut_root(heap)
                    sol = self.lp.solve(ub)
                if sol is not None and self.explored == 1 and self.subproblem:
                    self.keep_root_basis()
                if sol is not None and cut_at == INF and STUCK_ROUNDS:
                    sol = self.stuck_covers(ub, sol)
                if sol is not None:
                    lam = sol[0]
                    y = self.lp.flow_weights(sol[1], True)
                    if self.explored == 1 and len(y) > 2 and y[2] is not None:
                        self.root_flows = y[2][0]  # Y_{f,v}: the copy split's start (hand_over)
                    if self.explored == 1 and not self.subproblem and len(y) < 4:  # no cuts
                        _ROOT_WEIGHTS[:] = [(self.graphs, (y[0], y[1]))] + [
                            e for e in _ROOT_WEIGHTS[:ROOT_WEIGHTS_KEPT - 1]
                            if not _same_graphs(e[0], self.graphs)]
                elif parent_y is not None:  # any y bounds: keep the parent's
                    y = parent_y
                else:
                    y = (np.zeros(len(self.lp.nodes)), 0.0)
            masks = narrowed
            raw, val, mins = self.lp.bound_at(y, ub)
            if self.pool is not None and y is not parent_y:
                self.pool.add(y)
            lb = max(raw, parent_lb)
            if self.residues is not None:  # the totals' classes modulo the grain (.residues)
                lb = residues.round_up(self.residues, lb, ub, exact.best - self.tol())
            if self.root_lb is None:
                self.root_lb = lb
            if lb >= exact.best - self.tol():  # nothing here beats the incumbent: no primal
                continue
            if self.past_deadline():  # (a node's primal and branching can take a second)
                if exact.best_fix is None and lam is not None:
                    # no incumbent yet: the LP's rounding is one (its fill stops at once;
                    # valued instead of the coupling nodes' fastest candidates, by as many
                    # DPs, often at a fraction of the cost)
                    self.value(self.rounding(lam, ub))
                heapq.heappush(heap, (lb, 0, masks, y, None))  # its bound stays a bound
                timed_out = True
                break
            picks = self.rounding(lam, ub) if lam is not None else self.fastest(masks)
            before = exact.best
            if (self.value(picks, (val, mins, y[1])) is None and lam is not None
                    and exact.best == INF):
                self.value(self.fastest(masks))
            if exact.best < before and len(self.coupling) >= LOCAL_SEARCH_MIN:
                self.improve()
            if lb < exact.best - self.tol() and self.explored >= DP_BOUND_FROM:  # (.dp_bound)
                lb = max(lb, self.dpb.root(y, ub, lb, exact.best) if self.explored == DP_BOUND_FROM
                         else self.dpb.node(y, ub, self.explored))
                if self.explored == 1:
                    self.root_lb = lb
            if lb >= exact.best - self.tol():
                continue
            if self.past_deadline():  # before strong branching's LPs
                heapq.heappush(heap, (lb, 0, masks, y, None))
                timed_out = True
                break
            if exact.best < INF:
                # (1) at this y plus r bounds a forced candidate; the ancestors' lb does not
                tightened = self.fix_by_reduced_cost(masks, val, mins, raw, ub)
                if tightened is None:
                    continue
                if tightened != masks:
                    picks = [k if (m >> k) & 1 else (m & -m).bit_length() - 1
                             for k, m in zip(picks, tightened)]
                    masks = tightened
            if all(m & (m - 1) == 0 for m in masks[:self.n_c]):  # a leaf: the DP's value
                self.value(self.fastest(masks))
                continue
            kids = []
            for child, known in self.branch(lam, masks, picks, lb):
                counter += 1
                key = (known[0] if known is not None
                       else self.child_bound(child, masks, val, mins, raw, lb))
                if self.residues is not None:  # rounded now: a child it prunes is never solved
                    key = residues.round_up(self.residues, key, self.upper_bounds(child),
                                            exact.best - self.tol())
                kids.append((key, counter, child, y, known))
            if dive_left > 0 and kids:  # plunging: the best child next, not the queue's best
                dive_left -= 1
                dive = min(kids, key=lambda t: (t[0], t[1]))
                kids.remove(dive)
            for kid in kids:
                heapq.heappush(heap, kid)
        lower = None
        if timed_out:
            lower = max(min([h[0] for h in heap] + [exact.best]), self.trivial,
                        self.copy_split_root)
        res = exact.result(self.explored + self.raced, 0, timed_out, lower)
        if res is not None and self.root_lb is not None and not timed_out:
            res.stats["root_gap"] = (res.cost - self.root_lb) / max(1.0, abs(res.cost))
        return res


def lp_search(dp: DecoupledProblem, graphs: list[FlowGraph], remainder: RemainderSolver,
              deadline: float | None, cutoff: float = INF) -> SearchResult | None:
    """Exact search over ``dp``'s coupling nodes (one component) with the flow bound
    (``cutoff``: see :func:`.search.search`). Its leaves are judged by the SLA rule only on
    graphs where the rule is the instance's (``FlowGraph.rule_exact``): on merged series
    runs the rule could reject, by an ulp, a choice the instance's rule accepts, and the
    search would then miss the widened optimum that :func:`fa2opt.edge.decide_exact` needs
    (shared-large 40x3 #705549602 at its SLA's edge: 609 against the optimum 608)."""
    judged = all(g is None or g.rule_exact for g in graphs)
    first = LPSearch(dp, graphs, remainder, deadline, cutoff, judged=judged)
    try:
        res = first.run()
    except _JudgeStalled:  # (LPSearch.judge_stall) the widened optimum, as without judging
        res = LPSearch(dp, graphs, remainder, deadline, cutoff, judged=False).run()
    if res is not None:  # (where judging stopped: its incumbent, for the SLA edge)
        res.judged = first.exact.judged_choice
    return res
