"""Public pages: the front door (submit, receipt) and appeal tracking (no personal data is
ever shown here)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from kuaiban.appeals import selectors
from kuaiban.appeals.models import Appeal, Category, Kind
from kuaiban.core import throttle
from kuaiban.core.errors import DomainError, FieldError, ValidationFailed
from kuaiban.core.forms import CleanForm, FilesField
from kuaiban.core.masking import mask_text
from kuaiban.core.throttle import client_address
from kuaiban.core.validation import mask_phone
from kuaiban.notify import codes
from kuaiban.org.models import Role, User
from kuaiban.portal import selectors as portal_selectors
from kuaiban.portal import services
from kuaiban.portal.models import Entrance
from kuaiban.portal.photos import public_photos


def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        return render(request, "portal/home.html")  # the public's front door
    if user.role == Role.HANDLER:
        return redirect("appeals:inbox")
    if user.role == Role.GRID_WORKER:
        return redirect("grid:list")
    if user.role == Role.OPERATOR:
        return redirect("appeals:register")
    return redirect("appeals:ledger")


def _known(appeal: Appeal) -> list[str]:
    return [appeal.submitter_name, appeal.submitter_phone, appeal.submitter_id_number]


def masked_title(appeal: Appeal) -> str:
    """The title as the public sees it: numbers masked, nothing at all for a report."""
    return "" if appeal.is_confidential else mask_text(appeal.title, _known(appeal))


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
                "text": mask_text(event.note, known)
                if event.action in ("reply", "answer", "resolve_on_spot")
                else "",
            }
        )
    return rows


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
                photos=public_photos(appeal),
                master=master,
                master_status_only=bool(master and master.is_confidential),
                master_timeline=public_timeline(master) if master else [],
            )
    response = render(request, "portal/track.html", context, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


# The public map's filter fields, as the page names them in an error.
_MAP_FIELDS = {"category": _("Category"), "status": _("Status"), "days": _("Days")}


def public_map(request: HttpRequest) -> HttpResponse:
    """Recent appeals on a map, blurred to about 100 m; the page lists them too (no script)."""
    status = 200
    error = ""
    try:
        flt = portal_selectors.MapFilter.from_params(request.GET)
    except ValidationFailed as exc:
        flt, status = portal_selectors.MapFilter(), exc.status
        error = "; ".join(f"{_MAP_FIELDS.get(e.field, e.field)}: {e.message}" for e in exc.errors)
        points: list[portal_selectors.MapPoint] = []
    else:
        points = portal_selectors.public_points(flt)
    api_url = reverse("api-v1:public_map")
    return render(
        request,
        "portal/map.html",
        {
            "flt": flt,
            "error": error,
            "points": points,
            "points_url": "" if error else f"{api_url}?{urlencode(flt.query())}",
            "categories": portal_selectors.map_categories(),
            "statuses": [(s.value, s.label) for s in portal_selectors.MAP_STATUSES],
            "list_size": 200,
        },
        status=status,
    )


class SubmitForm(CleanForm):
    """What the page shows; the checks are the service's (``portal.services.public_submit``)."""

    kind = forms.ChoiceField(
        label=_("What kind of appeal"),
        choices=[(k.value, k.label) for k in services.PUBLIC_KINDS],
        initial=Kind.COMPLAINT,
    )
    title = forms.CharField(label=_("Subject"), required=False, max_length=120)
    category = forms.ChoiceField(
        label=_("Category"),
        required=False,
        help_text=_("Suggested as you describe the problem; change it if it is wrong."),
    )
    content = forms.CharField(
        label=_("What happened"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("When and where, what the problem is, and what you would like done."),
    )
    address = forms.CharField(label=_("Where"), required=False, max_length=200)
    photos = FilesField(
        label=_("Photos (up to 9)"),
        accept="image/*",
        help_text=_("Photos are re-saved without their location data and other metadata."),
    )
    # Set by the map on the page (kuaiban/map.js); without script the address is enough.
    lat = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)
    lng = forms.CharField(required=False, max_length=20, widget=forms.HiddenInput)
    name = forms.CharField(label=_("Your name (optional)"), required=False, max_length=100)
    phone = forms.CharField(
        label=_("Mobile number"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    code = forms.CharField(
        label=_("SMS code"),
        required=False,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 6}
        ),
    )
    anonymous = forms.BooleanField(
        label=_("Report anonymously (reports only: no name, no phone)"), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (c.code, c.name) for c in Category.objects.filter(level=1)
        ]


# The service's field names as the form's.
_FORM_FIELD = {"submitter.name": "name", "submitter.phone": "phone"}


@never_cache
def submit(request: HttpRequest, entrance: str | None = None) -> HttpResponse:
    try:
        door = services.entrance_get(entrance)
    except DomainError as exc:
        raise Http404(exc.message) from exc
    status = 200
    notice = ""
    if request.method == "POST" and request.POST.get("action") == "code":
        # Only the phone matters here: the rest of what was typed is shown again, unchecked.
        form = SubmitForm(initial=request.POST.dict())
        try:
            codes.code_issue(request.POST.get("phone", ""), address=client_address(request))
            notice = str(_("A code is on its way by SMS."))
            if request.FILES:
                # A page cannot be sent back with its files chosen: say so rather than lose them.
                notice += " " + str(_("Please choose your photos again before you submit."))
        except DomainError as exc:
            status = exc.status
            form = SubmitForm(request.POST)
            form.is_valid()
            form.errors.clear()
            form.add_error("phone", exc.message)
    else:
        form = SubmitForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and request.POST.get("action") != "code":
        if form.is_valid():
            try:
                appeal = services.public_submit(
                    services.Submission(**form.cleaned_data, entrance=door.slug),
                    client=client_address(request),
                )
            except DomainError as exc:
                status = exc.status
                for error in exc.errors or [FieldError("content", exc.message)]:
                    name = _FORM_FIELD.get(error.field, error.field)
                    form.add_error(name if name in form.fields else None, error.message)
            else:
                request.session["receipt"] = [appeal.number, appeal.access_code_display]
                return redirect("receipt")
        else:
            status = 400
        if status != 200 and request.FILES:
            # The page comes back without the files that were chosen: say so beside the field.
            form["photos"].help_text = _("Please choose your photos again before you submit.")
    return render(
        request,
        "portal/submit.html",
        {
            "form": form,
            "entrance": door,
            "notice": notice,
            "entrances": Entrance.objects.filter(active=True),
        },
        status=status,
    )


