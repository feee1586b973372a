"""Administrators edit limits, hours and calendar days; unknown years are flagged, not fatal."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.deadlines.calendar import SHANGHAI
from kuaiban.deadlines.models import CalendarDay, TimeLimit

pytestmark = pytest.mark.django_db


def test_admin_pages_warn_about_unknown_years(county: Any, client: Any) -> None:
    client.force_login(user("admin"))
    with clock.frozen(dt.datetime(2026, 6, 1, 9, tzinfo=SHANGHAI)):
        page = client.get("/admin/deadlines/timelimit/").content.decode()
    assert "chinese-calendar" not in page
    assert "书记直通车" in page  # the shipped rows and their basis
    with clock.frozen(dt.datetime(2098, 11, 20, 9, tzinfo=SHANGHAI)):
        for url in (
            "/admin/deadlines/calendarday/",
            "/admin/deadlines/worksettings/",
            # The forms too: the calendar-day form is where the fix is entered.
            "/admin/deadlines/calendarday/add/",
            f"/admin/deadlines/timelimit/{TimeLimit.objects.first().pk}/change/",  # type: ignore[union-attr]
        ):
            page = client.get(url).content.decode()
            assert "chinese-calendar" in page and "2099" in page, url


def test_admin_edits_a_limit_and_adds_a_day(county: Any, client: Any) -> None:
    client.force_login(user("admin"))
    row = TimeLimit.objects.get(channel="direct_line")
    r = client.post(
        f"/admin/deadlines/timelimit/{row.pk}/change/",
        {
            "channel": "direct_line",
            "kind": "",
            "urgency": "",
            "claim_amount": "",
            "claim_unit": "",
            "reply_amount": "5",
            "reply_unit": "workdays",
            "visit_amount": "",
            "visit_unit": "",
            "basis": "县委决定：书记直通车5个工作日办结。",
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    row.refresh_from_db()
    assert (row.reply_amount, row.reply_unit) == (5, "workdays")
    r = client.post(
        f"/admin/deadlines/timelimit/{row.pk}/change/",
        {"channel": "direct_line", "reply_amount": "1.5", "reply_unit": "days", "basis": "x"},
    )
    assert r.status_code == 200 and "errornote" in r.content.decode()
    r = client.post(
        "/admin/deadlines/calendarday/add/",
        {"date": "2027-01-01", "is_workday": "", "note": "元旦"},
    )
    assert r.status_code == 302
    day = CalendarDay.objects.get(date=dt.date(2027, 1, 1))
    assert day.is_workday is False
    # The admin names the day in the UI's language (Friday, a rest day).
    listing = client.get(r.url).content.decode()
    assert "2027-01-01 休息日" in listing and "星期五" in listing
    # The list is called what it is (日历调整), not the limit unit "calendar days" (自然日).
    assert "选择 日历调整 来修改" in listing
    # Only administrators get there.
    client.force_login(user("supervisor"))
    assert client.get("/admin/deadlines/timelimit/").status_code == 302
