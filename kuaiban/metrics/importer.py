"""Import a historical ledger (台账) from .xlsx or .csv.

Two passes, always: :func:`check` reads every row and reports each invalid one with the reason
(nothing is written); :func:`write` then writes the valid rows — only if every row is valid, or
the caller asked to skip the invalid ones. Each imported appeal gets the events its history
implies (register, dispatch, claim, reply or answer, visit, close), each recorded at its historical
time with :func:`kuaiban.core.clock.frozen` through the ledger's own hash-chained
``record_event``, so the timeline, the audit and the metrics read it like any other appeal.

Every row has an import key — ``src:<来源编号>`` when the file gives the old system's number,
else a digest of the row — kept in :class:`~kuaiban.metrics.models.ImportedAppeal`: importing the
same file again finds every key and creates nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from kuaiban.appeals import services as appeals
from kuaiban.appeals.models import (
    Action,
    Appeal,
    Category,
    Channel,
    Kind,
    ReplyResult,
    Satisfaction,
    Status,
    Urgency,
    Visit,
)
from kuaiban.core import clock
from kuaiban.core.errors import FieldError, ValidationFailed
from kuaiban.core.text import fold
from kuaiban.deadlines import services as deadlines
from kuaiban.metrics.models import ImportBatch, ImportedAppeal
from kuaiban.org.models import Region, Unit, User

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    help: str = ""


COLUMNS: tuple[Column, ...] = (
    Column(
        "source",
        "来源编号",
        ("原工单编号", "工单编号", "source_number"),
        help="原系统工单编号；同一编号只导入一次",
    ),
    Column("received_at", "受理时间", ("received_at",), True, "如 2025-03-01 09:30"),
    Column("channel", "渠道", ("channel",), True, "如 12345热线、书记县长信箱、网格上报"),
    Column("kind", "诉求类型", ("类型", "kind"), True, "投诉、求助、咨询、建议、举报"),
    Column("urgency", "紧急程度", ("urgency",), help="一般、紧急、特急；空为一般"),
    Column("category", "事项分类", ("分类", "category"), help="分类名称或编码"),
    Column("title", "标题", ("title",)),
    Column("content", "诉求内容", ("内容", "content"), True),
    Column("submitter_name", "诉求人", ("姓名", "submitter_name")),
    Column("submitter_phone", "联系电话", ("电话", "submitter_phone")),
    Column("region", "所属区域", ("区域", "region"), help="区划编码或名称（如 城关镇/南关社区）"),
    Column("address", "地址", ("address",)),
    Column("unit", "承办单位", ("unit",), help="单位名称或编码"),
    Column("status", "状态", ("status",), True, "已受理、已派单、办理中、已答复、已回访、已办结"),
    Column("dispatched_at", "派单时间", ("dispatched_at",)),
    Column("claimed_at", "签收时间", ("claimed_at",)),
    Column("replied_at", "答复时间", ("replied_at",)),
    Column("reply_result", "答复结果", ("reply_result",), help="已解决、部分解决、无法解决"),
    Column("reply_text", "答复内容", ("reply_text",)),
    Column("visited_at", "回访时间", ("visited_at",)),
    Column("satisfaction", "满意度", ("satisfaction",), help="满意、基本满意、不满意"),
    Column("resolved", "是否解决", ("resolved",), help="是 / 否"),
    Column("authentic", "是否真实联系", ("真实联系", "authentic"), help="是 / 否"),
    Column("closed_at", "办结时间", ("closed_at",)),
)
HEADER = {c.key: c.header for c in COLUMNS}
SERVICE_FIELDS = {
    "submitter.phone": "submitter_phone",
    "submitter.name": "submitter_name",
    "submitter.type": "submitter_name",
}
ORDER = [
    Status.RECEIVED,
    Status.DISPATCHED,
    Status.IN_PROGRESS,
    Status.REPLIED,
    Status.VISITED,
    Status.CLOSED,
]
ALIASES: dict[str, dict[str, str]] = {
    "channel": {
        "12345": "hotline",
        "12345热线": "hotline",
        "热线": "hotline",
        "书记县长信箱": "mailbox",
        "县长信箱": "mailbox",
        "书记直通车": "direct_line",
        "网格": "grid",
        "网格上报": "grid",
        "政企微信群": "wechat",
        "微信群": "wechat",
        "政企早餐会": "breakfast",
        "早餐会": "breakfast",
        "信访": "petition",
        "走访": "visit",
        "敲门": "visit",
        "网站": "web",
        "app": "app",
        "暗访": "inspection",
        "暗访督查": "inspection",
    },
    "kind": {
        "投诉": "complaint",
        "求助": "help",
        "咨询": "consultation",
        "建议": "suggestion",
        "举报": "report",
    },
    "urgency": {"一般": "normal", "普通": "normal", "紧急": "urgent", "特急": "emergency"},
    "status": {
        "已受理": "received",
        "待派单": "received",
        "已派单": "dispatched",
        "待签收": "dispatched",
        "办理中": "in_progress",
        "已签收": "in_progress",
        "已答复": "replied",
        "待回访": "replied",
        "已回访": "visited",
        "已办结": "closed",
        "办结": "closed",
    },
    "reply_result": {
        "已解决": "resolved",
        "解决": "resolved",
        "部分解决": "partly",
        "无法解决": "unresolved",
        "未解决": "unresolved",
    },
    "satisfaction": {"满意": "satisfied", "基本满意": "basic", "不满意": "dissatisfied"},
}
CHOICES = {
    "channel": Channel,
    "kind": Kind,
    "urgency": Urgency,
    "status": Status,
    "reply_result": ReplyResult,
    "satisfaction": Satisfaction,
}
YES = {"是", "yes", "y", "true", "1", "对"}
NO = {"否", "no", "n", "false", "0", "不是"}
TZ = ZoneInfo(settings.TIME_ZONE)


def _choice_map(name: str) -> dict[str, str]:
    out = {k.lower(): v for k, v in ALIASES.get(name, {}).items()}
    choices = CHOICES[name]
    for value, label in choices.choices:
        out[value.lower()] = value
        for lang in ("zh-hans", "en"):
            with translation.override(lang):
                out[str(label).strip().lower()] = value
    return out


# ----- reading -----------------------------------------------------------------------------------


def read_table(name: str, content: bytes) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    """The header row and the data rows (with their line numbers) of an .xlsx or .csv file."""
    if len(content) > MAX_BYTES:
        raise ValidationFailed.one("file", _("The file is larger than 20 MB."))
    suffix = Path(name).suffix.lower()
    rows: list[list[Any]]
    if suffix == ".csv":
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ValidationFailed.one("file", _("Cannot read the CSV: save it as UTF-8."))
        rows = [list(r) for r in csv.reader(io.StringIO(text))]
    elif suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise ValidationFailed.one("file", _("Not a readable .xlsx file.")) from exc
        ws = wb.worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        wb.close()
    else:
        raise ValidationFailed.one("file", _("Only .xlsx and .csv files can be imported."))
    numbered = [(i, r) for i, r in enumerate(rows, start=1) if any(_s(v) for v in r)]
    if not numbered:
        raise ValidationFailed.one("file", _("The file is empty."))
    (_n, header), data = numbered[0], numbered[1:]
    if len(data) > MAX_ROWS:
        raise ValidationFailed.one("file", _("At most 200,000 rows per file."))
    return [_s(h) for h in header], data


def _s(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _header_map(header: list[str]) -> dict[int, str]:
    lookup: dict[str, str] = {}
    for c in COLUMNS:
        for name in (c.header, c.key, *c.aliases):
            lookup[name.strip().lower()] = c.key
    found = {i: lookup[h.lower()] for i, h in enumerate(header) if h.lower() in lookup}
    missing = [c.header for c in COLUMNS if c.required and c.key not in found.values()]
    if missing:
        raise ValidationFailed.one(
            "file", _("Missing columns: %(names)s.") % {"names": "、".join(missing)}
        )
    return found


# ----- checking ----------------------------------------------------------------------------------


@dataclass
class Plan:
    key: str
    source: str
    data: appeals.AppealInput
    status: str
    received_at: dt.datetime
    unit: Unit | None = None
    times: dict[str, dt.datetime] = field(default_factory=dict)
    reply_result: str = ""
    reply_text: str = ""
    satisfaction: str = ""
    resolved: bool | None = None
    authentic: bool | None = None


@dataclass
class RowResult:
    line: int
    key: str
    state: str  # valid | invalid | duplicate
    errors: list[FieldError] = field(default_factory=list)
    plan: Plan | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "line": self.line,
            "key": self.key,
            "state": self.state,
            "errors": [{"field": e.field, "message": str(e.message)} for e in self.errors],
        }


@dataclass
class Checked:
    rows: list[RowResult]

    def count(self, state: str) -> int:
        return sum(1 for r in self.rows if r.state == state)

    @property
    def invalid(self) -> list[RowResult]:
        return [r for r in self.rows if r.state == "invalid"]


class _Row:
    def __init__(self, values: dict[str, str | Any], lookups: _Lookups) -> None:
        self.v = values
        self.lk = lookups
        self.errors: list[FieldError] = []

    def err(self, key: str, message: str) -> None:
        self.errors.append(FieldError(HEADER.get(key, key), message))

    def text(self, key: str) -> str:
        return _s(self.v.get(key))

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

    def moment(self, key: str, *, required: bool = False) -> dt.datetime | None:
        raw = self.v.get(key)
        if raw in (None, ""):
            if required:
                self.err(key, _("This field is required."))
            return None
        value: dt.datetime | None = None
        if isinstance(raw, dt.datetime):
            value = raw
        elif isinstance(raw, dt.date):
            value = dt.datetime.combine(raw, dt.time(9, 0))
        else:
            text = (
                _s(raw)
                .replace("/", "-")
                .replace("T", " ")
                .replace("年", "-")
                .replace("月", "-")
                .replace("日", "")
            )
            for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
                try:
                    value = dt.datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
        if value is None:
            self.err(key, _("Use a time like 2025-03-01 09:30."))
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


@dataclass
class _Lookups:
    choices: dict[str, dict[str, str]]
    units: dict[str, Unit]
    regions: dict[str, str]
    categories: dict[str, str]

    @classmethod
    def load(cls) -> _Lookups:
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
        return cls({k: _choice_map(k) for k in CHOICES}, units, regions, categories)


def _key(values: dict[str, Any]) -> tuple[str, str]:
    source = _s(values.get("source"))
    if source:
        return f"src:{source}"[:80], source
    blob = "\x1f".join(f"{c.key}={_s(values.get(c.key))}" for c in COLUMNS)
    return "sha:" + hashlib.sha256(blob.encode()).hexdigest()[:40], ""


def check_row(values: dict[str, Any], lk: _Lookups) -> tuple[Plan | None, list[FieldError]]:
    row = _Row(values, lk)
    received = row.moment("received_at", required=True)
    channel = row.choice("channel", required=True)
    kind = row.choice("kind", required=True)
    urgency = row.choice("urgency") or Urgency.NORMAL
    status = row.choice("status", required=True)
    if status in (Status.MERGED, Status.INVALID):
        row.err("status", _("Merged or invalid appeals are not imported."))
        status = ""
    region_code = None
    if row.text("region"):
        region_code = lk.regions.get(row.text("region").lower())
        if region_code is None:
            row.err("region", _("Unknown region %(value)r.") % {"value": row.text("region")})
    category_code = None
    if row.text("category"):
        category_code = lk.categories.get(row.text("category").lower())
        if category_code is None:
            row.err("category", _("Unknown category %(value)r.") % {"value": row.text("category")})
    unit = None
    if row.text("unit"):
        unit = lk.units.get(row.text("unit").lower())
        if unit is None:
            row.err("unit", _("Unknown unit %(value)r.") % {"value": row.text("unit")})
    data = appeals.AppealInput(
        channel=channel or Channel.HOTLINE,
        kind=kind or Kind.COMPLAINT,
        urgency=urgency,
        title=row.text("title"),
        content=row.text("content"),
        submitter_name=row.text("submitter_name"),
        submitter_phone=row.text("submitter_phone"),
        region=region_code,
        address=row.text("address"),
        category=category_code,
    )
    try:
        appeals.validate_input(data)
    except ValidationFailed as exc:
        for e in exc.errors:
            key = SERVICE_FIELDS.get(e.field, e.field)
            row.err(key, str(e.message))
    key, source = _key(values)
    plan = Plan(
        key=key,
        source=source,
        data=data,
        status=status,
        received_at=received or clock.now(),
        unit=unit,
    )
    stage = ORDER.index(Status(status)) if status else 0
    needs = {
        "dispatched_at": Status.DISPATCHED,
        "claimed_at": Status.IN_PROGRESS,
        "replied_at": Status.REPLIED,
        "visited_at": Status.VISITED,
        "closed_at": Status.CLOSED,
    }
    answered = unit is None and kind == Kind.CONSULTATION and not row.text("dispatched_at")
    previous = received
    for name, from_status in needs.items():
        required = stage >= ORDER.index(from_status)
        if answered and name in ("dispatched_at", "claimed_at"):
            required = False
        moment = row.moment(name, required=required and bool(status))
        if moment is not None and not required:
            row.err(name, _("Only an appeal that got this far has this time."))
            continue
        if moment is not None:
            if previous is not None and moment < previous:
                row.err(name, _("Earlier than the step before it."))
            previous = moment
            plan.times[name] = moment
    if (
        stage >= ORDER.index(Status.DISPATCHED)
        and unit is None
        and not answered
        and not row.text("unit")
    ):
        row.err("unit", _("A dispatched appeal needs its handling unit."))
    if stage >= ORDER.index(Status.REPLIED):
        plan.reply_result = (
            row.choice("reply_result", required=not answered) or ReplyResult.RESOLVED
        )
        plan.reply_text = row.text("reply_text")
        if not plan.reply_text:
            row.err("reply_text", _("This field is required."))
    if stage >= ORDER.index(Status.VISITED):
        plan.satisfaction = row.choice("satisfaction", required=True)
        plan.resolved = row.yes_no("resolved", required=True)
        plan.authentic = row.yes_no("authentic", required=True)
    return (None if row.errors else plan), row.errors


def check(name: str, content: bytes) -> Checked:
    """Read and check every row; write nothing."""
    header, data = read_table(name, content)
    columns = _header_map(header)
    lk = _Lookups.load()
    results: list[RowResult] = []
    keys = [_key({columns[i]: v for i, v in enumerate(raw) if i in columns})[0] for _n, raw in data]
    known = set(ImportedAppeal.objects.filter(key__in=keys).values_list("key", flat=True))
    seen: set[str] = set()
    for line, raw in data:
        values = {columns[i]: v for i, v in enumerate(raw) if i in columns}
        key, _source = _key(values)
        if key in known or key in seen:
            results.append(RowResult(line, key, "duplicate"))
            continue
        seen.add(key)
        plan, errors = check_row(values, lk)
        results.append(RowResult(line, key, "invalid" if errors else "valid", errors, plan))
    return Checked(results)


# ----- writing -----------------------------------------------------------------------------------


@dataclass
class Imported:
    imported: int
    duplicates: int
    invalid: int
    numbers: list[str]


def _event(
    appeal: Appeal,
    actor: User | None,
    at: dt.datetime,
    action: str,
    before: str,
    after: str,
    payload: dict[str, Any],
    note: str = "",
) -> None:
    with clock.frozen(at):
        appeals.record_event(
            appeal,
            actor=actor,
            action=action,
            from_status=before,
            to_status=after,
            note=note,
            payload={**payload, "imported": True},
        )


def write_one(plan: Plan, *, actor: User | None, batch: ImportBatch | None) -> Appeal:
    clean = appeals.validate_input(plan.data)
    phone = clean["submitter_phone"]
    t = plan.times
    appeal = Appeal(
        **clean,
        search_text=fold(f"{clean['title']}\n{clean['content']}"),
        phone_last4=phone[-4:] if phone else "",
        received_at=plan.received_at,
        created_by=actor,
    )
    appeal.save(force_insert=True)
    appeal.number = appeals.number_for(appeal.pk, plan.received_at)
    _event(
        appeal,
        actor,
        plan.received_at,
        Action.REGISTER,
        "",
        Status.RECEIVED,
        {
            "channel": appeal.channel,
            "kind": appeal.kind,
            "import_key": plan.key,
            "source_number": plan.source,
        },
        note=_("Imported from a historical ledger."),
    )
    status = Status.RECEIVED
    if "dispatched_at" in t and plan.unit is not None:
        at = t["dispatched_at"]
        appeal.lead_unit, appeal.dispatched_at = plan.unit, at
        appeal.claim_due = deadlines.claim_due(start=at)
        appeal.reply_due = deadlines.reply_due(
            channel=appeal.channel, kind=appeal.kind, urgency=appeal.urgency, start=at
        )
        _event(
            appeal,
            actor,
            at,
            Action.DISPATCH,
            status,
            Status.DISPATCHED,
            {"unit": plan.unit.code, "co_units": [], "final": False},
        )
        status = Status.DISPATCHED
    if "claimed_at" in t:
        at = t["claimed_at"]
        appeal.claimed_at = at
        _event(
            appeal,
            actor,
            at,
            Action.CLAIM,
            status,
            Status.IN_PROGRESS,
            {"on_time": bool(appeal.claim_due and at <= appeal.claim_due)},
        )
        status = Status.IN_PROGRESS
    if "replied_at" in t:
        at = t["replied_at"]
        appeal.replied_at, appeal.reply_result, appeal.reply_text = (
            at,
            plan.reply_result,
            plan.reply_text,
        )
        appeal.visit_due = deadlines.visit_due(start=at)
        if appeal.lead_unit is None:
            _event(
                appeal,
                actor,
                at,
                Action.ANSWER,
                status,
                Status.REPLIED,
                {"result": plan.reply_result},
                note=plan.reply_text,
            )
        else:
            _event(
                appeal,
                actor,
                at,
                Action.REPLY,
                status,
                Status.REPLIED,
                {
                    "result": plan.reply_result,
                    "on_time": bool(appeal.reply_due is None or at <= appeal.reply_due),
                },
                note=plan.reply_text,
            )
        status = Status.REPLIED
    if "visited_at" in t:
        at = t["visited_at"]
        Visit.objects.create(
            appeal=appeal,
            at=at,
            visitor=None,
            reached=True,
            resolved=plan.resolved,
            satisfaction=plan.satisfaction,
            authentic=plan.authentic,
            note=_("Imported from a historical ledger."),
        )
        appeal.visited_at = at
        _event(
            appeal,
            actor,
            at,
            Action.VISIT,
            status,
            Status.VISITED,
            {
                "reached": True,
                "rated": True,
                "resolved": plan.resolved,
                "satisfaction": plan.satisfaction,
                "authentic": plan.authentic,
            },
        )
        status = Status.VISITED
    if "closed_at" in t:
        at = t["closed_at"]
        appeal.closed_at = appeal.ended_at = at
        _event(appeal, actor, at, Action.CLOSE, status, Status.CLOSED, {})
        status = Status.CLOSED
    appeal.status = status
    appeal.save()
    ImportedAppeal.objects.create(key=plan.key, appeal=appeal, batch=batch)
    return appeal


def write(
    checked: Checked, *, actor: User | None, batch: ImportBatch | None, skip_invalid: bool
) -> Imported:
    """Write the valid rows, all in one transaction; refuse if any row is invalid and
    ``skip_invalid`` is not given."""
    invalid = checked.invalid
    if invalid and not skip_invalid:
        raise ValidationFailed(
            [
                FieldError(f"row {r.line}", "; ".join(f"{e.field}: {e.message}" for e in r.errors))
                for r in invalid[:50]
            ],
            message=_("%(n)d rows are invalid: nothing was imported.") % {"n": len(invalid)},
        )
    numbers: list[str] = []
    with transaction.atomic():
        for r in checked.rows:
            if r.state == "valid" and r.plan is not None:
                numbers.append(write_one(r.plan, actor=actor, batch=batch).number or "")
    return Imported(len(numbers), checked.count("duplicate"), len(invalid), numbers)


# ----- the two doors: upload page and command ----------------------------------------------------


def _batch_counts(batch: ImportBatch, checked: Checked) -> None:
    batch.rows = len(checked.rows)
    batch.valid = checked.count("valid")
    batch.invalid = checked.count("invalid")
    batch.duplicates = checked.count("duplicate")
    batch.report = [r.as_dict() for r in checked.rows if r.state != "valid"][:1000]


def check_upload(*, name: str, content: bytes, actor: User) -> ImportBatch:
    checked = check(name, content)
    batch = ImportBatch(
        file_name=Path(name).name[:200],
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        created_by=actor,
    )
    _batch_counts(batch, checked)
    batch.save()
    return batch


def import_batch(*, batch: ImportBatch, actor: User, skip_invalid: bool) -> Imported:
    """Check the stored file again (someone may have imported rows since) and write it."""
    checked = check(batch.file_name, bytes(batch.content))
    result = write(checked, actor=actor, batch=batch, skip_invalid=skip_invalid)
    _batch_counts(batch, checked)
    batch.imported += result.imported
    batch.state = ImportBatch.State.IMPORTED
    batch.save()
    return result


def describe(rows: Iterable[RowResult]) -> list[str]:
    return [
        f"第 {r.line} 行：" + "；".join(f"{e.field}：{e.message}" for e in r.errors)
        for r in rows
        if r.state == "invalid"
    ]
