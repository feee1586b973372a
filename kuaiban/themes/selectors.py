"""Reads of the monthly themes: who may read which, and each theme's figures (docs/themes.md).

Volume of a month: the theme's links that are not rejected, whose appeal is neither invalid nor
a confidential kind, received in that calendar month (Asia/Shanghai). Baseline: the mean volume
of the ``BASELINE_MONTHS`` months before the first month. Target: baseline × (1 − target_pct/100).
Result: ``met`` / ``missed`` once the theme's last month has ended (its volume at or under the
target, or over it), ``pending`` before.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kuaiban.appeals import policy
from kuaiban.appeals.models import CONFIDENTIAL_KINDS, Appeal, Status
from kuaiban.core.errors import NotFound
from kuaiban.core.masking import mask_text
from kuaiban.core.validation import check_id
from kuaiban.org.models import User
from kuaiban.themes import rules
from kuaiban.themes.models import Theme, ThemeLink, ThemeReport
from kuaiban.themes.services import (
    BASELINE_MONTHS,
    add_months,
    baseline_start,
    local_midnight,
    today,
)

RESULTS = {
    "met": gettext_lazy("target met"),
    "missed": gettext_lazy("target missed"),
    "pending": gettext_lazy("target not yet due"),
}


@dataclass
class Month:
    month: dt.date
    volume: int | None  # None: the month has not begun
    phase: str  # "baseline" or "theme"

    @property
    def label(self) -> str:
        return f"{self.month:%Y-%m}"


@dataclass
class Figures:
    linked: int
    months: list[Month]
    baseline: float
    target: float
    result: str
    latest: Month | None  # the theme's latest month that has begun

    @property
    def result_label(self) -> str:
        return str(RESULTS[self.result])

    @property
    def change_pct(self) -> float | None:
        """The latest month against the baseline, in per cent (negative: fewer appeals)."""
        if self.latest is None or self.latest.volume is None or not self.baseline:
            return None
        return round(100 * (self.latest.volume - self.baseline) / self.baseline, 1)


def end_month(theme: Theme) -> dt.date:
    """The first day of the theme's last month."""
    return add_months(theme.start, theme.months - 1)


def counted(theme: Theme) -> QuerySet[ThemeLink]:
    return (
        ThemeLink.objects.filter(theme=theme)
        .exclude(state=ThemeLink.State.REJECTED)
        .exclude(appeal__status=Status.INVALID)
        .exclude(appeal__kind__in=list(CONFIDENTIAL_KINDS))
    )


def figures(theme: Theme) -> Figures:
    first, after = baseline_start(theme), add_months(end_month(theme), 1)
    tz = timezone.get_current_timezone()
    volumes: dict[dt.date, int] = {}
    links = counted(theme)
    for received in links.filter(
        appeal__received_at__gte=local_midnight(first),
        appeal__received_at__lt=local_midnight(after),
    ).values_list("appeal__received_at", flat=True):
        month = received.astimezone(tz).date().replace(day=1)
        volumes[month] = volumes.get(month, 0) + 1
    this_month = today().replace(day=1)
    months = []
    day = first
    while day < after:
        phase = "baseline" if day < theme.start else "theme"
        months.append(Month(day, volumes.get(day, 0) if day <= this_month else None, phase))
        day = add_months(day, 1)
    baseline = round(sum(m.volume or 0 for m in months[:BASELINE_MONTHS]) / BASELINE_MONTHS, 1)
    target = round(baseline * (100 - theme.target_pct) / 100, 1)
    begun = [m for m in months[BASELINE_MONTHS:] if m.volume is not None]
    last = months[-1]
    result = "pending"
    if today() >= after and last.volume is not None:
        result = "met" if last.volume <= target else "missed"
    return Figures(links.count(), months, baseline, target, result, begun[-1] if begun else None)


def readable_q(user: User) -> Q | None:
    """The themes ``user`` may read; None: none at all."""
    if not user.is_active:
        return None
    if rules.reads_all(user):
        return Q()
    if user.unit_id is None:
        return None
    return Q(lead_unit_id=user.unit_id) | Q(co_units=user.unit_id)


def themes_for(user: User) -> list[Theme]:
    q = readable_q(user)
    if q is None:
        return []
    return list(
        Theme.objects.filter(q).distinct().select_related("lead_unit").order_by("-start", "-id")
    )


def theme_get(*, user: User, theme_id: int) -> Theme:
    check_id(theme_id, "theme_id")
    q = readable_q(user)
    found = (
        Theme.objects.filter(q, pk=theme_id)
        .distinct()
        .select_related("lead_unit", "category", "region")
        .first()
        if q is not None
        else None
    )
    if found is None:
        raise NotFound(_("No such theme."))
    return found


def links_for(*, user: User, theme: Theme, limit: int = 500) -> tuple[list[ThemeLink], int]:
    """The links whose appeal ``user`` may open (newest first, at most ``limit``), and how many
    others there are."""
    q = policy.visible_q(user)
    rows = ThemeLink.objects.filter(theme=theme).select_related("appeal", "appeal__region")
    if q is None:
        return [], rows.count()
    allowed = rows.filter(appeal__in=Appeal.objects.filter(q).values("pk"))
    shown = list(allowed.order_by("-appeal__received_at", "-id")[:limit])
    return shown, rows.count() - allowed.count()


def reports(theme: Theme, *, public: bool = False) -> list[ThemeReport]:
    rows = list(theme.reports.select_related("author").order_by("-on", "-id"))
    if public:
        for row in rows:
            row.text = mask_text(row.text)
    return rows


def public_themes() -> list[tuple[Theme, Figures]]:
    """Every theme with its figures for the public list (no appeal content)."""
    return [
        (t, figures(t))
        for t in Theme.objects.select_related("lead_unit").order_by("status", "-start", "-id")
    ]


def public_theme(theme_id: int) -> Theme:
    check_id(theme_id, "theme_id")
    found = Theme.objects.select_related("lead_unit").filter(pk=theme_id).first()
    if found is None:
        raise NotFound(_("No such theme."))
    return found


def may_review(user: User, theme: Theme) -> bool:
    return theme.status == Theme.Status.OPEN and (
        rules.manages(user) or rules.leads(user, theme.lead_unit_id)
    )
