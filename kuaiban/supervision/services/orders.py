"""Supervision orders (督办单): issue, answer, close or send back; the sweep marks them overdue.

Every change locks the order, writes one line of its own timeline (:class:`OrderEvent`) and
queues notifications. An order on an appeal also leaves a ``supervise`` event in the appeal's
history, so the appeal's timeline shows it was pushed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.appeals import policy
from kuaiban.appeals.models import Appeal
from kuaiban.appeals.services import record_event
from kuaiban.core import clock
from kuaiban.core.errors import (
    Conflict,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from kuaiban.deadlines import services as deadlines
from kuaiban.org.models import Role, Unit, User
from kuaiban.supervision.models import Notification, OrderEvent, OrderLevel, SupervisionOrder
from kuaiban.supervision.services import notifications as notify

ACTION_SUPERVISE = "supervise"
TEXT_MAX = 2000
NOTE_MAX = 500
MAX_DAYS_AHEAD = 90
Status = SupervisionOrder.Status


def _text(value: str | None, field: str, *, required: bool, limit: int) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed.one(field, _("This field is required."))
    if len(text) > limit:
        raise ValidationFailed.one(
            field, _("At most %(limit)d characters (got %(n)d).") % {"limit": limit, "n": len(text)}
        )
    return text


def number_for(order_id: int, issued_at: dt.datetime) -> str:
    return f"DB{timezone.localtime(issued_at):%Y%m%d}-{order_id:05d}"


def visible_orders(user: User) -> QuerySet[SupervisionOrder]:
    """Orders ``user`` may read: supervisors all; leaders and administrators all except those on
    confidential reports; handlers their own unit's."""
    qs = SupervisionOrder.objects.select_related("appeal", "unit", "issued_by")
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.role == Role.SUPERVISOR:
        return qs
    if user.role in (Role.LEADER, Role.ADMIN):
        return qs.exclude(appeal__kind="report")
    if user.role == Role.HANDLER and user.unit_id:
        return qs.filter(unit_id=user.unit_id)
    return qs.none()


def order_get(*, user: User, number: str) -> SupervisionOrder:
    order = visible_orders(user).filter(number=number).first()
    if order is None:
        raise NotFound(_("No supervision order numbered %(number)s.") % {"number": number})
    return order


def _locked(user: User, number: str) -> SupervisionOrder:
    order = order_get(user=user, number=number)
    return SupervisionOrder.objects.select_for_update().select_related("unit").get(pk=order.pk)


def _event(
    order: SupervisionOrder,
    *,
    actor: User | None,
    action: str,
    at: dt.datetime,
    note: str = "",
    payload: dict[str, object] | None = None,
) -> OrderEvent:
    order.event_count += 1
    return OrderEvent.objects.create(
        order=order,
        seq=order.event_count,
        at=at,
        actor=actor,
        actor_label=actor.label if actor else _("system"),
        action=action,
        note=note,
        payload=payload or {},
    )


def _params(order: SupervisionOrder) -> dict[str, object]:
    return {
        "order": order.number,
        "unit": order.unit.name,
        "due": deadlines.iso(order.due_at),
        "number": order.appeal.number if order.appeal else "",
    }


def _url(order: SupervisionOrder) -> str:
    return reverse("supervision:order", args=[order.number])


def _tell(
    order: SupervisionOrder,
    recipients: Iterable[User],
    *,
    kind: str,
    key: str,
    now: dt.datetime,
    mail: bool = True,
) -> None:
    """Notify ``recipients`` of something that happened to ``order`` (linking to its page)."""
    notify.notify(
        recipients,
        kind=kind,
        key=key,
        params=_params(order),
        url=_url(order),
        order=order,
        now=now,
        mail=mail,
    )


def _unit_people(order: SupervisionOrder) -> list[User]:
    return notify.unit_handlers(order.unit_id) + notify.unit_heads(order.unit_id)


