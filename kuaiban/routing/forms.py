"""Forms of the routing pages: they collect input; services and selectors validate it."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kuaiban.core.forms import CleanForm


class PeriodForm(CleanForm):
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def add_prefix(self, field_name: str) -> str:
        # Query parameters ?from=&to= as in the API.
        return {"date_from": "from", "date_to": "to"}.get(field_name, field_name)


class TextForm(CleanForm):
    """What the intake form sends while the operator types."""

    title = forms.CharField(required=False)
    content = forms.CharField(required=False)
    region = forms.CharField(required=False)
    category = forms.CharField(required=False)


class MergeForm(CleanForm):
    into = forms.CharField(label=_("merge into (tracking number)"))
