"""Pages of the monthly themes: the public list and each theme's public page (no login, no
appeal content), the staff desk and each theme's staff page. Thin: parse, call, render."""

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
from kuaiban.core.errors import DomainError
from kuaiban.org.models import User
from kuaiban.themes import charts, rules, selectors, services
from kuaiban.themes.forms import CloseForm, ReportForm, ReviewForm, ThemeForm
from kuaiban.themes.models import Theme


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _theme_context(theme: Theme) -> dict[str, Any]:
    fig = selectors.figures(theme)
    return {"theme": theme, "fig": fig, "chart": charts.volume_chart(fig)}


# ----- public -------------------------------------------------------------------------------------


def public_list(request: HttpRequest) -> HttpResponse:
    """每月一题: every theme, its lead unit, target and result; no login."""
    return render(request, "themes/public_list.html", {"rows": selectors.public_themes()})


def public_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        theme = selectors.public_theme(pk)
    except DomainError:
        raise Http404 from None
    context = _theme_context(theme)
    context["reports"] = selectors.reports(theme, public=True)
    return render(request, "themes/public_detail.html", context)


# ----- staff --------------------------------------------------------------------------------------


def _prefill(request: HttpRequest) -> dict[str, Any]:
    """The hot-issue page's "make it a theme" link: its label and period."""
    label = (request.GET.get("hot") or "")[: services.TITLE_MAX]
    if not label:
        return {}
    return {
        "hot_label": label,
        "title": label,
        "hot_from": request.GET.get("from") or None,
        "hot_to": request.GET.get("to") or None,
        "months": 3,
        "target_pct": 50,
    }


@login_required
def desk(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if selectors.readable_q(user) is None:
        raise DjangoPermissionDenied
    manages = rules.manages(user)
    form = ThemeForm(request.POST or None, initial=_prefill(request))
    status = 200
    if request.method == "POST":
        if not manages:
            raise DjangoPermissionDenied
        status = 400
        if form.is_valid():
            try:
                theme = services.theme_create(actor=user, data=form.theme_input())
            except DomainError as exc:
                attach_errors(form, exc)
                status = exc.status
            else:
                messages.success(request, _("Theme set: %(title)s.") % {"title": theme.title})
                return redirect("themes:detail", pk=theme.pk)
    rows = [(t, selectors.figures(t)) for t in selectors.themes_for(user)]
    return render(
        request,
        "themes/desk.html",
        {"rows": rows, "form": form if manages else None},
        status=status,
    )


def _detail_context(user: User, theme: Theme, **forms_: Any) -> dict[str, Any]:
    links, hidden = selectors.links_for(user=user, theme=theme)
    context = _theme_context(theme)
    context.update(
        {
            "links": links,
            "hidden": hidden,
            "reports": selectors.reports(theme),
            "may_review": selectors.may_review(user, theme),
            "may_report": theme.status == Theme.Status.OPEN
            and rules.leads(user, theme.lead_unit_id),
            "may_close": theme.status == Theme.Status.OPEN and rules.manages(user),
            "report_form": forms_.get("report_form") or ReportForm(prefix="report"),
            "close_form": forms_.get("close_form") or CloseForm(prefix="close"),
            "co_units": list(theme.co_units.order_by("code")),
        }
    )
    return context


def _get(user: User, pk: int) -> Theme:
    try:
        return selectors.theme_get(user=user, theme_id=pk)
    except DomainError:
        raise Http404 from None


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    return render(request, "themes/detail.html", _detail_context(user, _get(user, pk)))


# action → (its form, its prefix, the detail context's key for it; None: the review buttons)
ACTIONS: dict[str, tuple[type[forms.Form], str | None, str | None]] = {
    "report": (ReportForm, "report", "report_form"),
    "close": (CloseForm, "close", "close_form"),
    "review": (ReviewForm, None, None),
}


def _run(user: User, theme: Theme, action: str, d: dict[str, Any]) -> str:
    """Call the action's one service; the success message."""
    if action == "report":
        services.report_add(actor=user, theme_id=theme.pk, text=d["text"], on=d["on"])
        return _("Progress reported.")
    if action == "close":
        services.theme_close(actor=user, theme_id=theme.pk, measure=d["measure"])
        return _("Theme closed.")
    services.link_review(actor=user, theme_id=theme.pk, number=d["number"], decision=d["decision"])
    return _("Link reviewed.")


@login_required
@require_POST
def act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user = _user(request)
    theme = _get(user, pk)
    if action not in ACTIONS:
        raise Http404
    form_class, prefix, key = ACTIONS[action]
    form = form_class(request.POST, prefix=prefix)
    status = 400
    if form.is_valid():
        try:
            done = _run(user, theme, action, form.cleaned_data)
        except DomainError as exc:
            if exc.status == 403:
                raise DjangoPermissionDenied from None
            if exc.status == 404:
                raise Http404 from None
            attach_errors(form, exc)
            status = exc.status
        else:
            messages.success(request, done)
            return redirect("themes:detail", pk=pk)
    if key is None:
        errors = [str(e) for errs in form.errors.values() for e in errs]
        messages.error(request, errors[0] if errors else _("Choose confirm or reject."))
        return redirect("themes:detail", pk=pk)
    context = _detail_context(user, _get(user, pk), **{key: form})
    return render(request, "themes/detail.html", context, status=status)
