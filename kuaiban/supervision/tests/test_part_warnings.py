"""The sweep warns co-units of their parts (协办) like leads of theirs: due soon to the co-unit's
handlers, overdue to them and the supervisors, each once (``sweep.part_notices``)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from kuaiban.appeals import services
from kuaiban.appeals.models import AssistPart
from kuaiban.appeals.services import PART_WARN_SHARE, part_arm
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.org.demo import Directory
from kuaiban.supervision.models import Notification
from kuaiban.supervision.services.sweep import part_notices, sweep
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


ROADS = [
    ("人民路路面坑洼", "人民路从东门村到镇上这段路坑洼不平，下雨积水，请尽快修补。"),
    ("建设街路灯不亮", "建设街中段三盏路灯已经坏了半个月，晚上出行很不方便。"),
    ("菜市场门口占道经营", "城关菜市场门口早上摊贩占道，车辆无法通行，请派人管理。"),
    ("河滨小区垃圾清运不及时", "河滨小区北门垃圾桶连续三天没有清运，气味很大。"),
    ("文化广场噪音扰民", "文化广场晚上十点后还有广场舞音响，附近居民无法休息。"),
]


def dispatched(title: str, content: str, co_units: list[str]) -> AssistPart:
    """An appeal dispatched at MONDAY to 交通局 with ``co_units``; its first part."""
    with clock.frozen(MONDAY):
        appeal = services.appeal_register(
            actor=user("operator"),
            data=services.AppealInput(
                channel="hotline",
                kind="complaint",
                title=title,
                content=content,
                submitter_name="王建国",
                submitter_phone="13812345678",
            ),
        )
        services.appeal_dispatch(
            actor=user("operator"), number=appeal.number or "", unit="jtj", co_units=co_units
        )
    return AssistPart.objects.filter(appeal=appeal).order_by("pk").first()  # type: ignore[return-value]


def part_queries(now: dt.datetime) -> tuple[int, int, int]:
    """part_notices at ``now``: (warnings, queries, queries reading the parts)."""
    with CaptureQueriesContext(connection) as seen:
        warned = part_notices(now=now)
    reads = [q["sql"] for q in seen.captured_queries if '"appeals_assistpart"' in q["sql"]]
    return warned, len(seen.captured_queries), len(reads)


def test_a_sweep_with_nothing_to_warn_reads_the_parts_once_however_many(
    county: Directory,
) -> None:
    first = dispatched(*ROADS[0], ["cgj"])
    span = first.due - first.created_at
    soon = first.created_at + span * 0.8
    assert part_notices(now=soon) == 1
    assert first.created_at == MONDAY
    small = part_queries(soon)
    assert small[0] == 0 and small[2] == 1  # one indexed read, no per-part work

    # Four more appeals, two co-units each: nine parts due soon at the same moment.
    for title, content in ROADS[1:]:
        dispatched(title, content, ["cgj", "zjj"])
    assert AssistPart.objects.count() == 9
    assert part_notices(now=soon) == 8
    assert part_notices(now=soon) == 0
    big = part_queries(soon)
    assert big == small  # the same queries with nine parts as with one
    assert AssistPart.objects.filter(warned="yellow", warn_at=F("due")).count() == 9

    # Overdue: each part warned once more, then nothing is left to select.
    late = first.due + dt.timedelta(hours=1)
    assert part_notices(now=late) == 9
    assert part_queries(late) == small
    assert AssistPart.objects.filter(warned="red", warn_at=None).count() == 9
    # To each part's co-unit handler and to the supervisor.
    assert Notification.objects.filter(key__startswith="part:alert_red:").count() == 9 * 2


def test_a_new_deadline_arms_the_warnings_again(county: Directory) -> None:
    part = dispatched(*ROADS[0], ["cgj"])
    span = part.due - part.created_at
    assert part_notices(now=part.created_at + span * 0.8) == 1
    old_due = part.due

    # The part's deadline moves three days on (as an extension of the part would have it).
    part.refresh_from_db()
    part.due = old_due + dt.timedelta(days=3)
    part_arm(part)
    part.save()
    new_soon = part.created_at + (part.due - part.created_at) * PART_WARN_SHARE
    assert part.warn_at == new_soon and part.warned == ""
    assert part_notices(now=new_soon - dt.timedelta(minutes=1)) == 0
    assert part_notices(now=new_soon) == 1
    assert part_notices(now=new_soon) == 0
    assert part_notices(now=old_due + dt.timedelta(hours=1)) == 0  # not overdue any more
    assert part_notices(now=part.due + dt.timedelta(hours=1)) == 1
    assert list(
        Notification.objects.filter(recipient__username="handler-cgj")
        .filter(key__startswith="part:")
        .order_by("id")
        .values_list("kind", "params__due")
    ) == [
        ("alert_yellow", old_due.isoformat()),
        ("alert_yellow", part.due.isoformat()),
        ("alert_red", part.due.isoformat()),
    ]


def test_a_warning_sent_before_the_upgrade_is_not_sent_again(county: Directory) -> None:
    part = dispatched(*ROADS[0], ["cgj"])
    soon = part.created_at + (part.due - part.created_at) * 0.8
    assert part_notices(now=soon) == 1
    # As the migration leaves a part: its first warning moment, nothing marked as warned.
    AssistPart.objects.filter(pk=part.pk).update(
        warned="", warned_due=None, warn_at=part.created_at + (part.due - part.created_at) * 0.75
    )
    assert part_notices(now=soon) == 0
    assert Notification.objects.filter(key__startswith="part:").count() == 1
    part.refresh_from_db()
    assert (part.warned, part.warned_due, part.warn_at) == ("yellow", part.due, part.due)


def test_a_whistled_departments_report_warns_then_its_part(county: Directory) -> None:
    dongmen = f"v{county.villages[2].code}"
    with clock.frozen(MONDAY):
        appeal = services.appeal_register(
            actor=user("operator"),
            data=services.AppealInput(
                channel="hotline",
                kind="complaint",
                title="化粪池满溢",
                content="东门村三组的化粪池满了往外溢，污水流进了水渠。",
                submitter_name="张桂兰",
                submitter_phone="13712345678",
                region=county.villages[2].code,
            ),
        )
        number = appeal.number or ""
        services.appeal_dispatch(actor=user("operator"), number=number, unit="chengguan")
        services.appeal_delegate(actor=user("handler-chengguan"), number=number, unit=dongmen)
        services.appeal_claim(actor=user(f"handler-{dongmen}"), number=number)
        services.appeal_whistle(
            actor=user(f"handler-{dongmen}"), number=number, units=["sthj"], note="请生态环境局到场"
        )
    part = AssistPart.objects.get(appeal=appeal, unit__code="sthj")
    assert part.report_due is not None
    report_soon = part.created_at + (part.report_due - part.created_at) * 0.8
    assert part.warn_at == part.created_at + (part.report_due - part.created_at) * 0.75
    assert part_notices(now=report_soon) == 1
    with clock.frozen(report_soon):
        services.appeal_report(actor=user("handler-sthj"), number=number)
    part.refresh_from_db()
    assert (part.warned, part.warned_due) == ("", None)  # the part's own clock starts afresh
    assert part.warn_at == part.created_at + (part.due - part.created_at) * 0.75
    assert part_notices(now=part.report_due + dt.timedelta(hours=1)) == 0  # reported: no red
    assert part_notices(now=part.created_at + (part.due - part.created_at) * 0.8) == 1
    assert list(
        Notification.objects.filter(recipient__username="handler-sthj", key__startswith="part:")
        .order_by("id")
        .values_list("kind", "params__stage")
    ) == [("alert_yellow", "report"), ("alert_yellow", "assist")]
