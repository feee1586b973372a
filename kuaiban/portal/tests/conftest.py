"""The front door's tests read the SMS outbox as the notify tests do, and need the rows the data
migrations seed (SMS templates, entrances), which a transactional test elsewhere may flush."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from kuaiban.notify.tests.conftest import Outbox, _fresh_throttles, outbox

__all__ = ["Outbox", "_fresh_throttles", "outbox"]


@pytest.fixture(autouse=True)
def _seeded_rows(request: Any) -> None:
    """Put the SMS templates and the shipped entrances back the way their migrations do (for
    the tests marked to use the database; the others need neither)."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return
    request.getfixturevalue("transactional_db" if marker.kwargs.get("transaction") else "db")
    from django.apps import apps

    importlib.import_module("kuaiban.notify.migrations.0002_default_templates").seed(apps, None)
    importlib.import_module("kuaiban.portal.migrations.0002_entrances").seed(apps, None)
