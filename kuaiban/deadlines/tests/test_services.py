"""Deadlines from the limits table, the working hours and the overrides, as the appeal services
set them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from kuaiban.appeals import services
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.core.errors import ValidationFailed
from kuaiban.deadlines import services as deadlines
from kuaiban.deadlines.calendar import SHANGHAI
from kuaiban.deadlines.defaults import SHIPPED
from kuaiban.deadlines.models import CalendarDay, LimitUnit, TimeLimit, WorkSettings

pytestmark = pytest.mark.django_db
MONDAY = dt.datetime(2026, 11, 23, 8, 30, tzinfo=SHANGHAI)  # the start of a working day


def at(m: int, d: int, hh: int, mm: int = 0, y: int = 2026) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def dispatch(make_appeal: Any, when: dt.datetime = MONDAY, **fields: Any) -> Any:
    with clock.frozen(when):
        appeal = make_appeal(**fields)
        return services.appeal_dispatch(actor=user("operator"), number=appeal.number, unit="zjj")


def test_shipped_defaults_exist_with_their_basis(county: Any) -> None:
    catch_all = TimeLimit.objects.get(channel="", kind="", urgency="")
    assert (catch_all.claim_amount, catch_all.claim_unit) == (0, LimitUnit.WORKDAYS)
    assert all(row.basis for row in TimeLimit.objects.all())
    assert WorkSettings.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "claim_due", "reply_due"),
    [
        # An ordinary complaint: claim today, reply in 10 working days (Mon 7 December).
        ({}, at(11, 23, 17, 30), at(12, 7, 17, 30)),
        # Help: 5 working days.
        ({"kind": "help"}, at(11, 23, 17, 30), at(11, 30, 17, 30)),
        # Consultation: 2 working days.
        ({"kind": "consultation"}, at(11, 23, 17, 30), at(11, 25, 17, 30)),
        # Secretary direct line: 7 calendar days, Monday 30 November.
        ({"channel": "direct_line"}, at(11, 23, 17, 30), at(11, 30, 17, 30)),
        # Urgent: claim within 2 working hours, reply by the end of the next working day.
        ({"urgency": "urgent"}, at(11, 23, 10, 30), at(11, 24, 17, 30)),
        # Emergency beats the direct line: claim in half an hour, reply in 2 working hours.
        ({"urgency": "emergency", "channel": "direct_line"}, at(11, 23, 9), at(11, 23, 10, 30)),
    ],
)
def test_dispatch_stores_deadlines_from_the_table(
    make_appeal: Any, fields: dict[str, str], claim_due: dt.datetime, reply_due: dt.datetime
) -> None:
    appeal = dispatch(make_appeal, **fields)
    assert appeal.claim_due == claim_due
    assert appeal.reply_due == reply_due
    assert appeal.claim_warn_at is not None and MONDAY <= appeal.claim_warn_at <= claim_due
    assert appeal.reply_warn_at is not None and MONDAY <= appeal.reply_warn_at <= reply_due


def test_warning_moments_follow_the_settings(make_appeal: Any) -> None:
    appeal = dispatch(make_appeal)
    # Claim: 7 working hours; yellow when 25% (1 h 45) is left, at 15:45.
    assert appeal.claim_warn_at == at(11, 23, 15, 45)
    # Reply: ten working days; yellow one working day ahead, at the end of Friday 4 December.
    assert appeal.reply_warn_at == at(12, 4, 17, 30)
    settings = WorkSettings.objects.get()
    settings.warn_percent = 50
    settings.warn_workdays = Decimal(2)
    settings.save()
    appeal = dispatch(make_appeal)
    # Half of 7 h left: 12:00, the same working moment as 14:00.
    assert appeal.claim_warn_at == at(11, 23, 12)
    assert appeal.reply_warn_at == at(12, 3, 17, 30)  # two working days ahead


def test_an_administrator_edit_changes_new_deadlines_only(make_appeal: Any) -> None:
    before = dispatch(make_appeal)
    TimeLimit.objects.filter(channel="", kind="", urgency="").update(
        reply_amount=Decimal(3), reply_unit=LimitUnit.WORKDAYS
    )
    after = dispatch(make_appeal)
    before.refresh_from_db()
    assert before.reply_due == at(12, 7, 17, 30)
    assert after.reply_due == at(11, 26, 17, 30)


def test_a_specific_row_may_inherit_a_clock(make_appeal: Any) -> None:
    TimeLimit.objects.create(
        channel="grid", kind="", urgency="", reply_amount=Decimal(8), reply_unit=LimitUnit.HOURS
    )
    limits = deadlines.limits_for(channel="grid", kind="complaint", urgency="normal")
    assert (limits.reply.amount, limits.reply.unit) == (8, LimitUnit.HOURS)
    assert (limits.claim.amount, limits.claim.unit) == (0, LimitUnit.WORKDAYS)  # inherited
    appeal = dispatch(make_appeal, channel="grid")
    assert appeal.reply_due == at(11, 24, 9, 30)  # 7 h on Monday, 1 h on Tuesday


def test_without_a_catch_all_row_the_built_in_fallback_applies(make_appeal: Any) -> None:
    TimeLimit.objects.filter(channel="", kind="", urgency="").delete()
    appeal = dispatch(make_appeal)
    assert appeal.claim_due == at(11, 23, 17, 30)
    assert appeal.reply_due == at(12, 7, 17, 30)


def test_calendar_overrides_and_working_hours_are_read(make_appeal: Any) -> None:
    CalendarDay.objects.create(date=dt.date(2026, 11, 24), is_workday=False, note="县城停电")
    settings = WorkSettings.objects.get()
    settings.afternoon_start, settings.afternoon_end = dt.time(13, 30), dt.time(17)
    settings.save()
    appeal = dispatch(make_appeal, kind="consultation")
    assert appeal.claim_due == at(11, 23, 17)
    assert appeal.reply_due == at(11, 26, 17)  # Tuesday the 24th skipped


def test_reply_and_rework_restart_the_right_clocks(make_appeal: Any) -> None:
    appeal = dispatch(make_appeal)
    handler = user("handler-zjj")
    with clock.frozen(at(11, 24, 10)):
        services.appeal_claim(actor=handler, number=appeal.number)
        appeal = services.appeal_reply(
            actor=handler, number=appeal.number, result="resolved", text="已维修。"
        )
    assert appeal.visit_due == at(11, 27, 17, 30)  # three working days after the reply
    # 26.5 working hours to run; yellow when a quarter is left: Friday 08:52:30.
    assert appeal.visit_warn_at == at(11, 27, 8, 52) + dt.timedelta(seconds=30)
    with clock.frozen(at(11, 25, 9)):
        services.appeal_visit(
            actor=user("visitor"),
            number=appeal.number,
            data=services.VisitInput(
                reached=True, resolved=False, satisfaction="dissatisfied", authentic=True
            ),
        )
    appeal.refresh_from_db()
    assert appeal.status == "in_progress"
    assert appeal.reply_due == at(12, 9, 17, 30)  # ten working days from the rework
    assert appeal.visit_due is None


def test_timelimit_rows_are_validated(county: Any) -> None:
    bad = TimeLimit(channel="hotline", reply_amount=Decimal(2))
    with pytest.raises(ValidationError) as info:
        bad.full_clean()
    assert "reply_unit" in info.value.message_dict
    bad = TimeLimit(channel="hotline", reply_amount=Decimal("1.5"), reply_unit="workdays")
    with pytest.raises(ValidationError) as info:
        bad.full_clean()
    assert "reply_amount" in info.value.message_dict
    bad = TimeLimit(channel="hotline", claim_amount=Decimal(0), claim_unit="hours")
    with pytest.raises(ValidationError):
        bad.full_clean()
    catch_all = TimeLimit.objects.get(channel="", kind="", urgency="")
    catch_all.visit_amount, catch_all.visit_unit = None, ""
    with pytest.raises(ValidationError) as info:
        catch_all.full_clean()
    assert "visit_amount" in info.value.message_dict
    with pytest.raises(ValidationError):
        WorkSettings(morning_start=dt.time(12), morning_end=dt.time(8)).full_clean()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-27", at(11, 27, 17, 30)),
        ("2026-11-28", at(11, 30, 17, 30)),  # a Saturday: the next working day
        ("2026-11-27T10:00+08:00", at(11, 27, 10)),
        ("2026-11-27T10:00", at(11, 27, 10)),  # no offset: Beijing time
        (dt.date(2026, 11, 27), at(11, 27, 17, 30)),
    ],
)
def test_parse_due_accepts_dates_and_times(db: None, value: Any, expected: dt.datetime) -> None:
    assert deadlines.parse_due(value, field="due", now=MONDAY) == expected


@pytest.mark.parametrize("value", ["", None, "明天", "2026-13-01", "2026-11-22", "2027-06-01"])
def test_parse_due_refuses_bad_dates(db: None, value: Any) -> None:
    with pytest.raises(ValidationFailed) as info:
        deadlines.parse_due(value, field="due", now=MONDAY)
    assert info.value.errors[0].field == "due"


def test_calendar_warnings_name_unknown_years() -> None:
    assert deadlines.calendar_warnings(dt.date(2026, 6, 1)) == []
    assert deadlines.calendar_warnings(dt.date(2098, 6, 1)) == [2098]
    assert deadlines.calendar_warnings(dt.date(2098, 11, 20)) == [2098, 2099]


def test_system_check_warns_about_unknown_years(db: None) -> None:
    from kuaiban.deadlines.checks import calendar_years_known

    with clock.frozen(dt.datetime(2026, 6, 1, 9, tzinfo=SHANGHAI)):
        assert calendar_years_known() == []
    CalendarDay.objects.create(date=dt.date(2099, 1, 1), is_workday=False, note="元旦")
    with clock.frozen(dt.datetime(2098, 11, 20, 9, tzinfo=SHANGHAI)):
        warnings = calendar_years_known()
    assert [w.id for w in warnings] == ["deadlines.W001", "deadlines.W001"]
    assert "2099" in warnings[1].msg and "(1 calendar days entered" in warnings[1].msg


def test_an_empty_table_means_the_shipped_defaults(make_appeal: Any) -> None:
    TimeLimit.objects.all().delete()
    appeal = dispatch(make_appeal, channel="direct_line")
    assert appeal.reply_due == at(11, 30, 17, 30)
    deadlines.ensure_defaults()
    assert TimeLimit.objects.count() == len(SHIPPED) == 9


def dispatch_with_co_unit(make_appeal: Any, when: dt.datetime, **fields: Any) -> Any:
    with clock.frozen(when):
        appeal = make_appeal(**fields)
        return services.appeal_dispatch(
            actor=user("operator"), number=appeal.number, unit="zjj", co_units=["cgj"]
        )


def test_a_co_unit_s_part_is_due_a_working_day_before_the_reply(make_appeal: Any) -> None:
    appeal = dispatch_with_co_unit(make_appeal, MONDAY)
    part = appeal.parts.get()
    assert appeal.reply_due.astimezone(SHANGHAI).date() == dt.date(2026, 12, 7)  # a Monday
    assert part.due == at(12, 4, 17, 30)  # the Friday before, at the end of work


@pytest.mark.parametrize(
    "when",
    [
        at(11, 27, 17, 25),  # Friday, five minutes before the end of work: due Monday 09:25
        at(11, 23, 9, 0),  # Monday morning: due the same day at 11:00
    ],
)
def test_an_emergency_s_co_unit_shares_the_reply_deadline_whatever_the_hour(
    make_appeal: Any, when: dt.datetime
) -> None:
    """A working day before an emergency's reply lies before (or minutes after) the dispatch:
    the part shares the lead's deadline rather than getting the last minutes of the day."""
    appeal = dispatch_with_co_unit(make_appeal, when, urgency="emergency")
    part = appeal.parts.get()
    assert part.due == appeal.reply_due
    assert part.due > when
