"""Supervision pages. Thin: parse the form, call one service or selector, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kuaiban.appeals import selectors as appeal_selectors
from kuaiban.appeals import services as appeal_services
from kuaiban.appeals.forms import FormAction, attach_errors, form_action
from kuaiban.core import clock
from kuaiban.core.errors import DomainError, NotFound
from kuaiban.deadlines import services as deadlines
from kuaiban.org.models import Role, User
from kuaiban.supervision import bulletin, forms, selectors
from kuaiban.supervision.models import Extension, OrderLevel, SupervisionOrder
from kuaiban.supervision.services import extensions, orders
from kuaiban.supervision.services import notifications as notify

ORDER_ROLES = frozenset({Role.SUPERVISOR, Role.LEADER, Role.ADMIN, Role.HANDLER})
BULLETIN_ROLES = frozenset({Role.SUPERVISOR, Role.LEADER, Role.ADMIN})


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _tabs(user: User) -> list[tuple[str, str]]:
    tabs = []
    if user.role in ORDER_ROLES:
        tabs += [("supervision:orders", _("Supervision orders"))]
        tabs += [("supervision:extensions", _("Extensions"))]
    if user.role == Role.SUPERVISOR:
        tabs += [("supervision:arbitration", _("Arbitration"))]
    if user.role in BULLETIN_ROLES:
        tabs += [("supervision:bulletin", _("Bulletin"))]
    return tabs


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    context.setdefault("tabs", _tabs(_user(request)))
    return render(request, template, context, status=status)


# ----- supervision orders -----------------------------------------------------------------------


def _form_messages(form: Form) -> list[str]:
    """A form's errors as flash messages, each naming its field (the form is not re-shown)."""
    out: list[str] = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        for error in errors:
            if field is not None and field.label:
                out.append(_("%(field)s: %(error)s") % {"field": field.label, "error": error})
            else:
                out.append(str(error))
    return out


@login_required
def order_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if user.role not in ORDER_ROLES:
        raise DjangoPermissionDenied
    now = clock.now()
    error = ""
    try:
        flt = selectors.OrderFilter.from_params(request.GET)
    except DomainError as exc:
        flt, error = selectors.OrderFilter(), str(exc.message)
    rows: list[SupervisionOrder] = []
    next_cursor = None
    try:
        rows, next_cursor = selectors.page_by_id(
            selectors.orders(user=user, f=flt, now=now),
            cursor=request.GET.get("cursor"),
            size=50,
        )
    except DomainError as exc:
        error = str(exc.message)
    form = None
    status = 400 if error else 200
    if user.role == Role.SUPERVISOR:
        form = forms.OrderIssueForm(request.POST or None, prefix="order")
        if request.method == "POST":
            order = _issue(request, form)
            if order is not None:
                return redirect("supervision:order", number=order.number)
            status = getattr(form, "status", 400)
    elif request.method == "POST":
        raise DjangoPermissionDenied
    params = request.GET.copy()
    params.pop("cursor", None)
    return _render(
        request,
        "supervision/orders.html",
        {
            "rows": rows,
            "next_cursor": next_cursor,
            "query": params.urlencode(),
            "flt": flt,
            "error": error,
            "now": now,
            "form": form,
            "statuses": SupervisionOrder.Status.choices,
            "levels": OrderLevel.choices,
        },
        status=status,
    )


def _issue(request: HttpRequest, form: forms.OrderIssueForm) -> SupervisionOrder | None:
    if not form.is_valid():
        return None
    d = form.cleaned_data
    try:
        order = orders.order_issue(
            actor=_user(request),
            appeal=d["appeal"] or None,
            unit=d["unit"] or None,
            level=d["level"],
            text=d["text"],
            due=d["due"],
        )
    except DomainError as exc:
        attach_errors(form, exc)
        form.status = exc.status  # type: ignore[attr-defined]
        return None
    messages.success(request, _("Supervision order %(number)s issued.") % {"number": order.number})
    return order


@login_required
@require_POST
def order_issue_for_appeal(request: HttpRequest, number: str) -> HttpResponse:
    """The issue form on an appeal's page."""
    user = _user(request)
    if user.role != Role.SUPERVISOR:
        raise DjangoPermissionDenied
    form = forms.OrderIssueForm(request.POST, prefix="order")
    order = _issue(request, form)
    if order is not None:
        return redirect("supervision:order", number=order.number)
    for field, errs in form.errors.items():
        for err in errs:
            messages.error(
                request, f"{form.fields[field].label if field in form.fields else ''} {err}"
            )
    return redirect("appeals:detail", number=number)


