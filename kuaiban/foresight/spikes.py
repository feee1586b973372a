"""Spike alerts (未诉先办): a category in a township far above its recent baseline within a day.

Run by every sweep (registered with :func:`kuaiban.supervision.services.sweep.on_sweep`). A
(category, township) spikes on local day D when its appeals received that day reach
``max(SPIKE_MIN, SPIKE_FACTOR × mean daily count over the previous BASELINE_DAYS days)``
(``docs/metrics.md``, "Spike alerts"). The first sweep that sees it stores a
:class:`~kuaiban.foresight.models.Spike` with the appeals, and tells the lead unit's heads and
handlers and the supervisors; the row's unique key makes every later sweep (or a second sweeper)
a no-op for that day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.urls import reverse
from django.utils.translation import gettext as _

from kuaiban.appeals import policy
from kuaiban.appeals.models import Appeal, Category
from kuaiban.appeals.selectors import visible_appeals
from kuaiban.core.errors import NotFound
from kuaiban.core.validation import ID_MAX
from kuaiban.foresight.models import Spike
from kuaiban.metrics import facts
from kuaiban.metrics import services as metrics
from kuaiban.metrics.models import AppealFact
from kuaiban.org.models import Region, User
from kuaiban.supervision.models import Notification
from kuaiban.supervision.services import notifications as notify
from kuaiban.supervision.services import sweep

SPIKE_MIN = 5
SPIKE_FACTOR = 3
BASELINE_DAYS = 28


@dataclass(frozen=True)
class Candidate:
    category_id: int
    township_id: int
    count: int
    baseline: Decimal
    threshold: Decimal


def candidates(day: dt.date) -> list[Candidate]:
    """Every (category, township) at or over its threshold on ``day``: one aggregate query."""
    today = Q(day=day)
    before = Q(day__lt=day)
    rows = (
        AppealFact.objects.filter(
            lead=True,
            day__gte=day - dt.timedelta(days=BASELINE_DAYS),
            day__lte=day,
            category__isnull=False,
            township__isnull=False,
        )
        .values("category_id", "township_id")
        .annotate(today=Sum("received", filter=today), before=Sum("received", filter=before))
        .filter(today__gte=SPIKE_MIN)
        .order_by("category_id", "township_id")
    )
    out = []
    for r in rows:
        mean = Decimal(r["before"] or 0) / BASELINE_DAYS
        threshold = max(Decimal(SPIKE_MIN), SPIKE_FACTOR * mean)
        if r["today"] >= threshold:
            out.append(
                Candidate(
                    r["category_id"],
                    r["township_id"],
                    r["today"],
                    mean.quantize(Decimal("0.01")),
                    threshold.quantize(Decimal("0.01")),
                )
            )
    return out


def _facts(c: Candidate, day: dt.date) -> QuerySet[AppealFact]:
    return AppealFact.objects.filter(
        lead=True, category_id=c.category_id, township_id=c.township_id
    ).filter(day__gte=day - dt.timedelta(days=BASELINE_DAYS), day__lte=day)


def lead_unit_id(c: Candidate, day: dt.date) -> int | None:
    """The unit most of the category's appeals in the township (these 29 days) are led by now;
    without any dispatched, the dispatch catalogue's default unit of the category (or of the
    nearest parent that has one)."""
    top = (
        _facts(c, day)
        .filter(unit__isnull=False)
        .values("unit_id")
        .annotate(n=Count("id"))
        .order_by("-n", "unit_id")
        .first()
    )
    if top is not None:
        return int(top["unit_id"])
    node: Category | None = Category.objects.get(pk=c.category_id)
    while node is not None:
        if node.default_unit_id is not None:
            return node.default_unit_id
        node = node.parent
    return None


def _store(c: Candidate, day: dt.date, now: dt.datetime) -> Spike | None:
    """The spike with its appeals and notices, in one transaction; None if already stored."""
    ids = list(
        _facts(c, day).filter(day=day).order_by("appeal_id").values_list("appeal_id", flat=True)
    )
    unit_id = lead_unit_id(c, day)
    try:
        with transaction.atomic():
            spike = Spike.objects.create(
                category_id=c.category_id,
                township_id=c.township_id,
                day=day,
                count=c.count,
                baseline=c.baseline,
                threshold=c.threshold,
                lead_unit_id=unit_id,
                detected_at=now,
            )
            spike.appeals.set(ids)
            category = Category.objects.get(pk=c.category_id)
            township = Region.objects.get(pk=c.township_id)
            people = notify.unit_heads(unit_id) + notify.unit_handlers(unit_id)
            notify.save(
                notify.build(
                    people + notify.supervisors(),
                    kind=Notification.Kind.SPIKE,
                    key=f"spike:{c.category_id}:{c.township_id}:{day.isoformat()}",
                    params={
                        "category": category.name,
                        "township": township.name,
                        "day": day.isoformat(),
                        "count": c.count,
                        "baseline": str(c.baseline),
                    },
                    url=reverse("foresight:spike", args=[spike.pk]),
                    now=now,
                ),
                mail=False,  # the sweep mails every pending notice at its end
            )
    except IntegrityError:  # another sweeper stored it first
        return None
    return spike


def spike_sweep(*, now: dt.datetime) -> int:
    """Store and announce today's new spikes; returns how many were new."""
    facts.catch_up()
    day = facts.local_day(now)
    known = set(Spike.objects.filter(day=day).values_list("category_id", "township_id"))
    new = 0
    for c in candidates(day):
        if (c.category_id, c.township_id) in known:
            continue
        new += _store(c, day, now) is not None
    return new


def connect() -> None:
    """Run :func:`spike_sweep` on every sweep (called from the app's ``ready``)."""
    sweep.on_sweep(spike_sweep)


# ----- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpikeView:
    spike: Spike
    shown: list[Appeal]
    hidden: int


def may_read(user: User, spike: Spike) -> bool:
    """Metrics readers (leaders, supervisors, administrators) and the lead unit's people."""
    if not (user.is_authenticated and user.is_active):
        return False
    if user.role in metrics.READERS:
        return True
    return spike.lead_unit_id is not None and user.unit_id == spike.lead_unit_id


def spike_get(*, user: User, pk: int) -> SpikeView:
    if not 0 < pk <= ID_MAX:  # a number typed in the address: no such row, not a database error
        raise NotFound(_("No such spike alert."))
    spike = Spike.objects.select_related("category", "township", "lead_unit").filter(pk=pk).first()
    if spike is None or not may_read(user, spike):
        raise NotFound(_("No such spike alert."))
    ids = list(spike.appeals.values_list("pk", flat=True))
    shown = [
        a
        for a in visible_appeals(user)
        .filter(pk__in=ids)
        .select_related("lead_unit", "region")
        .order_by("received_at", "pk")
        if policy.can_see(user, a)
    ]
    return SpikeView(spike=spike, shown=shown, hidden=len(ids) - len(shown))
