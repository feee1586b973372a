"""Fixtures of the notify tests: an outbox file of the test's own, and reading it back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


class Outbox:
    """The file backend's outbox, as a person reading their phone would."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def lines(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text("utf-8").splitlines() if line]

    def to(self, phone: str) -> list[dict[str, Any]]:
        return [m for m in self.lines() if m["to"] == phone]

    def texts(self, phone: str) -> list[str]:
        return [m["text"] for m in self.to(phone)]


@pytest.fixture
def outbox(settings: Any, tmp_path: Path) -> Outbox:
    settings.KUAIBAN_SMS_BACKEND = "kuaiban.notify.backends.FileBackend"
    settings.KUAIBAN_SMS_OUTBOX = str(tmp_path / "outbox" / "sms.jsonl")
    settings.KUAIBAN_SMS_QUIET_HOURS = ""  # each test that wants quiet hours sets them
    return Outbox(tmp_path / "outbox" / "sms.jsonl")


@pytest.fixture(autouse=True)
def _fresh_throttles(request: Any) -> None:
    """The tests run with real commits (``django_db(transaction=True, serialized_rollback=True)``:
    delivery happens after commit; the rollback brings back the default templates of the data
    migration); the shared cache's throttle counters start empty."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return
    request.getfixturevalue("transactional_db" if marker.kwargs.get("transaction") else "db")
    from django.core.cache import caches

    caches["shared"].clear()


@pytest.fixture(autouse=True)
def _default_templates(request: Any) -> None:
    """The default templates come from a data migration. A transactional test elsewhere in the
    suite (they flush every table) removes them for the tests after it, so put them back the
    way the migration does. Skipped for tests without database access."""
    if "db" not in request.fixturenames and "transactional_db" not in request.fixturenames:
        marker = request.node.get_closest_marker("django_db")
        if marker is None:
            return
        request.getfixturevalue("db")
    import importlib

    from django.apps import apps

    seed = importlib.import_module("kuaiban.notify.migrations.0002_default_templates").seed
    seed(apps, None)