@login_required
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    user = _user(request)
    try:
        order = orders.order_get(user=user, number=number)
    except NotFound:
        raise Http404 from None
    return _render(request, "supervision/order.html", _order_context(user, order))


def _order_context(user: User, order: SupervisionOrder) -> dict[str, Any]:
    now = clock.now()
    is_open = order.status == SupervisionOrder.Status.OPEN
    context: dict[str, Any] = {
        "order": order,
        "events": order.events.order_by("seq"),
        "overdue": is_open and order.due_at <= now,
        "appeal_visible": orders.can_see_appeal(user, order),
        "forms": {},
    }
    if user.role == Role.HANDLER and user.unit_id == order.unit_id and is_open:
        context["forms"]["answer"] = forms.OrderAnswerForm(prefix="answer")
    if user.role == Role.SUPERVISOR:
        if order.status == SupervisionOrder.Status.ANSWERED:
            context["forms"]["reopen"] = forms.OrderReopenForm(prefix="reopen")
        if order.status != SupervisionOrder.Status.CLOSED:
            context["forms"]["close"] = forms.OrderCloseForm(prefix="close")
    return context


ORDER_ACTIONS: dict[str, FormAction[object]] = {
    "answer": (
        forms.OrderAnswerForm,
        lambda u, n, d: orders.order_answer(actor=u, number=n, text=d["text"]),
    ),
    "close": (
        forms.OrderCloseForm,
        lambda u, n, d: orders.order_close(actor=u, number=n, note=d["note"]),
    ),
    "reopen": (
        forms.OrderReopenForm,
        lambda u, n, d: orders.order_reopen(
            actor=u, number=n, note=d["note"], due=d["due"] or None, level=d["level"] or None
        ),
    ),
}


@login_required
@require_POST
def order_act(request: HttpRequest, number: str, action: str) -> HttpResponse:
    user = _user(request)
    try:
        order = orders.order_get(user=user, number=number)
    except NotFound:
        raise Http404 from None
    outcome = form_action(ORDER_ACTIONS, action, user=user, number=number, data=request.POST)
    if outcome.done:
        messages.success(request, _("Saved."))
        return redirect("supervision:order", number=number)
    order.refresh_from_db()
    context = _order_context(user, order)
    context["forms"][action] = outcome.form
    return _render(request, "supervision/order.html", context, status=outcome.status)


# ----- extensions -------------------------------------------------------------------------------


@login_required
def extension_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if user.role not in ORDER_ROLES:
        raise DjangoPermissionDenied
    status = request.GET.get("status", "pending")
    qs = selectors.visible_extensions(user).order_by("-id")
    if status in Extension.Status.values:
        qs = qs.filter(status=status)
    rows = list(qs[:200])
    return _render(
        request,
        "supervision/extensions.html",
        {
            "rows": rows,
            "status": status,
            "statuses": Extension.Status.choices,
            "decide": user.role == Role.SUPERVISOR,
            "forms": {
                e.pk: forms.DecisionForm(prefix=f"d{e.pk}")
                for e in rows
                if e.status == Extension.Status.PENDING and user.role == Role.SUPERVISOR
            },
        },
    )


@login_required
@require_POST
def extension_request(request: HttpRequest, number: str) -> HttpResponse:
    user = _user(request)
    try:
        appeal_selectors.appeal_get(user=user, number=number)
    except NotFound:
        raise Http404 from None
    form = forms.ExtensionRequestForm(request.POST, prefix="ext")
    if form.is_valid():
        try:
            extensions.extension_request(
                actor=user,
                number=number,
                reason=form.cleaned_data["reason"],
                proposed_due=form.cleaned_data["proposed_due"],
            )
        except DomainError as exc:
            if exc.status == 403:
                raise DjangoPermissionDenied from None
            attach_errors(form, exc)
        else:
            messages.success(request, _("Extension requested: a supervisor will decide."))
            return redirect("appeals:detail", number=number)
    for err in _form_messages(form):
        messages.error(request, _("Extension not requested: %(error)s") % {"error": err})
    return redirect("appeals:detail", number=number)


