"""A small hand-built ledger for June 2026, written through the real services with a frozen
clock, whose every rate is worked out by hand in ``EXPECTED`` (see test_rates.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction

from kuaiban.appeals import services
from kuaiban.appeals.models import Appeal
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.org.demo import Directory

TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 7, 31, 12, 0, tzinfo=TZ)


def at(day: str, hm: str = "09:00") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=TZ)


@dataclass
class Book:
    d: Directory
    numbers: dict[str, str]

    def appeal(self, name: str) -> Appeal:
        return Appeal.objects.get(number=self.numbers[name])

    def flag_red(self, name: str, when: dt.datetime) -> Appeal:
        """What the deadlines domain's sweep does when a deadline passes: red, with an event."""
        with clock.frozen(when), transaction.atomic():
            locked = Appeal.objects.select_for_update().get(number=self.numbers[name])
            services.record_event(locked, actor=None, action="alert_red", payload={"alert": "red"})
            locked.alert = "red"
            locked.save()
        return locked


def register(d: Directory, when: dt.datetime, **fields: Any) -> str:
    data: dict[str, Any] = {
        "channel": "hotline",
        "kind": "complaint",
        "title": "小区暖气不热",
        "content": "阳光花园小区5号楼暖气一直不热，室温只有十四度，家里有老人。",
        "submitter_name": "王建华",
        "submitter_phone": "13812345678",
        "region": d.villages[0].code,  # 城关镇 南关社区
    }
    data.update(fields)
    with clock.frozen(when):
        appeal = services.appeal_register(actor=user("operator"), data=services.AppealInput(**data))
    return appeal.number or ""


def step(when: dt.datetime, fn: Any, **kwargs: Any) -> Any:
    with clock.frozen(when):
        return fn(**kwargs)


def dispatch(n: str, when: dt.datetime, unit: str) -> None:
    step(when, services.appeal_dispatch, actor=user("operator"), number=n, unit=unit)


def claim(n: str, when: dt.datetime, unit: str) -> None:
    step(when, services.appeal_claim, actor=user(f"handler-{unit}"), number=n)


def reply(n: str, when: dt.datetime, unit: str, result: str = "resolved") -> None:
    step(
        when,
        services.appeal_reply,
        actor=user(f"handler-{unit}"),
        number=n,
        result=result,
        text="经核实已安排维修人员上门处理，暖气已恢复正常。",
    )


def visit(n: str, when: dt.datetime, **data: Any) -> Appeal:
    return step(  # type: ignore[no-any-return]
        when,
        services.appeal_visit,
        actor=user("visitor"),
        number=n,
        data=services.VisitInput(**data),
    )


def rated(satisfaction: str, resolved: bool = True, authentic: bool = True) -> dict[str, Any]:
    return {
        "reached": True,
        "satisfaction": satisfaction,
        "resolved": resolved,
        "authentic": authentic,
        "note": "回访诉求人",
    }


def close(n: str, when: dt.datetime) -> None:
    step(when, services.appeal_close, actor=user("supervisor"), number=n, note="同意办结")


def approve_extension(n: str, when: dt.datetime, new_due: dt.datetime) -> None:
    """What the deadlines domain records when a supervisor approves an extension: one event
    ``extension_approved`` carrying the new deadline, and the appeal's reply_due moved."""
    with clock.frozen(when), transaction.atomic():
        appeal = Appeal.objects.select_for_update().get(number=n)
        services.record_event(
            appeal,
            actor=user("supervisor"),
            action="extension_approved",
            note="需协调供热公司更换管道，同意延期",
            payload={"reply_due": new_due.isoformat(), "previous": appeal.reply_due.isoformat()},  # type: ignore[union-attr]
        )
        appeal.reply_due = new_due
        appeal.save()


