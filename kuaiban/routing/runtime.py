"""What each web or worker process keeps in memory: the active models and the similar-appeal index.

Both are loaded lazily, once per process, and kept fresh cheaply:

* the active models are re-checked against the database at most every
  ``KUAIBAN_ROUTING_RECHECK_SECONDS`` (1 s by default; at once in the process that switches them)
  and reloaded only when the active versions changed;
* the similar-appeal index is loaded from ``DATA_DIR/routing/similar.pickle`` (written by
  ``kuaiban similar --rebuild``; built from the ledger if missing), reloaded when that file is
  replaced, and topped up from the ledger by id watermark, so several web processes each hold
  an index that follows appeals registered by the others.
"""

from __future__ import annotations

import datetime as dt
import logging
import pickle
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from kuaiban.appeals.models import Appeal
from kuaiban.core import clock
from kuaiban.org.models import Region
from kuaiban.routing.classifier import ModelFormatError, TextClassifier, appeal_text
from kuaiban.routing.models import ModelVersion
from kuaiban.routing.similar import SimilarIndex

log = logging.getLogger(__name__)

SIMILAR_DAYS = 90
INDEX_FORMAT = 1
# Appeals committed out of id order (a long transaction) are picked up if they land within this
# many ids below the watermark.
REFRESH_OVERLAP = 500
REFRESH_BATCH = 5000


def recheck_seconds() -> float:
    return float(getattr(settings, "KUAIBAN_ROUTING_RECHECK_SECONDS", 1.0))


def models_dir() -> Path:
    return Path(settings.DATA_DIR) / "models"


def index_path() -> Path:
    return Path(settings.DATA_DIR) / "routing" / "similar.pickle"


# ----- active models ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedModel:
    pk: int
    version: str
    target: str
    checksum: str
    model: TextClassifier


class ActiveModels:
    """The active model of each target, loaded from disk, reloaded when the active rows change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checked_at = -1e9
        self._key: tuple[tuple[str, int, str], ...] | None = None
        self._models: dict[str, LoadedModel] = {}

    def invalidate(self) -> None:
        with self._lock:
            self._checked_at = -1e9

    def reset(self) -> None:
        with self._lock:
            self._checked_at = -1e9
            self._key = None
            self._models = {}

    def get(self) -> dict[str, LoadedModel]:
        now = time.monotonic()
        if now - self._checked_at < recheck_seconds():
            return self._models
        with self._lock:
            if time.monotonic() - self._checked_at < recheck_seconds():
                return self._models
            rows = list(
                ModelVersion.objects.filter(active=True).values(
                    "pk", "target", "version", "path", "checksum"
                )
            )
            key = tuple(sorted((r["target"], r["pk"], r["checksum"]) for r in rows))
            if key != self._key:
                self._models = self._load(rows)
                self._key = key
            self._checked_at = time.monotonic()
            return self._models

    def _load(self, rows: list[Any]) -> dict[str, LoadedModel]:
        out: dict[str, LoadedModel] = {}
        for row in rows:
            old = self._models.get(row["target"])
            if old is not None and old.pk == row["pk"] and old.checksum == row["checksum"]:
                out[row["target"]] = old
                continue
            path = models_dir() / row["path"]
            try:
                model = TextClassifier.load(path)
            except ModelFormatError as exc:  # e.g. a model of an older format: retrain it
                log.error("routing: cannot use model %s: %s", row["version"], exc)
                continue
            except Exception:  # a damaged or foreign file must not break suggestions
                log.exception("routing: cannot load model %s from %s", row["version"], path)
                continue
            out[row["target"]] = LoadedModel(
                row["pk"], row["version"], row["target"], row["checksum"], model
            )
        return out


active_models = ActiveModels()


# ----- regions ------------------------------------------------------------------------------------


class RegionMap:
    """region id → id of its township (or the region itself above township level)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._township: dict[int, int] = {}

    def reset(self) -> None:
        with self._lock:
            self._township = {}

    def township(self, region_id: int | None) -> int | None:
        if region_id is None:
            return None
        found = self._township.get(region_id)
        if found is None:
            with self._lock:
                self._township = self._build()
            found = self._township.get(region_id, region_id)
        return found

    @staticmethod
    def _build() -> dict[int, int]:
        rows = {
            pk: (parent, level)
            for pk, parent, level in Region.objects.values_list("pk", "parent_id", "level")
        }
        out: dict[int, int] = {}
        for pk in rows:
            node: int | None = pk
            seen = 0
            while node is not None and seen < 10:
                parent, level = rows[node]
                if level in (Region.Level.TOWNSHIP, Region.Level.COUNTY):
                    break
                node = parent
                seen += 1
            out[pk] = node if node is not None else pk
        return out


regions = RegionMap()


# ----- similar-appeal index -----------------------------------------------------------------------


def day_number(at: dt.datetime) -> int:
    return timezone.localtime(at).date().toordinal()


def cutoff_day(days: int = SIMILAR_DAYS) -> int:
    return day_number(clock.now()) - days


