"""Web pages of the ledger. Thin: parse the form, call one service or selector, render."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kuaiban.appeals import forms as f
from kuaiban.appeals import policy, selectors, services
from kuaiban.appeals.models import (
    ALLOWED_TRANSITIONS,
    Action,
    Appeal,
    AppealEvent,
    Attachment,
    Kind,
    PartStatus,
)
from kuaiban.core.errors import DomainError, NotFound
from kuaiban.core.validation import mask_id, mask_phone
from kuaiban.org.models import Region, Role, Unit, User


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _yesno(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


@login_required
def ledger(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if policy.visible_q(user) is None:
        raise DjangoPermissionDenied
    error = ""
    try:
        flt = selectors.LedgerFilter.from_params(request.GET)
    except DomainError as exc:
        flt = selectors.LedgerFilter()
        error = str(exc.message)
    rows: list[Appeal] = []
    next_cursor: str | None = None
    try:
        rows, next_cursor = selectors.page(
            selectors.ledger(user=user, f=flt).select_related("handler"),
            cursor=request.GET.get("cursor"),
            size=50,
        )
    except DomainError as exc:
        error = str(exc.message)
    params = request.GET.copy()
    params.pop("cursor", None)
    context = {
        "rows": rows,
        "next_cursor": next_cursor,
        "flt": flt,
        "error": error,
        "query": params.urlencode(),
        "units": Unit.objects.filter(active=True),
        "regions": Region.objects.filter(level__in=["county", "township"]),
        "statuses": selectors.Status.choices,
        "channels": selectors.Channel.choices,
        "kinds": selectors.Kind.choices,
        "alerts": selectors.Alert.choices,
    }
    template = (
        "appeals/_ledger_rows.html" if getattr(request, "htmx", False) else "appeals/ledger.html"
    )
    return render(request, template, context, status=400 if error else 200)


@login_required
def ledger_map(request: HttpRequest) -> HttpResponse:
    """The ledger's current filter on a map, exact points, each linking to its appeal; only
    what the user may see (the ledger's own selector), the titles masked as in the ledger."""
    user = _user(request)
    if policy.visible_q(user) is None:
        raise DjangoPermissionDenied
    error = ""
    rows: list[Appeal] = []
    try:
        flt = selectors.LedgerFilter.from_params(request.GET)
        rows = selectors.ledger_points(user=user, f=flt, limit=settings.KUAIBAN_MAP_MAX_POINTS)
    except DomainError as exc:
        flt = selectors.LedgerFilter()
        error = str(exc.message)
    points = [
        {
            "number": a.number,
            "title": policy.number_mask(user, a)(a.title or a.content)[:40],
            "category": a.category.name if a.category else "",
            "status_label": a.get_status_display(),
            "received": timezone.localdate(a.received_at).isoformat(),
            "lat": float(a.lat or 0),
            "lng": float(a.lng or 0),
            "url": reverse("appeals:detail", args=[a.number]),
        }
        for a in rows
    ]
    params = request.GET.copy()
    params.pop("cursor", None)
    context = {
        "rows": rows,
        "points": points,
        "flt": flt,
        "error": error,
        "query": params.urlencode(),
        "limit": settings.KUAIBAN_MAP_MAX_POINTS,
    }
    return render(request, "appeals/map.html", context, status=400 if error else 200)


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if user.role != Role.HANDLER:
        return redirect("appeals:ledger")
    return render(
        request,
        "appeals/inbox.html",
        {"boxes": selectors.inbox(user=user), "parts": selectors.assist_inbox(user=user)},
    )


@login_required
def register(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not policy.may(user, Action.REGISTER):
        raise DjangoPermissionDenied
    form = f.RegisterForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                appeal = services.appeal_register(actor=user, data=form.appeal_input())
            except DomainError as exc:
                f.attach_errors(form, exc)
                status = exc.status
            else:
                messages.success(
                    request,
                    _("Registered as %(number)s.") % {"number": appeal.number},
                )
                if policy.can_see(user, appeal):
                    return redirect("appeals:detail", number=appeal.number)
                return redirect("appeals:register")
        else:
            status = 400
    return render(request, "appeals/register.html", {"form": form}, status=status)


@login_required
def caller_history(request: HttpRequest) -> HttpResponse:
    """The caller's last 90 days beside the intake form (htmx, as the phone is typed)."""
    user = _user(request)
    if not policy.may(user, Action.REGISTER):
        raise DjangoPermissionDenied
    raw = (request.GET.get("submitter_phone") or request.GET.get("phone") or "").strip()
    context: dict[str, Any] = {"history": None, "error": ""}
    status = 200
    # Nothing to say until the number could be complete (a fixed line has at least 7 digits).
    if sum(c.isdigit() for c in raw) >= 7:
        try:
            context["history"] = selectors.caller_history(
                user=user, phone=raw, field_name="submitter_phone"
            )
        except DomainError as exc:
            context["error"] = exc.message
            status = exc.status
    return render(request, "appeals/_caller_history.html", context, status=status)


ACTIONS: dict[str, f.FormAction[Appeal]] = {
    Action.DISPATCH: (
        f.DispatchForm,
        lambda u, n, d: services.appeal_dispatch(
            actor=u, number=n, unit=d["unit"], co_units=d["co_units"], note=d["note"]
        ),
    ),
    Action.CLAIM: (f.NoteForm, lambda u, n, d: services.appeal_claim(actor=u, number=n)),
    Action.RETURN: (
        f.ReasonForm,
        lambda u, n, d: services.appeal_return(actor=u, number=n, reason=d["reason"]),
    ),
    Action.REPLY: (
        f.ReplyForm,
        lambda u, n, d: services.appeal_reply(
            actor=u,
            number=n,
            result=d["result"],
            text=d["text"],
            files=f.step_files(d),
            reason=d["reason"],
        ),
    ),
    Action.DELEGATE: (
        f.DelegateForm,
        lambda u, n, d: services.appeal_delegate(actor=u, number=n, unit=d["unit"], note=d["note"]),
    ),
    Action.WHISTLE: (
        f.WhistleForm,
        lambda u, n, d: services.appeal_whistle(
            actor=u, number=n, units=d["units"], note=d["note"]
        ),
    ),
    Action.REPORT: (f.NoteForm, lambda u, n, d: services.appeal_report(actor=u, number=n)),
    Action.RESOLVE_ON_SPOT: (
        f.ResolveOnSpotForm,
        lambda u, n, d: services.appeal_resolve_on_spot(
            actor=u, number=n, text=d["text"], files=f.step_files(d)
        ),
    ),
    Action.ASSIST_CLAIM: (
        f.NoteForm,
        lambda u, n, d: services.appeal_assist_claim(actor=u, number=n),
    ),
    Action.ASSIST: (
        f.AssistForm,
        lambda u, n, d: services.appeal_assist(
            actor=u, number=n, text=d["text"], result=d["result"], files=f.step_files(d)
        ),
    ),
    Action.ANSWER: (
        f.AnswerForm,
        lambda u, n, d: services.appeal_answer(actor=u, number=n, text=d["text"]),
    ),
    Action.VISIT: (
        f.VisitForm,
        lambda u, n, d: services.appeal_visit(
            actor=u,
            number=n,
            data=services.VisitInput(
                reached=d["reached"] == "yes",
                resolved=_yesno(d["resolved"]),
                satisfaction=d["satisfaction"] or None,
                authentic=_yesno(d["authentic"]),
                note=d["note"],
                files=f.step_files(d),
            ),
        ),
    ),
    Action.REWORK: (
        f.ReasonForm,
        lambda u, n, d: services.appeal_rework(actor=u, number=n, note=d["reason"]),
    ),
    Action.CLOSE: (
        f.NoteForm,
        lambda u, n, d: services.appeal_close(actor=u, number=n, note=d["note"]),
    ),
    Action.MERGE: (
        f.MergeForm,
        lambda u, n, d: services.appeal_merge(actor=u, number=n, into=d["into"]),
    ),
    Action.INVALIDATE: (
        f.ReasonForm,
        lambda u, n, d: services.appeal_invalidate(actor=u, number=n, reason=d["reason"]),
    ),
}


def available_actions(user: User, appeal: Appeal) -> list[str]:
    out = []
    part = policy.own_part(user, appeal)
    for action in ACTIONS:
        if appeal.status not in ALLOWED_TRANSITIONS[action] or not policy.may(user, action, appeal):
            continue
        if action == Action.ANSWER and appeal.kind != Kind.CONSULTATION:
            continue
        if action == Action.ASSIST_CLAIM and (part is None or part.status != PartStatus.OPEN):
            continue
        if action == Action.ASSIST and (
            part is None or not part.is_pending or part.status == PartStatus.SUMMONED
        ):
            continue
        out.append(str(action))
    return out


def _timeline(appeal: Appeal) -> list[AppealEvent]:
    """The appeal's events in order, each with ``files``: the attachments it came with."""
    files: dict[int | None, list[Attachment]] = {}
    for row in appeal.attachments.all():
        files.setdefault(row.event_id, []).append(row)
    events = list(appeal.events.select_related("actor").order_by("seq"))
    for event in events:
        event.files = files.get(event.pk, [])  # type: ignore[attr-defined]
    # The unit an event names (dispatch, delegate, assist …), by its name, not its code.
    return selectors.name_event_units(events)


def _detail_context(user: User, appeal: Appeal) -> dict[str, Any]:
    full = policy.sees_full_numbers(user, appeal)
    return {
        "appeal": appeal,
        # The receipt's access code, for whoever gives it to the submitter.
        "access_code": appeal.access_code_display if full and appeal.access_code else "",
        "events": _timeline(appeal),
        "visits": appeal.visits.order_by("at"),
        "phone": appeal.submitter_phone if full else mask_phone(appeal.submitter_phone),
        "id_number": appeal.submitter_id_number if full else mask_id(appeal.submitter_id_number),
        "co_units": list(appeal.co_units.all()),
        "parts": policy.visible_parts(user, appeal),
        "merged": list(appeal.merged_appeals.all()) if policy.can_see(user, appeal) else [],
        "forms": _forms(user, appeal),
        "action_labels": dict(Action.choices),
    }


def _forms(user: User, appeal: Appeal) -> dict[str, Any]:
    forms = {a: ACTIONS[a][0](prefix=a) for a in available_actions(user, appeal)}
    if isinstance(form := forms.get(Action.DELEGATE), f.DelegateForm):
        form.narrow(appeal)  # the township's own villages and grids only
    return forms


@login_required
def detail(request: HttpRequest, number: str) -> HttpResponse:
    user = _user(request)
    try:
        appeal = selectors.appeal_get(user=user, number=number)
    except NotFound:
        raise Http404 from None
    return render(request, "appeals/detail.html", _detail_context(user, appeal))


@login_required
def attachment(request: HttpRequest, number: str, pk: int) -> FileResponse:
    """One of an appeal's files, to whoever may open the appeal (404 to everyone else)."""
    try:
        appeal = selectors.appeal_get(user=_user(request), number=number)
    except NotFound:
        raise Http404 from None
    row = appeal.attachments.filter(pk=pk).first()
    if row is None:
        raise Http404
    return row.response()


def _still_sees(user: User, number: str) -> bool:
    try:
        selectors.appeal_get(user=user, number=number)
    except NotFound:
        return False
    return True


@login_required
@require_POST
def act(request: HttpRequest, number: str, action: str) -> HttpResponse:
    user = _user(request)
    try:
        appeal = selectors.appeal_get(user=user, number=number)
    except NotFound:
        raise Http404 from None
    home = {Role.HANDLER: "appeals:inbox", Role.GRID_WORKER: "grid:list"}.get(
        Role(user.role), "appeals:ledger"
    )
    try:
        outcome = f.form_action(
            ACTIONS,
            action,
            user=user,
            number=number,
            data=request.POST,
            files=request.FILES,
            passing=(NotFound,),
        )
    except NotFound:
        # Another action took it out of this user's sight between the page and the lock.
        messages.error(
            request, _("Appeal %(number)s is no longer yours to see.") % {"number": number}
        )
        return redirect(home)
    if outcome.done:
        written = outcome.result
        assert written is not None
        messages.success(request, _("Done: %(action)s.") % {"action": Action(action).label})
        # Judge from the state the action wrote, and from now: a handler who returned it,
        # or whose claim a colleague's return overtook, no longer holds it.
        if policy.can_see(user, written) and _still_sees(user, number):
            return redirect("appeals:detail", number=number)
        messages.info(
            request,
            _("%(number)s is no longer in your hands; it stays in the ledger's history.")
            % {"number": number},
        )
        return redirect(home)
    appeal.refresh_from_db()
    context = _detail_context(user, appeal)
    context["forms"][action] = outcome.form
    context["failed_action"] = action
    return render(request, "appeals/detail.html", context, status=outcome.status)
