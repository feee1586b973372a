"""The return-visit desk (visitors and supervisors) and the public self-rating page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from kuaiban.appeals import policy
from kuaiban.appeals import services as appeals
from kuaiban.appeals.forms import attach_errors
from kuaiban.appeals.models import Appeal, Status
from kuaiban.core import clock
from kuaiban.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from kuaiban.core.validation import mask_phone
from kuaiban.org.models import User
from kuaiban.visits import services
from kuaiban.visits.forms import CallForm, SelfRatingForm, yes_no
from kuaiban.visits.models import DeskSettings

QUEUE_SIZE = 100


def _desk_user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    try:
        services.ensure_desk(user)
    except PermissionDenied:
        raise DjangoPermissionDenied from None
    return user


@login_required
def desk(request: HttpRequest) -> HttpResponse:
    user = _desk_user(request)
    queue = services.desk_queue(user=user)
    return render(
        request,
        "visits/desk.html",
        {
            "rows": list(queue[:QUEUE_SIZE]),
            "total": queue.count(),
            "waiting": services.desk_waiting(user=user).count(),
            "wait_hours": DeskSettings.current().self_rating_wait_hours,
            "now": clock.now(),
        },
    )


def _call_context(user: User, appeal: Appeal, form: CallForm) -> dict[str, object]:
    full = policy.sees_full_numbers(user, appeal)
    return {
        "appeal": appeal,
        # Outside the visit queue (not replied yet, or visited) a visitor reads it masked.
        "full_numbers": full,
        "phone": appeal.submitter_phone if full else mask_phone(appeal.submitter_phone),
        "form": form,
        "attempts": appeal.visits.order_by("at"),
        "now": clock.now(),
    }


@login_required
def call(request: HttpRequest, number: str) -> HttpResponse:
    user = _desk_user(request)
    try:
        appeal = services.desk_appeal(user=user, number=number)
    except NotFound:
        raise Http404 from None
    form = CallForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            try:
                after = services.visit_record(
                    actor=user,
                    number=number,
                    data=appeals.VisitInput(
                        reached=d["reached"] == "yes",
                        resolved=yes_no(d["resolved"]),
                        satisfaction=d["satisfaction"] or None,
                        authentic=yes_no(d["authentic"]),
                        note=d["note"],
                    ),
                )
            except DomainError as exc:
                attach_errors(form, exc)
                status = exc.status
            else:
                if after.status == Status.REPLIED:
                    text = _("%(number)s: not reached, attempt noted.")
                elif after.status == Status.VISITED:
                    text = _("%(number)s: visit recorded.")
                else:
                    text = _("%(number)s: sent back to the unit for rework.")
                messages.success(request, text % {"number": number})
                return redirect("visits:desk")
        appeal.refresh_from_db()
    return render(request, "visits/call.html", _call_context(user, appeal, form), status=status)


@login_required
@require_POST
def link(request: HttpRequest, number: str) -> HttpResponse:
    user = _desk_user(request)
    try:
        _link, token = services.self_rating_link_create(actor=user, number=number)
    except NotFound:
        raise Http404 from None
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("visits:call", number=number)
    url = request.build_absolute_uri(services.rating_path(token))
    messages.success(
        request,
        _("Self-rating link for %(number)s (valid for 7 days, one use): %(url)s")
        % {"number": number, "url": url},
    )
    return redirect("visits:call", number=number)


@never_cache
def rate(request: HttpRequest, token: str) -> HttpResponse:
    """Public: the submitter rates on a phone. No login; the signed token is the key."""
    try:
        link_obj = services.self_rating_open(token)
    except NotFound:
        return render(
            request, "visits/rate.html", {"closed": _("This rating link is not valid.")}, status=404
        )
    except Conflict as exc:
        return render(request, "visits/rate.html", {"closed": exc.message}, status=410)
    form = SelfRatingForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.self_rating_submit(
                    token=token,
                    resolved=yes_no(d["resolved"]),
                    satisfaction=d["satisfaction"],
                    contacted=yes_no(d["contacted"]),
                    note=d["note"],
                )
            except Conflict as exc:
                return render(request, "visits/rate.html", {"closed": exc.message}, status=410)
            except DomainError as exc:
                attach_errors(form, exc)
                status = exc.status
            else:
                return render(request, "visits/rate.html", {"thanks": True})
    return render(
        request, "visits/rate.html", {"form": form, "appeal": link_obj.appeal}, status=status
    )
