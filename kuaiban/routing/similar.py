"""Similar appeals: "has this problem been reported before?", answered by the database.

No web process holds an index. The features are the distinct character bigrams of the folded
text (``Appeal.search_text``: NFKC, Traditional → Simplified, lower case; see
``kuaiban.core.text.fold``) with whitespace and punctuation removed, so a text written in
Traditional characters finds its Simplified twin. The score is the cosine of the two bigram
sets, each bigram weighted by its inverse document frequency (IDF): 1.0 for the same text, about
0.1–0.5 for two citizens' own words about one problem at one place, below ``MIN_SCORE`` for
unrelated appeals.

PostgreSQL (production): ``routing_similartext`` holds each appeal's bigrams as a ``tsvector``
with a GIN index over the live rows (not merged or invalid), written by a trigger in the
registering transaction (migration ``routing.0003``), so a new appeal is found by the very next
query. A lookup

1. reads the bigram frequencies PostgreSQL's own ANALYZE keeps for that column (``pg_stats``:
   the 10,000 most common bigrams; cached per process for ``STATS_SECONDS``, a few hundred KiB
   that any process can drop and read again);
2. asks the GIN index for the appeals of the window that share one of the text's *rarest*
   bigrams, as many as keep the estimated match under ``ROW_BUDGET`` rows (place names and key
   words, not 问题 or 小区), and keeps the ``CANDIDATES`` that share most of them (``ts_rank``);
3. re-scores those candidates by IDF-weighted cosine over all their bigrams, here in Python.

SQLite (development, tests, a small county): the same score over the ``SCAN_LIMIT`` most recent
appeals of the window, with document frequencies counted over them. Correct, not fast.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection

from kuaiban.appeals.models import Appeal, Status
from kuaiban.core import clock
from kuaiban.core.text import fold

__all__ = ["MIN_SCORE", "SIMILAR_DAYS", "analyze", "bigrams", "reset", "search"]

SIMILAR_DAYS = 90
MIN_SCORE = 0.08
CANDIDATES = 200
ROW_BUDGET = 3000
MIN_GRAMS = 1
MAX_GRAMS = 24
SCAN_LIMIT = 20_000
STATS_SECONDS = 300.0

# The characters a bigram is made of; the same class as ``routing_bigrams`` in migration 0003.
_DROP_RE = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def bigrams(folded: str) -> frozenset[str]:
    """The distinct character bigrams of already folded text, as ``routing_bigrams`` makes them
    in PostgreSQL: everything but digits, Latin letters and CJK ideographs is dropped first; a
    text of one such character is that character."""
    kept = _DROP_RE.sub("", folded)
    if len(kept) == 1:
        return frozenset((kept,))
    return frozenset(kept[i : i + 2] for i in range(len(kept) - 1))


def search(
    text: str,
    *,
    since: dt.datetime | None = None,
    exclude_id: int | None = None,
    limit: int = CANDIDATES,
    min_score: float = MIN_SCORE,
) -> list[tuple[int, float]]:
    """Live appeals (not merged or invalid) received since ``since`` (default: the last
    ``SIMILAR_DAYS`` days) whose text is like ``text``, as (appeal id, score), best first, at
    most ``limit``, scores of at least ``min_score``. No role filtering: callers apply it."""
    grams = bigrams(fold(text))
    if not grams:
        return []
    start = since if since is not None else clock.now() - dt.timedelta(days=SIMILAR_DAYS)
    if connection.vendor == "postgresql":
        weight = _stats.get()
        found = _postgres_candidates(grams, weight, start, exclude_id)
        return _rank(grams, found, weight, limit, min_score)
    scanned = _scan_candidates(start, exclude_id)
    return _rank(grams, scanned, _counted_idf(scanned), limit, min_score)


def _rank(
    grams: frozenset[str],
    candidates: Iterable[tuple[int, Iterable[str]]],
    idf: _Weight,
    limit: int,
    min_score: float,
) -> list[tuple[int, float]]:
    """IDF-weighted cosine of ``grams`` with each candidate's bigrams; the newer appeal first
    among equal scores."""
    query = {g: idf(g) ** 2 for g in grams}
    query_norm = math.sqrt(sum(query.values()))
    scored: list[tuple[int, float]] = []
    for pk, doc in candidates:
        dot = norm = 0.0
        for g in doc:
            w = query.get(g)
            if w is None:
                norm += idf(g) ** 2
            else:
                dot += w
                norm += w
        if dot:
            score = dot / (query_norm * math.sqrt(norm))
            if score >= min_score:
                scored.append((pk, round(min(score, 1.0), 6)))
    scored.sort(key=lambda hit: (-hit[1], -hit[0]))
    return scored[:limit]


class _Weight:
    """IDF of a bigram from a document frequency table (fractions of ``n`` documents)."""

    def __init__(self, frequencies: dict[str, float], n: float, unseen: float) -> None:
        self.frequencies, self.n, self.unseen = frequencies, max(n, 0.0), unseen
        self._unseen_idf = self._idf(unseen)

    def _idf(self, frequency: float) -> float:
        return math.log((1.0 + self.n) / (1.0 + self.n * frequency)) + 1.0

    def __call__(self, gram: str) -> float:
        found = self.frequencies.get(gram)
        return self._unseen_idf if found is None else self._idf(found)

    def frequency(self, gram: str) -> float:
        return self.frequencies.get(gram, self.unseen)


# ----- PostgreSQL ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stats:
    idf: _Weight
    read_at: float


class _StatsCache:
    """The bigram frequencies of ``pg_stats`` for ``routing_similartext.grams``, re-read every
    ``STATS_SECONDS``. A cache of the database's own statistics, not state: dropping it loses
    nothing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats: _Stats | None = None

    def reset(self) -> None:
        with self._lock:
            self._stats = None

    def get(self) -> _Weight:
        found = self._stats
        if found is not None and time.monotonic() - found.read_at < STATS_SECONDS:
            return found.idf
        with self._lock:
            self._stats = _Stats(_read_stats(), time.monotonic())
            return self._stats.idf


