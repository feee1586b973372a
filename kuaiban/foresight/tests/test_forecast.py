"""GET /api/v1/forecast and the overview's watch list: exact figures on the hand-built ledger,
bad months, and who may read them."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.foresight.tests.ledger import TODAY, seasonal
from kuaiban.org.demo import Directory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ledger(county: Directory) -> None:
    seasonal(county)


def get(api: Any, who: str | None, **params: Any) -> Any:
    with clock.frozen(TODAY):
        return api(who).get("/forecast", **params)


def rows(body: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["category"]["name"], r["township"]["name"]): r for r in body["items"]}


def test_forecast_of_november_from_two_years_and_the_trend(api: Any, ledger: None) -> None:
    r = get(api, "leader", month="2026-11")
    assert r.status == 200, r.body
    assert r.body["month"] == "2026-11"
    assert r.body["as_of"] == "2026-10-20"
    assert r.body["two_years"] is True
    got = rows(r.body)
    assert set(got) == {("冬季采暖", "城关镇"), ("冬季采暖", "新华镇"), ("环境卫生", "城关镇")}
    heat = got["冬季采暖", "城关镇"]
    assert (heat["expected"], heat["last_year"], heat["two_years_ago"]) == (4.5, 4, 2)
    assert (heat["previous_expected"], heat["trend"], heat["rising"]) == (1.5, 1.5, True)
    assert heat["category"]["code"].startswith("C01.")
    xinhua = got["冬季采暖", "新华镇"]
    assert (xinhua["expected"], xinhua["last_year"], xinhua["rising"]) == (1.5, 2, False)
    clean = got["环境卫生", "城关镇"]
    assert (clean["expected"], clean["last_year"], clean["previous_expected"]) == (3.0, 3, 3.0)
    assert (clean["trend"], clean["rising"]) == (1.0, False)
    # highest expected first
    assert [i["expected"] for i in r.body["items"]] == [4.5, 3.0, 1.5]


def test_forecast_of_a_month_with_one_year_of_history(api: Any, ledger: None) -> None:
    """December: no December appeals in 2024 or 2025, so nothing is expected; the month before
    (November) is the one forecast high, so December is no rise."""
    r = get(api, "supervisor", month="2026-12")
    assert r.status == 200, r.body
    assert r.body["two_years"] is True
    heat = rows(r.body)["冬季采暖", "城关镇"]
    # the month before (November) is the rising one now: (4 + 2) / 2 × 1.5
    assert (heat["expected"], heat["previous_expected"], heat["rising"]) == (0.0, 4.5, False)


def test_forecast_before_the_ledger_reached_two_years(api: Any, ledger: None) -> None:
    """November 2025, asked for on 20 October 2026: as of 1 November 2025; November 2023 is
    before the ledger, so only last year's (November 2024) count is the base."""
    r = get(api, "admin", month="2025-11")
    assert r.status == 200, r.body
    assert (r.body["as_of"], r.body["two_years"]) == ("2025-11-01", False)
    got = rows(r.body)
    heat = got["冬季采暖", "城关镇"]
    # Heating's trend as of 2025-11-01: 3 appeals from 2 Aug 2025 (9 and 16 Sep, 25 Oct) against
    # 1 a year before (28 Oct 2024) → 3, kept to 2; base = Nov 2024 = 2; the month before = 1.
    assert (heat["expected"], heat["last_year"], heat["previous_expected"]) == (4.0, 2, 2.0)
    assert (heat["trend"], heat["rising"]) == (2.0, True)
    clean = got["环境卫生", "城关镇"]  # 3 each October: trend 1
    assert (clean["expected"], clean["trend"], clean["rising"]) == (3.0, 1.0, False)


@pytest.mark.parametrize(
    "month", ["2026-13", "November", "2026-1-1", "1850-11", "2028-01"], ids=str
)
def test_bad_month_is_refused_naming_the_field(api: Any, ledger: None, month: str) -> None:
    r = get(api, "leader", month=month)
    assert r.status == 400, r.body
    assert [e["field"] for e in r.body["errors"]] == ["month"]


def test_blank_month_is_next_month(api: Any, ledger: None) -> None:
    r = get(api, "leader")
    assert r.status == 200, r.body
    assert r.body["month"] == "2026-11"


@pytest.mark.parametrize("who", ["handler-zjj", "handler-chengguan", "operator", "visitor"])
def test_forecast_denied_to_roles_that_do_not_read_metrics(
    api: Any, ledger: None, who: str
) -> None:
    r = get(api, who, month="2026-11")
    assert r.status == 403, r.body


def test_forecast_needs_a_token(api: Any, ledger: None) -> None:
    assert get(api, None, month="2026-11").status == 401


def test_overview_shows_the_watch_list_with_last_years_counts(ledger: None) -> None:
    client = Client()
    client.force_login(user("leader"))
    with clock.frozen(TODAY):
        page = client.get("/metrics/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    html = page.content.decode()
    start = html.index('data-testid="watch-list"')
    section = html[start : html.index("</section>", start)]
    assert "2026-11" in section
    assert section.count('data-testid="watch-row"') == 1  # only heating in 城关镇 is rising
    assert "冬季采暖" in section and "城关镇" in section
    assert "<strong>4.5</strong>" in section
    assert 'data-label="去年同期">4<' in section
    assert "环境卫生" not in section


def test_overview_of_a_handler_has_no_watch_list(ledger: None) -> None:
    client = Client()
    client.force_login(user("handler-zjj"))
    with clock.frozen(TODAY):
        page = client.get("/metrics/")
    assert page.status_code == 403
    assert b"watch-list" not in page.content
