"""The State Council's holiday notice: parsed, previewed and saved in the admin, and the
deadlines it moves recomputed with an event on each appeal."""

from __future__ import annotations

import datetime as dt
from typing import Any

import chinese_calendar
import pytest
from chinese_calendar.constants import holidays, workdays

from kuaiban.appeals import audit, services
from kuaiban.appeals.models import Appeal, AppealEvent
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.core.errors import ValidationFailed
from kuaiban.deadlines.calendar import SHANGHAI
from kuaiban.deadlines.changes import ACTION_RECOMPUTED
from kuaiban.deadlines.models import CalendarDay
from kuaiban.deadlines.notice import parse_notice

# 国办发明电〔2025〕7号, the items as published.
NOTICE_2026 = """国务院办公厅关于2026年部分节假日安排的通知
国办发明电〔2025〕7号
各省、自治区、直辖市人民政府，国务院各部委、各直属机构：
经国务院批准，现将2026年元旦、春节、清明节、劳动节、端午节、中秋节和国庆节放假调休日期的具体安排通知如下。
一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。1月4日（周日）上班。
二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。2月14日（周六）、2月28日（周六）上班。
三、清明节：4月4日（周六）至6日（周一）放假，共3天。
四、劳动节：5月1日（周五）至5日（周二）放假调休，共5天。5月9日（周六）上班。
五、端午节：6月19日（周五）至21日（周日）放假，共3天。
六、中秋节：9月25日（周五）至27日（周日）放假，共3天。
七、国庆节：10月1日（周四）至7日（周三）放假调休，共7天。9月20日（周日）、10月10日（周六）上班。
节假日期间，各地区、各部门要妥善安排好值班和安全、保卫等工作，遇有重大突发事件，要按规定及时报告并妥善处置，确保人民群众祥和平安度过节日假期。
国务院办公厅
2025年11月4日
"""

# A notice in the same form for a year chinese-calendar does not know yet.
NOTICE_2027 = """国务院办公厅关于2027年部分节假日安排的通知
一、元旦：1月1日（周五）至3日（周日）放假调休，共3天。
二、春节：2月5日（农历除夕、周五）至11日（农历正月初六、周四）放假调休，共7天。2月20日（周六）上班。
"""


def test_the_2026_notice_agrees_with_chinese_calendar() -> None:
    days = parse_notice(NOTICE_2026)
    rest = {d.date for d in days if not d.is_workday}
    work = {d.date for d in days if d.is_workday}
    assert rest == {d for d in holidays if d.year == 2026}
    assert work == {d for d in workdays if d.year == 2026}
    # Every day of the year: weekends plus the notice give the library's answer.
    overrides = {d.date: d.is_workday for d in days}
    day = dt.date(2026, 1, 1)
    while day.year == 2026:
        assert overrides.get(day, day.weekday() < 5) == chinese_calendar.is_workday(day), day
        day += dt.timedelta(days=1)
    names = {d.date: d.name for d in days}
    assert names[dt.date(2026, 2, 15)] == "春节" and names[dt.date(2026, 9, 20)] == "国庆节"


def test_a_2027_notice_and_its_make_up_day() -> None:
    days = {d.date: d for d in parse_notice(NOTICE_2027)}
    assert [d for d, v in days.items() if v.is_workday] == [dt.date(2027, 2, 20)]
    assert len([d for d in days.values() if not d.is_workday]) == 10
    assert days[dt.date(2027, 1, 1)].name == "元旦"


