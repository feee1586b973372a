"""Mapping a ledger row to a :class:`Plan`: the appeal's input and the history to replay.

Each row is checked on its own (every problem named by its column's header); nothing is
written. Whether the history is legal as a sequence of transitions is left to the services when
:mod:`~kuaiban.metrics.importer.replay` runs it: the rule lives in one place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from kuaiban.appeals import services as appeals
from kuaiban.appeals.models import Category, Channel, Kind, ReplyResult, Status, Urgency
from kuaiban.core import clock
from kuaiban.core.errors import FieldError, ValidationFailed
from kuaiban.core.validation import check_date
from kuaiban.metrics.importer.parse import (
    CHOICES,
    COLUMNS,
    HEADER,
    NO,
    ORDER,
    SERVICE_FIELDS,
    TZ,
    YES,
    choice_map,
    text_of,
)
from kuaiban.org.models import Region, Unit

# The time each step of the ordinary path leaves, and the status that step reaches.
STEPS = {
    "dispatched_at": Status.DISPATCHED,
    "claimed_at": Status.IN_PROGRESS,
    "replied_at": Status.REPLIED,
    "visited_at": Status.VISITED,
    "closed_at": Status.CLOSED,
}
UNREACHED = "未联系上"  # as the ledger export writes it (kuaiban.metrics.excel)
_LIST = re.compile(r"[、,，;；/]+")


@dataclass
class Plan:
    key: str
    source: str
    data: appeals.AppealInput
    status: str
    received_at: dt.datetime
    unit: str = ""  # unit codes
    co_units: list[str] = field(default_factory=list)
    times: dict[str, dt.datetime] = field(default_factory=dict)
    reply_result: str = ""
    reply_text: str = ""
    satisfaction: str = ""
    resolved: bool | None = None
    authentic: bool | None = None
    unreached: bool = False  # the visit ended unrated: nobody answered three days' calls
    invalid_reason: str = ""
    merged_into: str = ""  # the master's 来源编号 / 诉求编号
    ended_at: dt.datetime | None = None


@dataclass
class Lookups:
    choices: dict[str, dict[str, str]]
    units: dict[str, Unit]
    regions: dict[str, str]
    categories: dict[str, str]

    @classmethod
    def load(cls) -> Lookups:
        units: dict[str, Unit] = {}
        for u in Unit.objects.filter(active=True):
            units[u.code.lower()] = u
            units[u.name.lower()] = u
        regions: dict[str, str] = {}
        for r in Region.objects.select_related("parent"):
            regions[r.code.lower()] = r.code
            regions.setdefault(r.name.lower(), r.code)
        for r in Region.objects.exclude(level=Region.Level.COUNTY).select_related(
            "parent", "parent__parent", "parent__parent__parent"
        ):
            path = r.path_names().lower()
            regions[path] = r.code
            regions[path.replace(" / ", "/")] = r.code
        categories: dict[str, str] = {}
        for c in Category.objects.all():
            categories[c.code.lower()] = c.code
            categories.setdefault(c.name.lower(), c.code)
        return cls({k: choice_map(k) for k in CHOICES}, units, regions, categories)


def row_key(values: dict[str, Any]) -> tuple[str, str]:
    """The import key of a row (``src:<来源编号>``, else a digest) and its source number."""
    source = text_of(values.get("source"))
    if source:
        return f"src:{source}"[:80], source
    blob = "\x1f".join(f"{c.key}={text_of(values.get(c.key))}" for c in COLUMNS)
    return "sha:" + hashlib.sha256(blob.encode()).hexdigest()[:40], ""


class Row:
    """One row's values with the checks that collect its errors."""

    def __init__(self, values: dict[str, Any], lookups: Lookups) -> None:
        self.v = values
        self.lk = lookups
        self.errors: list[FieldError] = []

    def err(self, key: str, message: str) -> None:
        self.errors.append(FieldError(HEADER.get(key, key), message))

    def text(self, key: str) -> str:
        return text_of(self.v.get(key))

    def choice(self, key: str, *, required: bool = False) -> str:
        raw = self.text(key)
        if not raw:
            if required:
                self.err(key, _("This field is required."))
            return ""
        value = self.lk.choices[key].get(raw.lower())
        if value is None:
            self.err(key, _("Unknown value %(value)r.") % {"value": raw})
            return ""
        return value

    def lookup(self, key: str, table: dict[str, Any], raw: str) -> Any:
        found = table.get(raw.lower())
        if found is None:
            message = {
                "region": _("Unknown region %(value)r."),
                "category": _("Unknown category %(value)r."),
            }.get(key, _("Unknown unit %(value)r."))
            self.err(key, message % {"value": raw})
        return found

    def moment(self, key: str, *, required: bool = False) -> dt.datetime | None:
        raw = self.v.get(key)
        if raw in (None, ""):
            if required:
                self.err(key, _("This field is required."))
            return None
        value = _parse_moment(raw)
        if value is None:
            self.err(key, _("Use a time like 2025-03-01 09:30."))
            return None
        try:
            check_date(value, key)  # the one range check of every date the product accepts
        except ValidationFailed as exc:
            self.err(key, str(exc.errors[0].message))
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=TZ)
        if value > clock.now():
            self.err(key, _("Cannot be in the future."))
            return None
        return value

    def yes_no(self, key: str, *, required: bool) -> bool | None:
        raw = self.text(key).lower()
        if raw in YES:
            return True
        if raw in NO:
            return False
        if raw or required:
            self.err(key, _("Answer 是 or 否."))
        return None


