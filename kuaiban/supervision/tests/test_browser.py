"""Deadlines and supervision in a real browser, in Simplified Chinese, on a phone-sized screen.

A handler asks for more time from the appeal page; the supervisor approves it on the extensions
page; after the sweep the supervisor reads a notice (marked read in place by htmx), issues a
supervision order, and prints the month's bulletin (the print layout hides the navigation).
Screenshots go to ``artifacts/supervision/``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kuaiban.appeals.models import Appeal
from kuaiban.core import clock
from kuaiban.supervision.models import Extension, SupervisionOrder
from kuaiban.supervision.services.sweep import sweep
from kuaiban.supervision.tests.conftest import Walk

pytestmark = pytest.mark.browser

PASSWORD = "kuaiban-demo"
PHONE_SIZE = {"width": 375, "height": 812}
REASON = "需协调热力公司更换主管道，已排期施工。"


@pytest.fixture
def phone(browser: Any, live_server: Any, artifacts: Path) -> Iterator[Any]:
    shots = artifacts / "supervision"
    shots.mkdir(parents=True, exist_ok=True)
    contexts: list[Any] = []

    def open_as(username: str) -> Any:
        context = browser.new_context(locale="zh-CN", viewport=PHONE_SIZE)
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.goto(live_server.url + "/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("[data-testid=whoami]", state="attached")
        page.base = live_server.url  # type: ignore[attr-defined]
        page.shot = lambda name: page.screenshot(  # type: ignore[attr-defined]
            path=str(shots / f"{name}.png"), full_page=True
        )
        return page

    yield open_as
    for context in contexts:
        context.close()


def test_extension_notice_order_and_bulletin_on_a_phone(
    phone: Any, walk: Walk, people: dict[str, Any]
) -> None:
    now = clock.now()
    appeal = walk("in_progress", when=now - dt.timedelta(days=20), title="小区暖气不热")
    late = walk("dispatched", when=now - dt.timedelta(days=3), title="楼道漏水")

    handler = phone("handler-zjj")
    handler.goto(f"{handler.base}/appeals/{appeal.number}/")
    form = handler.locator("[data-testid=extension-form]")
    form.locator("summary").click()
    new_date = (timezone.localdate(now) + dt.timedelta(days=14)).isoformat()
    form.locator("[name=ext-proposed_due]").fill(new_date)
    form.locator("[name=ext-reason]").fill(REASON)
    with handler.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "延期申请已提交" in handler.locator(".flash").inner_text()
    handler.shot("01-handler-asks-for-more-time")
    extension = Extension.objects.get(appeal__number=appeal.number)

    supervisor = phone("supervisor")
    supervisor.goto(f"{supervisor.base}/supervision/extensions/")
    card = supervisor.locator(f"[data-extension='{extension.pk}']")
    assert REASON in card.inner_text()
    card.locator(f"[name=d{extension.pk}-note]").fill("同意，请按新期限办结。")
    with supervisor.expect_navigation():
        card.locator("button[type=submit]").click()
    extension.refresh_from_db()
    assert extension.status == "approved"
    supervisor.shot("02-supervisor-approves")

    sweep(now=now)
    supervisor.goto(f"{supervisor.base}/supervision/notifications/")
    notices = supervisor.locator("[data-testid=notifications] li.unread")
    first = notices.first
    assert late.number in supervisor.locator("[data-testid=notifications]").inner_text()
    before = notices.count()
    first.locator("button").click()
    expect(notices).to_have_count(before - 1)
    supervisor.shot("03-supervisor-notifications")

    supervisor.goto(f"{supervisor.base}/appeals/{late.number}/")
    order_form = supervisor.locator("[data-testid=order-form]")
    order_form.locator("summary").click()
    order_form.locator("[name=order-level]").select_option("red")
    order_form.locator("[name=order-due]").fill(
        (timezone.localdate(now) + dt.timedelta(days=3)).isoformat()
    )
    order_form.locator("[name=order-text]").fill("超期未认领，请立即认领并书面说明原因。")
    with supervisor.expect_navigation():
        order_form.locator("button[type=submit]").click()
    order = SupervisionOrder.objects.get(appeal__number=late.number)
    assert order.number in supervisor.locator("h1").inner_text()
    assert "红牌督办" in supervisor.locator(".page-head").inner_text()
    supervisor.shot("04-supervisor-order")

    supervisor.goto(f"{supervisor.base}/supervision/bulletin/")
    summary = supervisor.locator("[data-testid=summary]").inner_text()
    assert "全县共受理诉求" in summary
    # The buttons keep their labels on one line, on the phone and on a desktop screen.
    for size in ({"width": 1280, "height": 900}, PHONE_SIZE):
        supervisor.set_viewport_size(size)
        box = supervisor.locator("[data-testid=xlsx]").bounding_box()
        assert box is not None and box["width"] > box["height"], (size, box)
    supervisor.emulate_media(media="print")
    assert not supervisor.locator("header.top").is_visible()
    assert supervisor.locator("[data-testid=summary]").is_visible()
    supervisor.shot("05-bulletin-print")
    assert Appeal.objects.get(number=appeal.number).extension_count == 1
