"""GET /api/v1/metrics and /api/v1/rankings: shape, grouping, validation and who may read."""

from __future__ import annotations

from typing import Any

import pytest

from kuaiban.core import clock
from kuaiban.metrics.tests.ledger import NOW, build
from kuaiban.org.demo import Directory

pytestmark = pytest.mark.django_db

RATE_KEYS = {
    "received",
    "on_time_claim_rate",
    "return_rate",
    "closure_rate",
    "on_time_reply_rate",
    "participation_rate",
    "satisfaction_rate",
    "resolution_rate",
    "authenticity_rate",
    "rework_rate",
    "score",
}


@pytest.fixture
def june(county: Directory) -> None:
    build(county)


def get(api: Any, who: str, path: str, **params: Any) -> Any:
    with clock.frozen(NOW):
        return api(who).get(path, **params)


def test_metrics_by_unit_has_the_documented_shape(api: Any, june: None) -> None:
    r = get(
        api, "leader", "/metrics", **{"from": "2026-06-01", "to": "2026-06-30", "group_by": "unit"}
    )
    assert r.status == 200, r.body
    assert set(r.body["total"]) >= RATE_KEYS
    assert r.body["total"]["received"] == 6
    assert r.body["total"]["on_time_claim_rate"] == 0.5
    assert r.body["total"]["rework_rate"] == 0.2
    groups = {g["key"]: g for g in r.body["groups"]}
    assert set(groups) == {"zjj", "chengguan", None}
    assert all(RATE_KEYS | {"key", "name"} <= set(g) for g in groups.values())
    assert groups["zjj"]["name"] == "住建局"
    assert groups["zjj"]["return_rate"] == 0.25
    assert groups["chengguan"]["score"] == 100.0
    assert groups[None]["satisfaction_rate"] is None  # the consultation nobody could reach
    assert groups[None]["name"] == "未派单"


@pytest.mark.parametrize(
    ("group_by", "keys"),
    [
        ("channel", {"hotline": 3, "mailbox": 1, "grid": 1, "web": 1}),
        ("region", {"330000001": 6}),
        ("category", {None: 6}),
    ],
)
def test_metrics_grouped_by_other_dimensions(
    api: Any, june: None, group_by: str, keys: dict[str | None, int]
) -> None:
    r = get(
        api,
        "supervisor",
        "/metrics",
        **{"from": "2026-06-01", "to": "2026-06-30", "group_by": group_by},
    )
    assert r.status == 200, r.body
    assert {g["key"]: g["received"] for g in r.body["groups"]} == keys
    assert sum(keys.values()) == r.body["total"]["received"]


def test_metrics_filters_narrow_the_total(api: Any, june: None) -> None:
    r = get(
        api,
        "admin",
        "/metrics",
        **{"from": "2026-06-01", "to": "2026-06-30", "unit": "zjj", "channel": "hotline"},
    )
    assert r.status == 200
    assert r.body["total"]["received"] == 2  # A1 and A8 (A2 came by mailbox)
    assert r.body["groups"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"from": "2026-06-30", "to": "2026-06-01"}, "from"),
        ({"from": "2020-01-01", "to": "2026-06-01"}, "to"),
        ({"unit": "nosuchunit"}, "unit"),
        ({"channel": "telegram"}, "channel"),
        ({"group_by": "weather"}, "group_by"),
    ],
)
def test_bad_parameters_are_400_with_the_field(
    api: Any, county: Directory, params: dict[str, str], field: str
) -> None:
    r = api("leader").get("/metrics", **params)
    assert r.status == 400, r.body
    assert r.body["detail"]
    assert field in {e["field"] for e in r.body["errors"]}


@pytest.mark.parametrize("who", ["operator", "handler-zjj", "visitor"])
@pytest.mark.parametrize("path", ["/metrics", "/rankings"])
def test_handlers_operators_and_visitors_may_not_read_metrics(
    api: Any, county: Directory, who: str, path: str
) -> None:
    r = api(who).get(path)
    assert r.status == 403
    assert r.body["detail"]


def test_anonymous_gets_401(api: Any, county: Directory) -> None:
    assert api(None).get("/metrics").status == 401
    assert api(None).get("/rankings").status == 401


def test_rankings_shape(api: Any, june: None) -> None:
    r = get(api, "leader", "/rankings", month="2026-06")
    assert r.status == 200, r.body
    assert r.body["month"] == "2026-06"
    assert r.body["scheme"]["response_metric"] == "on_time_claim_rate"
    assert [t["kind"] for t in r.body["tiers"]] == ["department", "township", "village", "grid"]
    towns = r.body["tiers"][1]["units"]
    assert towns[0]["key"] == "chengguan"
    assert towns[0]["rank"] == 1
    assert towns[0]["stars"] == 5
    assert RATE_KEYS | {"rank_change", "score_change", "previous_rank"} <= set(towns[0])
    assert len(r.body["tiers"][0]["units"]) == 16  # every active department is listed


def test_rankings_month_must_be_a_month(api: Any, county: Directory) -> None:
    r = api("leader").get("/rankings", month="June")
    assert r.status == 400
    assert r.body["errors"][0]["field"] == "month"