@transaction.atomic
def order_issue(
    *,
    actor: User,
    level: str,
    text: str,
    due: str | dt.date | dt.datetime | None,
    appeal: str | None = None,
    unit: str | None = None,
) -> SupervisionOrder:
    """Issue an order on an appeal (its lead unit answers unless ``unit`` names another) or on
    a unit directly."""
    if actor.role != Role.SUPERVISOR:
        raise PermissionDenied(_("Only a supervisor may issue supervision orders."))
    errors = []
    if level not in OrderLevel.values:
        errors.append(("level", _("One of: yellow, red.")))
    target: Appeal | None = None
    if appeal:
        target = (
            Appeal.objects.select_for_update(of=("self",))
            .select_related("lead_unit")
            .filter(number=appeal.strip())
            .first()
        )
        if target is None:
            errors.append(("appeal", _("No appeal numbered %(number)s.") % {"number": appeal}))
    answering: Unit | None = None
    if unit:
        answering = Unit.objects.filter(code=unit, active=True).first()
        if answering is None:
            errors.append(("unit", _("Unknown unit %(code)r.") % {"code": unit}))
    elif target is not None:
        answering = target.lead_unit
        if answering is None:
            errors.append(("unit", _("The appeal has no lead unit yet: name the unit.")))
    elif not appeal:
        errors.append(("unit", _("Name an appeal or a unit.")))
    if target is not None and not target.is_open:
        errors.append(("appeal", _("Appeal %(number)s is already finished.") % {"number": appeal}))
    if errors:
        raise ValidationFailed([FieldError(f, str(m)) for f, m in errors])
    assert answering is not None
    text = _text(text, "text", required=True, limit=TEXT_MAX)
    now = clock.now()
    due_at = deadlines.parse_due(due, field="due", now=now, max_days=MAX_DAYS_AHEAD)
    order = SupervisionOrder.objects.create(
        appeal=target,
        unit=answering,
        level=level,
        text=text,
        due_at=due_at,
        issued_by=actor,
        issued_at=now,
    )
    order.number = number_for(order.pk, now)
    _event(
        order,
        actor=actor,
        action=OrderEvent.Action.ISSUE,
        at=now,
        note=text,
        payload={"level": level, "unit": answering.code, "due": deadlines.iso(due_at)},
    )
    order.save(update_fields=["number", "event_count"])
    if target is not None:
        record_event(
            target,
            actor=actor,
            action=ACTION_SUPERVISE,
            note=text,
            payload={
                "order": order.number,
                "level": level,
                "unit": answering.code,
                "due": deadlines.iso(due_at),
            },
            at=now,
        )
        target.save(update_fields=["event_count", "last_event_hash", "updated_at"])
    _tell(
        order,
        _unit_people(order),
        kind=Notification.Kind.ORDER_ISSUED,
        key=f"order:{order.pk}:issued",
        now=now,
    )
    return order


@transaction.atomic
def order_answer(*, actor: User, number: str, text: str) -> SupervisionOrder:
    order = _locked(actor, number)
    if actor.role != Role.HANDLER or actor.unit_id != order.unit_id:
        raise PermissionDenied(_("Only a handler of the unit it is addressed to may answer."))
    if order.status != Status.OPEN:
        raise Conflict(
            _("This order is %(status)s, not awaiting an answer.")
            % {"status": order.get_status_display()},
            code="wrong_status",
        )
    text = _text(text, "text", required=True, limit=TEXT_MAX)
    now = clock.now()
    order.status = Status.ANSWERED
    order.answer = text
    order.answered_by = actor
    order.answered_at = now
    _event(
        order,
        actor=actor,
        action=OrderEvent.Action.ANSWER,
        at=now,
        note=text,
        payload={"on_time": now <= order.due_at},
    )
    order.save()
    _tell(
        order,
        [order.issued_by],
        kind=Notification.Kind.ORDER_ANSWERED,
        key=f"order:{order.pk}:answered:{order.event_count}",
        now=now,
    )
    return order


