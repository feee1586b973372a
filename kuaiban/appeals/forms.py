"""Forms collect input for the web; the services validate it (one set of rules for web and API)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Q
from django.http import Http404, QueryDict
from django.urls import reverse_lazy
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy as _

from kuaiban.appeals.models import (
    Appeal,
    Category,
    Channel,
    Kind,
    ReplyResult,
    Satisfaction,
    SubmitterType,
    Urgency,
)
from kuaiban.appeals.services import AppealInput
from kuaiban.core import uploads
from kuaiban.core.errors import DomainError
from kuaiban.core.forms import CleanForm, FilesField
from kuaiban.core.uploads import Upload
from kuaiban.org.models import Region, Unit, User

# Service error fields → form fields.
FIELD_MAP = {
    "submitter.type": "submitter_type",
    "submitter.name": "submitter_name",
    "submitter.phone": "submitter_phone",
    "submitter.id_number": "submitter_id_number",
    "submitter.credit_code": "credit_code",
    "submitter.enterprise_name": "enterprise_name",
}


def attach_errors(form: forms.Form, exc: DomainError) -> None:
    """Show a service's field errors beside the fields; others at the top of the form."""
    if not exc.errors:
        form.add_error(None, str(exc.message))
        return
    for err in exc.errors:
        name = FIELD_MAP.get(err.field, err.field)
        form.add_error(name if name in form.fields else None, str(err.message))


T = TypeVar("T")
# An action a page's form posts: its form class and the service call, (actor, number, data).
FormAction = tuple[type[forms.Form], Callable[[User, str, dict[str, Any]], T]]


@dataclass
class ActionOutcome(Generic[T]):
    form: forms.Form
    done: bool
    result: T | None
    status: int  # 200 when done; 400 for an invalid form; the refusing domain error's otherwise


def form_action(
    actions: Mapping[str, FormAction[T]],
    action: str,
    *,
    user: User,
    number: str,
    data: QueryDict,
    files: MultiValueDict[str, UploadedFile] | None = None,
    passing: tuple[type[DomainError], ...] = (),
) -> ActionOutcome[T]:
    """The POST of one of a page's action forms (named ``action`` and prefixed with it): bind
    it, call its service with the cleaned data, and put a refusal's errors beside the fields.
    Domain errors of the ``passing`` types propagate to the caller; an unknown action is 404."""
    if action not in actions:
        raise Http404
    form_class, call = actions[action]
    form = form_class(data, files, prefix=action)
    if not form.is_valid():
        return ActionOutcome(form, False, None, 400)
    try:
        return ActionOutcome(form, True, call(user, number, form.cleaned_data), 200)
    except passing:
        raise
    except DomainError as exc:
        attach_errors(form, exc)
        return ActionOutcome(form, False, None, exc.status)


def step_files_field(**kwargs: Any) -> FilesField:
    """The photos-and-documents input of a step's form (registration, reply, visit)."""
    kwargs.setdefault("help_text", _("Photos (JPEG, PNG) or PDF documents, up to 9."))
    return FilesField(label=_("photos and documents"), accept="image/*,application/pdf", **kwargs)


def step_files(cleaned: Mapping[str, Any]) -> tuple[Upload, ...]:
    """The files of a step's valid form, checked by content (a ``ValidationFailed`` names
    ``attachments``); nothing is stored until the step's service runs."""
    return uploads.prepare_all(
        cleaned.get("attachments") or [],
        field="attachments",
        limit=int(settings.KUAIBAN_PHOTOS_PER_APPEAL),
    )


