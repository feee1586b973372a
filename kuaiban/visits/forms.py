from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kuaiban.appeals.models import Satisfaction
from kuaiban.core.forms import CleanForm

YES_NO = [("yes", _("Yes")), ("no", _("No"))]


class CallForm(CleanForm):
    reached = forms.ChoiceField(
        label=_("Did you reach the submitter?"), choices=YES_NO, widget=forms.RadioSelect
    )
    resolved = forms.ChoiceField(
        label=_("Was the problem resolved?"),
        choices=YES_NO,
        widget=forms.RadioSelect,
        required=False,
    )
    satisfaction = forms.ChoiceField(
        label=_("How satisfied is the submitter?"),
        choices=Satisfaction.choices,
        widget=forms.RadioSelect,
        required=False,
    )
    authentic = forms.ChoiceField(
        label=_("Did the unit really contact the submitter?"),
        choices=YES_NO,
        widget=forms.RadioSelect,
        required=False,
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )


class SelfRatingForm(CleanForm):
    resolved = forms.ChoiceField(
        label=_("Has your problem been resolved?"), choices=YES_NO, widget=forms.RadioSelect
    )
    satisfaction = forms.ChoiceField(
        label=_("Are you satisfied with how it was handled?"),
        choices=Satisfaction.choices,
        widget=forms.RadioSelect,
    )
    contacted = forms.ChoiceField(
        label=_("Did the handling unit contact you?"), choices=YES_NO, widget=forms.RadioSelect
    )
    note = forms.CharField(
        label=_("Anything else you want to tell us (optional)"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


def yes_no(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)
