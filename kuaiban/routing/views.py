"""Routing pages and htmx partials. Thin: parse, call one service or selector, render."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kuaiban.appeals import forms as appeal_forms
from kuaiban.appeals import policy
from kuaiban.appeals import services as appeals
from kuaiban.appeals.models import ALLOWED_TRANSITIONS, Action, Appeal
from kuaiban.appeals.selectors import appeal_get
from kuaiban.core.errors import DomainError, NotFound, ValidationFailed
from kuaiban.org.models import Region, User
from kuaiban.routing import forms as f
from kuaiban.routing import selectors, services, training
from kuaiban.routing.classifier import appeal_text
from kuaiban.routing.schemas import is_confident

log = logging.getLogger(__name__)


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _suggestions(
    text: str, *, category: str | None = None, region_id: int | None = None
) -> dict[str, Any]:
    """Suggestions for a partial: never an error page for the person typing."""
    if not text.strip():
        return {"categories": [], "units": []}
    try:
        return services.suggest(text, category=category, region_id=region_id)
    except DomainError:
        return {"categories": [], "units": []}


def _category_name(code: str | None) -> str | None:
    try:
        return selectors.top_category_of(code)
    except DomainError:  # a half-typed or unknown code: suggest without it
        return None


def _may_register(user: User) -> bool:
    return policy.may(user, Action.REGISTER)


@login_required
def intake_panel(request: HttpRequest) -> HttpResponse:
    """The intake form's panel (htmx, as the operator types): suggested categories and units,
    and similar appeals of the last 90 days."""
    user = _user(request)
    if not _may_register(user):
        raise DjangoPermissionDenied
    form = f.TextForm(request.POST if request.method == "POST" else request.GET)
    form.is_valid()
    d = form.cleaned_data
    text = appeal_text(d.get("title"), d.get("content"))
    region_id = (
        Region.objects.filter(code=d["region"]).values_list("pk", flat=True).first()
        if d.get("region")
        else None
    )
    similar = (
        selectors.similar_appeals(user=user, text=text, region_id=region_id) if text.strip() else []
    )
    codes = selectors.category_codes()
    found = _suggestions(text, category=_category_name(d.get("category")), region_id=region_id)
    threshold = selectors.current_settings().suggest_threshold
    return render(
        request,
        "routing/_intake_panel.html",
        {
            "typed": bool(text.strip()),
            "categories": [(name, codes.get(name), p) for name, p in found["categories"]],
            "units": found["units"],
            "category_sure": is_confident(found["categories"], threshold),
            "unit_sure": is_confident(found["units"], threshold),
            "similar": similar,
        },
    )


def _join_instead(
    request: HttpRequest, user: User, form: appeal_forms.RegisterForm, into: str
) -> HttpResponse:
    """ "Add the caller to this appeal": a repeated call about an open appeal of someone else's
    registers nothing; the caller joins it as a supporter and hears its steps by SMS."""
    phone = (request.POST.get("submitter_phone") or "").strip()
    try:
        appeal_get(user=user, number=into)
        if not phone:
            raise ValidationFailed.one("submitter_phone", _("Enter the caller's phone first."))
        appeals.appeal_support(number=into, phone=phone)
    except DomainError as exc:
        form.is_valid()
        appeal_forms.attach_errors(form, exc)
        return render(request, "appeals/register.html", {"form": form}, status=exc.status)
    messages.success(
        request, _("The caller was added to %(number)s as a supporter.") % {"number": into}
    )
    return redirect("appeals:detail", number=into)


@login_required
def register_and(request: HttpRequest) -> HttpResponse:
    """The intake form's "register and dispatch to …" / "register and merge into …" buttons:
    both steps in one transaction, so a refused second step registers nothing."""
    user = _user(request)
    if not _may_register(user):
        raise DjangoPermissionDenied
    if request.method != "POST":
        return redirect("appeals:register")
    form = appeal_forms.RegisterForm(request.POST, request.FILES)
    into = (request.POST.get("routing_merge") or "").strip()
    if into and request.POST.get("go") == "support":
        return _join_instead(request, user, form, into)
    unit = ""
    if not into and request.POST.get("go") == "dispatch":
        unit = (request.POST.get("routing_dispatch") or "").strip()
        if not unit:
            form.add_error(None, _("Choose the unit to dispatch to."))
    status = 400
    if not form.errors and form.is_valid():
        try:
            with transaction.atomic():
                appeal = appeals.appeal_register(actor=user, data=form.appeal_input())
                number = appeal.number or ""
                if unit:
                    appeals.appeal_dispatch(actor=user, number=number, unit=unit)
                elif into:
                    appeals.appeal_merge(actor=user, number=number, into=into)
        except DomainError as exc:
            appeal_forms.attach_errors(form, exc)
            status = exc.status
        else:
            if unit:
                text = _("Registered as %(number)s and dispatched.") % {"number": number}
            elif into:
                text = _("Registered as %(number)s and merged into %(into)s.") % {
                    "number": number,
                    "into": into,
                }
            else:
                text = _("Registered as %(number)s.") % {"number": number}
            messages.success(request, text)
            target = into or number
            try:
                appeal_get(user=user, number=target)
            except NotFound:
                return redirect("appeals:register")
            return redirect("appeals:detail", number=target)
    return render(request, "appeals/register.html", {"form": form}, status=status)


def _mergeable(user: User, appeal: Appeal) -> bool:
    return appeal.status in ALLOWED_TRANSITIONS[Action.MERGE] and policy.may(
        user, Action.MERGE, appeal
    )


@login_required
def appeal_panel(request: HttpRequest, number: str) -> HttpResponse:
    """The appeal page's panel (htmx): suggested lead units while it waits for dispatch, and
    similar appeals with a one-click merge."""
    user = _user(request)
    try:
        appeal = appeal_get(user=user, number=number)
    except NotFound:
        raise Http404 from None
    text = appeal_text(appeal.title, appeal.content)
    dispatchable = appeal.status in ALLOWED_TRANSITIONS[Action.DISPATCH] and policy.may(
        user, Action.DISPATCH, appeal
    )
    category = training.top_category_names().get(appeal.category_id) if appeal.category_id else None
    units = (
        _suggestions(text, category=category, region_id=appeal.region_id)["units"]
        if dispatchable
        else []
    )
    return render(
        request,
        "routing/_appeal_panel.html",
        {
            "appeal": appeal,
            "units": units,
            "unit_sure": is_confident(units, selectors.current_settings().suggest_threshold),
            "similar": selectors.similar_to_appeal(user=user, appeal=appeal),
            "mergeable": _mergeable(user, appeal),
        },
    )


@login_required
@require_POST
def merge(request: HttpRequest, number: str) -> HttpResponse:
    """One click on the similar list: merge this appeal into an open one."""
    user = _user(request)
    try:
        appeal_get(user=user, number=number)
    except NotFound:
        raise Http404 from None
    form = f.MergeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the appeal to merge into."))
        return redirect("appeals:detail", number=number)
    into = form.cleaned_data["into"]
    try:
        appeals.appeal_merge(actor=user, number=number, into=into)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("appeals:detail", number=number)
    messages.success(
        request, _("%(number)s merged into %(into)s.") % {"number": number, "into": into}
    )
    return redirect("appeals:detail", number=number)


def _period(request: HttpRequest, default_days: int) -> tuple[f.PeriodForm, Any, str]:
    form = f.PeriodForm(request.GET)
    error = ""
    period = None
    if form.is_valid():
        try:
            period = selectors.period_from(
                form.cleaned_data["date_from"],
                form.cleaned_data["date_to"],
                default_days=default_days,
            )
        except DomainError as exc:
            error = str(exc.message)
    else:
        error = _("Use dates like 2026-11-23.")
    if period is None:
        period = selectors.period_from(None, None, default_days=default_days)
    return form, period, error


@login_required
def hot(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    try:
        selectors.hot_scope(user)
    except DomainError:
        raise DjangoPermissionDenied from None
    form, period, error = _period(request, 7)
    report = None
    if not error:
        try:
            report = selectors.hot_issues(user=user, period=period)
        except DomainError as exc:
            error = str(exc.message)
    return render(
        request,
        "routing/hot.html",
        {"form": form, "period": period, "report": report, "error": error},
        status=400 if error else 200,
    )


@login_required
def overrides(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form, period, error = _period(request, 30)
    try:
        report = selectors.override_counts(user=user, period=period)
    except DomainError:
        raise DjangoPermissionDenied from None
    return render(
        request,
        "routing/overrides.html",
        {
            "form": form,
            "period": period,
            "report": report,
            "error": error,
            "config": selectors.current_settings(),
            "versions": services.active_versions(),
            "accuracy": selectors.suggestion_accuracy(user=user, period=period),
        },
        status=400 if error else 200,
    )
