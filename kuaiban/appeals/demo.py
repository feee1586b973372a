"""Demo appeals: a plausible thirteen months of a county ledger, with its seasons, written through
the real services."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone
from opencc import OpenCC
from stdnum.cn import uscc

from kuaiban.appeals import services
from kuaiban.appeals.demo_texts import (
    COMPANIES,
    DISEASES,
    ESTATES,
    GIVEN,
    INDUSTRIES,
    MOBILE_PREFIXES,
    RIVERS,
    ROADS,
    SCHOOLS,
    SHOPS,
    SURNAMES,
    TEMPLATES,
    Template,
)
from kuaiban.appeals.models import Appeal, Category, Channel, Status
from kuaiban.core import clock
from kuaiban.core.errors import DomainError
from kuaiban.org.demo import Directory
from kuaiban.org.models import Region, Unit

CHANNEL_WEIGHTS: dict[str, int] = {
    Channel.HOTLINE: 40,
    Channel.MAILBOX: 8,
    Channel.DIRECT_LINE: 8,
    Channel.GRID: 10,
    Channel.WECHAT: 5,
    Channel.BREAKFAST: 3,
    Channel.PETITION: 5,
    Channel.VISIT: 4,
    Channel.WEB: 8,
    Channel.APP: 5,
    Channel.OPEN311: 2,
    Channel.INSPECTION: 2,
}
_s2t = OpenCC("s2t")


def credit_code(rng: random.Random) -> str:
    body = "9133" + "".join(rng.choice("0123456789") for _ in range(4))
    body += "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return str(body + uscc.calc_check_digit(body))


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(8))


def fill(template: Template, rng: random.Random, d: Directory) -> tuple[str, str, Any]:
    village = rng.choice(d.villages)
    township = village.parent
    road, road2 = rng.sample(ROADS, 2)
    values = {
        "estate": rng.choice(ESTATES),
        "building": rng.randint(1, 28),
        "temp": rng.randint(11, 16),
        "n": rng.randint(2, 6),
        "month": rng.randint(3, 10),
        "price": rng.choice(["0.3", "0.5", "22", "24.5"]),
        "road": road,
        "road2": road2,
        "village": village.name,
        "township": township.name if township else "",
        "company": rng.choice(COMPANIES),
        "people": rng.randint(5, 40),
        "amount": rng.choice([3800, 12000, 26500, 48000, 86000, 150000]),
        "age": rng.randint(6, 58),
        "old": rng.randint(80, 96),
        "disease": rng.choice(DISEASES),
        "school": rng.choice(SCHOOLS),
        "shop": rng.choice(SHOPS),
        "river": rng.choice(RIVERS),
        "industry": rng.choice(INDUSTRIES),
    }
    return template.title.format(**values), template.content.format(**values), village


REPLIES = {
    "resolved": [
        "经核实，已安排工作人员现场处理，问题已解决，并电话告知诉求人。",
        "我单位已约谈相关责任单位，责令限期整改，目前已整改到位。",
        "已协调相关企业于三日内完成维修，经回访诉求人确认恢复正常。",
    ],
    "partly": [
        "已先行处理能够解决的部分，剩余问题需纳入明年计划统筹解决，已向诉求人解释。",
        "已督促责任单位制定整改方案，目前正在分步实施。",
    ],
    "unresolved": [
        "经调查，该诉求不符合现行政策规定，已向诉求人做好政策解释工作。",
    ],
}


def _stamp(start: dt.datetime, rng: random.Random, low_h: float, high_h: float) -> dt.datetime:
    return start + dt.timedelta(hours=rng.uniform(low_h, high_h))


def make_appeals(
    d: Directory,
    *,
    count: int,
    seed: int,
    now: dt.datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Invent ``count`` appeals over the last thirteen months (more of them recent, each
    problem more often in its season), each walked through the services to where it would be
    now; ``progress(done, count)`` is told after each."""
    rng = random.Random(seed)
    now = now or timezone.now()
    categories = {c.name: c for c in Category.objects.filter(level=1)}
    operator = d.users["operator"]
    supervisor = d.users["supervisor"]
    visitor = d.users["visitor"]
    channels = list(CHANNEL_WEIGHTS)
    weights = list(CHANNEL_WEIGHTS.values())
    made: list[Appeal] = []
    # Thirteen months, so that the month after this one has a last year (the forecast reads it).
    span = dt.timedelta(days=400)
    by_month = {m: [t.peak_weight if m in t.peak else 1 for t in TEMPLATES] for m in range(1, 13)}

    def at(moment: dt.datetime, fn: Callable[..., Any], **kwargs: Any) -> Any:
        if moment >= now:
            raise _Stop
        with clock.frozen(moment):
            return fn(**kwargs)

    moments = sorted(now - span * (rng.random() ** 1.3) for _ in range(count))
    for done, received in enumerate(moments):
        if progress:
            progress(done, count)
        template = rng.choices(TEMPLATES, by_month[timezone.localtime(received).month])[0]
        title, content, village = fill(template, rng, d)
        kind = rng.choice(template.kinds)
        channel = rng.choices(channels, weights)[0]
        if template.enterprise and channel == Channel.HOTLINE and rng.random() < 0.5:
            channel = rng.choice([Channel.WECHAT, Channel.BREAKFAST, Channel.VISIT])
        if rng.random() < 0.06:
            title, content = _s2t.convert(title), _s2t.convert(content)
        enterprise = template.enterprise or (kind == "complaint" and rng.random() < 0.05)
        region = rng.choice([village, *[g for g in d.grids if g.parent_id == village.pk]])
        data = services.AppealInput(
            channel=channel,
            kind=kind,
            urgency=rng.choices(["normal", "urgent", "emergency"], [90, 8, 2])[0],
            title=title,
            content=content,
            submitter_type="enterprise" if enterprise else "citizen",
            submitter_name=rng.choice(SURNAMES) + rng.choice(GIVEN),
            submitter_phone=mobile(rng) if rng.random() < 0.97 else "",
            enterprise_name=rng.choice(COMPANIES) if enterprise else "",
            credit_code=credit_code(rng) if enterprise else "",
            region=region.code,
            address=f"{village.name}{rng.randint(1, 99)}号",
            occurred_at=received - dt.timedelta(days=rng.randint(0, 20)),
            group_size=rng.randint(3, 30)
            if channel == Channel.PETITION and rng.random() < 0.4
            else None,
            category=categories[template.category].code
            if template.category in categories
            else None,
        )
        try:
            with transaction.atomic():
                appeal = at(received, services.appeal_register, actor=operator, data=data)
        except _Stop:
            continue
        made.append(appeal)
        try:
            _walk(appeal, template, rng, d, received, now, at, operator, supervisor, visitor, made)
        except _Stop:
            pass
        except DomainError as exc:  # pragma: no cover - the demo must be consistent
            raise RuntimeError(f"demo walk failed on {appeal.number}: {exc.message}") from exc
    return len(made)


