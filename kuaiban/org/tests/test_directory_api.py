"""The directory endpoints of ``org.api``: ``GET /api/v1/units`` and ``GET /api/v1/regions``."""

from __future__ import annotations

from typing import Any

import pytest

from kuaiban.org.models import Region, Unit

pytestmark = pytest.mark.django_db


def test_units_are_the_active_ones_departments_first(api: Any) -> None:
    Unit.objects.filter(code="swj").update(active=False)  # 水利局 merged away
    r = api("operator").get("/units")
    assert r.status == 200
    by_code = {u["code"]: u for u in r.body}
    assert by_code["zjj"] == {"code": "zjj", "name": "住建局", "kind": "department"}
    assert by_code["chengguan"] == {"code": "chengguan", "name": "城关镇", "kind": "township"}
    assert "swj" not in by_code
    kinds = [u["kind"] for u in r.body]
    assert kinds == sorted(kinds)  # department < township, each in code order
    assert len(r.body) == Unit.objects.filter(active=True).count()


def test_regions_come_flattened_with_their_parents(api: Any) -> None:
    r = api("handler-zjj").get("/regions")
    assert r.status == 200
    by_code = {row["code"]: row for row in r.body}
    county = by_code["330000"]
    assert county == {"code": "330000", "name": "清河县", "level": "county", "parent": None}
    town = next(row for row in r.body if row["name"] == "城关镇")
    assert town["level"] == "township" and town["parent"] == "330000"
    village = next(row for row in r.body if row["name"] == "南关社区")
    assert village["parent"] == town["code"]
    grid = next(row for row in r.body if row["name"] == "南关社区第1网格")
    assert grid["level"] == "grid" and grid["parent"] == village["code"]
    assert len(r.body) == Region.objects.count()


@pytest.mark.parametrize("path", ["/units", "/regions"])
def test_the_directory_needs_a_token(api: Any, path: str) -> None:
    r = api(None).get(path)
    assert r.status == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"
