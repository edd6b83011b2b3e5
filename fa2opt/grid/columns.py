"""Exact pruning of a leaf's columns: those dominated (slower and dearer) at every batch item."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

from .. import kernels
from ..reductions.pruning import front_rows


def useful_columns(u: Any, c: Any, xp: ModuleType = np) -> list[int]:
    """Columns not dominated at every batch item (exact pruning of a leaf's rows).

    At item b, column j dominates k when u_j ≤ u_k and c_j ≤ c_k, strictly in one or with
    j < k on a tie (a strict order, so every dominated column is dominated by an undominated
    one); an unavailable column (c = inf) is dominated. Dropping columns dominated at every
    item changes no curve value. O(K²·B) against the fold's O(K·B·T); for B = 1 (the
    single-instance solver) a sort by (u, c, k) and the one pruning scan
    (:func:`fa2opt.reductions.pruning.front_rows`), O(K log K).
    """
    return undominated(u, c, xp)[0]


def undominated(u: Any, c: Any, xp: ModuleType = np) -> tuple[list[int], Any, Any]:
    """:func:`useful_columns` ``keep``, and the leaf's steps and costs on those columns with
    c = inf wherever the column is dominated *at that item* (the leaf-fold skips those
    entries). Exact: curves are non-increasing in t, so c_j + g[t − u_j] ≤ c_k + g[t − u_k]
    when j dominates k, and every dominated entry's dominator stays."""
    K = u.shape[1]
    if K <= 1:
        return list(range(K)), u, c
    if u.shape[0] == 1:
        uu, cc = kernels.to_numpy(u)[0], kernels.to_numpy(c)[0]
        order = np.lexsort((np.arange(K), cc, uu))
        # the one pruning scan (an unavailable column, c = inf, is never strictly cheaper)
        rows = front_rows(uu[order].tolist(), cc[order].tolist())[2]
        keep = sorted(int(order[i]) for i in rows) or [0]
    else:
        dominated = ~xp.isfinite(c)  # (B, K)
        cols = xp.arange(K)[None, :]
        for j in range(K):  # O(B·K) memory
            uj, cj = u[:, j:j + 1], c[:, j:j + 1]
            dominated |= (uj <= u) & (cj <= c) & ((uj < u) | (cj < c) | (j < cols))
        keep = [int(k) for k in np.flatnonzero(~kernels.to_numpy(dominated.all(axis=0)))] or [0]
        c = xp.where(dominated, xp.inf, c)
    if len(keep) < K:
        u, c = u[:, keep], c[:, keep]
    return keep, u, c
