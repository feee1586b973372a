"""协办及时率: co-unit parts answered by their due over the parts due (answered, or past their
due unanswered), per co-unit, on the overview and in the rankings."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction as F
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from kuaiban.appeals import services as appeals
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.deadlines.calendar import SHANGHAI
from kuaiban.metrics import services
from kuaiban.org.demo import Directory

pytestmark = pytest.mark.django_db

ROAD = "人民路从东门村到镇上这段路坑洼不平，路边还堆着建筑垃圾，下雨积水，已有电动车摔倒。"
OPINION = "我局已派执法队员清运路边建筑垃圾，并责令施工单位设置围挡。"
NOVEMBER = services.Scope(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
NOW = dt.datetime(2026, 11, 20, 12, tzinfo=SHANGHAI)


def at(m: int, d: int, hh: int) -> dt.datetime:
    return dt.datetime(2026, m, d, hh, tzinfo=SHANGHAI)


def road(make_appeal: Any, when: dt.datetime, co: list[str]) -> str:
    with clock.frozen(when):
        appeal = make_appeal(title="人民路路面坑洼", content=ROAD)
        appeals.appeal_dispatch(
            actor=user("operator"), number=appeal.number, unit="jtj", co_units=co
        )
    assert appeal.number is not None
    return appeal.number


def assist(number: str, who: str, when: dt.datetime) -> None:
    with clock.frozen(when):
        appeals.appeal_assist(actor=user(who), number=number, text=OPINION, result="resolved")


@pytest.fixture
def ledger(make_appeal: Any) -> None:
    # Dispatched Monday 2 November: reply due Monday 16 November, parts due Friday 13 November.
    a = road(make_appeal, at(11, 2, 9), ["cgj"])
    assist(a, "handler-cgj", at(11, 10, 10))  # on time
    road(make_appeal, at(11, 2, 9), ["cgj"])  # never answered: due, not on time
    c = road(make_appeal, at(11, 2, 9), ["sthj"])
    assist(c, "handler-sthj", at(11, 16, 9))  # after 13 November: late
    road(make_appeal, at(11, 19, 9), ["cgj"])  # not due yet on 20 November: not counted


def rate(scope: services.Scope) -> F | None:
    with clock.frozen(NOW):
        return services.rates(services.total(scope))["co_handling_rate"]


def test_the_rate_counts_parts_answered_by_their_due(ledger: None, county: Directory) -> None:
    assert rate(NOVEMBER) == F(1, 3)
    units = county.units
    assert rate(services.Scope(NOVEMBER.date_from, NOVEMBER.date_to, unit=units["cgj"])) == F(1, 2)
    assert rate(services.Scope(NOVEMBER.date_from, NOVEMBER.date_to, unit=units["sthj"])) == 0
    # The lead has no part: its co-handling rate has no denominator.
    assert rate(services.Scope(NOVEMBER.date_from, NOVEMBER.date_to, unit=units["jtj"])) is None


def test_overview_and_rankings_show_it(ledger: None, api: Any) -> None:
    with clock.frozen(NOW):
        r = api("leader").get("/metrics?from=2026-11-01&to=2026-11-30")
        assert r.status == 200, r.body
        assert r.body["total"]["co_handling_rate"] == pytest.approx(1 / 3)
        ranked = services.rankings(dt.date(2026, 11, 1))
        c = Client()
        c.force_login(user("leader"))
        page = c.get(reverse("metrics:dashboard"), {"from": "2026-11-01", "to": "2026-11-30"})
        ranking = c.get(reverse("metrics:rankings"), {"month": "2026-11"})
    assert "协办及时率" in page.content.decode() and "33.3%" in page.content.decode()
    assert "协办及时" in ranking.content.decode()
    departments = ranked["tiers"][0]["units"]
    cgj = next(u for u in departments if u.unit.code == "cgj")
    assert cgj.figures["co_handling_rate"] == 0.5
