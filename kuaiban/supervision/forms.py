"""Forms collect input for the web; the services validate it (one set of rules for web and API)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kuaiban.appeals.forms import unit_choices
from kuaiban.core.forms import CleanForm
from kuaiban.supervision.models import OrderLevel

DATE = forms.DateInput(attrs={"type": "date"})


class ExtensionRequestForm(CleanForm):
    proposed_due = forms.CharField(label=_("new reply deadline"), widget=DATE)
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 3}))


class DecisionForm(CleanForm):
    decision = forms.ChoiceField(
        label=_("decision"), choices=[("approve", _("Approve")), ("refuse", _("Refuse"))]
    )
    due = forms.CharField(label=_("grant another date (optional)"), required=False, widget=DATE)
    note = forms.CharField(label=_("note (required to refuse)"), required=False)


class OrderIssueForm(CleanForm):
    appeal = forms.CharField(label=_("appeal (tracking number)"), required=False)
    unit = forms.ChoiceField(label=_("unit (default: the appeal's lead unit)"), required=False)
    level = forms.ChoiceField(label=_("level"), choices=OrderLevel.choices)
    due = forms.CharField(label=_("answer by"), widget=DATE)
    text = forms.CharField(label=_("text"), widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["unit"].choices = [("", "—"), *unit_choices()]  # type: ignore[attr-defined]


class OrderAnswerForm(CleanForm):
    text = forms.CharField(label=_("answer"), widget=forms.Textarea(attrs={"rows": 4}))


class OrderCloseForm(CleanForm):
    note = forms.CharField(label=_("note"), required=False)


class OrderReopenForm(CleanForm):
    note = forms.CharField(label=_("why the answer is not enough"))
    due = forms.CharField(label=_("new deadline (optional)"), required=False, widget=DATE)
    level = forms.ChoiceField(
        label=_("level"), choices=[("", _("unchanged")), *OrderLevel.choices], required=False
    )


class ArbitrateForm(CleanForm):
    unit = forms.ChoiceField(label=_("lead unit"))
    co_units = forms.MultipleChoiceField(
        label=_("co-handling units"),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 4}),
    )
    note = forms.CharField(label=_("arbitration note"), required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        choices = unit_choices()
        self.fields["unit"].choices = [("", "—"), *choices]  # type: ignore[attr-defined]
        self.fields["co_units"].choices = choices  # type: ignore[attr-defined]
