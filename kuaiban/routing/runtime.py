"""What each web or worker process caches: the active models and the region tree.

Nothing here is state: each is read lazily from the database (and the model files) and can be
dropped at any time. The active models are re-checked against the database at most every
``KUAIBAN_ROUTING_RECHECK_SECONDS`` (1 s by default; at once in the process that switches them)
and reloaded only when the active versions changed. The similar-appeal lookup keeps no index in
the process at all (see ``kuaiban.routing.similar``).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from kuaiban.org.models import Region
from kuaiban.routing import similar
from kuaiban.routing.classifier import ModelFormatError, TextClassifier
from kuaiban.routing.models import ModelVersion

log = logging.getLogger(__name__)


def recheck_seconds() -> float:
    return float(getattr(settings, "KUAIBAN_ROUTING_RECHECK_SECONDS", 1.0))


def models_dir() -> Path:
    return Path(settings.DATA_DIR) / "models"


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


def reset() -> None:
    """Forget everything held in memory (tests; after the data directory changes)."""
    active_models.reset()
    similar.reset()
    regions.reset()