@never_cache
def receipt(request: HttpRequest) -> HttpResponse:
    number, code = request.session.get("receipt") or ("", "")
    if not number:
        return redirect("submit")
    return render(request, "portal/receipt.html", {"number": number, "access_code": code})


class PhoneCodeForm(CleanForm):
    phone = forms.CharField(
        label=_("Mobile number"),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    code = forms.CharField(
        label=_("SMS code"),
        required=False,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 6}
        ),
    )


@dataclass
class CodeStep:
    """The outcome of a page's "phone + SMS code" form: the form to show again, its status,
    a notice ("a code is on its way"), and ``done`` with the result of the proven step."""

    form: PhoneCodeForm
    status: int = 200
    notice: str = ""
    done: bool = False
    result: Any = None


def phone_code_step(request: HttpRequest, proven: Callable[[str, str], Any]) -> CodeStep:
    """Handle ``action=code`` (send a code to the phone typed) or any other POST (call
    ``proven(phone, code)``, the page's service, which verifies the code itself); each refusal
    is put beside its field. GET: the empty form."""
    step = CodeStep(PhoneCodeForm(request.POST or None))
    if request.method != "POST":
        return step
    code_asked = request.POST.get("action") == "code"
    try:
        if code_asked:
            step.form = PhoneCodeForm(initial=request.POST.dict())
            codes.code_issue(request.POST.get("phone", ""), address=client_address(request))
            step.notice = str(_("A code is on its way by SMS."))
        elif step.form.is_valid():
            data = step.form.cleaned_data
            step.result, step.done = proven(data["phone"], data["code"]), True
        else:
            step.status = 400
    except DomainError as exc:
        step.status = exc.status
        if code_asked:
            step.form = PhoneCodeForm(request.POST)
            step.form.is_valid()
            step.form.errors.clear()
        for error in exc.errors or [FieldError("phone", exc.message)]:
            field = error.field if error.field in step.form.fields else None
            step.form.add_error(field, error.message)
    return step


@never_cache
def support(request: HttpRequest, number: str) -> HttpResponse:
    """ "我也遇到了": join an open public appeal instead of filing the same problem again."""
    appeal = (
        Appeal.objects.select_related("category", "lead_unit")
        .filter(number=number[:32], kind__in=[k for k in services.PUBLIC_KINDS if k != Kind.REPORT])
        .first()
    )
    if appeal is None:
        raise Http404
    step = phone_code_step(
        request,
        lambda phone, code: services.public_support(
            number=appeal.number or "", phone=phone, code=code, client=client_address(request)
        ),
    )
    return render(
        request,
        "portal/support.html",
        {
            "appeal": step.result if step.done else appeal,
            "title": masked_title(appeal),
            "form": step.form,
            "notice": step.notice,
            "joined": step.done,
        },
        status=step.status,
    )


# "My appeals": how long a phone proven by its code stays open in this browser's session.
MINE_MINUTES = 30
_MINE_KEY = "mine"


def _mine_phone(request: HttpRequest) -> str:
    phone, until = request.session.get(_MINE_KEY) or ("", 0)
    return str(phone) if isinstance(until, int | float) and until > time.time() else ""


def _mine_rows(appeals: Iterable[Appeal]) -> list[dict[str, object]]:
    rows = []
    for appeal in appeals:
        known = _known(appeal)
        rows.append(
            {
                "appeal": appeal,
                "status_only": appeal.is_confidential,
                "title": masked_title(appeal),
                "timeline": public_timeline(appeal, known),
                "photos": public_photos(appeal),
            }
        )
    return rows


@never_cache
def mine(request: HttpRequest) -> HttpResponse:
    """A person's own appeals, from every channel, once their phone is proven by an SMS code."""
    if request.POST.get("action") == "forget":
        request.session.pop(_MINE_KEY, None)
        return redirect("mine")
    step = phone_code_step(request, codes.code_verify)
    if step.done:
        request.session.cycle_key()
        request.session[_MINE_KEY] = [step.result, int(time.time()) + MINE_MINUTES * 60]
        return redirect("mine")
    phone = _mine_phone(request)
    context: dict[str, object] = {"form": step.form, "notice": step.notice, "phone": ""}
    if phone:
        own = Appeal.objects.filter(submitter_phone=phone).select_related("lead_unit")
        joined = Appeal.objects.filter(supporters__phone=phone).select_related("lead_unit")
        context.update(
            phone=mask_phone(phone),
            own=_mine_rows(own.order_by("-received_at")[:MINE_SHOWN]),
            joined=_mine_rows(joined.order_by("-received_at")[:MINE_SHOWN]),
        )
    return render(request, "portal/mine.html", context, status=step.status)


MINE_SHOWN = 50
