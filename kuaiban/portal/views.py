"""Public pages: home redirect and appeal tracking (no personal data is ever shown here)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from kuaiban.appeals import selectors
from kuaiban.appeals.models import Appeal
from kuaiban.core.errors import DomainError
from kuaiban.org.models import Role, User


def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        return redirect("track")
    if user.role == Role.HANDLER:
        return redirect("appeals:inbox")
    if user.role == Role.OPERATOR:
        return redirect("appeals:register")
    return redirect("appeals:ledger")


def public_timeline(appeal: Appeal) -> list[dict[str, object]]:
    """What the public may see of an appeal's history: when, which step, and replies."""
    rows: list[dict[str, object]] = []
    for event in appeal.events.order_by("seq"):
        if event.action not in selectors.PUBLIC_ACTIONS:
            continue
        rows.append(
            {
                "at": event.at,
                "action": event.action,
                "to_status": event.to_status,
                # Only the unit's reply text is public; internal notes and names are not.
                "text": event.note if event.action in ("reply", "answer") else "",
            }
        )
    return rows


@never_cache
def track(request: HttpRequest) -> HttpResponse:
    number = request.GET.get("number", "").strip()
    last4 = request.GET.get("phone_last4", "").strip()
    context: dict[str, object] = {"number": number, "phone_last4": last4}
    status = 200
    if number or last4:
        try:
            appeal = selectors.track(number=number, phone_last4=last4)
        except DomainError as exc:
            context["error"] = exc.message
            context["error_field"] = exc.errors[0].field if exc.errors else ""
            status = exc.status
        else:
            master = appeal.merged_into
            context.update(
                appeal=appeal,
                timeline=public_timeline(appeal),
                master=master,
                master_timeline=public_timeline(master) if master else [],
            )
    return render(request, "portal/track.html", context, status=status)
