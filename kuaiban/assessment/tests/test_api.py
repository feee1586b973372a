"""GET /api/v1/assessment/cadres and /key-work: figures, who may read them, bad input."""

from __future__ import annotations

from typing import Any

import pytest

from kuaiban.assessment.tests.ledger import NOW, build_cadres, build_orders
from kuaiban.core import clock
from kuaiban.org.demo import Directory

pytestmark = pytest.mark.django_db


def test_supervisor_reads_every_team_and_the_key_work(api: Any, county: Directory) -> None:
    build_cadres(county)
    build_orders(county)
    with clock.frozen(NOW):
        r = api("supervisor").get("/assessment/cadres", period="2026-11")
        k = api("leader").get("/assessment/key-work", period="2026-11")
    assert r.status == 200, r.body
    assert (r.body["period"], r.body["from"], r.body["to"]) == (
        "2026-11",
        "2026-11-01",
        "2026-11-30",
    )
    assert [t["key"] for t in r.body["teams"]] == ["county", "jfj", "chengguan"]
    wang = r.body["teams"][1]["cadres"][0]
    assert (wang["username"], wang["unit"], wang["rank"], wang["score"]) == (
        "jfj-wangfang",
        "jfj",
        1,
        70.83,
    )
    assert (wang["visits"], wang["problems"], wang["visit_coverage"]) == (3, 3, 1.0)
    assert r.body["weights"] == {
        "visit_coverage": 25,
        "closure_rate": 25,
        "on_time_rate": 25,
        "satisfaction_rate": 25,
    }
    assert k.status == 200, k.body
    zjj = k.body["tiers"][0]["units"][0]
    assert (zjj["key"], zjj["rank"], zjj["score"], zjj["cleared"], zjj["clearance_rate"]) == (
        "zjj",
        1,
        70.0,
        2,
        1.0,
    )
    assert k.body["weights"] == {"on_time_rate": 60, "clearance_rate": 40}


def test_a_handler_reads_only_their_own_units_team(api: Any, county: Directory) -> None:
    build_cadres(county)
    with clock.frozen(NOW):
        own = api("handler-jfj").get("/assessment/cadres", period="2026-11")
        same = api("handler-jfj").get("/assessment/cadres", period="2026-11", team="jfj")
        other = api("handler-jfj").get("/assessment/cadres", period="2026-11", team="chengguan")
        county_team = api("handler-jfj").get("/assessment/cadres", team="county")
        keywork = api("handler-jfj").get("/assessment/key-work", period="2026-11")
        # A handler whose unit has no cadre sees an empty list, not someone else's team.
        empty = api("handler-zjj").get("/assessment/cadres", period="2026-11")
    assert own.status == 200
    assert [t["key"] for t in own.body["teams"]] == ["jfj"]
    assert [c["username"] for c in own.body["teams"][0]["cadres"]] == [
        "jfj-wangfang",
        "jfj-lijun",
        "handler-jfj",
    ]
    assert same.body == own.body
    assert other.status == 403 and county_team.status == 403
    assert keywork.status == 403
    assert empty.status == 200 and empty.body["teams"] == []


@pytest.mark.parametrize("username", ["operator", "visitor", "grid-33000000100101"])
def test_other_roles_are_refused_both_rankings(api: Any, county: Directory, username: str) -> None:
    with clock.frozen(NOW):
        for path in ("/assessment/cadres", "/assessment/key-work"):
            r = api(username).get(path, period="2026-11")
            assert r.status == 403, (username, path, r.body)


def test_without_a_token_is_401(api: Any) -> None:
    for path in ("/assessment/cadres", "/assessment/key-work"):
        assert api(None).get(path).status == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "2026-13"}, "period"),
        ({"period": "2026-Q0"}, "period"),
        ({"period": "next month"}, "period"),
        ({"period": "2027-01"}, "period"),
        ({"period": "2026-11" + "x" * 20}, "period"),
        ({"team": "no-such-unit"}, "team"),
        ({"team": "x" * 50}, "team"),
    ],
)
def test_bad_input_is_400_naming_the_field(
    api: Any, county: Directory, params: dict[str, str], field: str
) -> None:
    with clock.frozen(NOW):
        r = api("supervisor").get("/assessment/cadres", **params)
        assert r.status == 400, r.body
        assert [e["field"] for e in r.body["errors"]] == [field]
        if field == "period":
            k = api("supervisor").get("/assessment/key-work", **params)
            assert k.status == 400 and [e["field"] for e in k.body["errors"]] == ["period"]
