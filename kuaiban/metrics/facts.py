"""Keeping :class:`~kuaiban.metrics.models.AppealFact` true to the ledger.

* Every new :class:`~kuaiban.appeals.models.AppealEvent` marks its appeal dirty (a ``FactDirty``
  row written by a ``post_save`` receiver inside the event's own transaction, so no change can be
  missed, whatever order transactions commit in).
* :func:`catch_up` rebuilds the facts of dirty appeals. It runs before every metrics read and in
  the background worker ``kuaiban rollup --loop`` (which ``kuaiban serve`` starts), never in the
  request that changed an appeal: batched there, it costs that request nothing.
* :func:`rebuild` recomputes every fact from scratch (``kuaiban rollup --rebuild``).

Facts are a pure function of an appeal row and its events (:func:`facts_for`), so rebuilding is
always safe and gives the same rows.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save

from kuaiban.appeals.models import (
    OPEN_STATUSES,
    Action,
    Alert,
    Appeal,
    AppealEvent,
    AssistPart,
    Category,
    PartStatus,
    Satisfaction,
    Status,
)
from kuaiban.core import clock
from kuaiban.metrics.models import AppealFact, FactDirty, FactState
from kuaiban.org.models import Region, Unit

log = logging.getLogger(__name__)

EXCLUDED = frozenset({Status.MERGED, Status.INVALID})
EXTENSION_APPROVED = "extension_approved"
BATCH = 1000
APPEAL_FIELDS = (
    "id",
    "status",
    "channel",
    "kind",
    "category_id",
    "region_id",
    "lead_unit_id",
    "received_at",
    "claim_due",
    "reply_due",
    "visit_due",
    "alert",
    "event_count",
)


@dataclass
class Lookups:
    """Small directory tables, read once per refresh."""

    unit_ids: dict[str, int]
    category_top: dict[int, int]
    township: dict[int, int | None]

    @classmethod
    def load(cls) -> Lookups:
        units = dict(Unit.objects.values_list("code", "pk"))
        parents = dict(Category.objects.values_list("pk", "parent_id"))
        top: dict[int, int] = {}
        for pk in parents:
            cat = pk
            while (parent := parents.get(cat)) is not None:
                cat = parent
            top[pk] = cat
        regions = {
            pk: (parent, level)
            for pk, parent, level in Region.objects.values_list("pk", "parent_id", "level")
        }
        township: dict[int, int | None] = {}
        for pk in regions:
            node: int | None = pk
            while node is not None and regions[node][1] not in (
                Region.Level.TOWNSHIP,
                Region.Level.COUNTY,
            ):
                node = regions[node][0]
            township[pk] = (
                node if node is not None and regions[node][1] == Region.Level.TOWNSHIP else None
            )
        return cls(units, top, township)


# A live co-unit part: (unit id, due, answered at).
Part = tuple[int, dt.datetime, dt.datetime | None]


@dataclass
class _Row:
    dispatches: int = 0
    claimed_on_time: int = 0
    returns: int = 0
    parts_answered: int = 0
    parts_answered_on_time: int = 0
    part_due_open: dt.datetime | None = None
    counts: dict[str, Any] = field(default_factory=dict)


def local_day(at: dt.datetime) -> dt.date:
    return at.astimezone(ZoneInfo(settings.TIME_ZONE)).date()


def running_due(appeal: dict[str, Any]) -> dt.datetime | None:
    """The deadline of the step an open appeal is at: claim, reply (also after a rework) or
    visit — the one whose passing turned it red, by which the overdue list is ordered."""
    status = appeal["status"]
    if status == Status.DISPATCHED:
        return appeal["claim_due"] or appeal["reply_due"]
    if status == Status.REPLIED:
        return appeal["visit_due"]
    return appeal["reply_due"]


def _part_rows(parts: Sequence[Part]) -> dict[int | None, _Row]:
    """One row per co-unit with a live part: answered (and on time), or still due."""
    rows: dict[int | None, _Row] = {}
    for unit_id, due, answered_at in parts:
        part = rows.setdefault(unit_id, _Row())
        if answered_at is None:
            part.part_due_open = due
        else:
            part.parts_answered = 1
            part.parts_answered_on_time = int(answered_at <= due)
    return rows


def facts_for(
    appeal: dict[str, Any],
    events: Sequence[tuple[str, dict[str, Any]]],
    lk: Lookups,
    parts: Sequence[Part] = (),
) -> list[AppealFact]:
    """The fact rows of one appeal, from its row (``APPEAL_FIELDS``), its events in order and
    its live co-unit parts."""
    if appeal["status"] in EXCLUDED:
        return []
    rows = _part_rows(parts)
    current: int | None = None
    replied = replied_on_time = reworked = visited = extensions = on_spot = 0
    last_rating: dict[str, Any] | None = None
    for action, payload in events:
        if action in (Action.DISPATCH, Action.DELEGATE):
            # A township's delegation down (下派) hands the claim to the village or grid.
            current = lk.unit_ids.get(str(payload.get("unit", "")))
            rows.setdefault(current, _Row()).dispatches += 1
        elif action == Action.CLAIM:
            if payload.get("on_time") is True:
                rows.setdefault(current, _Row()).claimed_on_time += 1
        elif action == Action.RETURN:
            unit = lk.unit_ids.get(str(payload.get("unit", "")), current)
            rows.setdefault(unit, _Row()).returns += 1
            current = None
        elif action in (Action.REPLY, Action.ANSWER, Action.RESOLVE_ON_SPOT):
            if not replied:
                replied = 1
                on_spot = int(action == Action.RESOLVE_ON_SPOT)
                # An answer at intake has no deadline: it is on time by definition.
                replied_on_time = int(payload.get("on_time", True) is True)
        elif action == Action.REWORK:
            reworked = 1
        elif action in (Action.VISIT, Action.VISIT_ATTEMPT):
            visited = 1
            if action == Action.VISIT and payload.get("rated"):
                last_rating = payload
        elif action == EXTENSION_APPROVED:
            extensions += 1
    lead_unit = appeal["lead_unit_id"]
    lead = rows.setdefault(lead_unit, _Row())
    rated = last_rating is not None
    overdue = appeal["status"] in OPEN_STATUSES and appeal["alert"] == Alert.RED
    lead.counts = {
        "overdue": int(overdue),
        "due": running_due(appeal) if overdue else None,
        "received": 1,
        "closed": int(appeal["status"] == Status.CLOSED),
        "replied": replied,
        "replied_on_time": replied_on_time,
        "reply_due_open": appeal["reply_due"] if not replied else None,
        "extensions": extensions,
        "reworked": reworked,
        "visited": visited,
        "rated": int(rated),
        "satisfied": int(
            rated
            and last_rating is not None
            and last_rating.get("satisfaction") in (Satisfaction.SATISFIED, Satisfaction.BASIC)
        ),
        "resolved": int(rated and last_rating is not None and last_rating.get("resolved") is True),
        "authentic": int(
            rated and last_rating is not None and last_rating.get("authentic") is True
        ),
        "on_spot": on_spot,
    }
    common = _dimensions(appeal, lk)
    return [
        AppealFact(
            unit_id=unit,
            lead=unit == lead_unit,
            dispatches=row.dispatches,
            claimed_on_time=row.claimed_on_time,
            returns=row.returns,
            parts_answered=row.parts_answered,
            parts_answered_on_time=row.parts_answered_on_time,
            part_due_open=row.part_due_open,
            **row.counts,
            **common,
        )
        for unit, row in rows.items()
    ]


def _dimensions(appeal: dict[str, Any], lk: Lookups) -> dict[str, Any]:
    """What every fact row of the appeal shares: the day, channel, kind, category and place."""
    category = appeal["category_id"]
    region = appeal["region_id"]
    return {
        "appeal_id": appeal["id"],
        "seq": appeal["event_count"],
        "day": local_day(appeal["received_at"]),
        "channel": appeal["channel"],
        "kind": appeal["kind"],
        "category_id": category,
        "category_top_id": lk.category_top.get(category) if category else None,
        "region_id": region,
        "township_id": lk.township.get(region) if region else None,
    }


def build(ids: Iterable[int], lk: Lookups | None = None) -> list[AppealFact]:
    """Fact rows for the given appeals, read in two queries."""
    ids = list(ids)
    lk = lk or Lookups.load()
    appeals = list(Appeal.objects.filter(pk__in=ids).values(*APPEAL_FIELDS))
    events: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for appeal_id, action, payload in (
        AppealEvent.objects.filter(appeal_id__in=ids)
        .order_by("appeal_id", "seq")
        .values_list("appeal_id", "action", "payload")
    ):
        events.setdefault(appeal_id, []).append((action, payload or {}))
    parts: dict[int, list[Part]] = {}
    for appeal_id, unit_id, due, answered_at in (
        AssistPart.objects.filter(appeal_id__in=ids)
        .exclude(status=PartStatus.WITHDRAWN)
        .values_list("appeal_id", "unit_id", "due", "answered_at")
    ):
        parts.setdefault(appeal_id, []).append((unit_id, due, answered_at))
    out: list[AppealFact] = []
    for appeal in appeals:
        out.extend(facts_for(appeal, events.get(appeal["id"], []), lk, parts.get(appeal["id"], [])))
    return out


def _replace(ids: list[int], lk: Lookups) -> None:
    rows = build(ids, lk)
    AppealFact.objects.filter(appeal_id__in=ids).delete()
    AppealFact.objects.bulk_create(rows, batch_size=BATCH)


def _lock() -> FactState:
    FactState.objects.get_or_create(pk=1)
    return FactState.objects.select_for_update().get(pk=1)


def catch_up(*, limit: int | None = None) -> int:
    """Rebuild the facts of every dirty appeal; returns how many appeals were refreshed."""
    if not FactDirty.objects.exists():
        return 0
    done = 0
    lk: Lookups | None = None
    while limit is None or done < limit:
        with transaction.atomic():
            state = _lock()
            marks = list(FactDirty.objects.order_by("pk").values_list("pk", "appeal_id")[:BATCH])
            if not marks:
                break
            lk = lk or Lookups.load()
            ids = sorted({appeal_id for _pk, appeal_id in marks})
            _replace(ids, lk)
            FactDirty.objects.filter(pk__in=[pk for pk, _a in marks]).delete()
            state.refreshed_at = clock.now()
            state.save(update_fields=["refreshed_at"])
            done += len(ids)
    return done


def _chunks(ids: Iterator[int], size: int) -> Iterator[list[int]]:
    chunk: list[int] = []
    for pk in ids:
        chunk.append(pk)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def rebuild(*, batch: int = 5000, progress: Any = None) -> int:
    """Recompute every fact from the ledger. Returns the number of appeals read."""
    lk = Lookups.load()
    done = 0
    with transaction.atomic():
        _lock()
        FactDirty.objects.all().delete()
        AppealFact.objects.all().delete()
    last = 0
    while True:
        ids = list(
            Appeal.objects.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        with transaction.atomic():
            _lock()
            AppealFact.objects.bulk_create(build(ids, lk), batch_size=batch)
        done += len(ids)
        last = ids[-1]
        if progress:
            progress(done)
    return done


# ----- wiring --------------------------------------------------------------------------------


def mark_dirty(sender: Any, instance: AppealEvent, created: bool, raw: bool, **kwargs: Any) -> None:
    if created and not raw:
        FactDirty.objects.create(appeal_id=instance.appeal_id)


def connect() -> None:
    post_save.connect(mark_dirty, sender=AppealEvent, dispatch_uid="metrics.mark_dirty")
