"""The whole loop through a real browser, as five people, in Simplified Chinese.

The operator registers an appeal (first with mistakes, to see the errors beside the fields) and
dispatches it to 住建局; that unit's handler claims it from the inbox and replies; the supervisor
records a satisfied, authentic return visit and closes it; a leader finds it in the ledger with the
htmx keyword filter and sees the phone masked; the public tracks it on /track on a phone-sized
screen and sees status and timeline but no personal data. Screenshots go to ``artifacts/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from kuaiban.appeals.models import Appeal, Status
from kuaiban.org.demo import Directory

pytestmark = pytest.mark.browser

PASSWORD = "kuaiban-demo"
NAME = "李秀英"
PHONE = "13907315678"
TITLE = "翠苑小区加装电梯施工噪音扰民"
CONTENT = (
    "翠苑小区3号楼加装电梯工地每天晚上十点以后还在切割钢材，噪音很大，"
    "楼里有高考学生和老人，休息不了。希望住建局督促施工单位按规定时间施工。"
)
REPLY = "已约谈施工单位，夜间22时至次日6时停止噪音作业，社区每日巡查，施工单位已书面承诺。"
PHONE_SIZE = {"width": 375, "height": 812}
DESK_SIZE = {"width": 1280, "height": 900}


class Person:
    """One user in a browser context of their own (own cookies, own language header)."""

    def __init__(self, browser: Any, base: str, shots: Path, who: str, **options: Any) -> None:
        self.base = base
        self.shots = shots
        self.who = who
        self.context = browser.new_context(**{"locale": "zh-CN", "viewport": DESK_SIZE, **options})
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()

    def go(self, path: str) -> Any:
        self.page.goto(self.base + path)
        return self.page

    def login(self, username: str) -> None:
        page = self.go("/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("[data-testid=whoami]", state="attached")

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def act(self, action: str, fill: dict[str, str] | None = None) -> None:
        """Fill one action form on the appeal page and submit it."""
        form = self.page.locator(f"form[data-action={action}]")
        for name, value in (fill or {}).items():
            field = form.locator(f"[name='{action}-{name}']")
            if field.evaluate("e => e.tagName") == "SELECT":
                field.select_option(value)
            else:
                field.fill(value)
        with self.page.expect_navigation():
            form.locator("button[type=submit]").click()

    def status(self) -> str:
        return str(self.page.locator("[data-testid=status]").inner_text()).strip()

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def people(browser: Any, live_server: Any, artifacts: Path) -> Iterator[Any]:
    shots = artifacts / "browser_loop"
    shots.mkdir(parents=True, exist_ok=True)
    for old in shots.glob("*.png"):
        old.unlink()
    opened: list[Person] = []

    def person(who: str, **options: Any) -> Person:
        p = Person(browser, live_server.url, shots, who, **options)
        opened.append(p)
        return p

    yield person
    for p in opened:
        p.close()


def test_whole_loop_through_the_browser(people: Any, county: Directory, make_appeal: Any) -> None:
    # Another appeal in the ledger, which the leader's keyword search must filter out.
    other = make_appeal(title="路灯不亮", content="建设路北段路灯连续一周不亮，夜间行人不便。")
    # 1. The operator registers it: first with mistakes, which are shown beside their fields.
    operator = people("operator")
    operator.login("operator")
    page = operator.go("/appeals/new/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.select_option("#id_channel", "hotline")
    page.select_option("#id_kind", "complaint")
    page.fill("#id_title", TITLE)
    page.fill("#id_submitter_phone", "12345")
    page.click("form.register button[type=submit]")
    assert page.locator("[data-field=content]").inner_text().strip() == "此项为必填项。"
    operator.shot("01-operator-register-missing-content")
    page.fill("#id_content", CONTENT)
    page.click("form.register button[type=submit]")
    # The service's own check of the phone number, shown beside the phone field.
    assert page.locator("[data-field=submitter_phone]").inner_text().strip() == (
        "不是有效的中国大陆电话号码。"
    )
    assert page.locator("#id_content").input_value() == CONTENT
    assert Appeal.objects.count() == 1  # nothing written by the refused attempts
    operator.shot("02-operator-register-bad-phone")

    page.fill("#id_submitter_name", NAME)
    page.fill("#id_submitter_phone", PHONE)
    page.select_option("#id_region", county.villages[0].code)
    page.fill("#id_address", "翠苑小区3号楼")
    page.click("form.register button[type=submit]")
    page.wait_for_selector("[data-testid=status]")
    number = page.locator("[data-testid=number]").inner_text().strip()
    assert re.fullmatch(r"KB\d{8}-\d{6}", number)
    assert operator.status() == "已受理"
    assert page.locator("[data-testid=phone]").inner_text().strip() == PHONE
    dispatch = page.locator("form[data-action=dispatch]")
    dispatch.locator("details > summary").click()  # co-handlers: checkboxes, folded by default
    dispatch.get_by_label("城管局").check()
    operator.act("dispatch", {"unit": "zjj", "note": "请住建局牵头督促施工单位整改"})
    assert operator.status() == "已派单"
    assert "住建局" in page.locator("[data-testid=lead-unit]").inner_text()
    assert "城管局" in page.locator("dl.facts").inner_text()
    operator.shot("03-operator-dispatched")

    # 2. The 住建局 handler finds it in the inbox, claims it and replies.
    handler = people("handler-zjj")
    handler.login("handler-zjj")
    page = handler.page
    assert page.url.endswith("/appeals/inbox/")
    to_claim = page.locator("[data-testid=to-claim]")
    assert number in to_claim.inner_text()
    handler.shot("04-handler-inbox")
    to_claim.get_by_role("link", name=number).click()
    page.wait_for_selector("[data-testid=status]")
    handler.act("claim")
    assert handler.status() == "办理中"
    # 2b. The co-unit 城管局 finds its part in its inbox and answers it (协办).
    co_unit = people("handler-cgj")
    co_unit.login("handler-cgj")
    parts = co_unit.page.locator("[data-testid=assist]")
    assert number in parts.inner_text()
    parts.get_by_role("link", name=number).click()
    co_unit.page.wait_for_selector("[data-testid=status]")
    co_unit.act(
        "assist", {"result": "resolved", "text": "城管局已责令施工单位夜间停止高噪音作业。"}
    )
    assert "城管局已责令" in co_unit.page.locator("[data-testid=parts]").inner_text()
    co_unit.shot("04b-co-unit-assisted")
    handler.page.reload()
    handler.act("reply", {"result": "resolved", "text": REPLY})
    assert handler.status() == "已答复"
    handler.shot("05-handler-replied")

    # 3. The supervisor makes the return visit and closes it.
    supervisor = people("supervisor")
    supervisor.login("supervisor")
    page = supervisor.go(f"/appeals/{number}/")
    supervisor.act(
        "visit",
        {"reached": "yes", "resolved": "yes", "satisfaction": "satisfied", "authentic": "yes"},
    )
    assert supervisor.status() == "已回访"
    supervisor.act("close", {"note": "群众满意，予以办结"})
    assert supervisor.status() == "已办结"
    timeline = page.locator("[data-testid=timeline]").inner_text()
    for step in ("登记", "派单", "认领", "答复", "回访", "办结"):
        assert step in timeline, step
    supervisor.shot("06-supervisor-closed")

    # 4. A leader finds it with the ledger's keyword filter (htmx) and sees the phone masked.
    leader = people("leader")
    leader.login("leader")
    page = leader.go("/appeals/")
    assert page.locator("#rows").get_by_role("link", name=other.number).is_visible()
    page.evaluate("window.notReloaded = true")
    page.fill("input[name=q]", "电梯 噪音")
    expect(page.locator("#rows")).not_to_contain_text(other.number)
    assert page.locator("#rows tbody tr").count() == 1
    assert number in page.locator("#rows").inner_text()
    assert page.evaluate("window.notReloaded") is True  # swapped in place by htmx
    assert "q=" in page.url  # and the filter is in the address bar
    leader.shot("07-leader-ledger-search")
    page.locator("#rows").get_by_role("link", name=number).click()
    page.wait_for_selector("[data-testid=status]")
    assert page.locator("[data-testid=phone]").inner_text().strip() == "139****5678"
    assert page.locator("form[data-action]").count() == 0
    leader.shot("08-leader-appeal-phone-masked")

    # 5. The public tracks it on a phone, with the number and the last four digits.
    public = people("public", viewport=PHONE_SIZE, is_mobile=True, has_touch=True)
    page = public.go("/track")
    page.fill("input[name=number]", number)
    page.fill("input[name=code]", "0000")
    page.click("form.track button[type=submit]")
    assert page.locator("[role=alert]").is_visible()
    assert page.locator("[data-testid=track-result]").count() == 0
    page.fill("input[name=code]", PHONE[-4:])
    page.click("form.track button[type=submit]")
    result = page.locator("[data-testid=track-result]")
    result.wait_for()
    text = page.locator("body").inner_text()
    assert "已办结" in result.inner_text()
    assert REPLY in text
    assert NAME not in text and PHONE not in text and PHONE[-4:] not in text
    assert "翠苑小区3号楼" not in text  # the address is personal too
    public_html = page.content()
    assert NAME not in public_html and PHONE not in public_html
    # Nothing overflows sideways on a 375-pixel screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_SIZE["width"]
    public.shot("09-public-track-phone")
    # The language switcher brings the same page (and its query) back in English.
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Closed" in page.locator("[data-testid=track-result]").inner_text()
    public.shot("09b-public-track-phone-english")

    # The same pages are usable on a phone for staff too.
    handler.page.set_viewport_size(PHONE_SIZE)
    handler.go(f"/appeals/{number}/")
    assert handler.page.evaluate("document.documentElement.scrollWidth") <= PHONE_SIZE["width"]
    handler.shot("10-handler-appeal-phone")

    appeal = Appeal.objects.get(number=number)
    assert appeal.status == Status.CLOSED
    assert [e.action for e in appeal.events.order_by("seq")] == [
        "register",
        "dispatch",
        "claim",
        "assist",
        "reply",
        "visit",
        "close",
    ]
    assert {e.actor.username for e in appeal.events.all() if e.actor} == {
        "operator",
        "handler-zjj",
        "handler-cgj",
        "supervisor",
    }