@login_required
@require_POST
def extension_decide(request: HttpRequest, extension_id: int) -> HttpResponse:
    user = _user(request)
    try:
        extension = selectors.extension_get(user=user, extension_id=extension_id)
    except NotFound:
        raise Http404 from None
    if user.role != Role.SUPERVISOR:
        raise DjangoPermissionDenied
    form = forms.DecisionForm(request.POST, prefix=f"d{extension_id}")
    if form.is_valid():
        d = form.cleaned_data
        try:
            extensions.extension_decide(
                actor=user,
                extension_id=extension_id,
                decision=d["decision"],
                note=d["note"],
                due=d["due"] or None,
            )
        except DomainError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("Decision recorded."))
            return redirect("supervision:extensions")
    number = extension.appeal.number
    for err in _form_messages(form):
        messages.error(request, f"{number}: {err}")
    return redirect("supervision:extensions")


# ----- arbitration ------------------------------------------------------------------------------


@login_required
def arbitration(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not selectors.may_arbitrate(user):
        raise DjangoPermissionDenied
    appeals = list(selectors.arbitration_queue()[:200])
    history = selectors.return_history(appeals)
    return _render(
        request,
        "supervision/arbitration.html",
        {
            "rows": [(a, history[a.pk], forms.ArbitrateForm(prefix=a.number)) for a in appeals],
        },
    )


@login_required
@require_POST
def arbitrate(request: HttpRequest, number: str) -> HttpResponse:
    user = _user(request)
    if not selectors.may_arbitrate(user):
        raise DjangoPermissionDenied
    form = forms.ArbitrateForm(request.POST, prefix=number)
    if form.is_valid():
        d = form.cleaned_data
        try:
            appeal_services.appeal_dispatch(
                actor=user, number=number, unit=d["unit"], co_units=d["co_units"], note=d["note"]
            )
        except DomainError as exc:
            messages.error(request, f"{number}: {exc.message}")
        else:
            messages.success(
                request, _("%(number)s dispatched; the dispatch is final.") % {"number": number}
            )
    else:
        messages.error(request, _("%(number)s: choose the lead unit.") % {"number": number})
    return redirect("supervision:arbitration")


# ----- notifications ----------------------------------------------------------------------------


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    unread = request.GET.get("unread") == "1"
    try:
        rows, next_cursor = selectors.page_by_id(
            selectors.notifications_for(user, unread=unread),
            cursor=request.GET.get("cursor"),
            size=50,
        )
    except DomainError:
        raise Http404 from None
    calendar_years = (
        deadlines.calendar_warnings(timezone.localdate(clock.now()))
        if user.role == Role.ADMIN or user.is_superuser
        else []
    )
    return render(
        request,
        "supervision/notifications.html",
        {
            "rows": [(n, notify.text(n)) for n in rows],
            "next_cursor": next_cursor,
            "unread": unread,
            "unread_count": selectors.notifications_for(user, unread=True).count(),
            "calendar_years": calendar_years,
            "admin_url": reverse("admin:deadlines_calendarday_changelist"),
        },
    )


@login_required
@require_POST
def notification_read(request: HttpRequest, notification_id: int) -> HttpResponse:
    user = _user(request)
    try:
        n = notify.notification_read(actor=user, notification_id=notification_id)
    except NotFound:
        raise Http404 from None
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "supervision/_notification.html", {"n": n, "text": notify.text(n)})
    if request.POST.get("go") and n.url:
        return redirect(n.url)
    return redirect("supervision:notifications")


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    marked = notify.notifications_read_all(actor=_user(request))
    messages.success(request, _("%(n)d marked as read.") % {"n": marked})
    return redirect("supervision:notifications")


# ----- bulletin ---------------------------------------------------------------------------------


@login_required
def bulletin_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if user.role not in BULLETIN_ROLES:
        raise DjangoPermissionDenied
    today = timezone.localdate(clock.now())
    month = request.GET.get("month") or f"{today:%Y-%m}"
    try:
        year, number = bulletin.parse_month(month)
    except DomainError as exc:
        return _render(
            request,
            "supervision/bulletin.html",
            {"error": str(exc.message), "month": month},
            status=400,
        )
    b = bulletin.build(year, number)
    if request.GET.get("format") == "xlsx":
        response = HttpResponse(
            bulletin.to_xlsx(b),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="bulletin-{b.slug}.xlsx"'
        return response
    return _render(request, "supervision/bulletin.html", {"b": b, "month": b.slug})
