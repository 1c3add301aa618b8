"""Which models are compared with which: connected components, and models whose rating is unbounded.

Connected components are found with numpy (every fit needs them); the directed questions, which
only fits without a penalty ask, use scipy's graph routines, imported when first asked (importing
scipy costs more than a whole command's fit).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from leaderboard.ratings.array_types import FloatArray, IntArray

if TYPE_CHECKING:
    import scipy.sparse as sp


def _graph(n_models: int, source: IntArray, target: IntArray) -> sp.csr_matrix:
    import scipy.sparse as sp

    weights = np.ones(len(source), np.int8)
    return sp.csr_matrix((weights, (source, target)), shape=(n_models, n_models))


def _strong_components(graph: Any) -> tuple[int, IntArray]:
    from scipy.sparse.csgraph import connected_components

    count, labels = connected_components(graph, directed=True, connection="strong")
    return int(count), labels


def _lowest_members(n_models: int, first: IntArray, second: IntArray) -> IntArray:
    """The lowest model index of each model's connected component (undirected).

    Each round hooks the larger of two linked roots onto the smaller, then follows pointers to the
    roots. Pointers only ever go to smaller indices, so this ends, with each component's lowest
    index as its root.
    """
    parent = np.arange(n_models)
    first, second = np.asarray(first, np.int64), np.asarray(second, np.int64)
    while True:
        a, b = parent[first], parent[second]
        apart = a != b
        if not apart.any():
            return parent
        np.minimum.at(parent, np.maximum(a[apart], b[apart]), np.minimum(a[apart], b[apart]))
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped


def components_label(*, n_models: int, first: IntArray, second: IntArray) -> IntArray:
    """Component id per model for the undirected graph of compared pairs.

    Ids are ordered by component size (largest first), ties by lowest model index, so they do not
    depend on the order of the pairs. A model with no battles is a component of its own.
    """
    _, raw = np.unique(_lowest_members(n_models, first, second), return_inverse=True)
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
    count, _ = _strong_components(_graph(n_models, source, target))
    return count


UNDETERMINED = 2


def unbounded_find(
    *, n_models: int, first: IntArray, second: IntArray, score: FloatArray, total: FloatArray
) -> IntArray:
    """+1 / -1 for models whose maximum-likelihood rating is +inf / -inf, 0 for finite ones, and
    UNDETERMINED for models whose place is not fixed at all.

    The unpenalised BT likelihood has a finite maximum only if, within each connected component,
    every model can reach every other along 'took points off' edges (Zermelo's condition). When it
    cannot, the component splits into strongly connected groups at infinite distance from each
    other. We keep the largest group finite (the reference, so one undefeated newcomer does not send
    everyone else to -inf); groups that reach it are above it (+inf), groups it reaches are below
    (-inf), and groups with neither relation are undetermined.
    """
    sign = np.zeros(n_models, np.int64)
    live = total > 0
    f, s, sc, tot = first[live], second[live], score[live], total[live]
    takes = sc > 0
    gives = (tot - sc) > 0
    source = np.concatenate([f[takes], s[gives]])
    target = np.concatenate([s[takes], f[gives]])
    weak = _lowest_members(n_models, f, s)
    groups, strong = _strong_components(_graph(n_models, source, target))
    if groups == len(np.unique(weak)):
        return sign
    across = strong[source] != strong[target]
    condensed = _graph(groups, strong[source[across]], strong[target[across]])
    sizes = np.bincount(strong, minlength=groups)
    from scipy.sparse.csgraph import breadth_first_order

    for component in np.unique(weak).tolist():
        members = np.flatnonzero(weak == component)
        inside = np.unique(strong[members])
        if len(inside) == 1:
            continue
        # Largest group first, then the one holding the lowest model index.
        reference = int(min(inside.tolist(), key=lambda g: (-sizes[g], int(np.flatnonzero(strong == g)[0]))))
        below = breadth_first_order(condensed, reference, directed=True, return_predecessors=False)
        above = breadth_first_order(condensed.T.tocsr(), reference, directed=True, return_predecessors=False)
        group_sign = np.full(groups, UNDETERMINED, np.int64)
        group_sign[below] = -1
        group_sign[above] = 1
        group_sign[reference] = 0
        sign[members] = group_sign[strong[members]]
    return sign