class _Stop(Exception):
    """The walk reached the present."""


def _walk(
    appeal: Appeal,
    template: Template,
    rng: random.Random,
    d: Directory,
    t: dt.datetime,
    now: dt.datetime,
    at: Callable[..., Any],
    operator: Any,
    supervisor: Any,
    visitor: Any,
    made: list[Appeal],
) -> None:
    number = appeal.number or ""
    if appeal.is_confidential:
        operator = supervisor  # reports (举报) are handled by supervisors only
    roll = rng.random()
    if roll < 0.03:
        t = _stamp(t, rng, 0.2, 3)
        at(
            t,
            services.appeal_invalidate,
            actor=operator,
            number=number,
            reason="骚扰电话，无实际诉求内容",
        )
        return
    if roll < 0.07 and len(made) > 5:
        master = (
            Appeal.objects.filter(
                pk__in=[m.pk for m in made[:-1][-40:]],
                status__in=[Status.DISPATCHED, Status.IN_PROGRESS],
            )
            .exclude(kind="report")
            .order_by("-id")
            .first()
            if not appeal.is_confidential
            else None
        )
        if master is not None:
            t = _stamp(t, rng, 0.2, 2)
            at(t, services.appeal_merge, actor=operator, number=number, into=master.number or "")
            return
    if appeal.kind == "consultation" and rng.random() < 0.5:
        t = _stamp(t, rng, 0.05, 0.5)
        at(
            t,
            services.appeal_answer,
            actor=operator,
            number=number,
            text="已在受理时按政策规定当场答复，诉求人表示清楚。",
        )
    else:
        handled = _dispatch_and_reply(appeal, template, rng, d, t, at, operator, supervisor)
        if handled is None:
            return
        t = handled
    _visit_and_close(appeal, rng, t, at, supervisor, visitor, d)


ASSIST_TEXT = "我单位已派员现场核查，配合主办单位完成处置，相关情况已反馈主办单位。"


