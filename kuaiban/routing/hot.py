"""Hot issues: group a period's appeals about the same problem, label the groups, and follow them
from one period to the next.

Method (all sparse / vectorised; 100,000 appeals in well under a minute on one core):

1. Features (``kuaiban.routing.grams``): character uni- and bigrams of the normalised text,
   TF-IDF weighted with the period's own document frequencies, each appeal pruned to its 48
   best n-grams and L2-normalised.
2. Similarity graph: the sparse product ``X @ X.T`` in row blocks, keeping pairs with cosine
   >= ``threshold`` (very common n-grams are left out of the product and added back for the
   candidate pairs only; see ``similarity_graph``).
3. Star clustering, which does not chain: the appeal with most neighbours becomes a centre and
   takes its unassigned neighbours; repeat. Appeals left over join the group of their most
   similar neighbour. Then groups whose centroids are very close (>= ``merge_threshold``) are
   merged, which reunites a big issue that several stars had split.
4. Label: in the three most central members, the runs of the centroid's best bigrams (TF-IDF of
   the group against the period) are cut into words with rjieba and the words ranked by the
   centroid (``幸福里 垃圾 清运``). Only these short runs are segmented, which keeps it fast.

``compare_periods`` matches this period's issues to the previous period's by the cosine of their
n-gram signatures and reports growth.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from kuaiban.routing.grams import DF_TABLE_SIZE, df_buckets, gram_batch, top_per_doc
from kuaiban.routing.text import compact, tokenize_normalized

__all__ = ["HotIssue", "IssueTrend", "compare_periods", "group_hot_issues", "similarity_graph"]

_CP_BITS = 21
_BIGRAM_MIN = 1 << _CP_BITS
_BLOCK = 2048


@dataclass(frozen=True)
class HotIssue:
    """A group of appeals about one problem."""

    label: str  # key words joined by spaces, e.g. "幸福里 垃圾 清运"
    terms: tuple[str, ...]  # the key words, best first
    size: int
    member_ids: tuple[Any, ...]  # most central first
    representative: Any  # id of the most central member
    cohesion: float  # mean cosine of the members to the group's centroid
    signature: dict[str, float] = field(repr=False)  # top n-grams of the centroid (unit norm)


@dataclass(frozen=True)
class IssueTrend:
    """One current issue with its match in the previous period (if any)."""

    issue: HotIssue
    previous: HotIssue | None
    similarity: float
    growth: float | None  # (size - previous size) / previous size; None for a new issue

    @property
    def is_new(self) -> bool:
        return self.previous is None


# ------------------------------------------------------------------------------------------------
# Features and graph
# ------------------------------------------------------------------------------------------------


def _features(texts: Sequence[str], kept: int) -> tuple[sparse.csr_matrix, npt.NDArray[np.uint64]]:
    """Pruned, L2-normalised TF-IDF rows and the n-gram code of each column."""
    grams = gram_batch(texts, prepared=True)
    n = grams.n_docs
    # Document frequencies in hashed buckets: no sort needed.
    buckets = df_buckets(grams.code)
    df = np.bincount(buckets, minlength=DF_TABLE_SIZE)
    idf_all = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)
    weight = (1.0 + np.log(grams.tf.astype(np.float32))) * idf_all[buckets]
    keep, _ = top_per_doc(grams.doc, weight, kept)
    codes, cols = np.unique(grams.code[keep], return_inverse=True)
    rows, vals = grams.doc[keep], weight[keep]
    matrix = sparse.csr_matrix((vals, (rows, cols)), shape=(n, len(codes)), dtype=np.float32)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    matrix = sparse.csr_matrix(sparse.diags(1.0 / norms) @ matrix, dtype=np.float32)
    return matrix, codes


def _block_pairs(
    left: sparse.csr_matrix, right_t: sparse.csr_matrix, floor: float, *, skip_self: bool
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    rows, cols, vals = [], [], []
    for start in range(0, left.shape[0], _BLOCK):
        block = (left[start : start + _BLOCK] @ right_t).tocoo()
        keep = block.data >= floor
        if skip_self:
            keep &= block.row + start < block.col  # upper triangle: each pair once
        rows.append(block.row[keep].astype(np.int64) + start)
        cols.append(block.col[keep].astype(np.int64))
        vals.append(block.data[keep].astype(np.float32))
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.float32)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


def _row_dots(
    left: sparse.csr_matrix,
    rows: npt.NDArray[np.int64],
    cols: npt.NDArray[np.int64],
    right: sparse.csr_matrix | None = None,
) -> npt.NDArray[np.float32]:
    """``left[rows[i]] . right[cols[i]]`` for each i (``right`` defaults to ``left``)."""
    other = left if right is None else right
    out = np.zeros(len(rows), dtype=np.float32)
    step = 200_000
    for start in range(0, len(rows), step):
        a = left[rows[start : start + step]]
        b = other[cols[start : start + step]]
        out[start : start + step] = np.asarray(a.multiply(b).sum(axis=1)).ravel()
    return out


def similarity_graph(
    matrix: sparse.csr_matrix, threshold: float, *, max_df: int | None = None
) -> sparse.csr_matrix:
    """Symmetric graph of row pairs with cosine >= threshold (no self loops).

    The cost of ``X @ X.T`` is the sum of the squared column frequencies, so columns kept by more
    than ``max_df`` rows (default: 1% of the rows, at least 200) are left out of the product:
    it then yields candidate pairs (partial cosine >= threshold / 2), whose exact cosine adds
    the left-out columns back. A pair similar only through very common n-grams is missed, which
    is what we want for "the same problem".
    """
    n = matrix.shape[0]
    cap = max(200, n // 100) if max_df is None else max_df
    df = np.bincount(matrix.indices, minlength=matrix.shape[1])
    common = df > cap
    if not common.any():
        rows, cols, vals = _block_pairs(matrix, matrix.T.tocsr(), threshold, skip_self=True)
    else:
        rare = sparse.csr_matrix(matrix @ sparse.diags((~common).astype(np.float32)))
        rare.eliminate_zeros()
        rows, cols, partial = _block_pairs(rare, rare.T.tocsr(), threshold / 2, skip_self=True)
        frequent = sparse.csr_matrix(matrix @ sparse.diags(common.astype(np.float32)))
        frequent.eliminate_zeros()
        vals = partial + _row_dots(frequent, rows, cols)
        keep = vals >= threshold
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
    both_rows = np.concatenate([rows, cols])
    both_cols = np.concatenate([cols, rows])
    both_vals = np.concatenate([vals, vals])
    return sparse.csr_matrix((both_vals, (both_rows, both_cols)), shape=(n, n), dtype=np.float32)


# ------------------------------------------------------------------------------------------------
# Clustering
# ------------------------------------------------------------------------------------------------


def _star_clusters(graph: sparse.csr_matrix) -> npt.NDArray[np.int64]:
    """Cluster label per row (-1: alone); every member is a neighbour of its cluster's centre."""
    n = graph.shape[0]
    indptr, indices, data = graph.indptr, graph.indices, graph.data
    degree = np.diff(indptr)
    strength = np.asarray(graph.sum(axis=1)).ravel()
    labels = np.full(n, -1, dtype=np.int64)
    next_label = 0
    for node in np.lexsort((-strength, -degree)).tolist():
        if labels[node] >= 0 or degree[node] == 0:
            continue
        neighbours = indices[indptr[node] : indptr[node + 1]]
        free = neighbours[labels[neighbours] < 0]
        if not len(free):
            continue
        labels[node] = next_label
        labels[free] = next_label
        next_label += 1
    # Leftovers join the group of their most similar neighbour.
    for node in np.flatnonzero((labels < 0) & (degree > 0)).tolist():
        start, end = indptr[node], indptr[node + 1]
        best = indices[start + int(np.argmax(data[start:end]))]
        labels[node] = labels[best]
    return labels


