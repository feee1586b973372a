"""Character uni- and bigram features of appeal texts as exact integer codes, vectorised with
numpy: the input of hot-issue grouping (``kuaiban.routing.hot``).

A unigram's code is its code point; a bigram packs two code points into 42 bits. Document
frequencies are counted in 2**22 hashed buckets, so no sort of the vocabulary is needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from kuaiban.routing.text import STOP_WORDS, compact

__all__ = ["DF_TABLE_SIZE", "GramBatch", "df_buckets", "gram_batch", "top_per_doc"]

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]

_CP_BITS = 21  # a Unicode code point fits in 21 bits: a bigram packs exactly into 42
_CODE_BITS = 42
_CODE_MASK = np.uint64((1 << _CODE_BITS) - 1)
_DF_BITS = 22


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
