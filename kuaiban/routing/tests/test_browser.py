"""Suggestions appear on the intake form as the operator types (a real browser, in Simplified
Chinese): models trained first with ``kuaiban train``; a click fills the category, another the
unit to dispatch to, the similar list offers a merge; then register and dispatch in one step.
Screenshots go to ``artifacts/routing/``."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from kuaiban.appeals.categories import load_default_tree
from kuaiban.appeals.models import Appeal, Category
from kuaiban.org.demo import Directory
from kuaiban.routing.tests.conftest import SAMPLE, labelled

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("routing_env")]

PASSWORD = "kuaiban-demo"
TITLE = "城关二小乱收费"
CONTENT = "城关二小开学让每个学生交三百元资料费，不开收据，家长意见很大，请教育局查处。"


def test_suggestions_appear_as_the_operator_types(
    browser: Any,
    live_server: Any,
    artifacts: Path,
    county: Directory,
    make_appeal: Any,
    unit_csv: Path,
) -> None:
    load_default_tree(Category)  # a flush between transactional tests may have emptied it
    out = io.StringIO()
    call_command("train", "--file", str(SAMPLE), "--cv", "0", stdout=out)
    call_command(
        "train",
        "--file",
        str(unit_csv),
        "--target",
        "unit",
        "--text-col",
        "内容",
        "--label-col",
        "单位",
        "--cv",
        "0",
        stdout=out,
    )
    assert out.getvalue().count("(active)") == 2
    earlier = make_appeal(
        title="二小收资料费", content="城关二小开学收取资料费三百元，不开收据，请教育局查处乱收费。"
    )
    for text in labelled("")[:6]:
        make_appeal(title="", content=text)
    shots = artifacts / "routing"
    shots.mkdir(parents=True, exist_ok=True)

    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(live_server.url + "/login/")
        page.fill("input[name=username]", "operator")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("[data-testid=whoami]", state="attached")
        page.goto(live_server.url + "/appeals/new/")
        panel = page.locator("[data-testid=routing-panel]")
        panel.locator("p.muted").wait_for()  # the hint before anything is typed
        assert not panel.locator("[data-testid=suggest-category]").count()

        page.fill("#id_title", TITLE)
        # Chinese arrives as committed text (as from an input method): input events, then keyup.
        page.locator("#id_content").press_sequentially(CONTENT, delay=15)
        page.locator("#id_content").press("End")
        chip = panel.locator("[data-testid=suggest-category]").first
        chip.wait_for()
        assert chip.inner_text().startswith("教育文体")
        assert re.search(r"\d+%$", chip.inner_text())
        assert panel.locator("[data-testid=suggest-category]").count() == 3
        units = panel.locator("[data-testid=suggest-unit]")
        assert units.count() == 3 and units.first.get_attribute("data-code") == "jyj"
        similar = panel.locator("[data-testid=similar-list] li").first
        assert similar.get_attribute("data-number") == earlier.number
        page.screenshot(path=str(shots / "01-intake-suggestions.png"), full_page=True)

        chip.click()
        code = Category.objects.get(level=1, name="教育文体").code
        assert page.locator("#id_category").input_value() == code
        units.first.click()
        assert page.locator("#id_routing_dispatch").input_value() == "jyj"
        page.screenshot(path=str(shots / "02-intake-filled.png"), full_page=True)

        page.fill("#id_submitter_name", "周丽")
        page.fill("#id_submitter_phone", "13907319876")
        with page.expect_navigation():
            page.click("[data-testid=register-dispatch]")
        page.wait_for_selector("[data-testid=status]")
        assert page.locator("[data-testid=status]").inner_text().strip() == "已派单"
        number = page.locator("[data-testid=number]").inner_text().strip()
        appeal = Appeal.objects.get(number=number)
        assert appeal.lead_unit.code == "jyj" and appeal.category.code == code
        # The appeal page lists the earlier report of the same problem.
        page.locator("[data-testid=routing-appeal-panel]").wait_for()
        assert page.locator(
            f"[data-testid=similar-list] li[data-number='{earlier.number}']"
        ).count()
        page.screenshot(path=str(shots / "03-appeal-similar.png"), full_page=True)

        # On a phone the panel stacks under the fields.
        page.set_viewport_size({"width": 375, "height": 812})
        page.goto(live_server.url + "/appeals/new/")
        page.locator("#id_content").press_sequentially(
            "化工厂晚上偷排废气，河水也被污染了", delay=15
        )
        panel.locator("[data-testid=suggest-unit]").first.wait_for()
        assert (
            panel.locator("[data-testid=suggest-unit]").first.get_attribute("data-code") == "sthj"
        )
        page.screenshot(path=str(shots / "04-intake-phone.png"), full_page=True)
        # The panel adds no submit button: Enter in a field still presses the form's Register.
        assert page.locator("form.register button[type=submit]").count() == 1

        # A third report of the school fees, merged into the first one from the similar list.
        page.fill("#id_content", "")
        page.locator("#id_content").press_sequentially(
            "城关二小又在收资料费了，三百元一个人，不开收据", delay=15
        )
        merge = panel.locator(f"[data-testid=register-merge][data-number='{earlier.number}']")
        with page.expect_navigation():
            merge.click()
        assert page.locator("[data-testid=number]").inner_text().strip() == earlier.number
        third = Appeal.objects.order_by("-pk").first()
        assert third is not None and third.status == "merged" and third.merged_into == earlier

        # The two reports of the school fees are one hot issue of this week.
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(live_server.url + "/routing/hot/")
        issue = page.locator("[data-testid=issue]").first
        assert "3" in issue.locator(".size").inner_text()
        assert earlier.number in issue.inner_html() and number in issue.inner_html()
        issue.locator("summary").click()
        page.screenshot(path=str(shots / "05-hot-issues.png"), full_page=True)
    finally:
        context.close()