def _centroids(
    matrix: sparse.csr_matrix, labels: npt.NDArray[np.int64], n_clusters: int, kept: int
) -> sparse.csr_matrix:
    """Each cluster's mean row, pruned to its ``kept`` best columns and L2-normalised."""
    member_rows = np.flatnonzero(labels >= 0)
    assign = sparse.csr_matrix(
        (np.ones(len(member_rows), dtype=np.float32), (labels[member_rows], member_rows)),
        shape=(n_clusters, matrix.shape[0]),
    )
    sums = sparse.csr_matrix(assign @ matrix)
    row_of = np.repeat(np.arange(n_clusters, dtype=np.int64), np.diff(sums.indptr))
    keep, _ = top_per_doc(row_of, sums.data.astype(np.float32), kept)
    pruned = sparse.csr_matrix(
        (sums.data[keep], (row_of[keep], sums.indices[keep])),
        shape=sums.shape,
        dtype=np.float32,
    )
    norms = np.sqrt(np.asarray(pruned.multiply(pruned).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / norms) @ pruned, dtype=np.float32)


def _merge_close(
    matrix: sparse.csr_matrix, labels: npt.NDArray[np.int64], threshold: float, kept: int
) -> npt.NDArray[np.int64]:
    """Merge clusters whose centroids have cosine >= threshold (union-find over centroid pairs)."""
    grouped = labels >= 0
    if not grouped.any():
        return labels
    n_clusters = int(labels.max()) + 1
    centroids = _centroids(matrix, labels, n_clusters, kept)
    pairs = sparse.triu(similarity_graph(centroids, threshold), k=1).tocoo()
    parent = np.arange(n_clusters)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = int(parent[x])
        return x

    for a, b in zip(pairs.row.tolist(), pairs.col.tolist(), strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = np.array([find(c) for c in range(n_clusters)], dtype=np.int64)
    merged = labels.copy()
    merged[grouped] = roots[labels[grouped]]
    # Renumber densely (0 .. k-1).
    _, merged[grouped] = np.unique(merged[grouped], return_inverse=True)
    return merged


# ------------------------------------------------------------------------------------------------
# Labels
# ------------------------------------------------------------------------------------------------


def _decode(code: int) -> str:
    if code >= _BIGRAM_MIN:
        return chr(code >> _CP_BITS) + chr(code & (_BIGRAM_MIN - 1))
    return chr(code)


def _key_terms(
    centroid: dict[int, float],
    texts: Sequence[str],
    n_terms: int,
    *,
    top_bigrams: int = 16,
    cache: dict[str, list[str]] | None = None,
) -> tuple[str, ...]:
    """The group's key words, scored by its centroid (TF-IDF of the group against the period).

    Runs of the centroid's best bigrams in the most central members' text are cut into words
    with rjieba (only these short runs are segmented, which keeps labelling cheap); a word scores
    the centroid weight of its bigrams, once per member that uses it.
    """
    best = {
        code: weight
        for code, weight in sorted(centroid.items(), key=lambda kv: -kv[1])
        if code >= _BIGRAM_MIN
    }
    best = dict(list(best.items())[:top_bigrams])
    memo: dict[str, list[str]] = {} if cache is None else cache
    scores: dict[str, float] = {}
    for text in texts:
        pairs = [(ord(a) << _CP_BITS) | ord(b) for a, b in itertools.pairwise(text)]
        runs: set[str] = set()
        i = 0
        while i < len(pairs):
            if pairs[i] not in best:
                i += 1
                continue
            j = i
            while j < len(pairs) and pairs[j] in best:
                j += 1
            runs.add(text[i : j + 1])
            i = j
        words: set[str] = set()
        for run in runs:
            cut = memo.get(run)
            if cut is None:
                cut = memo[run] = tokenize_normalized(run, hmm=False)
            words.update(cut)
        for word in words:
            if len(word) < 2 or word.isascii():
                continue
            weight = sum(
                centroid.get((ord(a) << _CP_BITS) | ord(b), 0.0)
                for a, b in itertools.pairwise(word)
            )
            if weight > 0:
                scores[word] = scores.get(word, 0.0) + weight
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    out: list[str] = []
    for word, _ in ranked:
        if any(word in kept or kept in word for kept in out):
            continue
        out.append(word)
        if len(out) == n_terms:
            break
    return tuple(out)


# ------------------------------------------------------------------------------------------------
# Public API
# ------------------------------------------------------------------------------------------------


def group_hot_issues(
    items: Sequence[tuple[Any, str, Any]],
    *,
    threshold: float = 0.2,
    merge_threshold: float = 0.5,
    min_size: int = 2,
    kept_features: int = 48,
    max_chars: int = 400,
    label_terms: int = 4,
    signature_size: int = 40,
) -> list[HotIssue]:
    """Group (id, text, meta) appeals of one period into issues, biggest first.

    Appeals that resemble no other appeal (cosine < ``threshold``) stay out of every issue, and
    issues smaller than ``min_size`` are not returned. Only the first ``max_chars`` characters of
    each appeal are used (the title and the statement of the problem come first).
    """
    if not items:
        return []
    ids = [item[0] for item in items]
    texts = [compact(item[1][: max_chars * 2])[:max_chars] for item in items]
    matrix, codes = _features(texts, kept_features)
    graph = similarity_graph(matrix, threshold)
    labels = _merge_close(matrix, _star_clusters(graph), merge_threshold, kept_features)
    grouped = np.flatnonzero(labels >= 0)
    if not len(grouped):
        return []
    n_clusters = int(labels.max()) + 1
    centroids = _centroids(matrix, labels, n_clusters, max(signature_size, kept_features))
    closeness = _row_dots(matrix, grouped, labels[grouped], centroids)
    order = np.lexsort((-closeness, labels[grouped]))
    members_sorted, close_sorted = grouped[order], closeness[order]
    cluster_sorted = labels[members_sorted]
    bounds = np.flatnonzero(np.r_[True, cluster_sorted[1:] != cluster_sorted[:-1], True])
    cache: dict[str, list[str]] = {}
    issues: list[HotIssue] = []
    for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        if b - a < min_size:
            continue
        members = members_sorted[a:b]
        cluster = int(cluster_sorted[a])
        start, end = centroids.indptr[cluster], centroids.indptr[cluster + 1]
        cols, vals = centroids.indices[start:end], centroids.data[start:end]
        top = np.argsort(-vals, kind="stable")[:signature_size]
        weights = {int(codes[cols[t]]): float(vals[t]) for t in top.tolist()}
        central = [texts[m] for m in members[:3].tolist()]
        terms = _key_terms(weights, central, label_terms, cache=cache)
        issues.append(
            HotIssue(
                label=" ".join(terms),
                terms=terms,
                size=int(b - a),
                member_ids=tuple(ids[m] for m in members.tolist()),
                representative=ids[int(members[0])],
                cohesion=round(float(close_sorted[a:b].mean()), 4),
                signature={_decode(c): round(w, 6) for c, w in weights.items()},
            )
        )
    issues.sort(key=lambda issue: (-issue.size, -issue.cohesion, issue.label))
    return issues


def _signature_matrix(
    issues: Sequence[HotIssue], vocabulary: dict[str, int]
) -> tuple[list[int], list[int], list[float]]:
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for r, issue in enumerate(issues):
        for term, weight in issue.signature.items():
            rows.append(r)
            cols.append(vocabulary.setdefault(term, len(vocabulary)))
            vals.append(weight)
    return rows, cols, vals


def _normalised(
    parts: tuple[list[int], list[int], list[float]], n_rows: int, n_cols: int
) -> sparse.csr_matrix:
    rows, cols, vals = parts
    matrix = sparse.csr_matrix((vals, (rows, cols)), shape=(n_rows, n_cols), dtype=np.float64)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sparse.csr_matrix(sparse.diags(1.0 / norms) @ matrix)


def compare_periods(
    current: Sequence[HotIssue], previous: Sequence[HotIssue], *, min_similarity: float = 0.5
) -> list[IssueTrend]:
    """Match each current issue to at most one previous issue and compute its growth.

    Pairs are matched greedily by descending signature cosine (one-to-one); a current issue with
    no previous issue at ``min_similarity`` or above is new (growth None).
    """
    vocabulary: dict[str, int] = {}
    cur_parts = _signature_matrix(current, vocabulary)
    prev_parts = _signature_matrix(previous, vocabulary)
    cur = _normalised(cur_parts, len(current), len(vocabulary))
    prev = _normalised(prev_parts, len(previous), len(vocabulary))
    sims = (cur @ prev.T).tocoo()
    keep = sims.data >= min_similarity
    pairs = sorted(
        zip(
            sims.data[keep].tolist(), sims.row[keep].tolist(), sims.col[keep].tolist(), strict=True
        ),
        key=lambda t: (-t[0], t[1], t[2]),
    )
    matched: dict[int, tuple[int, float]] = {}
    used: set[int] = set()
    for score, i, j in pairs:
        if i in matched or j in used:
            continue
        matched[i] = (j, score)
        used.add(j)
    trends: list[IssueTrend] = []
    for i, issue in enumerate(current):
        if i in matched:
            j, score = matched[i]
            before = previous[j]
            growth = (issue.size - before.size) / before.size
            trends.append(IssueTrend(issue, before, round(score, 4), round(growth, 4)))
        else:
            trends.append(IssueTrend(issue, None, 0.0, None))
    return trends
