"""Issue 14: after a self-rating link goes out, the desk does not call until the administrator's
wait (DeskSettings.self_rating_wait_hours) has passed without a rating."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse

from kuaiban.appeals.models import Appeal
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.metrics.tests.ledger import at, claim, dispatch, register, reply
from kuaiban.org.demo import Directory
from kuaiban.visits import services
from kuaiban.visits.models import DeskSettings

pytestmark = pytest.mark.django_db


def replied(d: Directory, day: str, phone: str) -> str:
    n = register(d, at(day, "08:40"), submitter_phone=phone)
    dispatch(n, at(day, "09:00"), "zjj")
    claim(n, at(day, "09:30"), "zjj")
    reply(n, at(day, "15:00"), "zjj")
    return n


def queue(when: dt.datetime) -> list[str]:
    with clock.frozen(when):
        return [a.number or "" for a in services.desk_queue(user=user("visitor"))]


def test_a_sent_link_holds_the_call_until_the_wait_is_over(county: Directory) -> None:
    rated_later = replied(county, "2026-06-08", "13800002222")
    called_now = replied(county, "2026-06-08", "13900001111")
    sent = at("2026-06-08", "16:00")
    with clock.frozen(sent):
        services.self_rating_link_issue(
            appeal=Appeal.objects.get(number=rated_later), actor=services.self_rating_actor()
        )
    # Default wait: 48 hours.
    assert queue(sent + dt.timedelta(hours=1)) == [called_now]
    assert queue(sent + dt.timedelta(hours=47)) == [called_now]
    assert sorted(queue(sent + dt.timedelta(hours=49))) == sorted([rated_later, called_now])


def test_the_administrator_sets_the_wait(county: Directory) -> None:
    n = replied(county, "2026-06-08", "13800002222")
    sent = at("2026-06-08", "16:00")
    with clock.frozen(sent):
        services.self_rating_link_issue(
            appeal=Appeal.objects.get(number=n), actor=services.self_rating_actor()
        )
    assert queue(sent + dt.timedelta(hours=5)) == []
    DeskSettings.objects.create(self_rating_wait_hours=4)
    assert queue(sent + dt.timedelta(hours=5)) == [n]


def test_the_desk_page_says_how_many_wait_for_their_own_rating(county: Directory) -> None:
    n = replied(county, "2026-06-08", "13800002222")
    sent = at("2026-06-08", "16:00")
    with clock.frozen(sent):
        services.self_rating_link_issue(
            appeal=Appeal.objects.get(number=n), actor=services.self_rating_actor()
        )
    c = Client()
    c.force_login(user("visitor"))
    with clock.frozen(sent + dt.timedelta(hours=2)):
        html = c.get(reverse("visits:desk")).content.decode()
    assert n not in html
    assert "1 件已发送自评链接" in html and "48 小时" in html


def test_no_link_for_a_confidential_report_or_without_a_phone(county: Directory) -> None:
    from kuaiban.core.errors import Conflict

    report = replied(county, "2026-06-08", "13800002222")
    Appeal.objects.filter(number=report).update(kind="report")
    with pytest.raises(Conflict):
        services.self_rating_link_issue(
            appeal=Appeal.objects.get(number=report), actor=services.self_rating_actor()
        )
    nophone = replied(county, "2026-06-09", "13800003333")
    Appeal.objects.filter(number=nophone).update(submitter_phone="")
    with pytest.raises(Conflict):
        services.self_rating_link_issue(
            appeal=Appeal.objects.get(number=nophone), actor=services.self_rating_actor()
        )
