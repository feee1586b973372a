"""Similar-appeal index: "has this problem been reported before?".

An incremental, in-memory index over character uni- and bigrams of the normalised text (see
``text.compact``), weighted by TF-IDF. It never compares a query with every appeal:

* each appeal keeps its ``kept_features`` (48) highest-weighted n-grams (code + term frequency),
  and *posts* its ``posted_features`` (24) best ones to an inverted index (n-gram -> appeal ids);
* a query looks up the postings of its own best n-grams (each posting capped to its most recent
  ``max_posting`` appeals), accumulates the matched weights, and re-scores the best ``candidates``
  (500) by exact cosine between the query's and each candidate's kept features.

Why not MinHash LSH: independently written reports of one problem share the place name and a few
key words but little else; on our labelled paraphrase fixture their character 3-gram Jaccard is
0.01–0.13 (median 0.05), at the level of unrelated pairs, so no banding can find them without
flooding the candidates. TF-IDF cosine separates them far better (see docs/routing.md).

Storage is a handful of flat numpy arrays (≈ 1 GiB for 1,000,000 appeals): sorted postings plus
a small dict buffer for recent additions that is merged in when it grows; removal marks the
appeal dead (``compact`` drops the dead entries). Document frequencies are counted in 2**22 hashed
buckets over every appeal ever added (removal does not un-count: IDF describes the corpus seen).

The index pickles (``save`` / ``load``) and can always be rebuilt from the ledger with ``build``.
All public methods take an internal lock, so one index may be shared by a process's threads.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kuaiban.routing.text import STOP_WORDS, compact

__all__ = [
    "DF_TABLE_SIZE",
    "GramBatch",
    "SimilarIndex",
    "df_buckets",
    "gram_batch",
    "top_per_doc",
]

Key = Hashable
Filter = Callable[[Any, Any], bool]

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]

_CP_BITS = 21  # a Unicode code point fits in 21 bits: a bigram packs exactly into 42
_CODE_BITS = 42
_CODE_MASK = np.uint64((1 << _CODE_BITS) - 1)
_DF_BITS = 22
_BATCH = 20_000


# ------------------------------------------------------------------------------------------------
# Features: character uni- and bigrams as exact integer codes, vectorised with numpy
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GramBatch:
    """Sparse term frequencies of a batch of texts, sorted by (doc, code)."""

    n_docs: int
    doc: I64  # index of the text in the batch
    code: U64  # unigram: code point; bigram: (cp1 << 21) | cp2 (always >= 2**21)
    tf: npt.NDArray[np.uint16]


def gram_batch(texts: Sequence[str], *, prepared: bool = False) -> GramBatch:
    """Character uni- and bigram counts of ``compact(text)`` for each text, without the n-grams
    that are stop words themselves (的, 什么, 时候 ...).

    ``prepared=True`` means the texts already went through ``compact``.
    """
    strings = list(texts) if prepared else [compact(t) for t in texts]
    n = len(strings)
    lengths = np.fromiter((len(s) for s in strings), dtype=np.int64, count=n)
    if not lengths.sum():
        empty = np.zeros(0, dtype=np.int64)
        return GramBatch(n, empty, empty.astype(np.uint64), empty.astype(np.uint16))
    cps = np.frombuffer("".join(strings).encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    doc_of = np.repeat(np.arange(n, dtype=np.uint64), lengths)
    inner = doc_of[:-1] == doc_of[1:]
    bigrams = (cps[:-1][inner] << np.uint64(_CP_BITS)) | cps[1:][inner]
    keys = np.concatenate(
        [
            (doc_of << np.uint64(_CODE_BITS)) | cps,
            (doc_of[:-1][inner] << np.uint64(_CODE_BITS)) | bigrams,
        ]
    )
    uniq, counts = np.unique(keys, return_counts=True)
    stop = np.isin(uniq & _CODE_MASK, _stop_codes())
    if stop.any():
        uniq, counts = uniq[~stop], counts[~stop]
    return GramBatch(
        n,
        (uniq >> np.uint64(_CODE_BITS)).astype(np.int64),
        uniq & _CODE_MASK,
        np.minimum(counts, 65535).astype(np.uint16),
    )


@cache
def _stop_codes() -> U64:
    """Codes of the one- and two-character stop words (和, 的, 什么, 时候 ...): no topic."""
    codes = [
        ord(w[0]) if len(w) == 1 else (ord(w[0]) << _CP_BITS) | ord(w[1])
        for w in STOP_WORDS
        if len(w) <= 2
    ]
    return np.unique(np.array(codes, dtype=np.uint64))


def _mix(x: U64) -> U64:
    """splitmix64 finaliser: a stable 64-bit hash of 64-bit integers."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def df_buckets(code: U64) -> I64:
    """Bucket (0 .. 2**22 - 1) of each n-gram code in the hashed document-frequency table."""
    return (_mix(code) >> np.uint64(64 - _DF_BITS)).astype(np.int64)


