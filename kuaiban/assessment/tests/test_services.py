"""The double ranking's figures on the hand-built ledger (tests/ledger.py), worked out by hand."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kuaiban.assessment import services
from kuaiban.assessment.tests.ledger import NOW, build_cadres, build_orders
from kuaiban.core import clock
from kuaiban.core.errors import ValidationFailed
from kuaiban.org.demo import Directory

pytestmark = pytest.mark.django_db

FIGURES = (
    "enterprises",
    "enterprises_visited",
    "visits",
    "problems",
    "closed",
    "replied",
    "replied_on_time",
    "due_passed_unreplied",
    "rated",
    "satisfied",
)


def _cadres(period: str, team: str | None = None) -> dict[str, Any]:
    with clock.frozen(NOW):
        return services.cadre_ranking(period, team=team)


def _by_name(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for t in data["teams"] for c in t["cadres"]}


def test_november_cadres_are_ranked_within_their_team_on_their_enterprises(
    county: Directory,
) -> None:
    build_cadres(county)
    data = _cadres("2026-11")
    assert (data["period"], data["from"], data["to"]) == (
        "2026-11",
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 30),
    )
    head = county.users["handler-jfj"].label  # the directory's head of 经发局
    town = county.users["handler-chengguan"].label
    assert [(t["key"], [(c["name"], c["rank"]) for c in t["cadres"]]) for t in data["teams"]] == [
        ("county", [("县领导 赵国栋", 1), ("县领导 刘志强", 2)]),
        ("jfj", [("经发局 王芳", 1), ("经发局 李军", 2), (head, 3)]),
        ("chengguan", [(town, 1)]),
    ]
    rows = _by_name(data)
    # enterprises, visited, visits, problems, closed, replied, on time, due passed, rated, satisfied
    assert {name: tuple(r[f] for f in FIGURES) for name, r in rows.items()} == {
        # 兴业 + 绿源; three visits of her own (October's is another period); A1 A2 A8.
        "经发局 王芳": (2, 2, 3, 3, 1, 2, 1, 0, 2, 2),
        # 恒通 + 宏达 (from 11-10); the visit to 兴业 and the one to 宏达 before it was his do
        # not count; A3 (overdue unreplied) and A5 (answered at intake).
        "经发局 李军": (2, 1, 1, 2, 1, 1, 1, 1, 1, 1),
        # 宏达 until 11-10: its visit on 11-06 and A4 (received 11-07, rated dissatisfied).
        head: (1, 1, 1, 1, 0, 1, 1, 0, 1, 0),
        # 兴业 without a visit: A1 and A8.
        town: (1, 0, 0, 2, 1, 1, 1, 0, 1, 1),
        # 绿源: A2, replied after its deadline, basically satisfied.
        "县领导 刘志强": (1, 0, 0, 1, 0, 1, 0, 0, 1, 1),
        # Chain leader of 兴业 and 恒通: A1 A3 A8 and the visit to 恒通.
        "县领导 赵国栋": (2, 1, 1, 3, 1, 1, 1, 1, 1, 1),
    }
    scores = {name: r["score"] for name, r in rows.items()}
    # 25 × (coverage + closure + on time + satisfaction)
    assert scores == {
        "经发局 王芳": 70.83,  # (1 + 1/3 + 1/2 + 1) / 4
        "经发局 李军": 62.5,  # (1/2 + 1/2 + 1/2 + 1) / 4
        head: 50.0,  # (1 + 0 + 1 + 0) / 4
        town: 62.5,  # (0 + 1/2 + 1 + 1) / 4
        "县领导 刘志强": 25.0,  # (0 + 0 + 0 + 1) / 4
        "县领导 赵国栋": 58.33,  # (1/2 + 1/3 + 1/2 + 1) / 4
    }
    assert rows["经发局 王芳"]["closure_rate"] == 0.3333
    assert rows["经发局 李军"]["on_time_rate"] == 0.5


def test_a_quarter_and_a_year_take_october_too_and_one_team_can_be_asked_for(
    county: Directory,
) -> None:
    build_cadres(county)
    for period in ("2026-Q4", "2026", "2026-q4"):
        data = _cadres(period, team="jfj")
        assert [t["key"] for t in data["teams"]] == ["jfj"]
        wang = _by_name(data)["经发局 王芳"]
        # + October's visit to 绿源 and A6 (兴业, received 10-28, not dispatched)
        assert (wang["visits"], wang["problems"], wang["closed"]) == (4, 4, 1)
        assert wang["score"] == 68.75  # (1 + 1/4 + 1/2 + 1) / 4
    assert _cadres("2026-Q4")["to"] == dt.date(2026, 12, 31)
    assert _cadres("2026")["from"] == dt.date(2026, 1, 1)
    # Before the enterprises were assigned: nobody to rank.
    assert _cadres("2026-09")["teams"] == []


def test_november_units_are_ranked_on_their_supervision_orders(county: Directory) -> None:
    build_orders(county)
    with clock.frozen(NOW):
        data = services.key_work_ranking("2026-11")
    tiers = {t["kind"]: t["units"] for t in data["tiers"]}
    assert list(tiers) == ["department", "township"]
    dept = {u["key"]: u for u in tiers["department"]}
    cols = ("rank", "score", "orders", "red", "cleared", "closed_on_time", "overdue_open")
    # 住建局: O1 on time, O2 (red) late, both cleared; O5 withdrawn; O7 is October's.
    assert tuple(dept["zjj"][c] for c in cols) == (1, 70.0, 2, 1, 2, 1, 0)
    # 城管局: O3 sent back, answered again by its new deadline, cleared; O4 overdue.
    assert tuple(dept["cgj"][c] for c in cols) == (2, 50.0, 2, 0, 1, 1, 1)
    assert dept["cgj"]["sent_back"] == 1
    # Every other department is listed, unranked, after the ranked ones.
    assert [u["key"] for u in tiers["department"][:2]] == ["zjj", "cgj"]
    assert dept["jfj"]["rank"] is None and dept["jfj"]["score"] is None
    assert len(tiers["department"]) == 16
    town = {u["key"]: u for u in tiers["township"]}
    # 城关镇: O6 answered, not yet cleared by the supervisor.
    assert tuple(town["chengguan"][c] for c in cols) == (1, 0.0, 1, 0, 0, 0, 0)
    with clock.frozen(NOW):
        quarter = services.key_work_ranking("2026-Q4")
    zjj = next(u for u in quarter["tiers"][0]["units"] if u["key"] == "zjj")
    # + O7, cleared on time: 60 × 2/3 + 40 × 3/3
    assert (zjj["orders"], zjj["closed_on_time"], zjj["score"]) == (3, 2, 80.0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11", (dt.date(2026, 11, 1), dt.date(2026, 12, 1), "2026-11")),
        ("2026-2", (dt.date(2026, 2, 1), dt.date(2026, 3, 1), "2026-02")),
        ("2025-12", (dt.date(2025, 12, 1), dt.date(2026, 1, 1), "2025-12")),
        ("2026-Q1", (dt.date(2026, 1, 1), dt.date(2026, 4, 1), "2026-Q1")),
        ("2026-Q4", (dt.date(2026, 10, 1), dt.date(2027, 1, 1), "2026-Q4")),
        (" 2026 ", (dt.date(2026, 1, 1), dt.date(2027, 1, 1), "2026")),
        ("", (dt.date(2026, 12, 1), dt.date(2027, 1, 1), "2026-12")),
    ],
)
def test_parse_period(text: str, expected: tuple[dt.date, dt.date, str]) -> None:
    with clock.frozen(NOW):
        assert services.parse_period(text) == expected


@pytest.mark.parametrize(
    "text", ["2026-13", "2026-00", "2026-Q5", "2026Q4", "26-11", "十一月", "2026-11-01", "1899"]
)
def test_parse_period_refuses_what_is_not_a_period(text: str) -> None:
    with clock.frozen(NOW), pytest.raises(ValidationFailed) as caught:
        services.parse_period(text)
    assert [e.field for e in caught.value.errors] == ["period"]


def test_parse_period_refuses_a_period_not_begun() -> None:
    with clock.frozen(NOW), pytest.raises(ValidationFailed) as caught:
        services.parse_period("2027-Q1", "period")
    assert caught.value.errors[0].field == "period"


def test_competition_ranks_share_a_rank_and_leave_the_unscored_out() -> None:
    assert services.competition_ranks([62.5, 70.83, 62.5, None, 10.0]) == [2, 1, 2, None, 4]
