"""Staff pages of the meetings (政企早餐会, 银企对接会, 企业家会见日)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kuaiban.appeals.forms import attach_errors
from kuaiban.appeals.models import Action, Status
from kuaiban.appeals.policy import may as appeal_may
from kuaiban.core.errors import DomainError, NotFound
from kuaiban.core.validation import mask_phone
from kuaiban.enterprise import forms as f
from kuaiban.enterprise import rules, selectors, services
from kuaiban.enterprise.models import Meeting, MeetingKind
from kuaiban.enterprise.services.meetings import starts_at
from kuaiban.org.models import User


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


@login_required
def meetings(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    runs = rules.has(user, rules.RUN_MEETINGS)
    form = f.MeetingForm(request.POST or None, initial={"kind": MeetingKind.BREAKFAST})
    status = 200
    if request.method == "POST":
        if not runs:
            raise DjangoPermissionDenied
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            try:
                meeting = services.meeting_schedule(actor=user, data=services.MeetingInput(**d))
            except DomainError as exc:
                attach_errors(form, exc)
                status = exc.status
            else:
                messages.success(request, _("Scheduled; publish it to open booking."))
                return redirect("enterprise:meeting", pk=meeting.pk)
    kind = request.GET.get("kind", "")
    kind = kind if kind in MeetingKind.values else ""
    return render(
        request,
        "enterprise/meetings.html",
        {
            "meetings": selectors.meetings(user=user, kind=kind)[:200],
            "kind": kind,
            "kinds": MeetingKind.choices,
            "figures": selectors.meeting_figures(kind=kind),
            "form": form if runs else None,
        },
        status=status,
    )


def _meeting(user: User, pk: int) -> Meeting:
    try:
        return selectors.meeting_get(user=user, meeting_id=pk)
    except NotFound:
        raise Http404 from None


def _context(user: User, meeting: Meeting, **overrides: Any) -> dict[str, Any]:
    runs = rules.has(user, rules.RUN_MEETINGS)
    bookings = list(selectors.bookings_of(meeting))
    problems = list(selectors.problems_of(meeting))
    appeals = [p.appeal for p in problems]
    attendees = [(b.enterprise.credit_code, b.enterprise.name) for b in bookings if b.attended]
    choices = [(b.enterprise.credit_code, b.enterprise.name) for b in bookings]
    closed = sum(1 for a in appeals if a.status == Status.CLOSED)
    context: dict[str, Any] = {
        "meeting": meeting,
        "runs": runs,
        "starts_at": starts_at(meeting),
        "bookings": [(b, b.phone if runs else mask_phone(b.phone)) for b in bookings],
        "problems": problems,
        "readable": selectors.readable_numbers(user, appeals),
        "closed": closed,
        "replied": sum(1 for a in appeals if a.reply_text),
        "invite_form": f.InviteForm(prefix="invite"),
        "attendance_form": f.AttendanceForm(
            prefix="attendance",
            bookings=choices,
            initial={"attended": [c for c, _n in attendees]},
        ),
        "problem_form": f.ProblemForm(
            prefix="problem",
            attendees=attendees,
            dispatch=appeal_may(user, Action.DISPATCH),
        ),
    }
    context.update(overrides)
    return context


@login_required
def meeting(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    return render(request, "enterprise/meeting.html", _context(user, _meeting(user, pk)))


@login_required
@require_POST
def meeting_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user = _user(request)
    meeting_obj = _meeting(user, pk)
    if not rules.has(user, rules.RUN_MEETINGS):
        raise DjangoPermissionDenied
    form: forms.Form | None = None
    context_key = ""
    try:
        if action in ("publish", "close", "cancel"):
            call = {
                "publish": services.meeting_publish,
                "close": services.meeting_close,
                "cancel": services.meeting_cancel,
            }[action]
            call(actor=user, meeting_id=meeting_obj.pk)
            done = {
                "publish": _("Published: enterprises can book on the public page."),
                "close": _("Booking closed."),
                "cancel": _("Meeting cancelled."),
            }[action]
        elif action == "invite":
            form, context_key = f.InviteForm(request.POST, prefix="invite"), "invite_form"
            if not form.is_valid():
                raise _Invalid
            booking = services.meeting_invite(
                actor=user, meeting_id=meeting_obj.pk, **form.cleaned_data
            )
            done = _("Invited %(name)s.") % {"name": booking.enterprise.name}
        elif action == "attendance":
            choices = [
                (b.enterprise.credit_code, b.enterprise.name)
                for b in selectors.bookings_of(meeting_obj)
            ]
            form = f.AttendanceForm(request.POST, prefix="attendance", bookings=choices)
            context_key = "attendance_form"
            if not form.is_valid():
                raise _Invalid
            services.attendance_record(
                actor=user,
                meeting_id=meeting_obj.pk,
                attended=form.cleaned_data["attended"],
                walk_ins=f.lines(form.cleaned_data["walk_ins"]),
            )
            done = _("Attendance recorded.")
        elif action == "problem":
            attendees = [
                (b.enterprise.credit_code, b.enterprise.name)
                for b in selectors.bookings_of(meeting_obj).filter(attended=True)
            ]
            form = f.ProblemForm(
                request.POST,
                prefix="problem",
                attendees=attendees,
                dispatch=appeal_may(user, Action.DISPATCH),
            )
            context_key = "problem_form"
            if not form.is_valid():
                raise _Invalid
            d = form.cleaned_data
            appeal = services.meeting_problem(
                actor=user,
                meeting_id=meeting_obj.pk,
                credit_code=d["credit_code"],
                problem=services.ProblemInput(
                    content=d["content"],
                    title=d["title"] or None,
                    kind=d["kind"],
                    unit=d.get("unit") or None,
                ),
            )
            done = _("Registered as %(number)s.") % {"number": appeal.number}
        else:
            raise Http404
    except _Invalid:
        status = 400
    except DomainError as exc:
        status = exc.status
        if form is None:
            messages.error(request, str(exc.message))
            return redirect("enterprise:meeting", pk=meeting_obj.pk)
        attach_errors(form, exc)
    else:
        messages.success(request, done)
        return redirect("enterprise:meeting", pk=meeting_obj.pk)
    meeting_obj = _meeting(user, pk)
    context = _context(user, meeting_obj, **{context_key: form, "failed": action})
    return render(request, "enterprise/meeting.html", context, status=status)


class _Invalid(Exception):
    """The form did not parse; it carries its own errors."""