def _dispatch_and_reply(
    appeal: Appeal,
    template: Template,
    rng: random.Random,
    d: Directory,
    t: dt.datetime,
    at: Callable[..., Any],
    operator: Any,
    supervisor: Any,
) -> dt.datetime | None:
    """Dispatch (sometimes returned and dispatched again), claim and reply; the time of the
    reply, or None when the appeal stops short of one (never claimed, stuck in progress)."""
    number = appeal.number or ""
    unit = template.unit
    if rng.random() < 0.15 and appeal.region is not None:
        town = appeal.region.township
        unit = next(
            (code for code, u in d.units.items() if u.region_id == (town.pk if town else None)),
            unit,
        )
    dispatcher = supervisor if appeal.is_confidential else operator
    t = _stamp(t, rng, 0.1, 4)
    co = [rng.choice(["cgj", "scjg", "sthj"])] if rng.random() < 0.1 else []
    co = [c for c in co if c != unit]
    at(t, services.appeal_dispatch, actor=dispatcher, number=number, unit=unit, co_units=co)
    if rng.random() < 0.06:
        handler = d.users[f"handler-{unit}"]
        t = _stamp(t, rng, 0.5, 6)
        at(
            t,
            services.appeal_return,
            actor=handler,
            number=number,
            reason="该事项不属于我单位职责范围，建议转交属地乡镇处理。",
        )
        town = appeal.region.township if appeal.region else None
        unit = next((c for c, u in d.units.items() if town and u.region_id == town.pk), "xfj")
        t = _stamp(t, rng, 0.2, 3)
        at(t, services.appeal_dispatch, actor=dispatcher, number=number, unit=unit)
        co = []
    unit, t = _delegate_down(appeal, rng, d, t, at, unit)
    handler = d.users[f"handler-{unit}"]
    if rng.random() < 0.04:
        return None  # never claimed: shows up overdue
    t = _stamp(t, rng, 0.3, 9 if rng.random() < 0.85 else 40)
    at(t, services.appeal_claim, actor=handler, number=number)
    if rng.random() < 0.05:
        return None  # stuck in progress
    for code in [] if appeal.is_confidential else co:
        # The co-unit answers its part (协办) an hour after the claim, before the lead replies.
        at(
            t + dt.timedelta(hours=1),
            services.appeal_assist,
            actor=d.users[f"handler-{code}"],
            number=number,
            result="resolved",
            text=ASSIST_TEXT,
        )
    t = _stamp(t, rng, 3, 24 * (4 if rng.random() < 0.8 else 16))
    result = rng.choices(["resolved", "partly", "unresolved"], [75, 18, 7])[0]
    at(
        t,
        services.appeal_reply,
        actor=handler,
        number=number,
        result=result,
        text=rng.choice(REPLIES[result]),
    )
    return t


DELEGATE_NOTE = "请村（社区）先行处理，镇里跟踪督办。"


def _delegate_down(
    appeal: Appeal, rng: random.Random, d: Directory, t: dt.datetime, at: Any, unit: str
) -> tuple[str, dt.datetime]:
    """Some appeals a township leads go down to the village they are about (下派); the lead
    unit's code and the time after it."""
    lead = d.units.get(unit)
    region = appeal.region
    if lead is None or lead.kind != Unit.Kind.TOWNSHIP or region is None:
        return unit, t
    if rng.random() >= 0.4:
        return unit, t
    village = region if region.level == Region.Level.VILLAGE else region.parent
    code = f"v{village.code}" if village is not None else ""
    if code not in d.units or village is None or village.parent_id != lead.region_id:
        return unit, t
    t = _stamp(t, rng, 0.2, 2)
    at(
        t,
        services.appeal_delegate,
        actor=d.users[f"handler-{unit}"],
        number=appeal.number or "",
        unit=code,
        note=DELEGATE_NOTE,
    )
    return code, t


def _visit_and_close(
    appeal: Appeal,
    rng: random.Random,
    t: dt.datetime,
    at: Any,
    supervisor: Any,
    visitor: Any,
    d: Directory,
) -> None:
    number = appeal.number or ""
    if appeal.is_confidential:
        visitor = supervisor
    for _round in range(2):
        if not appeal.submitter_phone:
            for _ in range(3):
                t = _stamp(t, rng, 20, 30)
                at(
                    t,
                    services.appeal_visit,
                    actor=visitor,
                    number=number,
                    data=services.VisitInput(reached=False, note="未留联系电话"),
                )
            break
        t = _stamp(t, rng, 4, 48)
        if rng.random() < 0.1:
            at(
                t,
                services.appeal_visit,
                actor=visitor,
                number=number,
                data=services.VisitInput(reached=False, note="电话无人接听"),
            )
            t = _stamp(t, rng, 20, 30)
        satisfaction = rng.choices(["satisfied", "basic", "dissatisfied"], [72, 20, 8])[0]
        authentic = rng.random() > 0.04
        appeal = at(
            t,
            services.appeal_visit,
            actor=visitor,
            number=number,
            data=services.VisitInput(
                reached=True,
                resolved=satisfaction != "dissatisfied",
                satisfaction=satisfaction,
                authentic=authentic,
                note="回访诉求人",
            ),
        )
        if appeal.status != Status.IN_PROGRESS:
            break
        if appeal.handler is None:
            return
        handler = appeal.handler
        t = _stamp(t, rng, 4, 72)
        at(
            t,
            services.appeal_reply,
            actor=handler,
            number=number,
            result="resolved",
            text="重办：已再次上门核实并整改到位。",
        )
    appeal.refresh_from_db()
    if appeal.status == Status.VISITED and rng.random() < 0.93:
        t = _stamp(t, rng, 1, 30)
        at(t, services.appeal_close, actor=supervisor, number=number, note="核查无误，同意办结。")
