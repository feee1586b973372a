"""The sweep: yellow before a deadline, red after it, one event per change, notifications to the
unit and the supervisors, and nothing new when run again."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command

from kuaiban.appeals import services
from kuaiban.appeals.models import AppealEvent
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.deadlines.calendar import SHANGHAI
from kuaiban.org.models import User
from kuaiban.supervision.models import Notification
from kuaiban.supervision.services.sweep import sweep
from kuaiban.supervision.tests.conftest import Walk, actions, at

pytestmark = pytest.mark.django_db
ALERT_KINDS = [Notification.Kind.ALERT_YELLOW, Notification.Kind.ALERT_RED]


def recipients(kind: str) -> set[str]:
    return set(Notification.objects.filter(kind=kind).values_list("recipient__username", flat=True))


def state() -> tuple[int, int, int]:
    """Everything a sweep may write: events, notifications, e-mails."""
    return AppealEvent.objects.count(), Notification.objects.count(), len(mail.outbox)


def test_claim_clock_goes_yellow_then_red_once(walk: Walk, people: dict[str, User]) -> None:
    appeal = walk("dispatched")  # Monday 08:30: claim by 17:30, yellow from 15:45
    assert sweep(now=at(11, 23, 15, 40)).changes == 0
    appeal.refresh_from_db()
    assert appeal.alert == "none"

    result = sweep(now=at(11, 23, 15, 45))
    assert (result.yellow, result.red) == (1, 0)
    appeal.refresh_from_db()
    assert (appeal.alert, appeal.alert_stage, appeal.alert_due) == (
        "yellow",
        "claim",
        at(11, 23, 17, 30),
    )
    assert actions(appeal)[-1] == "alert_yellow"
    event = appeal.events.order_by("seq").last()
    assert event is not None and event.actor is None
    assert event.payload == {
        "from": "none",
        "to": "yellow",
        "stage": "claim",
        "due": at(11, 23, 17, 30).isoformat(),
        "unit": "zjj",
    }
    # Nobody has claimed it: everyone at 住建局 who could is told; supervisors not yet.
    assert recipients(Notification.Kind.ALERT_YELLOW) == {"handler-zjj", "zjj-clerk"}
    # One e-mail each (the administrator also hears that 2027 is missing from the calendar).
    assert sorted(m.to[0] for m in mail.outbox if str(appeal.number) in m.body) == [
        "sun.li@zjj.example.cn",
        "zhang.wei@zjj.example.cn",
    ]

    before = state()
    assert sweep(now=at(11, 23, 15, 45)).changes == 0
    assert sweep(now=at(11, 23, 17, 0)).changes == 0
    assert state() == before

    result = sweep(now=at(11, 23, 17, 31))
    assert (result.yellow, result.red) == (0, 1)
    appeal.refresh_from_db()
    assert appeal.alert == "red"
    assert actions(appeal)[-2:] == ["alert_yellow", "alert_red"]
    assert recipients(Notification.Kind.ALERT_RED) == {"handler-zjj", "zjj-clerk", "supervisor"}

    before = state()
    for moment in (at(11, 23, 17, 31), at(11, 24, 9), at(11, 30, 9)):
        assert sweep(now=moment).changes == 0
    assert state() == before


def test_claiming_clears_the_alert_and_starts_the_reply_clock(
    walk: Walk, people: dict[str, User]
) -> None:
    appeal = walk("dispatched")
    sweep(now=at(11, 23, 18))
    with clock.frozen(at(11, 24, 9)):
        services.appeal_claim(actor=people["clerk"], number=appeal.number)
    result = sweep(now=at(11, 24, 9, 1))
    assert result.cleared == 1
    appeal.refresh_from_db()
    assert (appeal.alert, appeal.alert_stage, appeal.alert_due) == ("none", "", None)
    assert actions(appeal)[-2:] == ["claim", "alert_clear"]

    # The reply clock set at dispatch: by Monday 7 December, yellow from Friday the 4th.
    assert appeal.reply_due == at(12, 7, 17, 30)
    assert sweep(now=at(12, 4, 17, 0)).changes == 0
    Notification.objects.all().delete()
    assert sweep(now=at(12, 4, 17, 30)).yellow == 1
    # The handler who claimed it and the unit head; not the rest of the unit.
    assert recipients(Notification.Kind.ALERT_YELLOW) == {"zjj-clerk", "handler-zjj"}
    assert sweep(now=at(12, 7, 17, 31)).red == 1
    assert recipients(Notification.Kind.ALERT_RED) == {"zjj-clerk", "handler-zjj", "supervisor"}


def test_the_return_visit_clock_warns_the_visitors(walk: Walk, people: dict[str, User]) -> None:
    appeal = walk("replied")  # replied Monday 08:30: visit by Thursday 26th
    assert appeal.visit_due == at(11, 26, 17, 30)
    sweep(now=at(11, 26, 17, 31))
    appeal.refresh_from_db()
    assert (appeal.alert, appeal.alert_stage) == ("red", "visit")
    assert recipients(Notification.Kind.ALERT_RED) == {"visitor", "supervisor"}


def test_the_sweep_leaves_ended_appeals_and_returned_ones_alone(
    walk: Walk, people: dict[str, User]
) -> None:
    late = walk("dispatched")
    sweep(now=at(11, 23, 18))
    with clock.frozen(at(11, 24, 9)):
        services.appeal_invalidate(actor=user("operator"), number=late.number, reason="骚扰电话")
    before = state()
    assert sweep(now=at(11, 24, 10)).changes == 0
    assert state() == before
    late.refresh_from_db()
    assert late.alert == "red"  # it ended overdue; the alert stays as the record of that


def test_sweep_command_reports_and_is_idempotent(walk: Walk, people: dict[str, User]) -> None:
    walk("dispatched")
    walk("dispatched", urgency="emergency")  # claim by 09:00, reply by 10:30
    out = StringIO()
    with clock.frozen(at(11, 23, 10, 45)):
        call_command("sweep", stdout=out, stderr=StringIO())
    assert "0 yellow, 1 red" in out.getvalue()
    before = state()
    out = StringIO()
    with clock.frozen(at(11, 23, 10, 45)):
        call_command("sweep", stdout=out, stderr=StringIO())
    assert "0 yellow, 0 red, 0 cleared" in out.getvalue()
    assert state() == before


def test_sweep_command_refuses_bad_options(db: None) -> None:
    with pytest.raises(SystemExit):
        call_command("sweep", batch=0, stdout=StringIO(), stderr=StringIO())


def test_unknown_calendar_year_warns_administrators_once(people: dict[str, User]) -> None:
    november_2098 = dt.datetime(2098, 11, 20, 9, tzinfo=SHANGHAI)
    result = sweep(now=november_2098)
    assert result.unknown_years == [2098, 2099]
    notices = Notification.objects.filter(kind=Notification.Kind.CALENDAR_UNKNOWN)
    assert set(notices.values_list("key", flat=True)) == {"calendar:2098", "calendar:2099"}
    assert set(notices.values_list("recipient__username", flat=True)) == {"admin"}
    assert any("2099" in m.body and m.to == ["admin@kuaiban.example.cn"] for m in mail.outbox)
    before = state()
    sweep(now=november_2098)
    assert state() == before


def test_command_prints_the_calendar_warning(db: None) -> None:
    err = StringIO()
    with clock.frozen(dt.datetime(2098, 11, 20, 9, tzinfo=SHANGHAI)):
        call_command("sweep", stdout=StringIO(), stderr=err)
    assert "chinese-calendar does not know 2098" in err.getvalue()


def test_mail_failures_stay_pending_and_are_retried(
    walk: Walk, people: dict[str, User], settings: Any
) -> None:
    walk("dispatched")
    settings.EMAIL_BACKEND = "kuaiban.supervision.tests.failing_mail.Backend"
    sweep(now=at(11, 23, 18))
    pending = Notification.objects.filter(mail=Notification.Mail.PENDING)
    # Head, clerk and supervisor (the red alert), administrator (2027 missing from the calendar).
    assert pending.count() == 4
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    result = sweep(now=at(11, 23, 18, 1))
    assert result.mailed == 4 and result.changes == 0
    assert len(mail.outbox) == 4
    assert not pending.exists()


def test_small_batches_page_through_every_crossing(walk: Walk, people: dict[str, User]) -> None:
    numbers = [walk("dispatched", when=at(11, 23, 8, 30 + i)).number for i in range(7)]
    result = sweep(now=at(11, 23, 18), batch=2)
    assert result.red == 7
    reds = AppealEvent.objects.filter(action="alert_red").values_list("appeal__number", flat=True)
    assert sorted(reds) == sorted(numbers)
    assert sweep(now=at(11, 23, 18), batch=2).changes == 0
