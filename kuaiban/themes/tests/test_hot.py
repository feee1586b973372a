"""A theme made from a hot issue: the hot-issue page offers it to supervisors, the issue's
members are linked, the category and township are derived from them, and the appeals of the
baseline months that read like them are linked too (routing's similar-appeal search)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.org.demo import Directory
from kuaiban.routing import selectors as routing
from kuaiban.themes.models import Theme, ThemeLink
from kuaiban.themes.tests.ledger import GARBAGE, HEATING, SET_ON, Book, at, build_baseline, register

pytestmark = pytest.mark.django_db

SCHOOL = ("学校门口乱停车", "城关二小门口早晚接送时间车辆乱停，堵住了消防通道。")


@pytest.fixture
def book(county: Directory) -> Book:
    # Three wordings of the problem (the hot-issue grouping is routing's, tested there).
    book = build_baseline(county, [GARBAGE[0], GARBAGE[2], GARBAGE[3], GARBAGE[0]])
    # Three more about the garbage in late August (with aug0 and aug1:
    # five), and two others.
    for i, text in enumerate((GARBAGE[0], GARBAGE[2], GARBAGE[3])):
        register(book, f"aug-extra{i}", at(f"2026-08-{25 + i:02d}"), text)
    register(book, "aug-school", at("2026-08-26"), SCHOOL)
    register(book, "aug-heating2", at("2026-08-27"), HEATING)
    return book


def _label() -> str:
    with clock.frozen(SET_ON):
        report = routing.hot_issues(
            user=user("supervisor"),
            period=routing.period_from(at("2026-08-01").date(), at("2026-08-31").date()),
        )
    assert [i.size for i in report.issues][:1] == [5], [
        (i.label, [a.title for a in i.appeals]) for i in report.issues
    ]
    return report.issues[0].label


def test_theme_from_a_hot_issue(api: Any, book: Book, county: Directory) -> None:
    label = _label()
    body = {
        "title": "幸福里垃圾清运",
        "lead_unit": "cgj",
        "target_pct": 40,
        "months": 3,
        "hot_issue": {"label": label, "date_from": "2026-08-01", "date_to": "2026-08-31"},
    }
    with clock.frozen(SET_ON):
        r = api("supervisor").post("/themes", body)
    assert r.status == 201, r.body
    assert r.body["source"] == "hot" and r.body["hot_issue"] == label
    assert r.body["category"]["name"] == "城乡建设"
    assert r.body["region"] == {"code": county.townships["chengguan"].code, "name": "城关镇"}
    # August's 5 are the members. June's and July's appeals
    # read like one of them word for word (score 1.0) and are linked: June 4, July 3. The
    # report, 新华镇 and the invalid one never count.
    assert [m["volume"] for m in r.body["monthly"][:3]] == [4, 3, 5]
    # Baseline 12 / 3 = 4.0; target 4.0 × 60 % = 2.4.
    assert r.body["baseline"] == 4.0 and r.body["target"] == 2.4
    assert r.body["linked_appeals"] == 12
    sources = dict(ThemeLink.objects.values_list("appeal__number", "source"))
    assert sources[book.numbers["aug0"]] == "hot"
    assert sources[book.numbers["jun0"]] == "similar"
    for name in ("aug-school", "aug-heating", "jun-report", "jun-xinhua"):
        assert book.numbers[name] not in sources


def test_the_hot_issue_page_offers_a_theme_to_supervisors_only(book: Book) -> None:
    for who, offered in (("supervisor", True), ("leader", False), ("operator", False)):
        client = Client()
        client.force_login(user(who))
        with clock.frozen(SET_ON):
            page = client.get("/routing/hot/", {"from": "2026-08-01", "to": "2026-08-31"})
        assert page.status_code == 200
        assert ('data-testid="make-theme"' in page.content.decode()) is offered, who
    client = Client()
    client.force_login(user("supervisor"))
    form = client.get("/themes/desk/", {"hot": _label(), "from": "2026-08-01", "to": "2026-08-31"})
    assert form.status_code == 200
    assert form.context["form"].initial["hot_label"] == _label()
    assert not Theme.objects.exists()
