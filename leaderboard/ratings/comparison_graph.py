"""Which models are compared with which: connected components, and models whose rating is unbounded."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from leaderboard.ratings.array_types import BoolArray, FloatArray, IntArray


def _graph(n_models: int, source: IntArray, target: IntArray) -> sp.csr_matrix:
    weights = np.ones(len(source), np.int8)
    return sp.csr_matrix((weights, (source, target)), shape=(n_models, n_models))


def components_label(*, n_models: int, first: IntArray, second: IntArray) -> IntArray:
    """Component id per model for the undirected graph of compared pairs.

    Ids are ordered by component size (largest first), ties by lowest model index, so they do not
    depend on the order of the pairs. A model with no battles is a component of its own.
    """
    _, raw = connected_components(_graph(n_models, first, second), directed=False)
    sizes = np.bincount(raw)
    lowest = np.full(len(sizes), n_models, np.int64)
    np.minimum.at(lowest, raw, np.arange(n_models))
    order = np.lexsort((lowest, -sizes))
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    return rank[raw]


def strongly_connected_count(
    *, n_models: int, first: IntArray, second: IntArray, score: FloatArray, total: FloatArray
) -> int:
    """Strongly connected components of the 'took points off' graph (ties give an edge both ways)."""
    takes = score > 0
    gives = (total - score) > 0
    source = np.concatenate([first[takes], second[gives]])
    target = np.concatenate([second[takes], first[gives]])
    count, _ = connected_components(_graph(n_models, source, target), directed=True, connection="strong")
    return int(count)


def unbounded_find(
    *, n_models: int, first: IntArray, second: IntArray, score: FloatArray, total: FloatArray
) -> IntArray:
    """+1 / -1 for models whose maximum-likelihood rating is +inf / -inf, 0 for finite ones.

    The unpenalised BT likelihood has a finite maximum only if, within each connected component,
    every model can be reached from every other along 'took points off' edges (Zermelo's
    condition). Otherwise a group that never lost a point to the rest of its component drifts to
    +inf (one that never took a point drifts to -inf). We peel such groups off, top and bottom,
    until what remains meets the condition.
    """
    sign = np.zeros(n_models, np.int64)
    while True:
        live = (sign[first] == 0) & (sign[second] == 0) & (total > 0)
        f, s, sc, tot = first[live], second[live], score[live], total[live]
        takes = sc > 0
        gives = (tot - sc) > 0
        source = np.concatenate([f[takes], s[gives]])
        target = np.concatenate([s[takes], f[gives]])
        _, weak = connected_components(_graph(n_models, f, s), directed=False)
        count, strong = connected_components(_graph(n_models, source, target), directed=True, connection="strong")
        across = strong[source] != strong[target]
        has_out = np.zeros(count, np.bool_)
        has_in = np.zeros(count, np.bool_)
        has_out[strong[source[across]]] = True
        has_in[strong[target[across]]] = True
        top = has_out & ~has_in
        bottom = has_in & ~has_out
        peel_top = top[strong] & (sign == 0)
        peel_bottom = bottom[strong] & (sign == 0)
        if not (peel_top.any() or peel_bottom.any()):
            return sign
        sign[peel_top] = 1
        sign[peel_bottom] = -1
        del weak


def component_mask_list(*, components: IntArray, members: BoolArray) -> list[IntArray]:
    """Indices of `members` grouped by component id."""
    return [np.flatnonzero(members & (components == c)) for c in np.unique(components[members]).tolist()]