_STATS_SQL = """
SELECT c.reltuples, s.most_common_elems::text::text[], s.most_common_elem_freqs
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname
                     AND s.attname = 'grams'
WHERE c.relname = 'routing_similartext' AND n.nspname = current_schema()
"""


def _read_stats() -> _Weight:
    with connection.cursor() as cursor:
        cursor.execute(_STATS_SQL)
        row = cursor.fetchone()
    if row is None:
        return _Weight({}, 0.0, 0.0)
    reltuples, elems, freqs = row
    n = float(reltuples or 0.0)
    if not elems or not freqs or n <= 0:
        # Never analysed (a new or tiny table): every bigram weighs the same.
        return _Weight({}, max(n, 0.0), 0.0)
    # For a tsvector the list of frequencies is followed by their minimum and maximum.
    table = dict(zip(elems, (float(f) for f in freqs[: len(elems)]), strict=True))
    rarest = min(table.values())
    # A bigram ANALYZE did not keep is rarer than the rarest one it kept.
    return _Weight(table, n, rarest / 2)


def _rare_first(grams: Iterable[str], idf: _Weight) -> list[str]:
    """The text's rarest bigrams, as many as keep the estimated match under ``ROW_BUDGET`` rows
    (at least ``MIN_GRAMS``, at most ``MAX_GRAMS``): the rows the GIN match fetches from the
    heap, not the index, are what a lookup costs."""
    chosen: list[str] = []
    expected = 0.0
    for gram in sorted(grams, key=lambda g: (idf.frequency(g), g)):
        rows = idf.frequency(gram) * idf.n
        if len(chosen) >= MIN_GRAMS and expected + rows > ROW_BUDGET:
            break
        chosen.append(gram)
        expected += rows
        if len(chosen) == MAX_GRAMS:
            break
    return chosen


_CANDIDATES_SQL = """
SELECT appeal_id, tsvector_to_array(grams)
FROM routing_similartext
WHERE live AND grams @@ %(query)s::tsquery AND received_at >= %(since)s
  AND appeal_id <> %(exclude)s
ORDER BY ts_rank(grams, %(query)s::tsquery) DESC, appeal_id DESC
LIMIT %(limit)s
"""


def _postgres_candidates(
    grams: frozenset[str], idf: _Weight, since: dt.datetime, exclude_id: int | None
) -> Sequence[tuple[int, list[str]]]:
    # Bigrams hold digits, Latin letters and CJK ideographs only: quoting them is enough.
    query = " | ".join(f"'{g}'" for g in _rare_first(grams, idf))
    with connection.cursor() as cursor:
        cursor.execute(
            _CANDIDATES_SQL,
            {"query": query, "since": since, "exclude": exclude_id or 0, "limit": CANDIDATES},
        )
        return cursor.fetchall()


# ----- SQLite (and any other database): a scan of the recent appeals ------------------------------


def _scan_candidates(
    since: dt.datetime, exclude_id: int | None
) -> list[tuple[int, frozenset[str]]]:
    rows = (
        Appeal.objects.filter(received_at__gte=since)
        .exclude(status__in=[Status.MERGED, Status.INVALID])
        .exclude(pk=exclude_id or 0)
        .order_by("-received_at", "-id")
        .values_list("pk", "search_text")[:SCAN_LIMIT]
    )
    return [(pk, bigrams(folded)) for pk, folded in rows]


def _counted_idf(candidates: Sequence[tuple[int, frozenset[str]]]) -> _Weight:
    counts: Counter[str] = Counter()
    for _pk, doc in candidates:
        counts.update(doc)
    n = len(candidates)
    return _Weight({g: c / n for g, c in counts.items()}, float(n), 0.0)


# ----- upkeep -------------------------------------------------------------------------------------


_stats = _StatsCache()


def analyze() -> bool:
    """Refresh PostgreSQL's statistics of the bigram column now (autovacuum does it as rows
    arrive; this is for right after a bulk load). False on other databases."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE routing_similartext")
    _stats.reset()
    return True


def reset() -> None:
    """Forget the cached statistics (tests; after ``analyze``)."""
    _stats.reset()
