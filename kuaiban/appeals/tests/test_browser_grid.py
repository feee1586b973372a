"""A grid worker on a 390 px phone (网格员): reports a problem with a photo, finds it in the
grid's list, and resolves it on the spot; nothing scrolls sideways. Screenshots go to
``artifacts/grid/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kuaiban.appeals.models import Appeal
from kuaiban.core.tests.photos import phone_jpeg
from kuaiban.org.demo import Directory

pytestmark = pytest.mark.browser

PASSWORD = "kuaiban-demo"
PHONE = {"width": 390, "height": 844}


def test_a_grid_worker_reports_and_resolves_on_the_spot(
    browser: Any, live_server: Any, county: Directory, artifacts: Path, tmp_path: Path
) -> None:
    shots = artifacts / "grid"
    shots.mkdir(parents=True, exist_ok=True)
    picture = tmp_path / "楼道.jpg"
    picture.write_bytes(phone_jpeg())
    context = browser.new_context(locale="zh-CN", viewport=PHONE)
    page = context.new_page()
    page.goto(live_server.url + "/login/")
    page.fill("input[name=username]", f"grid-{county.grids[0].code}")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=grid-led]")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.click("[data-testid=grid-report-link]")
    page.wait_for_selector("[data-testid=grid-report]")
    page.select_option("select[name=kind]", "help")
    page.fill("textarea[name=content]", "南关社区3号楼楼道堆满纸箱和旧家具，堵住了消防通道。")
    page.fill("input[name=address]", "南关社区3号楼2单元")
    page.set_input_files("input[name=attachments]", str(picture))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(shots / "report-390.png"), full_page=True)
    page.click("[data-testid=grid-report] button[type=submit]")
    page.wait_for_selector("[data-action=resolve_on_spot]")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(shots / "appeal-390.png"), full_page=True)
    page.fill("[data-action=resolve_on_spot] textarea", "已当场清走杂物，消防通道恢复畅通。")
    page.click("[data-action=resolve_on_spot] button[type=submit]")
    page.wait_for_load_state()
    appeal = Appeal.objects.get()
    assert appeal.resolved_on_spot and appeal.attachments.count() == 1
    assert appeal.channel == "grid" and appeal.status == "replied"
    context.close()
