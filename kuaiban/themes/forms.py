"""The themes' web forms (each a CleanForm: every text cleaned, every date in range)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kuaiban.core.forms import CleanForm
from kuaiban.org.models import Region, Unit
from kuaiban.themes import services


def _units() -> list[tuple[str, str]]:
    return [
        (u.code, f"{u.name}")
        for u in Unit.objects.filter(active=True, kind__in=["department", "township"]).order_by(
            "kind", "code"
        )
    ]


class ThemeForm(CleanForm):
    title = forms.CharField(label=_("title"), max_length=services.TITLE_MAX)
    lead_unit = forms.ChoiceField(label=_("lead unit"))
    co_units = forms.MultipleChoiceField(
        label=_("co-units"), required=False, widget=forms.CheckboxSelectMultiple
    )
    target_pct = forms.IntegerField(label=_("volume down by (%)"), min_value=1, max_value=100)
    months = forms.IntegerField(
        label=_("within (months)"), min_value=1, max_value=services.MAX_MONTHS, initial=3
    )
    start = forms.CharField(label=_("first month (YYYY-MM)"), required=False, max_length=7)
    query = forms.CharField(label=_("search"), required=False, max_length=services.QUERY_MAX)
    hot_label = forms.CharField(label=_("hot issue"), required=False, max_length=services.TITLE_MAX)
    hot_from = forms.DateField(required=False, widget=forms.HiddenInput)
    hot_to = forms.DateField(required=False, widget=forms.HiddenInput)
    region = forms.ChoiceField(label=_("township"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        units = _units()
        self.fields["lead_unit"].choices = [("", "—"), *units]  # type: ignore[attr-defined]
        self.fields["co_units"].choices = units  # type: ignore[attr-defined]
        townships = Region.objects.filter(level=Region.Level.TOWNSHIP).order_by("code")
        self.fields["region"].choices = [  # type: ignore[attr-defined]
            ("", _("derived / any")),
            *((r.code, r.name) for r in townships),
        ]

    def theme_input(self) -> services.ThemeInput:
        d = self.cleaned_data
        hot = None
        if d.get("hot_label"):
            hot = services.HotIssueRef(d["hot_label"], d.get("hot_from"), d.get("hot_to"))
        return services.ThemeInput(
            title=d["title"],
            lead_unit=d["lead_unit"],
            co_units=list(d.get("co_units") or []),
            target_pct=d["target_pct"],
            months=d["months"],
            hot_issue=hot,
            query=d.get("query") or None,
            region=d.get("region") or None,
            start=d.get("start") or None,
        )


class ReportForm(CleanForm):
    on = forms.DateField(
        label=_("date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    text = forms.CharField(
        label=_("progress"), max_length=services.TEXT_MAX, widget=forms.Textarea(attrs={"rows": 3})
    )


class CloseForm(CleanForm):
    measure = forms.CharField(
        label=_("root-cause measure"),
        max_length=services.TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ReviewForm(CleanForm):
    number = forms.CharField(max_length=40)
    decision = forms.ChoiceField(choices=[("confirmed", "confirmed"), ("rejected", "rejected")])
