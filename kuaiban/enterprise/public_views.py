"""Public pages under /meetings/ (no login): book a meeting, read the policies and answers for
an enterprise's industry."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from kuaiban.appeals.forms import attach_errors
from kuaiban.core.errors import DomainError, NotFound
from kuaiban.enterprise import forms as f
from kuaiban.enterprise import industries, selectors, services
from kuaiban.enterprise.services.meetings import starts_at


@never_cache
def meeting_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "enterprise/public/meetings.html", {"meetings": selectors.open_meetings()}
    )


@never_cache
def book(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        meeting = selectors.public_meeting(pk)
    except NotFound:
        raise Http404 from None
    form = f.BookingForm(request.POST or None)
    context: dict[str, Any] = {"meeting": meeting, "form": form, "starts_at": starts_at(meeting)}
    status = 200
    refusal = services.booking_refusal(meeting)
    if request.method != "POST" and refusal is not None:
        # Closed or full: say so instead of a form that can only be refused.
        context["form"] = None
        context["unavailable"] = refusal.message
    elif request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                booking = services.booking_create(meeting_id=meeting.pk, **form.cleaned_data)
            except DomainError as exc:
                attach_errors(form, exc)
                status = exc.status
                if exc.code in ("closed", "full"):
                    context["form"] = None
                    context["unavailable"] = exc.message
            else:
                context["booking"] = booking
                context["form"] = None
                # Read again: the places taken now include this booking.
                context["meeting"] = selectors.public_meeting(pk)
                status = 201
    return render(request, "enterprise/public/book.html", context, status=status)


@never_cache
def policies(request: HttpRequest) -> HttpResponse:
    """Policies for an industry; with credit code and a registered contact phone, also the
    answers pushed to that enterprise (its notice box, marked read on opening)."""
    form = f.ContactCheckForm(request.POST or None)
    context: dict[str, Any] = {"form": form, "industries": industries.rows()}
    status = 200
    industry = industries.row(request.GET.get("industry", "")[:1])
    if request.method == "POST":
        if form.is_valid():
            try:
                enterprise = services.enterprise_for_contact(**form.cleaned_data)
            except DomainError as exc:
                attach_errors(form, exc)
                status = exc.status
            else:
                industry = enterprise.industry
                context["enterprise"] = enterprise
                context["notices"] = list(selectors.notices_of(enterprise)[:50])
                services.notices_read(enterprise=enterprise)
        else:
            status = 400
    context["industry"] = industry
    context["policies"] = selectors.policies_for(industry)
    return render(request, "enterprise/public/policies.html", context, status=status)
