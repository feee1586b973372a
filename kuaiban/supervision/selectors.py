"""Role-scoped reads of the supervision domain."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from kuaiban.appeals.models import Appeal, AppealEvent, Status
from kuaiban.appeals.selectors import name_event_units
from kuaiban.appeals.services import MAX_RETURNS
from kuaiban.core.errors import FieldError, NotFound, ValidationFailed
from kuaiban.core.validation import check_id
from kuaiban.org.models import Role, User
from kuaiban.supervision.models import (
    Extension,
    Notification,
    OrderLevel,
    SupervisionOrder,
)
from kuaiban.supervision.services.orders import overdue_q, visible_orders

SEE_ALL = frozenset({Role.SUPERVISOR})
SEE_ALL_BUT_CONFIDENTIAL = frozenset({Role.LEADER, Role.ADMIN})


def visible_extensions(user: User) -> QuerySet[Extension]:
    qs = Extension.objects.select_related("appeal", "unit", "requested_by", "decided_by")
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.role in SEE_ALL:
        return qs
    if user.role in SEE_ALL_BUT_CONFIDENTIAL:
        return qs.exclude(appeal__kind="report")
    if user.role == Role.HANDLER and user.unit_id:
        return qs.filter(unit_id=user.unit_id)
    return qs.none()


def extension_get(*, user: User, extension_id: int) -> Extension:
    extension = visible_extensions(user).filter(pk=extension_id).first()
    if extension is None:
        raise NotFound(_("No such extension request."))
    return extension


def may_arbitrate(user: User) -> bool:
    return user.is_authenticated and user.is_active and user.role == Role.SUPERVISOR


def arbitration_queue() -> QuerySet[Appeal]:
    """Appeals returned twice, waiting for a supervisor's final dispatch."""
    return (
        Appeal.objects.filter(status=Status.RECEIVED, return_count__gte=MAX_RETURNS)
        .select_related("region", "category")
        .order_by("updated_at", "id")
    )


def return_history(appeals: list[Appeal]) -> dict[int, list[AppealEvent]]:
    """Each appeal's return events (reason, and ``unit_name``: the unit that returned it), oldest
    first."""
    out: dict[int, list[AppealEvent]] = {a.pk: [] for a in appeals}
    events = AppealEvent.objects.filter(appeal_id__in=out, action="return").order_by(
        "appeal_id", "seq"
    )
    for event in name_event_units(list(events)):
        out[event.appeal_id].append(event)
    return out


def notifications_for(user: User, *, unread: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(recipient=user).order_by("-id")
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return qs


@dataclass
class OrderFilter:
    status: str = ""
    level: str = ""
    unit: str = ""
    overdue: bool = False

    @classmethod
    def from_params(cls, params: Any) -> OrderFilter:
        errors: list[FieldError] = []

        def one(name: str, allowed: list[str] | None) -> str:
            value = str(params.get(name) or "").strip()
            if value and allowed is not None and value not in allowed:
                errors.append(FieldError(name, _("Unknown value %(value)r.") % {"value": value}))
                return ""
            return value

        result = cls(
            status=one("status", list(SupervisionOrder.Status.values)),
            level=one("level", list(OrderLevel.values)),
            unit=one("unit", None),
            overdue=str(params.get("overdue") or "").lower() in ("1", "true", "yes", "on"),
        )
        if errors:
            raise ValidationFailed(errors)
        return result


def orders(*, user: User, f: OrderFilter, now: dt.datetime) -> QuerySet[SupervisionOrder]:
    qs = visible_orders(user)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.level:
        qs = qs.filter(level=f.level)
    if f.unit:
        qs = qs.filter(unit__code=f.unit)
    if f.overdue:
        qs = qs.filter(overdue_q(now))
    return qs.order_by("-id")


def page_by_id(qs: QuerySet[Any], *, cursor: str | None, size: int) -> tuple[list[Any], str | None]:
    """Keyset pagination on descending ids (the cursor is the last id seen)."""
    if cursor:
        try:
            last = check_id(int(cursor), "cursor")
        except (ValueError, ValidationFailed):
            raise ValidationFailed.one("cursor", _("Not a cursor this server issued.")) from None
        qs = qs.filter(pk__lt=last)
    rows = list(qs[: size + 1])
    next_cursor = str(rows[size - 1].pk) if len(rows) > size else None
    return rows[:size], next_cursor