DF_TABLE_SIZE = 1 << _DF_BITS


def top_per_doc(doc: I64, weight: F32, k: int) -> tuple[I64, I64]:
    """Indices of each doc's ``k`` highest weights (grouped by doc, best first) and their ranks.

    ``doc`` must be sorted (as in ``GramBatch``) and ``weight`` non-negative.
    """
    if not len(doc):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    # One argsort of a packed key (doc, then descending weight) is much faster than lexsort:
    # the bits of a non-negative float32 order like the float itself.
    bits = np.asarray(weight, dtype=np.float32).view(np.uint32).astype(np.uint64)
    packed = (doc.astype(np.uint64) << np.uint64(32)) | (np.uint64(0xFFFFFFFF) - bits)
    order = np.argsort(packed)
    sorted_doc = doc[order]
    first = np.flatnonzero(np.r_[True, sorted_doc[1:] != sorted_doc[:-1]])
    sizes = np.diff(np.r_[first, len(order)])
    rank = np.arange(len(order)) - np.repeat(first, sizes)
    keep = rank < k
    return order[keep], rank[keep]


# ------------------------------------------------------------------------------------------------
# Storage helpers
# ------------------------------------------------------------------------------------------------


class _Grow:
    """An append-only numpy array with amortised O(1) appends."""

    def __init__(self, dtype: npt.DTypeLike, capacity: int = 1024) -> None:
        self.data: npt.NDArray[Any] = np.zeros(capacity, dtype=dtype)
        self.size = 0

    def extend(self, values: npt.ArrayLike) -> None:
        arr = np.asarray(values, dtype=self.data.dtype)
        need = self.size + len(arr)
        if need > len(self.data):
            grown = np.zeros(max(need, 2 * len(self.data)), dtype=self.data.dtype)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : need] = arr
        self.size = need

    @property
    def view(self) -> npt.NDArray[Any]:
        return self.data[: self.size]

    def __getstate__(self) -> dict[str, Any]:
        return {"data": self.data[: self.size].copy(), "size": self.size}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.data = state["data"]
        self.size = state["size"]


