"""Forms collect input for the web; the services validate it (one set of rules for web and API)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kuaiban.appeals.models import Kind
from kuaiban.core.forms import CleanForm
from kuaiban.enterprise import industries
from kuaiban.enterprise.models import BaobaoRole, Enterprise, MeetingKind, Size
from kuaiban.org.models import Region, Role, Unit, User

PROBLEM_KIND_CHOICES = [
    (Kind.HELP.value, Kind.HELP.label),
    (Kind.COMPLAINT.value, Kind.COMPLAINT.label),
    (Kind.CONSULTATION.value, Kind.CONSULTATION.label),
    (Kind.SUGGESTION.value, Kind.SUGGESTION.label),
]


def industry_choices() -> list[tuple[str, str]]:
    return [(i.code, f"{i.code} {i.name}") for i in industries.rows()]


def township_choices() -> list[tuple[str, str]]:
    return [(r.code, r.name) for r in Region.objects.filter(level=Region.Level.TOWNSHIP)]


def unit_choices() -> list[tuple[str, str]]:
    return [(u.code, u.name) for u in Unit.objects.filter(active=True)]


def user_choices(*, roles: set[str] | None = None) -> list[tuple[str, str]]:
    qs = User.objects.filter(is_active=True).select_related("unit").order_by("role", "username")
    if roles:
        qs = qs.filter(role__in=roles)
    return [(u.username, f"{u.label} ({u.get_role_display()})") for u in qs]


def lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


class EnterpriseForm(CleanForm):
    credit_code = forms.CharField(label=_("unified social credit code"), max_length=30)
    name = forms.CharField(label=_("enterprise name"), max_length=300)
    industry = forms.ChoiceField(label=_("industry"))
    size = forms.ChoiceField(label=_("size"), choices=Size.choices)
    township = forms.ChoiceField(label=_("township"), required=False)
    address = forms.CharField(label=_("address"), required=False, max_length=300)
    contact_name = forms.CharField(label=_("contact"), required=False, max_length=100)
    contact_phone = forms.CharField(label=_("contact phone"), required=False, max_length=30)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["industry"].choices = [("", "—"), *industry_choices()]  # type: ignore[attr-defined]
        self.fields["township"].choices = [("", "—"), *township_choices()]  # type: ignore[attr-defined]


class ImportForm(CleanForm):
    file = forms.FileField(label=_("Excel workbook (.xlsx)"))


class ContactForm(CleanForm):
    name = forms.CharField(label=_("contact"), max_length=100)
    position = forms.CharField(label=_("position"), required=False, max_length=100)
    phone = forms.CharField(label=_("phone"), max_length=30)


class AssignForm(CleanForm):
    official = forms.ChoiceField(label=_("official"))
    duty = forms.CharField(label=_("duty"), required=False, max_length=100)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["official"].choices = [("", "—"), *user_choices()]  # type: ignore[attr-defined]


class EnterpriseAssignForm(AssignForm):
    """包保 on an enterprise: optionally one of the four 四包 roles."""

    role = forms.ChoiceField(
        label=_("四包 role"),
        required=False,
        choices=[("", _("none (liaison)")), *BaobaoRole.choices],
    )
    unit = forms.ChoiceField(label=_("for unit (approval / responsible role)"), required=False)
    replace = forms.BooleanField(label=_("replace the role's current holder"), required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [("", _("the official's own unit")), *unit_choices()]  # type: ignore[attr-defined]


class VisitForm(CleanForm):
    visited_on = forms.DateField(
        label=_("visited on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    visitors = forms.MultipleChoiceField(
        label=_("who went (besides you)"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    findings = forms.CharField(label=_("what was found"), widget=forms.Textarea(attrs={"rows": 3}))
    problems = forms.CharField(
        label=_("problems to register (one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    kind = forms.ChoiceField(label=_("kind"), choices=PROBLEM_KIND_CHOICES, initial=Kind.HELP)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["visitors"].choices = user_choices()  # type: ignore[attr-defined]


class MeetingForm(CleanForm):
    kind = forms.ChoiceField(label=_("meeting kind"), choices=MeetingKind.choices)
    topic = forms.CharField(label=_("topic"), max_length=300)
    date = forms.DateField(label=_("date"), widget=forms.DateInput(attrs={"type": "date"}))
    start_time = forms.TimeField(
        label=_("start time"), widget=forms.TimeInput(attrs={"type": "time"})
    )
    end_time = forms.TimeField(
        label=_("end time"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    place = forms.CharField(label=_("place"), max_length=300)
    hosts = forms.MultipleChoiceField(
        label=_("host leaders"), widget=forms.SelectMultiple(attrs={"size": 3})
    )
    capacity = forms.IntegerField(label=_("capacity"), min_value=0)
    booking_closes_at = forms.DateTimeField(
        label=_("booking closes at (default: when it starts)"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["hosts"].choices = user_choices(roles={Role.LEADER})  # type: ignore[attr-defined]


class InviteForm(CleanForm):
    credit_code = forms.CharField(label=_("unified social credit code"), max_length=30)
    contact_name = forms.CharField(label=_("contact"), required=False, max_length=100)
    phone = forms.CharField(label=_("phone"), required=False, max_length=30)


class AttendanceForm(CleanForm):
    attended = forms.MultipleChoiceField(
        label=_("attended"), required=False, widget=forms.CheckboxSelectMultiple
    )
    walk_ins = forms.CharField(
        label=_("walk-ins (credit codes, one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: object, bookings: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["attended"].choices = bookings  # type: ignore[attr-defined]


class ProblemForm(CleanForm):
    credit_code = forms.ChoiceField(label=_("enterprise"))
    title = forms.CharField(label=_("title"), required=False, max_length=200)
    content = forms.CharField(label=_("problem"), widget=forms.Textarea(attrs={"rows": 3}))
    kind = forms.ChoiceField(label=_("kind"), choices=PROBLEM_KIND_CHOICES, initial=Kind.HELP)
    unit = forms.ChoiceField(label=_("lead unit (dispatch now)"), required=False)

    def __init__(
        self, *args: object, attendees: list[tuple[str, str]], dispatch: bool, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["credit_code"].choices = [("", "—"), *attendees]  # type: ignore[attr-defined]
        if dispatch:
            self.fields["unit"].choices = [("", "—"), *unit_choices()]  # type: ignore[attr-defined]
        else:
            del self.fields["unit"]


class BookingForm(CleanForm):
    credit_code = forms.CharField(
        label=_("unified social credit code"),
        max_length=30,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "91330000…"}),
    )
    contact_name = forms.CharField(label=_("your name"), required=False, max_length=100)
    phone = forms.CharField(
        label=_("mobile phone"),
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )


class PolicyForm(CleanForm):
    title = forms.CharField(label=_("title"), max_length=300)
    document_number = forms.CharField(label=_("document number"), required=False, max_length=100)
    issuing_unit = forms.ChoiceField(label=_("issuing unit"))
    industries = forms.MultipleChoiceField(
        label=_("industries (none: all)"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )
    valid_from = forms.DateField(
        label=_("valid from"), widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_to = forms.DateField(
        label=_("valid to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    text = forms.CharField(label=_("text"), widget=forms.Textarea(attrs={"rows": 6}))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["issuing_unit"].choices = [("", "—"), *unit_choices()]  # type: ignore[attr-defined]
        self.fields["industries"].choices = industry_choices()  # type: ignore[attr-defined]


class PromoteForm(CleanForm):
    number = forms.CharField(label=_("appeal number"), max_length=40)
    industry = forms.ChoiceField(label=_("industry (default: the enterprise's)"), required=False)
    title = forms.CharField(label=_("title"), required=False, max_length=300)
    text = forms.CharField(
        label=_("answer (default: the unit's reply)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["industry"].choices = [("", "—"), *industry_choices()]  # type: ignore[attr-defined]


class ContactCheckForm(CleanForm):
    credit_code = forms.CharField(label=_("unified social credit code"), max_length=30)
    phone = forms.CharField(label=_("registered contact phone"), max_length=30)


def enterprise_choices() -> list[tuple[str, str]]:
    from_db = Enterprise.objects.order_by("name").values_list("credit_code", "name")
    return [(c, n) for c, n in from_db]


class ChainForm(CleanForm):
    name = forms.CharField(label=_("name"), max_length=200)
    leader = forms.ChoiceField(label=_("chain leader"))
    description = forms.CharField(
        label=_("description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    enterprises = forms.MultipleChoiceField(
        label=_("enterprises"), required=False, widget=forms.SelectMultiple(attrs={"size": 6})
    )
    projects = forms.TypedMultipleChoiceField(
        label=_("projects"),
        required=False,
        coerce=int,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )

    def __init__(self, *args: object, projects: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        leaders = user_choices(roles={Role.LEADER})
        self.fields["leader"].choices = [("", "—"), *leaders]  # type: ignore[attr-defined]
        self.fields["enterprises"].choices = enterprise_choices()  # type: ignore[attr-defined]
        self.fields["projects"].choices = projects  # type: ignore[attr-defined]


class GroupForm(CleanForm):
    name = forms.CharField(label=_("name"), max_length=200)
    industry = forms.ChoiceField(label=_("industry"))
    members = forms.MultipleChoiceField(
        label=_("members"), required=False, widget=forms.SelectMultiple(attrs={"size": 6})
    )
    webhook_url = forms.CharField(label=_("group webhook URL"), required=False, max_length=500)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["industry"].choices = [("", "—"), *industry_choices()]  # type: ignore[attr-defined]
        self.fields["members"].choices = enterprise_choices()  # type: ignore[attr-defined]


class GroupProblemForm(CleanForm):
    credit_code = forms.ChoiceField(label=_("raised by"))
    title = forms.CharField(label=_("title"), required=False, max_length=200)
    content = forms.CharField(label=_("problem"), widget=forms.Textarea(attrs={"rows": 3}))
    kind = forms.ChoiceField(label=_("kind"), choices=PROBLEM_KIND_CHOICES, initial=Kind.HELP)

    def __init__(self, *args: object, members: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["credit_code"].choices = [("", "—"), *members]  # type: ignore[attr-defined]


class GroupAnswerForm(CleanForm):
    number = forms.CharField(widget=forms.HiddenInput, max_length=40)
    text = forms.CharField(
        label=_("answer (empty: the unit's reply)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    for_class = forms.BooleanField(label=_("for the whole group (面向全群)"), required=False)
