"""The public 星级村 page, mounted at /stars/ (no login): a citizen picks their village or
community and sees its stars for the last completed months and quarters.

Only stars and the score in points are shown: never an appeal, a count of appeals or a unit's
handling figures; confidential reports (举报) are not counted in the village score at all.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from kuaiban.core.forms import CleanForm
from kuaiban.metrics import periods, services
from kuaiban.metrics.models import Scoring
from kuaiban.org.models import Unit

MONTHS, QUARTERS = 6, 4


def public_villages() -> list[Unit]:
    """The members of every active village-scored tier, by township then name."""
    seen: dict[int, Unit] = {}
    for tier in services.assessment_tiers():
        if tier.scoring == Scoring.VILLAGE:
            seen.update({u.pk: u for u in services.tier_units(tier)})
    return sorted(seen.values(), key=lambda u: (_township(u), u.code))


def _township(unit: Unit) -> str:
    town = unit.township_region
    return town.name if town is not None else ""


class VillageForm(CleanForm):
    village = forms.ChoiceField(label=_("Village or community"))

    def __init__(self, *args: Any, villages: list[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        groups: dict[str, list[tuple[str, str]]] = {}
        for u in villages:
            groups.setdefault(_township(u), []).append((u.code, u.name))
        field = self.fields["village"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "—"), *groups.items()]


def stars_of(unit: Unit, kind: str, count: int) -> list[dict[str, Any]]:
    """The village's stars for the ``count`` completed periods of ``kind``, oldest first."""
    vs = services.VillageScheme.current()
    last = periods.containing(services.today(), kind).previous()
    out = []
    for period in last.recent(count):
        scope = services.Scope(period.start, period.end)
        counts = services.village_counts(scope, [unit]).get(unit.pk)
        points = services.village_score(services.rates(counts), vs) if counts else None
        value = round(float(points), 1) if points is not None else None
        out.append({"period": period.label, "score": value, "stars": services.stars(value, vs)})
    return out


def village_stars(request: HttpRequest) -> HttpResponse:
    villages = public_villages()
    form = VillageForm(request.GET or None, villages=villages)
    context: dict[str, Any] = {"form": form}
    status = 200
    if form.is_bound:
        if form.is_valid():
            unit = next(u for u in villages if u.code == form.cleaned_data["village"])
            context.update(
                unit=unit,
                township=_township(unit),
                months=stars_of(unit, periods.MONTH, MONTHS),
                quarters=stars_of(unit, periods.QUARTER, QUARTERS),
                bands=services.village_scheme_dict(services.VillageScheme.current())["stars"],
            )
        else:
            status = 400
    return render(request, "metrics/village_stars.html", context, status=status)