def build(d: Directory) -> Book:
    n: dict[str, str] = {}
    # A1 住建局: claimed on time, replied on time, satisfied, closed.
    n["A1"] = register(d, at("2026-06-08", "08:40"))
    dispatch(n["A1"], at("2026-06-08", "09:00"), "zjj")
    claim(n["A1"], at("2026-06-08", "10:00"), "zjj")
    reply(n["A1"], at("2026-06-09", "15:00"), "zjj")
    # A5: a repeat of A1, merged into it: left out of every rate.
    n["A5"] = register(d, at("2026-06-09", "09:30"))
    dispatch(n["A5"], at("2026-06-09", "09:40"), "zjj")
    step(
        at("2026-06-09", "10:00"),
        services.appeal_merge,
        actor=user("operator"),
        number=n["A5"],
        into=n["A1"],
    )
    visit(n["A1"], at("2026-06-10", "10:00"), **rated("satisfied"))
    close(n["A1"], at("2026-06-10", "16:00"))

    # A2 住建局: claimed the next day (late), replied late, basically satisfied, not resolved.
    n["A2"] = register(d, at("2026-06-08", "09:10"), channel="mailbox")
    dispatch(n["A2"], at("2026-06-08", "09:20"), "zjj")
    claim(n["A2"], at("2026-06-09", "09:00"), "zjj")
    reply(n["A2"], at("2026-06-30", "10:00"), "zjj", "partly")
    visit(n["A2"], at("2026-07-01", "10:00"), **rated("basic", resolved=False))
    close(n["A2"], at("2026-07-01", "16:00"))

    # A3: 住建局 returns it, 城关镇 takes it on time; dissatisfied → rework → satisfied.
    n["A3"] = register(d, at("2026-06-10", "09:00"))
    dispatch(n["A3"], at("2026-06-10", "09:10"), "zjj")
    step(
        at("2026-06-10", "11:00"),
        services.appeal_return,
        actor=user("handler-zjj"),
        number=n["A3"],
        reason="属地管理事项，应由城关镇处理。",
    )
    dispatch(n["A3"], at("2026-06-10", "14:30"), "chengguan")
    claim(n["A3"], at("2026-06-10", "15:00"), "chengguan")
    reply(n["A3"], at("2026-06-12", "10:00"), "chengguan")
    visit(n["A3"], at("2026-06-15", "10:00"), **rated("dissatisfied", resolved=False))
    reply(n["A3"], at("2026-06-17", "10:00"), "chengguan")
    visit(n["A3"], at("2026-06-18", "10:00"), **rated("satisfied"))
    close(n["A3"], at("2026-06-18", "16:00"))

    # A4 城关镇: a help request (5 working days) replied after its first deadline but inside
    # the approved extension: on time.
    n["A4"] = register(d, at("2026-06-08", "10:00"), kind="help", channel="grid")
    dispatch(n["A4"], at("2026-06-08", "10:10"), "chengguan")
    claim(n["A4"], at("2026-06-08", "11:00"), "chengguan")
    approve_extension(n["A4"], at("2026-06-12", "10:00"), at("2026-06-26", "17:30"))
    reply(n["A4"], at("2026-06-22", "10:00"), "chengguan")

    # A6: a prank call, marked invalid: left out of every rate.
    n["A6"] = register(d, at("2026-06-11", "09:00"))
    step(
        at("2026-06-11", "09:05"),
        services.appeal_invalidate,
        actor=user("operator"),
        number=n["A6"],
        reason="骚扰电话，无实际诉求",
    )

    # A7: a consultation answered at intake; three unanswered calls on different days end the
    # visit unrated; closed. No unit.
    n["A7"] = register(
        d, at("2026-06-11", "10:00"), kind="consultation", channel="web", title="社保卡补办"
    )
    step(
        at("2026-06-11", "10:05"),
        services.appeal_answer,
        actor=user("operator"),
        number=n["A7"],
        text="社保卡可在县政务服务中心人社窗口当场补办，需携带身份证。",
    )
    for day in ("2026-06-12", "2026-06-15", "2026-06-16"):
        visit(n["A7"], at(day, "10:00"), reached=False, note="电话无人接听")
    close(n["A7"], at("2026-06-17", "09:00"))

    # A8 住建局: dispatched, never claimed; its reply deadline passed long before NOW.
    n["A8"] = register(d, at("2026-06-10", "16:00"))
    dispatch(n["A8"], at("2026-06-10", "16:10"), "zjj")

    # A9: received in July: outside June.
    n["A9"] = register(d, at("2026-07-01", "09:00"))
    dispatch(n["A9"], at("2026-07-01", "09:10"), "zjj")
    claim(n["A9"], at("2026-07-01", "09:30"), "zjj")
    return Book(d, n)
