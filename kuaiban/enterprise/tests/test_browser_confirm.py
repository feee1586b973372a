"""Destructive one-click actions ask first (issue 17 item 8): dismissing the browser's dialog
leaves the meeting as it was; accepting cancels it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from kuaiban.enterprise import services
from kuaiban.enterprise.models import MeetingStatus
from kuaiban.org.demo import Directory
from kuaiban.org.models import User

pytestmark = pytest.mark.browser


def test_cancelling_a_meeting_asks_first(browser: Any, live_server: Any, county: Directory) -> None:
    meeting = services.meeting_schedule(
        actor=User.objects.get(username="operator"),
        data=services.MeetingInput(
            kind="breakfast",
            topic="制造业企业发展座谈",
            date=timezone.localdate() + dt.timedelta(days=3),
            start_time=dt.time(7, 30),
            end_time=dt.time(9, 0),
            place="县政府三楼会议室",
            capacity=12,
            hosts=["leader"],
        ),
    )
    context = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(live_server.url + "/login/")
        page.fill("input[name=username]", "operator")
        page.fill("input[name=password]", "kuaiban-demo")
        page.click("button[type=submit]")
        page.wait_for_selector("[data-testid=whoami]", state="attached")
        page.goto(f"{live_server.url}/enterprise/meetings/{meeting.pk}/")
        asked: list[str] = []

        def dismiss(dialog: Any) -> None:
            asked.append(dialog.message)
            dialog.dismiss()

        page.once("dialog", dismiss)
        page.click("form[data-confirm] button")
        page.wait_for_timeout(300)
        assert asked == ["确定取消这次会议吗？取消后不能恢复。"]
        meeting.refresh_from_db()
        assert meeting.status != MeetingStatus.CANCELLED

        page.once("dialog", lambda dialog: dialog.accept())
        with page.expect_navigation():
            page.click("form[data-confirm] button")
        meeting.refresh_from_db()
        assert meeting.status == MeetingStatus.CANCELLED
    finally:
        context.close()
