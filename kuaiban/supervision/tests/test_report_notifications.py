"""Notifications about a confidential report (举报) reach only those who can open it."""

from __future__ import annotations

from typing import Any

import pytest

from kuaiban.appeals import services
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.supervision.models import Notification
from kuaiban.supervision.services.sweep import sweep
from kuaiban.supervision.tests.conftest import MONDAY, at

pytestmark = pytest.mark.django_db


def recipients(number: str) -> set[str]:
    return set(
        Notification.objects.filter(appeal__number=number).values_list(
            "recipient__username", flat=True
        )
    )


def walk_to_replied(make_appeal: Any, **fields: Any) -> str:
    with clock.frozen(MONDAY):
        appeal = make_appeal(**fields)
        n = appeal.number or ""
        services.appeal_dispatch(actor=user("supervisor"), number=n, unit="zjj")
        services.appeal_claim(actor=user("handler-zjj"), number=n)
        services.appeal_reply(
            actor=user("handler-zjj"), number=n, result="resolved", text="已立案查处。"
        )
    return n


def test_an_overdue_visit_of_a_report_is_not_told_to_the_visitors(
    make_appeal: Any, people: Any
) -> None:
    report = walk_to_replied(
        make_appeal,
        kind="report",
        title="举报拆迁补偿款被截留",
        content="城关镇某村干部截留拆迁补偿款，涉及二十余户。",
        actor=user("supervisor"),
    )
    complaint = walk_to_replied(make_appeal)
    sweep(now=at(11, 26, 17, 31))  # both visits overdue
    # The same kind of notice about a complaint reaches the visitor: the rule is the report's.
    assert "visitor" in recipients(complaint)
    assert recipients(report) and "visitor" not in recipients(report)
    assert "supervisor" in recipients(report)
    # Nor can the visitor open it in the notification list.
    from django.test import Client

    client = Client()
    client.force_login(user("visitor"))
    assert report not in client.get("/supervision/notifications/").content.decode()
