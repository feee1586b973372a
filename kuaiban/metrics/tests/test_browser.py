"""The one-page overview in a real browser: a leader sees the charts drawn (plotly's SVG), and
follows a number down to the appeals behind it. Screenshots go to artifacts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from kuaiban.metrics.tests.ledger import Book, build
from kuaiban.org.demo import build_directory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def book(transactional_db: None) -> Book:
    return build(build_directory())


def login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", settings.KUAIBAN_DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_leader_reads_the_overview_and_drills_down(
    browser: Any, live_server: Any, artifacts: Path, book: Book
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    login(page, live_server.url, "leader")
    page.goto(f"{live_server.url}/metrics/?from=2026-06-01&to=2026-06-30")
    # Every figure is drawn by plotly.js (served from the installed package, offline).
    page.locator("[data-figure] svg.main-svg").nth(5).wait_for(timeout=20000)
    assert page.locator("[data-figure] .js-plotly-plot, [data-figure].js-plotly-plot").count() >= 6
    assert page.locator("[data-figure] g.trace.bars path, [data-figure] g.slice path").count() > 0
    assert page.inner_text("h1").startswith("一图全览")
    received = page.locator("[data-testid=tile-received] .v").inner_text()
    assert received == "6"
    assert "50.0%" in page.locator("[data-testid=rate-on_time_claim_rate]").inner_text()
    page.screenshot(path=str(artifacts / "metrics-dashboard.png"), full_page=True)

    # Follow "received: 6" down to the ledger: the same six appeals.
    page.click("[data-testid=tile-received]")
    page.wait_for_load_state("networkidle")
    assert "/appeals/" in page.url
    rows = page.locator("#rows tbody tr")
    numbers = {rows.nth(i).locator("td").first.inner_text().strip() for i in range(rows.count())}
    expected = {book.numbers[n] for n in ("A1", "A2", "A3", "A4", "A7", "A8")}
    assert numbers == expected
    page.screenshot(path=str(artifacts / "metrics-drilldown-ledger.png"), full_page=True)

    # A rate goes to the appeals it is computed over.
    page.go_back()
    page.click("[data-testid=rate-on_time_reply_rate]")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=drill] tbody tr").count() == 6
    assert page.locator("[data-testid=drill] .down").count() == 2

    # On a phone the page still reads, one column.
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    p = phone.new_page()
    login(p, live_server.url, "leader")
    p.goto(f"{live_server.url}/metrics/?from=2026-06-01&to=2026-06-30")
    p.locator("[data-figure] svg.main-svg").nth(5).wait_for(timeout=20000)
    p.screenshot(path=str(artifacts / "metrics-dashboard-phone.png"), full_page=True)
    p.goto(f"{live_server.url}/metrics/rankings/?month=2026-06")
    assert "城关镇" in p.inner_text("[data-testid=tier-township]")
    p.screenshot(path=str(artifacts / "metrics-rankings-phone.png"), full_page=True)
    phone.close()
    context.close()


NO_SIDE_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def test_assessment_at_a_glance_on_desktop_and_phone(
    browser: Any, live_server: Any, artifacts: Path, book: Book
) -> None:
    for name, width in (("desktop", 1366), ("phone", 390)):
        context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
        page = context.new_page()
        login(page, live_server.url, "leader")
        page.goto(f"{live_server.url}/metrics/assessment/?period=2026-Q2")
        village = page.locator("[data-testid=tier-village] details").first
        assert "南关社区" in village.inner_text()
        village.locator("summary").click()
        # The figures behind the score, one tap away: 4 of 6 closed.
        assert "(4/6)" in village.inner_text()
        assert page.evaluate(NO_SIDE_SCROLL), name
        page.screenshot(path=str(artifacts / f"metrics-assessment-{name}.png"), full_page=True)
        village.locator("[data-testid^=behind-]").last.click()
        page.wait_for_load_state("networkidle")
        assert "/appeals/" in page.url and "from=2026-04-01" in page.url
        context.close()


def test_public_village_stars_on_a_phone(
    browser: Any, live_server: Any, artifacts: Path, book: Book
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/stars/")
    page.select_option("select[name=village]", label="南关社区")
    page.click("[data-testid=village-form] button[type=submit]")
    page.wait_for_load_state("networkidle")
    card = page.locator("[data-testid=village-stars]")
    assert "南关社区" in card.inner_text()
    assert page.locator("[data-testid=quarters] li").count() == 4
    assert page.locator("[data-testid=months] li").count() == 6
    assert "小区暖气不热" not in page.content()
    assert page.evaluate(NO_SIDE_SCROLL)
    page.screenshot(path=str(artifacts / "metrics-village-stars-phone.png"), full_page=True)
    context.close()