class RegisterForm(CleanForm):
    channel = forms.ChoiceField(label=_("channel"), choices=Channel.choices)
    kind = forms.ChoiceField(label=_("kind"), choices=Kind.choices)
    urgency = forms.ChoiceField(label=_("urgency"), choices=Urgency.choices, initial="normal")
    title = forms.CharField(label=_("title"), required=False)
    # Not required here: the service checks it together with every other field, so the form
    # shows all problems at once rather than in rounds.
    content = forms.CharField(
        label=_("content"), required=False, widget=forms.Textarea(attrs={"rows": 6})
    )
    category = forms.ChoiceField(label=_("category"), required=False)
    submitter_type = forms.ChoiceField(
        label=_("submitter type"), choices=SubmitterType.choices, initial="citizen"
    )
    submitter_name = forms.CharField(label=_("submitter name"), required=False)
    submitter_phone = forms.CharField(
        label=_("phone"),
        required=False,
        # As the number is typed, the caller's last 90 days appear beside the form.
        widget=forms.TextInput(
            attrs={
                "inputmode": "tel",
                "autocomplete": "off",
                "hx-get": reverse_lazy("appeals:caller_history"),
                "hx-trigger": "input changed delay:400ms, change",
                "hx-target": "#caller-history",
            }
        ),
    )
    submitter_id_number = forms.CharField(label=_("ID number"), required=False)
    enterprise_name = forms.CharField(label=_("enterprise name"), required=False)
    credit_code = forms.CharField(label=_("unified social credit code"), required=False)
    region = forms.ChoiceField(label=_("region"), required=False)
    address = forms.CharField(label=_("address"), required=False)
    attachments = step_files_field()
    occurred_at = forms.DateTimeField(
        label=_("occurred at"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    group_size = forms.IntegerField(label=_("people in group visit"), required=False)

    def appeal_input(self) -> AppealInput:
        """The registration the valid form asks for (the service validates it)."""
        d = self.cleaned_data
        return AppealInput(
            channel=d["channel"],
            kind=d["kind"],
            urgency=d["urgency"],
            title=d["title"],
            content=d["content"],
            category=d["category"] or None,
            submitter_type=d["submitter_type"],
            submitter_name=d["submitter_name"],
            submitter_phone=d["submitter_phone"],
            submitter_id_number=d["submitter_id_number"],
            enterprise_name=d["enterprise_name"],
            credit_code=d["credit_code"],
            region=d["region"] or None,
            address=d["address"],
            occurred_at=d["occurred_at"],
            group_size=d["group_size"],
            files=step_files(d),
        )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["region"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (r.code, r.path_names() or r.name)
            for r in Region.objects.exclude(level="grid").select_related("parent__parent")
        ]
        self.fields["category"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (c.code, ("· " * (c.level - 1)) + c.name) for c in Category.objects.filter(level__lte=2)
        ]


def unit_choices() -> list[tuple[str, str]]:
    return [(u.code, u.name) for u in Unit.objects.filter(active=True)]


class DispatchForm(CleanForm):
    unit = forms.ChoiceField(label=_("lead unit"))
    co_units = forms.MultipleChoiceField(
        label=_("co-handling units"), required=False, widget=forms.SelectMultiple(attrs={"size": 4})
    )
    note = forms.CharField(label=_("note"), required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        choices = unit_choices()
        self.fields["unit"].choices = [("", "—"), *choices]  # type: ignore[attr-defined]
        self.fields["co_units"].choices = choices  # type: ignore[attr-defined]


def delegate_choices(appeal: Appeal) -> list[tuple[str, str]]:
    """Where the township of ``appeal`` may hand it: its own villages and grids (and itself,
    to take back an appeal it delegated)."""
    township = appeal.overseer_unit or appeal.lead_unit
    if township is None or township.region_id is None:
        return []
    villages = Region.objects.filter(parent_id=township.region_id)
    units = Unit.objects.filter(active=True, kind__in=[Unit.Kind.VILLAGE, Unit.Kind.GRID]).filter(
        Q(region__in=villages) | Q(region__parent__in=villages)
    )
    choices = [
        (u.code, u.name) for u in units.order_by("region__code") if u.pk != appeal.lead_unit_id
    ]
    if appeal.overseer_unit_id is not None:
        choices.insert(0, (township.code, _("%(unit)s (take it back)") % {"unit": township.name}))
    return choices


class DelegateForm(CleanForm):
    unit = forms.ChoiceField(label=_("village, community or grid"))
    note = forms.CharField(label=_("note"), required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # Any local unit or township passes the form; the service judges the township's own.
        local = Unit.objects.filter(active=True).exclude(kind=Unit.Kind.DEPARTMENT)
        self.fields["unit"].choices = [("", "—"), *((u.code, u.name) for u in local)]  # type: ignore[attr-defined]

    def narrow(self, appeal: Appeal) -> DelegateForm:
        self.fields["unit"].choices = [("", "—"), *delegate_choices(appeal)]  # type: ignore[attr-defined]
        return self


class WhistleForm(CleanForm):
    units = forms.MultipleChoiceField(
        label=_("departments to call in"), widget=forms.SelectMultiple(attrs={"size": 4})
    )
    note = forms.CharField(
        label=_("what they are called in for"), widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        departments = Unit.objects.filter(active=True, kind=Unit.Kind.DEPARTMENT)
        self.fields["units"].choices = [(u.code, u.name) for u in departments]  # type: ignore[attr-defined]


class ResolveOnSpotForm(CleanForm):
    text = forms.CharField(label=_("how it was resolved"), widget=forms.Textarea(attrs={"rows": 3}))
    attachments = step_files_field(help_text=_("Photos of the result, up to 9."))


class GridReportForm(CleanForm):
    """网格上报: what a grid worker found in the field, from a phone."""

    kind = forms.ChoiceField(
        label=_("kind"),
        choices=[(k, label) for k, label in Kind.choices if k != Kind.REPORT],
        initial=Kind.HELP,
    )
    title = forms.CharField(label=_("title"), required=False, max_length=120)
    content = forms.CharField(
        label=_("what you found"), max_length=2000, widget=forms.Textarea(attrs={"rows": 5})
    )
    address = forms.CharField(label=_("address"), required=False, max_length=200)
    submitter_name = forms.CharField(label=_("resident's name"), required=False, max_length=100)
    submitter_phone = forms.CharField(
        label=_("resident's phone"),
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    lat = forms.DecimalField(
        required=False, widget=forms.HiddenInput, max_digits=9, decimal_places=6
    )
    lng = forms.DecimalField(
        required=False, widget=forms.HiddenInput, max_digits=9, decimal_places=6
    )
    attachments = step_files_field(help_text=_("Photos from the spot, up to 9."))

    def appeal_input(self, files: tuple[Upload, ...]) -> AppealInput:
        d = self.cleaned_data
        return AppealInput(
            channel=Channel.GRID,
            kind=d["kind"],
            title=d["title"],
            content=d["content"],
            address=d["address"],
            submitter_name=d["submitter_name"],
            submitter_phone=d["submitter_phone"],
            lat=None if d["lat"] is None else str(d["lat"]),
            lng=None if d["lng"] is None else str(d["lng"]),
            files=files,
        )


class ReasonForm(CleanForm):
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 2}))


class ReplyForm(CleanForm):
    result = forms.ChoiceField(label=_("result"), choices=ReplyResult.choices)
    text = forms.CharField(label=_("reply"), widget=forms.Textarea(attrs={"rows": 4}))
    attachments = step_files_field(
        help_text=_("Photos of the result are shown to the submitter (办理前后对比).")
    )
    reason = forms.CharField(
        label=_("why reply before every co-unit has answered"),
        required=False,
        help_text=_("Needed only while a co-handling unit's part is unanswered."),
    )


class AssistForm(CleanForm):
    """A co-unit's opinion and result on its part (协办)."""

    result = forms.ChoiceField(label=_("result"), choices=ReplyResult.choices)
    text = forms.CharField(label=_("opinion"), widget=forms.Textarea(attrs={"rows": 4}))
    attachments = step_files_field()


class AnswerForm(CleanForm):
    text = forms.CharField(label=_("answer"), widget=forms.Textarea(attrs={"rows": 3}))


TRI = [("", "—"), ("yes", _("Yes")), ("no", _("No"))]


class VisitForm(CleanForm):
    reached = forms.ChoiceField(label=_("reached"), choices=[("yes", _("Yes")), ("no", _("No"))])
    resolved = forms.ChoiceField(label=_("resolved"), choices=TRI, required=False)
    satisfaction = forms.ChoiceField(
        label=_("satisfaction"), choices=[("", "—"), *Satisfaction.choices], required=False
    )
    authentic = forms.ChoiceField(
        label=_("unit really contacted the submitter"), choices=TRI, required=False
    )
    note = forms.CharField(label=_("note"), required=False)
    attachments = step_files_field()


class NoteForm(CleanForm):
    note = forms.CharField(label=_("note"), required=False)


class MergeForm(CleanForm):
    into = forms.CharField(label=_("merge into (tracking number)"))
