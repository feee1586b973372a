"""The submitter is told at each public step, by SMS through the outbox: received (with the
access code), dispatched (to which unit), replied (with the reply) and the self-rating link,
closed; a report (举报) only its number and status; hotline callers only when configured."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from kuaiban.appeals import services as appeals
from kuaiban.appeals.models import Appeal, Status
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.notify import hooks
from kuaiban.notify.models import SmsMessage
from kuaiban.notify.tests.conftest import Outbox
from kuaiban.org.demo import Directory
from kuaiban.visits.models import SelfRatingLink
from kuaiban.visits.services import desk_queue

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
PHONE = "13912345678"
REPLY = (
    "经核实，阳光花园小区5号楼供暖管道阀门故障，已于11月24日更换阀门，室温恢复到20度。"
    "如仍有问题请联系物业经理王建华，电话13812345678。"
)


def register(d: Directory, **fields: Any) -> Appeal:
    data: dict[str, Any] = {
        "channel": "web",
        "kind": "complaint",
        "title": "小区暖气不热",
        "content": "阳光花园小区5号楼暖气一直不热，室温只有十四度，家里有老人。",
        "submitter_name": "李秀英",
        "submitter_phone": PHONE,
        "region": d.villages[0].code,
    }
    data.update(fields)
    return appeals.appeal_register(actor=user("operator"), data=appeals.AppealInput(**data))


def through_reply(number: str, unit: str = "zjj", dispatcher: str = "operator") -> None:
    appeals.appeal_dispatch(actor=user(dispatcher), number=number, unit=unit)
    appeals.appeal_claim(actor=user(f"handler-{unit}"), number=number)
    appeals.appeal_reply(
        actor=user(f"handler-{unit}"), number=number, result="resolved", text=REPLY
    )


def close(number: str) -> None:
    appeals.appeal_visit(
        actor=user("visitor"),
        number=number,
        data=appeals.VisitInput(
            reached=True, satisfaction="satisfied", resolved=True, authentic=True, note="满意"
        ),
    )
    appeals.appeal_close(actor=user("supervisor"), number=number, note="同意办结")


def test_each_public_step_is_told(county: Directory, outbox: Outbox, settings: Any) -> None:
    settings.KUAIBAN_SMS_REPLY_CHARS = 40
    appeal = register(county)
    number = appeal.number or ""
    [receipt] = outbox.texts(PHONE)
    assert number in receipt and appeal.access_code_display in receipt
    through_reply(number)
    texts = outbox.texts(PHONE)
    assert [m["template"] for m in outbox.to(PHONE)] == [
        "receipt",
        "dispatched",
        "replied",
        "rating",
    ]
    unit = Appeal.objects.get(pk=appeal.pk).lead_unit
    assert unit is not None and unit.name in texts[1]
    reply = texts[2]
    assert "经核实，阳光花园小区5号楼供暖管道阀门故障" in reply and reply.endswith("…")
    assert len(reply) < len(REPLY)
    # The link opens the existing self-rating page, once.
    url = re.search(r"https?://\S+", texts[3])
    assert url is not None
    path = url.group(0).split("://", 1)[1].split("/", 1)[1]
    page = Client().get("/" + path)
    assert page.status_code == 200
    assert SelfRatingLink.objects.filter(appeal=appeal, used_at__isnull=True).count() == 1
    close(number)
    assert outbox.to(PHONE)[-1]["template"] == "closed"
    assert number in outbox.texts(PHONE)[-1]
    assert SmsMessage.objects.filter(appeal=appeal).count() == 5


def test_the_reply_is_masked_like_every_public_surface(
    county: Directory, outbox: Outbox, settings: Any
) -> None:
    settings.KUAIBAN_SMS_REPLY_CHARS = 500
    appeal = register(county)
    through_reply(appeal.number or "")
    reply = outbox.texts(PHONE)[2]
    assert "13812345678" not in reply and "***********" in reply


def test_a_report_is_told_only_its_number_and_status(county: Directory, outbox: Outbox) -> None:
    appeal = register(
        county,
        kind="report",
        title="举报某企业夜间偷排废水",
        content="举报城关镇某化工厂每天夜里两点向河道偷排废水，气味刺鼻。",
    )
    number = appeal.number or ""
    through_reply(number, unit="sthj", dispatcher="supervisor")  # operators cannot see reports
    sent = outbox.to(PHONE)
    assert [m["template"] for m in sent] == ["receipt", "status", "status"]  # no rating link
    unit = Appeal.objects.get(pk=appeal.pk).lead_unit
    assert unit is not None
    for message in sent:
        text = message["text"]
        assert number in text
        assert unit.name not in text and "偷排" not in text and "化工厂" not in text
        assert "阀门" not in text  # nor the unit's reply
    with translation.override("zh-hans"):
        dispatched, replied = str(Status.DISPATCHED.label), str(Status.REPLIED.label)
    assert dispatched in sent[1]["text"] and replied in sent[2]["text"]
    assert not SelfRatingLink.objects.filter(appeal=appeal).exists()


def test_hotline_appeals_are_not_texted_unless_configured(
    county: Directory, outbox: Outbox, settings: Any
) -> None:
    register(county, channel="hotline")
    assert outbox.lines() == []
    settings.KUAIBAN_SMS_NOTIFY_CHANNELS = ["web", "hotline"]
    register(county, channel="hotline")
    assert [m["template"] for m in outbox.to(PHONE)] == ["receipt"]


def test_switched_off_nothing_is_sent(county: Directory, outbox: Outbox, settings: Any) -> None:
    settings.KUAIBAN_SMS_NOTIFY = False
    through_reply(register(county).number or "")
    assert outbox.lines() == [] and SmsMessage.objects.count() == 0


def test_no_mobile_no_sms(county: Directory, outbox: Outbox) -> None:
    register(county, submitter_phone="")
    register(county, submitter_phone="0516-87654321")  # a fixed line takes no SMS
    assert outbox.lines() == []


def test_supporters_hear_the_steps_but_not_the_keys(county: Directory, outbox: Outbox) -> None:
    supporter = "13700001111"
    provider = hooks.also_tell(lambda appeal: [supporter])
    try:
        appeal = register(county)
        through_reply(appeal.number or "")
    finally:
        hooks._extra_recipients.remove(provider)
    assert [m["template"] for m in outbox.to(supporter)] == ["dispatched", "replied"]
    assert all(appeal.access_code_display not in t for t in outbox.texts(supporter))


def test_answered_at_intake_sends_the_answer_and_the_link(
    county: Directory, outbox: Outbox
) -> None:
    appeal = register(
        county, kind="consultation", title="咨询医保报销", content="异地就医怎么报销？"
    )
    appeals.appeal_answer(
        actor=user("operator"),
        number=appeal.number or "",
        text="请携带身份证到县医保局窗口办理备案。",
    )
    assert [m["template"] for m in outbox.to(PHONE)] == ["receipt", "replied", "rating"]
    assert "医保局窗口" in outbox.texts(PHONE)[1]


def test_the_desk_calls_only_those_who_have_not_rated_in_time(
    county: Directory, outbox: Outbox
) -> None:
    # The administrator's wait (visits.DeskSettings) is 48 hours by default.
    texted = register(county)
    through_reply(texted.number or "")
    hotline = register(county, channel="hotline")  # not texted: the desk calls at once
    through_reply(hotline.number or "")
    visitor = user("visitor")
    assert [a.number for a in desk_queue(user=visitor)] == [hotline.number]
    link = SelfRatingLink.objects.get(appeal=texted)
    with clock.frozen(link.created_at + dt.timedelta(hours=48, minutes=1)):
        assert {a.number for a in desk_queue(user=visitor)} == {texted.number, hotline.number}


def test_silenced_events_tell_nobody(county: Directory, outbox: Outbox) -> None:
    with hooks.silenced():
        through_reply(register(county).number or "")
    assert outbox.lines() == [] and not SelfRatingLink.objects.exists()
    register(county)
    assert len(outbox.lines()) == 1