class _Postings:
    """Multimap n-gram code -> appeal ids: sorted arrays plus a dict buffer of recent adds.

    Within one code, ids are kept in insertion (= ascending) order, so a capped lookup returns
    the most recent appeals. Small additions go to the dict (O(1) each); it is merged into the
    sorted arrays when it holds ``buffer_limit`` entries, and large batches are merged directly.
    """

    buffer_limit = 1 << 18

    def __init__(self) -> None:
        self.keys: U64 = np.zeros(0, dtype=np.uint64)
        self.ids: npt.NDArray[np.int32] = np.zeros(0, dtype=np.int32)
        self._buf: dict[int, list[int]] = {}
        self._buf_size = 0

    def __len__(self) -> int:
        return len(self.keys) + self._buf_size

    def add(self, keys: U64, ids: npt.NDArray[np.int32]) -> None:
        if len(keys) >= self.buffer_limit // 4:
            self.merge()
            self._merge_arrays(keys, ids)
            return
        buf = self._buf
        for key, ident in zip(keys.tolist(), ids.tolist(), strict=True):
            bucket = buf.get(key)
            if bucket is None:
                buf[key] = [ident]
            else:
                bucket.append(ident)
        self._buf_size += len(keys)
        if self._buf_size >= self.buffer_limit:
            self.merge()

    def merge(self) -> None:
        if not self._buf_size:
            return
        sizes = [len(v) for v in self._buf.values()]
        keys = np.repeat(np.fromiter(self._buf.keys(), dtype=np.uint64, count=len(sizes)), sizes)
        ids = np.fromiter(
            (i for v in self._buf.values() for i in v), dtype=np.int32, count=self._buf_size
        )
        self._buf, self._buf_size = {}, 0
        self._merge_arrays(keys, ids)

    def _merge_arrays(self, keys: U64, ids: npt.NDArray[np.int32]) -> None:
        order = np.argsort(keys, kind="stable")
        keys, ids = keys[order], ids[order]
        if len(self.keys):
            at = np.searchsorted(self.keys, keys, side="right")
            self.keys = np.insert(self.keys, at, keys)
            self.ids = np.insert(self.ids, at, ids)
        else:
            self.keys, self.ids = keys, ids

    def lookup(self, codes: U64, cap: int) -> tuple[list[npt.NDArray[np.int32]], list[int]]:
        """For each code, the ids posted under it (at most ``cap``: the most recent)."""
        out: list[npt.NDArray[np.int32]] = []
        which: list[int] = []
        lo = np.searchsorted(self.keys, codes, side="left").tolist()
        hi = np.searchsorted(self.keys, codes, side="right").tolist()
        for j, code in enumerate(codes.tolist()):
            a, b = lo[j], hi[j]
            if b > a:
                out.append(self.ids[max(a, b - cap) : b])
                which.append(j)
            recent = self._buf.get(code)
            if recent:
                out.append(np.asarray(recent[-cap:], dtype=np.int32))
                which.append(j)
        return out, which

    def drop(self, dead: npt.NDArray[np.bool_]) -> None:
        self.merge()
        keep = ~dead[self.ids]
        self.keys, self.ids = self.keys[keep], self.ids[keep]


# ------------------------------------------------------------------------------------------------
# The index
# ------------------------------------------------------------------------------------------------


