"""Template pieces the appeal page borrows from supervision: the appeal's extensions and orders
with the forms the viewer may use, and labels for the events this domain writes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone

from kuaiban.appeals.models import Appeal, Status
from kuaiban.deadlines import services as deadlines
from kuaiban.org.models import Role, User
from kuaiban.supervision.forms import ExtensionRequestForm, OrderIssueForm
from kuaiban.supervision.models import Extension, OrderLevel
from kuaiban.supervision.services.notifications import stage_label
from kuaiban.supervision.services.orders import visible_orders

register = template.Library()


@register.inclusion_tag("supervision/_appeal_panel.html", takes_context=True)
def appeal_supervision(context: dict[str, Any], appeal: Appeal) -> dict[str, Any]:
    user = context.get("user")
    if not isinstance(user, User) or not appeal.pk:
        return {"show": False}
    extensions = list(
        Extension.objects.filter(appeal=appeal).select_related("requested_by", "decided_by")
    )
    pending = any(e.status == Extension.Status.PENDING for e in extensions)
    may_request = (
        user.role == Role.HANDLER
        and user.unit_id is not None
        and user.unit_id == appeal.lead_unit_id
        and appeal.status == Status.IN_PROGRESS
        and not pending
        and appeal.extension_count < deadlines.work_settings().max_extensions
    )
    may_issue = user.role == Role.SUPERVISOR and appeal.is_open
    orders = list(visible_orders(user).filter(appeal=appeal))
    return {
        "show": bool(extensions or orders or may_request or may_issue),
        "appeal": appeal,
        "extensions": extensions,
        "orders": orders,
        "request_form": ExtensionRequestForm(prefix="ext") if may_request else None,
        "issue_form": OrderIssueForm(prefix="order", initial={"appeal": appeal.number})
        if may_issue
        else None,
        "is_supervisor": user.role == Role.SUPERVISOR,
        "csrf_token": context.get("csrf_token"),
    }


@register.filter(name="stage_label")
def stage_label_filter(stage: str) -> str:
    """claim / reply / visit in the reader's language."""
    return stage_label(stage)


@register.filter
def level_label(level: str) -> str:
    """yellow / red as the reader's "yellow card" / "red card"."""
    try:
        return str(OrderLevel(level).label)
    except ValueError:
        return str(level)


@register.filter
def iso_local(value: str) -> str:
    """An ISO 8601 time from an event payload, as 2026-12-16 17:30 in local time."""
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if timezone.is_naive(moment):
        return f"{moment:%Y-%m-%d}"
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"
