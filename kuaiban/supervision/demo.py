"""The demo county's supervision: the first sweep over the demo ledger, a few extension requests
(pending, approved, refused), supervision orders (open, answered, overdue) and one disputed
dispatch waiting for arbitration. Deterministic for a seed and a ledger; written through the
ordinary services."""

from __future__ import annotations

import datetime as dt
import random

from kuaiban.appeals import services as appeal_services
from kuaiban.appeals.models import Appeal, Status
from kuaiban.core import clock
from kuaiban.core.errors import DomainError
from kuaiban.org.demo import Directory
from kuaiban.org.models import User
from kuaiban.supervision.services import extensions, orders
from kuaiban.supervision.services.sweep import sweep

REASONS = [
    "涉及多部门联合现场勘查，需协调自然资源和规划局出具意见。",
    "需等待供电公司停电检修窗口，施工计划已报批。",
    "当事双方正在调解，需再安排一次面谈。",
    "涉及历史遗留问题，需调取档案核实。",
]
PUSHES = [
    "该诉求已超期未办结，请于期限内书面报告办理进展及整改措施。",
    "群众多次来电反映，请主要负责同志亲自过问，限期办结。",
    "请说明超期原因，并明确办结时间。",
]
ANSWERS = ["已召开专题会研究，明确专人负责，预计三个工作日内办结。"]


def load(directory: Directory, *, seed: int, with_appeals: bool) -> str:
    if not with_appeals:
        return ""
    rng = random.Random(seed * 7 + 3)
    now = clock.now()
    supervisor = directory.users["supervisor"]
    operator = directory.users["operator"]

    def handler(appeal: Appeal) -> User:
        assert appeal.lead_unit is not None
        return directory.users[f"handler-{appeal.lead_unit.code}"]

    in_progress = list(
        Appeal.objects.filter(status=Status.IN_PROGRESS, lead_unit__isnull=False)
        .exclude(kind="report")
        .select_related("lead_unit")
        .order_by("number")
    )
    picked = rng.sample(in_progress, min(6, len(in_progress)))
    asked = 0
    for index, appeal in enumerate(picked):
        base = max(appeal.reply_due or now, now)
        proposed = (base + dt.timedelta(days=rng.randint(5, 12))).astimezone(dt.UTC).date()
        try:
            extension = extensions.extension_request(
                actor=handler(appeal),
                number=appeal.number or "",
                reason=rng.choice(REASONS),
                proposed_due=proposed,
            )
        except DomainError:
            continue
        asked += 1
        if index % 3 == 1:
            extensions.extension_decide(
                actor=supervisor, extension_id=extension.pk, decision="approve", note="同意延期。"
            )
        elif index % 3 == 2:
            extensions.extension_decide(
                actor=supervisor,
                extension_id=extension.pk,
                decision="refuse",
                note="该事项不需多部门协调，请按期答复。",
            )

    first = sweep(now=now, mail=False)

    issued = 0
    overdue = list(
        Appeal.objects.filter(
            status__in=[Status.DISPATCHED, Status.IN_PROGRESS], alert="red", lead_unit__isnull=False
        )
        .exclude(kind="report")
        .order_by("number")[:20]
    )
    for index, appeal in enumerate(rng.sample(overdue, min(4, len(overdue)))):
        # One order issued a week ago and left unanswered, so it is overdue now.
        issued_at = now - dt.timedelta(days=7) if index == 0 else now
        with clock.frozen(issued_at):
            order = orders.order_issue(
                actor=supervisor,
                appeal=appeal.number,
                level="red" if index % 2 else "yellow",
                text=rng.choice(PUSHES),
                due=(issued_at + dt.timedelta(days=3)).astimezone(dt.UTC).date(),
            )
        issued += 1
        if index == 1:
            orders.order_answer(
                actor=handler(appeal),
                number=order.number or "",
                text=rng.choice(ANSWERS),
            )

    disputed = _dispute(directory, rng, operator)
    last = sweep(now=now, mail=False)
    return (
        f"Supervision: {first.yellow + last.yellow} due soon and {first.red + last.red} overdue "
        f"marked, {asked} extension requests, {issued} supervision orders "
        f"({last.orders_overdue} overdue), {disputed} dispatch to arbitrate."
    )


def _dispute(directory: Directory, rng: random.Random, operator: User) -> int:
    """Return one dispatched appeal twice, so the arbitration queue has an example."""
    candidates = list(
        Appeal.objects.filter(
            status=Status.DISPATCHED,
            return_count=0,
            lead_unit__isnull=False,
            overseer_unit__isnull=True,  # one a township delegated down is the township's to return
        )
        .exclude(kind="report")
        .select_related("lead_unit")
        .order_by("number")[:30]
    )
    if not candidates:
        return 0
    appeal = rng.choice(candidates)
    assert appeal.lead_unit is not None
    first_unit = appeal.lead_unit.code
    other = next(code for code in ("cgj", "zjj", "sthj") if code != first_unit)
    n = appeal.number or ""
    appeal_services.appeal_return(
        actor=directory.users[f"handler-{first_unit}"],
        number=n,
        reason="经核实，该事项不属于本单位职责范围，建议改派。",
    )
    appeal_services.appeal_dispatch(actor=operator, number=n, unit=other)
    appeal_services.appeal_return(
        actor=directory.users[f"handler-{other}"],
        number=n,
        reason="该事项涉及属地管理，应由所在乡镇牵头办理。",
    )
    return 1