class SimilarIndex:
    """Incremental similar-appeal index; see the module docstring."""

    def __init__(
        self,
        *,
        kept_features: int = 48,
        posted_features: int = 24,
        query_features: int = 32,
        max_posting: int = 20_000,
        candidates: int = 500,
        min_score: float = 0.15,
    ) -> None:
        self.kept_features = kept_features
        self.posted_features = posted_features
        self.query_features = query_features
        self.max_posting = max_posting
        self.candidates = candidates
        self.min_score = min_score
        if not 0 < posted_features <= kept_features <= 255:
            raise ValueError("need 0 < posted_features <= kept_features <= 255")
        self._lock = threading.RLock()
        self._ids: dict[Any, int] = {}
        self._keys: list[Any] = []
        self._metas: list[Any] = []
        self._alive = _Grow(np.bool_)
        self._start = _Grow(np.int64)
        self._count = _Grow(np.uint8)
        self._code = _Grow(np.uint64, 1 << 16)
        self._tf = _Grow(np.uint16, 1 << 16)
        self._df = np.zeros(1 << _DF_BITS, dtype=np.int32)
        self._seen = 0
        self._dead = 0
        self._postings = _Postings()

    # -- building ----------------------------------------------------------------------------

    @classmethod
    def build(cls, items: Iterable[tuple[Any, str, Any]], **options: Any) -> SimilarIndex:
        """A new index holding ``items`` (key, text, meta).

        Document frequencies are counted over all items before any is weighted, so a rebuilt
        index is better than one grown appeal by appeal from empty.
        """
        index = cls(**options)
        rows = list(items)
        batches: list[tuple[list[tuple[Any, str, Any]], GramBatch]] = []
        for at in range(0, len(rows), _BATCH):
            chunk = rows[at : at + _BATCH]
            grams = gram_batch([text for _, text, _ in chunk])
            index._count_df(grams)
            batches.append((chunk, grams))
        for chunk, grams in batches:
            index._insert(chunk, grams)
        index._postings.merge()
        return index

    def add(self, key: Any, text: str, meta: Any = None) -> None:
        """Add (or replace) one appeal."""
        self.add_many([(key, text, meta)])

    def add_many(self, items: Iterable[tuple[Any, str, Any]]) -> None:
        """Add (or replace) appeals given as (key, text, meta)."""
        rows = list(items)
        for at in range(0, len(rows), _BATCH):
            chunk = rows[at : at + _BATCH]
            grams = gram_batch([text for _, text, _ in chunk])
            with self._lock:
                self._count_df(grams)
                self._insert(chunk, grams)

    def _count_df(self, grams: GramBatch) -> None:
        buckets = df_buckets(grams.code)
        if len(buckets) > len(self._df) // 8:
            self._df += np.bincount(buckets, minlength=len(self._df)).astype(np.int32)
        else:
            np.add.at(self._df, buckets, 1)
        self._seen += grams.n_docs

    def _weights(self, code: U64, tf: npt.NDArray[np.uint16]) -> F32:
        df = self._df[df_buckets(code)].astype(np.float32)
        idf = np.log((1.0 + self._seen) / (1.0 + df)) + 1.0
        weight: F32 = ((1.0 + np.log(tf.astype(np.float32))) * idf).astype(np.float32)
        return weight

    def _insert(self, chunk: list[tuple[Any, str, Any]], grams: GramBatch) -> None:
        base = len(self._keys)
        keep, rank = top_per_doc(grams.doc, self._weights(grams.code, grams.tf), self.kept_features)
        doc = grams.doc[keep]
        counts = np.bincount(doc, minlength=grams.n_docs)
        starts = self._code.size + np.r_[0, np.cumsum(counts)[:-1]]
        self._code.extend(grams.code[keep])
        self._tf.extend(grams.tf[keep])
        self._start.extend(starts)
        self._count.extend(counts)
        self._alive.extend(counts > 0)
        posted = rank < self.posted_features
        self._postings.add(grams.code[keep][posted], (doc[posted] + base).astype(np.int32))
        # Later duplicates of a key in the same chunk win.
        for offset, (key, _, meta) in enumerate(chunk):
            if key in self._ids:
                self._remove(key)
            self._ids[key] = base + offset
            self._keys.append(key)
            self._metas.append(meta)

    # -- removal -----------------------------------------------------------------------------

    def remove(self, key: Any) -> bool:
        """Forget an appeal; False if it was not indexed."""
        with self._lock:
            if key not in self._ids:
                return False
            self._remove(key)
            if self._dead > 1000 and self._dead > len(self._ids):
                self._compact()
            return True

    def _remove(self, key: Any) -> None:
        internal = self._ids.pop(key)
        self._alive.data[internal] = False
        self._keys[internal] = None
        self._metas[internal] = None
        self._dead += 1

    def compact(self) -> None:
        """Drop removed appeals from the postings (feature arrays keep their space)."""
        with self._lock:
            self._compact()

    def _compact(self) -> None:
        self._postings.drop(~self._alive.view)
        self._dead = 0

    # -- queries -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, key: object) -> bool:
        return key in self._ids

    def meta(self, key: Any) -> Any:
        return self._metas[self._ids[key]]

    def _query_vector(self, text: str) -> tuple[U64, F32] | None:
        grams = gram_batch([text])
        if not len(grams.code):
            return None
        weight = self._weights(grams.code, grams.tf)
        keep, _ = top_per_doc(grams.doc, weight, self.kept_features)
        code, weight = grams.code[keep], weight[keep]  # best first
        weight = weight / np.float32(np.linalg.norm(weight))
        return code, weight

    def query(
        self,
        text: str,
        k: int = 10,
        *,
        filter: Filter | None = None,
        exclude: Any = None,
        min_score: float | None = None,
    ) -> list[tuple[Any, float]]:
        """The ``k`` indexed appeals most similar to ``text``, as (key, cosine score).

        ``filter(key, meta)`` keeps only matching appeals (e.g. same county, last 90 days);
        ``exclude`` is a key to leave out (the appeal itself); scores below ``min_score``
        (default: the index's) are dropped.
        """
        floor = self.min_score if min_score is None else min_score
        vector = self._query_vector(text)
        if vector is None:
            return []
        qcode, qweight = vector
        with self._lock:
            lookup = qcode[: self.query_features]
            order = np.argsort(lookup)
            found, which = self._postings.lookup(lookup[order], self.max_posting)
            if not found:
                return []
            ids = np.concatenate(found)
            votes = np.repeat(qweight[: self.query_features][order][which], [len(f) for f in found])
            acc = np.bincount(ids, weights=votes)
            hits = np.flatnonzero(acc)
            if len(hits) > self.candidates:
                hits = hits[np.argpartition(acc[hits], -self.candidates)[-self.candidates :]]
            hits = hits[self._alive.data[hits]]
            if not len(hits):
                return []
            scores = self._cosine(qcode, qweight, hits)
            ranking = np.lexsort((-hits, -scores))
            out: list[tuple[Any, float]] = []
            for j in ranking.tolist():
                score = float(scores[j])
                if score < floor:
                    break
                internal = int(hits[j])
                key = self._keys[internal]
                if key == exclude and exclude is not None:
                    continue
                if filter is not None and not filter(key, self._metas[internal]):
                    continue
                out.append((key, round(score, 6)))
                if len(out) >= k:
                    break
            return out

    def _cosine(self, qcode: U64, qweight: F32, hits: I64) -> F32:
        counts = self._count.data[hits].astype(np.int64)
        starts = self._start.data[hits]
        seg = np.repeat(np.arange(len(hits)), counts)
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        pos = np.repeat(starts, counts) + offsets
        code = self._code.data[pos]
        weight = self._weights(code, self._tf.data[pos])
        norm = np.sqrt(np.bincount(seg, weights=weight * weight, minlength=len(hits)))
        order = np.argsort(qcode)
        sorted_code, sorted_weight = qcode[order], qweight[order]
        j = np.minimum(np.searchsorted(sorted_code, code), len(sorted_code) - 1)
        match = sorted_code[j] == code
        dot = np.bincount(seg, weights=weight * sorted_weight[j] * match, minlength=len(hits))
        scores: F32 = np.asarray(dot / np.maximum(norm, 1e-12), dtype=np.float32)
        return scores

    # -- persistence -------------------------------------------------------------------------

    def nbytes(self) -> int:
        """Approximate memory of the numpy parts (not the Python key / meta objects)."""
        arrays = [
            self._alive.data,
            self._start.data,
            self._count.data,
            self._code.data,
            self._tf.data,
            self._df,
            self._postings.keys,
            self._postings.ids,
        ]
        return int(sum(a.nbytes for a in arrays))

    def __getstate__(self) -> dict[str, Any]:
        with self._lock:
            self._postings.merge()
            state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def save(self, path: str | Path) -> None:
        """Pickle the index to ``path`` (written next to it first, then renamed)."""
        target = Path(path)
        tmp = target.with_name(target.name + ".tmp")
        with tmp.open("wb") as fh:
            pickle.dump(self, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(target)

    @classmethod
    def load(cls, path: str | Path) -> SimilarIndex:
        """Load an index written by ``save`` (a pickle: only load files you wrote)."""
        with Path(path).open("rb") as fh:
            index = pickle.load(fh)
        if not isinstance(index, cls):
            raise TypeError(f"{path} does not hold a {cls.__name__}")
        return index
