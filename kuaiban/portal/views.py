"""Public pages: home redirect and appeal tracking (no personal data is ever shown here)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from kuaiban.appeals import selectors
from kuaiban.appeals.models import Appeal
from kuaiban.core import throttle
from kuaiban.core.errors import DomainError
from kuaiban.core.masking import mask_text
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


def _known(appeal: Appeal) -> list[str]:
    return [appeal.submitter_name, appeal.submitter_phone, appeal.submitter_id_number]


def public_timeline(appeal: Appeal, known: list[str] | None = None) -> list[dict[str, object]]:
    """What the public may see of an appeal's history: when, which step, and replies (with
    phone and ID numbers masked). A confidential report shows none of it."""
    if appeal.is_confidential:
        return []
    known = _known(appeal) if known is None else known
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
                "text": mask_text(event.note, known) if event.action in ("reply", "answer") else "",
            }
        )
    return rows


def client_address(request: HttpRequest) -> str:
    """The address wrong guesses are counted against (behind a proxy: the proxy's, unless it
    rewrites REMOTE_ADDR, as Granian and most reverse proxies can be told to)."""
    return str(request.META.get("REMOTE_ADDR") or "unknown")


@never_cache
def track(request: HttpRequest) -> HttpResponse:
    number = request.GET.get("number", "").strip()
    # "code" is the receipt's access code, or the last four digits of the phone; the older
    # "phone_last4" parameter is still read.
    key = request.GET.get("code", "").strip() or request.GET.get("phone_last4", "").strip()
    context: dict[str, object] = {"number": number, "code": key}
    status = 200
    retry_after: int | None = None
    if number or key:
        try:
            appeal = selectors.track(number=number, key=key, client=client_address(request))
        except throttle.Throttled as exc:
            context["error"] = exc.message
            context["throttled"] = True
            status, retry_after = exc.status, exc.retry_after
        except DomainError as exc:
            context["error"] = exc.message
            context["error_field"] = exc.errors[0].field if exc.errors else ""
            status = exc.status
        else:
            master = appeal.merged_into
            known = _known(appeal)
            context.update(
                appeal=appeal,
                # A confidential report (举报) shows its status only: no title, unit or text.
                status_only=appeal.is_confidential,
                title=mask_text(appeal.title, known),
                timeline=public_timeline(appeal, known),
                master=master,
                master_status_only=bool(master and master.is_confidential),
                master_timeline=public_timeline(master) if master else [],
            )
    response = render(request, "portal/track.html", context, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response