@pytest.mark.parametrize(
    ("text", "field", "says"),
    [
        ("元旦放三天", "notice", "未找到节假日安排"),
        # The weekday does not fit the year: a notice pasted for the wrong year.
        ("一、元旦：1月1日（周四）至3日（周六）放假调休，共3天。", "notice", "1月1日（周四）"),
        ("一、元旦：1月1日（周五）至3日（周日）放假调休，共4天。", "notice", "共4天"),
        ("一、春节：2月30日至3月2日放假。", "notice", "2月30日"),
        ("一、春节：2月14日（周日）值班。", "notice", "值班"),
        ("一、元旦：1月1日放假。1月1日上班。", "notice", "既是放假日又是上班日"),
    ],
)
def test_bad_input_is_refused_naming_what_could_not_be_read(
    text: str, field: str, says: str
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        parse_notice(text, year=2027)
    assert exc.value.errors[0].field == field
    assert says in exc.value.errors[0].message


def test_the_year_comes_from_the_title_or_must_be_given() -> None:
    with pytest.raises(ValidationFailed) as exc:
        parse_notice("一、元旦：1月1日（周五）放假。")
    assert exc.value.errors[0].field == "year"
    with pytest.raises(ValidationFailed) as exc:
        parse_notice(NOTICE_2027, year=2028)
    assert exc.value.errors[0].field == "year"


@pytest.mark.django_db
def test_admin_previews_saves_and_recomputes_deadlines(
    county: Any, client: Any, make_appeal: Any
) -> None:
    # Dispatched on 2026-12-29: ten working days reach into January 2027, which the installed
    # chinese-calendar does not know (weekends only), so 1 January counted as a working day.
    with clock.frozen(dt.datetime(2026, 12, 29, 10, tzinfo=SHANGHAI)):
        appeal = make_appeal()
        services.appeal_dispatch(actor=user("operator"), number=appeal.number, unit="zjj")
        early = make_appeal(title="路灯不亮")
        services.appeal_dispatch(actor=user("operator"), number=early.number, unit="zjj")
        services.appeal_claim(actor=user("handler-zjj"), number=early.number)
    appeal.refresh_from_db()
    before = appeal.reply_due
    assert before is not None and before.astimezone(SHANGHAI).date() == dt.date(2027, 1, 12)
    client.force_login(user("admin"))
    page = client.get("/admin/deadlines/calendarday/").content.decode()
    assert "/admin/deadlines/calendarday/notice/" in page
    preview = client.post("/admin/deadlines/calendarday/notice/", {"notice": NOTICE_2027})
    html = preview.content.decode()
    assert preview.status_code == 200 and 'id="notice-preview"' in html
    assert "2027-01-01" in html and "星期五" in html and "元旦" in html and "2027-02-20" in html
    assert not CalendarDay.objects.exists()  # a preview writes nothing
    saved = client.post(
        "/admin/deadlines/calendarday/notice/", {"notice": NOTICE_2027, "save": "1"}
    )
    assert saved.status_code == 302
    assert CalendarDay.objects.filter(date__year=2027).count() == 11
    assert CalendarDay.objects.get(date=dt.date(2027, 2, 20)).is_workday is True
    appeal.refresh_from_db()
    # 1 January is a holiday now (and 2–3 January were a weekend): one working day later.
    assert appeal.reply_due is not None
    assert appeal.reply_due.astimezone(SHANGHAI).date() == dt.date(2027, 1, 13)
    event = AppealEvent.objects.filter(appeal=appeal).order_by("-seq").first()
    assert event is not None and event.action == ACTION_RECOMPUTED
    assert event.payload["clocks"]["reply"]["from"].startswith("2027-01-12")
    assert event.payload["clocks"]["reply"]["to"].startswith("2027-01-13")
    assert AppealEvent.objects.filter(action=ACTION_RECOMPUTED).count() == 2  # one per appeal
    assert list(audit.verify()) == []  # the hash chain holds
    # The appeal's timeline names the event in Chinese, as the handler reads it.
    client.force_login(user("operator"))
    timeline = client.get(f"/appeals/{appeal.number}/").content.decode()
    assert "<strong>工作日历调整，期限已重算</strong>" in timeline
    client.force_login(user("admin"))
    # Saving the same notice again changes nothing and writes no event.
    client.post("/admin/deadlines/calendarday/notice/", {"notice": NOTICE_2027, "save": "1"})
    assert AppealEvent.objects.filter(action=ACTION_RECOMPUTED).count() == 2
    assert Appeal.objects.get(pk=appeal.pk).event_count == appeal.event_count


@pytest.mark.django_db
def test_admin_shows_the_error_and_saves_nothing(county: Any, client: Any) -> None:
    client.force_login(user("admin"))
    r = client.post(
        "/admin/deadlines/calendarday/notice/",
        {"notice": "一、元旦：1月1日（周四）放假。", "year": "2027", "save": "1"},
    )
    assert r.status_code == 200 and 'id="error-notice"' in r.content.decode()
    assert not CalendarDay.objects.exists()


@pytest.mark.django_db
def test_only_administrators_enter_the_notice(county: Any, client: Any) -> None:
    client.force_login(user("supervisor"))
    r = client.post("/admin/deadlines/calendarday/notice/", {"notice": NOTICE_2027, "save": "1"})
    assert r.status_code == 302 and "/login/" in r.url
    assert not CalendarDay.objects.exists()


@pytest.mark.django_db
def test_the_system_check_is_satisfied_once_the_year_is_entered(county: Any, client: Any) -> None:
    from kuaiban.deadlines.checks import calendar_years_known

    with clock.frozen(dt.datetime(2026, 12, 2, 9, tzinfo=SHANGHAI)):
        assert [m.id for m in calendar_years_known()] == ["deadlines.W001"]
        client.force_login(user("admin"))
        client.post("/admin/deadlines/calendarday/notice/", {"notice": NOTICE_2027, "save": "1"})
        assert calendar_years_known() == []


@pytest.mark.django_db
def test_a_day_entered_in_the_admin_form_moves_deadlines_too(
    county: Any, client: Any, make_appeal: Any
) -> None:
    with clock.frozen(dt.datetime(2026, 12, 29, 10, tzinfo=SHANGHAI)):
        appeal = make_appeal()
        services.appeal_dispatch(actor=user("operator"), number=appeal.number, unit="zjj")
    client.force_login(user("admin"))
    r = client.post(
        "/admin/deadlines/calendarday/add/",
        {"date": "2027-01-04", "is_workday": "", "note": "县里调休"},
    )
    assert r.status_code == 302
    appeal.refresh_from_db()
    assert appeal.reply_due is not None
    assert appeal.reply_due.astimezone(SHANGHAI).date() == dt.date(2027, 1, 13)
    day = CalendarDay.objects.get(date=dt.date(2027, 1, 4))
    client.post(f"/admin/deadlines/calendarday/{day.pk}/delete/", {"post": "yes"})
    appeal.refresh_from_db()
    assert appeal.reply_due.astimezone(SHANGHAI).date() == dt.date(2027, 1, 12)
    assert AppealEvent.objects.filter(appeal=appeal, action=ACTION_RECOMPUTED).count() == 2
    assert list(audit.verify()) == []
