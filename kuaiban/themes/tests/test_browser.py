"""A theme's public page in a real browser, on a desktop and on a 390 px phone: the chart is
drawn by plotly.js (from the installed package) and nothing scrolls sideways. Screenshots go
to artifacts/ (KUAIBAN_ARTIFACTS)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from kuaiban.appeals.categories import load_default_tree
from kuaiban.appeals.models import Category
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.org.demo import build_directory
from kuaiban.themes import services
from kuaiban.themes.models import Theme
from kuaiban.themes.tests.ledger import SET_ON, build_baseline, build_theme_months

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def theme(transactional_db: None) -> Theme:
    load_default_tree(Category)  # a flush between transactional tests may have emptied it
    book = build_baseline(build_directory())
    with clock.frozen(SET_ON):
        found = services.theme_create(
            actor=user("supervisor"),
            data=services.ThemeInput(
                title="幸福里小区垃圾清运",
                lead_unit="cgj",
                co_units=["chengguan"],
                target_pct=50,
                months=3,
                query="垃圾 清运",
                region="330000001",
            ),
        )
    build_theme_months(book)  # no test transaction here: the hooks run at each commit
    return found


def _overflow(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


@pytest.mark.parametrize(("name", "width"), [("desktop", 1366), ("phone", 390)])
def test_the_theme_page_with_its_chart(
    browser: Any, live_server: Any, artifacts: Path, theme: Theme, name: str, width: int
) -> None:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{live_server.url}/themes/{theme.pk}/")
    page.locator("[data-figure] svg.main-svg").first.wait_for(timeout=20000)
    # Six monthly bars, the baseline and the target lines.
    assert page.locator("[data-figure] g.trace.bars g.point").count() == 6
    assert page.locator("[data-figure] g.trace.scatter").count() == 2
    assert page.locator("[data-testid=linked]").inner_text() == "15"
    assert _overflow(page) <= 0
    page.screenshot(path=str(artifacts / f"theme-{name}.png"), full_page=True)
    page.goto(f"{live_server.url}/themes/")
    assert page.locator("[data-testid=theme]").count() == 1
    assert _overflow(page) <= 0
    page.screenshot(path=str(artifacts / f"themes-list-{name}.png"), full_page=True)
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "supervisor")
    page.fill("input[name=password]", settings.KUAIBAN_DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.goto(f"{live_server.url}/themes/desk/{theme.pk}/")
    page.locator("[data-figure] svg.main-svg").first.wait_for(timeout=20000)
    assert _overflow(page) <= 0
    page.screenshot(path=str(artifacts / f"theme-desk-{name}.png"), full_page=True)
    context.close()
