"""The front door's live category suggestion: the active routing model's first-level
categories for what the person typed, through the public API, without a token."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db
HEATING = "阳光花园小区5号楼暖气一直不热，室温只有十四度，家里有老人，希望尽快维修。"


def suggest(text: str) -> Any:
    return Client(REMOTE_ADDR="203.0.113.9").get(
        "/api/v1/public/categories/suggest", {"text": text}
    )


def test_the_person_is_offered_the_models_categories(active_models: dict[str, Any]) -> None:
    r = suggest(HEATING)
    assert r.status_code == 200, r.content
    rows = r.json()
    assert 1 <= len(rows) <= 3 and rows[0]["name"] == "城乡建设"
    assert rows[0]["code"] and rows[0]["probability"] >= rows[-1]["probability"]
    assert "units" not in r.content.decode()


def test_without_a_model_nothing_is_suggested_and_bad_text_is_named(
    routing_env: Any, county: Any
) -> None:
    assert suggest(HEATING).json() == []
    r = suggest("")
    assert r.status_code == 400 and "text" in r.content.decode()
    assert suggest("暖" * 2001).status_code == 400
