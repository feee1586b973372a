"""Staff pages of the meetings (政企早餐会, 银企对接会, 企业家会见日)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
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


# Actions without a form: the meeting moves to its next state.
STATE_CHANGES = {
    "publish": (
        services.meeting_publish,
        gettext_lazy("Published: enterprises can book on the public page."),
    ),
    "close": (services.meeting_close, gettext_lazy("Booking closed.")),
    "cancel": (services.meeting_cancel, gettext_lazy("Meeting cancelled.")),
}


@login_required
@require_POST
def meeting_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user = _user(request)
    meeting_obj = _meeting(user, pk)
    if not rules.has(user, rules.RUN_MEETINGS):
        raise DjangoPermissionDenied
    if action in STATE_CHANGES:
        call, done = STATE_CHANGES[action]
        try:
            call(actor=user, meeting_id=meeting_obj.pk)
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, str(done))
        return redirect("enterprise:meeting", pk=meeting_obj.pk)
    form = _bound_form(user, meeting_obj, action, request.POST)
    status = 400
    if form.is_valid():
        try:
            message = _submit(user, meeting_obj, action, form.cleaned_data)
        except DomainError as exc:
            attach_errors(form, exc)
            status = exc.status
        else:
            messages.success(request, message)
            return redirect("enterprise:meeting", pk=meeting_obj.pk)
    meeting_obj = _meeting(user, pk)
    context = _context(user, meeting_obj, **{f"{action}_form": form, "failed": action})
    return render(request, "enterprise/meeting.html", context, status=status)


def _bound_form(user: User, meeting_obj: Meeting, action: str, data: QueryDict) -> forms.Form:
    """The posted form of one of the meeting page's forms (invite, attendance, problem)."""
    if action == "invite":
        return f.InviteForm(data, prefix="invite")
    if action == "attendance":
        choices = [
            (b.enterprise.credit_code, b.enterprise.name)
            for b in selectors.bookings_of(meeting_obj)
        ]
        return f.AttendanceForm(data, prefix="attendance", bookings=choices)
    if action == "problem":
        attendees = [
            (b.enterprise.credit_code, b.enterprise.name)
            for b in selectors.bookings_of(meeting_obj).filter(attended=True)
        ]
        return f.ProblemForm(
            data, prefix="problem", attendees=attendees, dispatch=appeal_may(user, Action.DISPATCH)
        )
    raise Http404


def _submit(user: User, meeting_obj: Meeting, action: str, d: dict[str, Any]) -> str:
    """Call the service of a valid form; the message saying what was done."""
    if action == "invite":
        booking = services.meeting_invite(actor=user, meeting_id=meeting_obj.pk, **d)
        return _("Invited %(name)s.") % {"name": booking.enterprise.name}
    if action == "attendance":
        services.attendance_record(
            actor=user,
            meeting_id=meeting_obj.pk,
            attended=d["attended"],
            walk_ins=f.lines(d["walk_ins"]),
        )
        return _("Attendance recorded.")
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
    return _("Registered as %(number)s.") % {"number": appeal.number}
