"""The sweep warns co-units of their parts (协办) like leads of theirs: due soon to the co-unit's
handlers, overdue to them and the supervisors, each once (``sweep.part_notices``)."""

from __future__ import annotations

import pytest

from kuaiban.appeals import services
from kuaiban.appeals.models import AssistPart
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.org.demo import Directory
from kuaiban.supervision.models import Notification
from kuaiban.supervision.services.sweep import sweep
from kuaiban.supervision.tests.conftest import MONDAY

pytestmark = pytest.mark.django_db


def kinds(username: str) -> list[tuple[str, str]]:
    """The part's warnings to ``username`` (the lead's own clocks warn too; not counted here)."""
    return list(
        Notification.objects.filter(recipient__username=username, params__stage="assist")
        .order_by("id")
        .values_list("kind", "params__stage")
    )


def test_a_co_units_part_goes_yellow_then_red_once(county: Directory) -> None:
    with clock.frozen(MONDAY):
        appeal = services.appeal_register(
            actor=user("operator"),
            data=services.AppealInput(
                channel="hotline",
                kind="complaint",
                title="人民路路面坑洼",
                content="人民路从东门村到镇上这段路坑洼不平，下雨积水，请尽快修补。",
                submitter_name="李秀英",
                submitter_phone="13912345678",
            ),
        )
        services.appeal_dispatch(
            actor=user("operator"), number=appeal.number or "", unit="jtj", co_units=["cgj"]
        )
    part = AssistPart.objects.get(appeal=appeal, unit__code="cgj")
    span = part.due - part.created_at
    before_warning = part.created_at + span * 0.7
    assert sweep(now=before_warning, mail=False).parts_warned == 0
    assert kinds("handler-cgj") == []

    soon = part.created_at + span * 0.8
    assert sweep(now=soon, mail=False).parts_warned == 1
    assert kinds("handler-cgj") == [("alert_yellow", "assist")]
    assert sweep(now=soon, mail=False).parts_warned == 0  # once
    assert kinds("supervisor") == []  # due soon is the co-unit's business

    late = part.due + (part.due - soon)
    assert sweep(now=late, mail=False).parts_warned == 1
    assert kinds("handler-cgj") == [("alert_yellow", "assist"), ("alert_red", "assist")]
    assert kinds("supervisor") == [("alert_red", "assist")]
    assert kinds("handler-zjj") == []  # another unit hears nothing
    text = Notification.objects.filter(
        recipient__username="handler-cgj", params__stage="assist"
    ).last()
    assert text is not None and text.params["number"] == appeal.number

    # Answered: no more warnings.
    with clock.frozen(late):
        services.appeal_assist(
            actor=user("handler-cgj"),
            number=appeal.number or "",
            text="已清理占道摊点。",
            result="resolved",
        )
    assert sweep(now=late + (late - soon), mail=False).parts_warned == 0