def _items(rows: Iterable[tuple[int, str, str, int | None, dt.datetime]]) -> list[Any]:
    return [
        (pk, appeal_text(title, content), (day_number(received), regions.township(region_id)))
        for pk, title, content, region_id, received in rows
    ]


def _ledger_rows(**filters: Any) -> Any:
    return (
        Appeal.objects.filter(**filters)
        .order_by("pk")
        .values_list("pk", "title", "content", "region_id", "received_at")
    )


def build_index(days: int = SIMILAR_DAYS) -> tuple[SimilarIndex, int]:
    """A fresh index of the last ``days`` days of the ledger, and its id watermark."""
    since = clock.now() - dt.timedelta(days=days)
    items: list[Any] = []
    watermark = 0
    last = 0
    while True:
        batch = list(_ledger_rows(pk__gt=last, received_at__gte=since)[:20_000])
        if not batch:
            break
        items.extend(_items(batch))
        last = batch[-1][0]
    watermark = max(last, Appeal.objects.order_by("-pk").values_list("pk", flat=True).first() or 0)
    return SimilarIndex.build(items), watermark


def _database() -> str:
    """Which database an index file was built from (a test database must not use it)."""
    db = settings.DATABASES["default"]
    return f"{db['ENGINE']}:{db.get('HOST') or ''}:{db.get('PORT') or ''}:{db['NAME']}"


def save_index(index: SimilarIndex, watermark: int, path: Path | None = None) -> Path:
    target = path or index_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    payload = {
        "format": INDEX_FORMAT,
        "watermark": watermark,
        "built_at": clock.now().isoformat(),
        "days": SIMILAR_DAYS,
        "database": _database(),
        "index": index,
    }
    with tmp.open("wb") as fh:
        pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(target)
    return target


def load_index(path: Path | None = None) -> tuple[SimilarIndex, int]:
    """Read an index written by ``save_index`` (a pickle: only files this server wrote)."""
    with (path or index_path()).open("rb") as fh:
        payload = pickle.load(fh)
    if not isinstance(payload, dict) or payload.get("format") != INDEX_FORMAT:
        raise ValueError("not a Kuaiban similar-appeal index")
    if payload.get("database") != _database():
        raise ValueError("the index was built from another database")
    index = payload["index"]
    if not isinstance(index, SimilarIndex):
        raise ValueError("not a Kuaiban similar-appeal index")
    return index, int(payload["watermark"])


class SimilarHolder:
    """This process's similar-appeal index, loaded from disk and kept up to date."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.index: SimilarIndex | None = None
        self.watermark = 0
        self._file_stamp: tuple[float, int] | None = None
        self._checked_at = -1e9

    def reset(self) -> None:
        with self._lock:
            self.index = None
            self.watermark = 0
            self._file_stamp = None
            self._checked_at = -1e9

    def _stamp(self) -> tuple[float, int] | None:
        try:
            st = index_path().stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime, st.st_size)

    def get(self) -> SimilarIndex:
        with self._lock:
            if self.index is None or time.monotonic() - self._checked_at >= recheck_seconds():
                stamp = self._stamp()
                if self.index is None or (stamp is not None and stamp != self._file_stamp):
                    self._open(stamp)
                self._refresh()
                self._checked_at = time.monotonic()
            assert self.index is not None
            return self.index

    def _open(self, stamp: tuple[float, int] | None) -> None:
        if stamp is not None:
            try:
                self.index, self.watermark = load_index()
                self._file_stamp = stamp
                return
            except (OSError, ValueError, EOFError, pickle.UnpicklingError, AttributeError) as exc:
                log.warning("routing: not using %s (%s); indexing the ledger", index_path(), exc)
        # No usable file: index the ledger in memory. Only ``kuaiban similar --rebuild`` writes
        # the file (one writer, run on deploy and nightly), so a process never overwrites it.
        self.index, self.watermark = build_index()
        self._file_stamp = stamp

    def _refresh(self) -> int:
        """Add the appeals registered since the watermark (by any process)."""
        assert self.index is not None
        index = self.index
        since = clock.now() - dt.timedelta(days=SIMILAR_DAYS)
        added = 0
        start = max(0, self.watermark - REFRESH_OVERLAP)
        while True:
            ids = list(
                Appeal.objects.filter(pk__gt=start, received_at__gte=since)
                .order_by("pk")
                .values_list("pk", flat=True)[:REFRESH_BATCH]
            )
            if not ids:
                break
            missing = [pk for pk in ids if pk not in index]
            if missing:
                rows = list(_ledger_rows(pk__in=missing))
                index.add_many(_items(rows))
                added += len(rows)
            start = ids[-1]
            self.watermark = max(self.watermark, start)
            if len(ids) < REFRESH_BATCH:
                break
        return added

    def add(
        self, pk: int, title: str, content: str, region_id: int | None, at: dt.datetime
    ) -> None:
        """Add one new appeal now (the register hook) if this process has an index open."""
        with self._lock:
            if self.index is not None:
                self.index.add_many(_items([(pk, title, content, region_id, at)]))


similar_index = SimilarHolder()


def reset() -> None:
    """Forget everything held in memory (tests; after the data directory changes)."""
    active_models.reset()
    similar_index.reset()
    regions.reset()