@transaction.atomic
def order_close(*, actor: User, number: str, note: str = "") -> SupervisionOrder:
    """The supervisor accepts the answer (or withdraws an open order)."""
    order = _locked(actor, number)
    if actor.role != Role.SUPERVISOR:
        raise PermissionDenied(_("Only a supervisor may close supervision orders."))
    if order.status == Status.CLOSED:
        raise Conflict(_("This order is already closed."), code="wrong_status")
    note = _text(note, "note", required=False, limit=NOTE_MAX)
    now = clock.now()
    before = order.status
    order.status = Status.CLOSED
    order.closed_at = now
    _event(
        order,
        actor=actor,
        action=OrderEvent.Action.CLOSE,
        at=now,
        note=note,
        payload={"from": before},
    )
    order.save()
    _tell(
        order,
        _unit_people(order),
        kind=Notification.Kind.ORDER_CLOSED,
        key=f"order:{order.pk}:closed",
        now=now,
    )
    return order


@transaction.atomic
def order_reopen(
    *,
    actor: User,
    number: str,
    note: str,
    due: str | dt.date | dt.datetime | None = None,
    level: str | None = None,
) -> SupervisionOrder:
    """The supervisor sends an answer back: the unit must answer again, by a new deadline if
    given, and the order may be raised to a red card."""
    order = _locked(actor, number)
    if actor.role != Role.SUPERVISOR:
        raise PermissionDenied(_("Only a supervisor may send an answer back."))
    if order.status != Status.ANSWERED:
        raise Conflict(_("Only an answered order can be sent back."), code="wrong_status")
    note = _text(note, "note", required=True, limit=NOTE_MAX)
    if level not in (None, "") and level not in OrderLevel.values:
        raise ValidationFailed.one("level", _("One of: yellow, red."))
    now = clock.now()
    payload: dict[str, object] = {}
    if due not in (None, ""):
        order.due_at = deadlines.parse_due(due, field="due", now=now, max_days=MAX_DAYS_AHEAD)
        order.overdue_at = None
        payload["due"] = deadlines.iso(order.due_at)
    elif order.due_at <= now:
        raise ValidationFailed.one("due", _("The old deadline has passed: give a new one."))
    if level and level != order.level:
        payload["level"] = {"from": order.level, "to": level}
        order.level = level
    order.status = Status.OPEN
    _event(order, actor=actor, action=OrderEvent.Action.REOPEN, at=now, note=note, payload=payload)
    order.save()
    _tell(
        order,
        _unit_people(order),
        kind=Notification.Kind.ORDER_REOPENED,
        key=f"order:{order.pk}:reopened:{order.event_count}",
        now=now,
    )
    return order


def overdue_q(now: dt.datetime) -> Q:
    """Open orders past their deadline (the live overdue state, whatever the sweep did)."""
    return Q(status=Status.OPEN, due_at__lte=now)


def sweep_overdue(*, now: dt.datetime, batch: int = 200) -> int:
    """Mark open orders that passed their deadline: once per deadline, whoever sweeps."""
    marked = 0
    while True:
        with transaction.atomic():
            rows = list(
                SupervisionOrder.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("unit", "issued_by", "appeal")
                .filter(overdue_q(now), overdue_at__isnull=True)
                .order_by("due_at", "id")[:batch]
            )
            for order in rows:
                order.overdue_at = now
                _event(
                    order,
                    actor=None,
                    action=OrderEvent.Action.OVERDUE,
                    at=now,
                    payload={"due": deadlines.iso(order.due_at), "level": order.level},
                )
                order.save(update_fields=["overdue_at", "event_count"])
                # Not mailed from here: the sweep sends all pending e-mails at its end (and
                # counts them), or leaves them pending with --no-mail.
                _tell(
                    order,
                    [*notify.unit_heads(order.unit_id), order.issued_by],
                    kind=Notification.Kind.ORDER_OVERDUE,
                    key=f"order:{order.pk}:overdue:{deadlines.iso(order.due_at)}",
                    now=now,
                    mail=False,
                )
            marked += len(rows)
        if len(rows) < batch:
            return marked


def can_see_appeal(user: User, order: SupervisionOrder) -> bool:
    return order.appeal is None or policy.can_see(user, order.appeal)