def _parse_moment(raw: Any) -> dt.datetime | None:
    if isinstance(raw, dt.datetime):
        return raw
    if isinstance(raw, dt.date):
        return dt.datetime.combine(raw, dt.time(9, 0))
    text = (
        text_of(raw)
        .replace("/", "-")
        .replace("T", " ")
        .replace("年", "-")
        .replace("月", "-")
        .replace("日", "")
    )
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _input(row: Row) -> appeals.AppealInput:
    """The appeal's own fields, checked by the register service's own validation."""
    lk = row.lk
    region = lk.regions.get(row.text("region").lower()) if row.text("region") else None
    if row.text("region") and region is None:
        row.lookup("region", lk.regions, row.text("region"))
    category = None
    if row.text("category"):
        category = row.lookup("category", lk.categories, row.text("category"))
    data = appeals.AppealInput(
        channel=row.choice("channel", required=True) or Channel.HOTLINE,
        kind=row.choice("kind", required=True) or Kind.COMPLAINT,
        urgency=row.choice("urgency") or Urgency.NORMAL,
        title=row.text("title"),
        content=row.text("content"),
        submitter_name=row.text("submitter_name"),
        submitter_phone=row.text("submitter_phone"),
        submitter_id_number=row.text("submitter_id_number"),
        enterprise_name=row.text("enterprise_name"),
        region=region,
        address=row.text("address"),
        category=category,
    )
    for key in ("submitter_phone", "submitter_id_number"):
        if "*" in row.text(key):
            row.err(key, _("A masked number cannot be imported: export as a supervisor."))
    try:
        appeals.validate_input(data)
    except ValidationFailed as exc:
        for e in exc.errors:
            key = SERVICE_FIELDS.get(e.field, e.field.replace("submitter.", "submitter_"))
            if not any(x.field == HEADER.get(key, key) for x in row.errors):
                row.err(key, str(e.message))
    return data


def _units(row: Row, plan: Plan) -> None:
    if row.text("unit"):
        unit = row.lookup("unit", row.lk.units, row.text("unit"))
        plan.unit = unit.code if unit else ""
    for name in _LIST.split(row.text("co_units")):
        if name.strip():
            unit = row.lookup("co_units", row.lk.units, name.strip())
            if unit is not None:
                plan.co_units.append(unit.code)


def _times(row: Row, plan: Plan, stage: int, answered: bool) -> None:
    """The time of each step the status implies; an appeal returned or reworked may carry the
    times of an earlier round too (the ledger keeps the latest of each), which are ignored."""
    reworked = any(row.text(k) not in ("", "0") for k in ("returns", "reworks"))
    previous: dt.datetime | None = plan.received_at
    for name, reaches in STEPS.items():
        required = bool(plan.status) and stage >= ORDER.index(reaches)
        if answered and name in ("dispatched_at", "claimed_at"):
            required = False
        moment = row.moment(name, required=required)
        if moment is None:
            continue
        if not required:
            if not reworked:
                row.err(name, _("Only an appeal that got this far has this time."))
            continue
        if previous is not None and moment < previous:
            row.err(name, _("Earlier than the step before it."))
        previous = moment
        plan.times[name] = moment


def _outcome(row: Row, plan: Plan, stage: int, answered: bool) -> None:
    """The reply, the visit's rating, and how a merged or invalid appeal ended."""
    if stage >= ORDER.index(Status.REPLIED):
        plan.reply_result = row.choice("reply_result", required=not answered) or (
            ReplyResult.RESOLVED
        )
        plan.reply_text = row.text("reply_text")
        if not plan.reply_text:
            row.err("reply_text", _("This field is required."))
    if stage >= ORDER.index(Status.VISITED) and row.text("satisfaction") == UNREACHED:
        plan.unreached = True
    elif stage >= ORDER.index(Status.VISITED):
        plan.satisfaction = row.choice("satisfaction", required=True)
        plan.resolved = row.yes_no("resolved", required=True)
        plan.authentic = row.yes_no("authentic", required=True)
    if plan.status in (Status.MERGED, Status.INVALID):
        plan.ended_at = row.moment("ended_at", required=True)
        latest = max([plan.received_at, *plan.times.values()])
        if plan.ended_at is not None and plan.ended_at < latest:
            row.err("ended_at", _("Earlier than the step before it."))
    if plan.status == Status.INVALID:
        plan.invalid_reason = row.text("invalid_reason")
        if not plan.invalid_reason:
            row.err("invalid_reason", _("This field is required."))
    if plan.status == Status.MERGED:
        plan.merged_into = row.text("merged_into")
        if not plan.merged_into:
            row.err("merged_into", _("This field is required."))


def check_row(values: dict[str, Any], lk: Lookups) -> tuple[Plan | None, list[FieldError]]:
    """The row's plan, or None and every problem the row has."""
    row = Row(values, lk)
    received = row.moment("received_at", required=True)
    status = row.choice("status", required=True)
    data = _input(row)
    key, source = row_key(values)
    plan = Plan(key, source, data, status, received or clock.now())
    _units(row, plan)
    # Merged and invalid appeals left the ordinary path where their times stop.
    ended = status in (Status.MERGED, Status.INVALID)
    stage = ORDER.index(Status(status)) if status and not ended else 0
    answered = not plan.unit and data.kind == Kind.CONSULTATION and not row.text("dispatched_at")
    if ended:
        stage = max(
            (ORDER.index(s) for n, s in STEPS.items() if row.text(n) and s != Status.CLOSED),
            default=0,
        )
    _times(row, plan, stage, answered)
    dispatched = stage >= ORDER.index(Status.DISPATCHED)
    if dispatched and not plan.unit and not answered and not row.text("unit"):
        row.err("unit", _("A dispatched appeal needs its handling unit."))
    _outcome(row, plan, stage, answered)
    return (None if row.errors else plan), row.errors
