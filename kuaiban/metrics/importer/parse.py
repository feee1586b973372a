"""Reading a ledger file: its columns, the values each accepts, and the rows with their line
numbers. Nothing here touches the database."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from kuaiban.appeals.models import (
    Channel,
    Kind,
    ReplyResult,
    Satisfaction,
    Status,
    Urgency,
)
from kuaiban.core import spreadsheet
from kuaiban.core.errors import ValidationFailed

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
        ("诉求编号", "原工单编号", "工单编号", "source_number"),
        help="原系统工单编号（本系统导出的台账为诉求编号）；同一编号只导入一次",
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
    Column("submitter_id_number", "身份证号", ("证件号码", "submitter_id_number")),
    Column("enterprise_name", "企业名称", ("enterprise_name",)),
    Column("region", "所属区域", ("区域", "region"), help="区划编码或名称（如 城关镇/南关社区）"),
    Column("address", "地址", ("address",)),
    Column("unit", "承办单位", ("主办单位", "unit"), help="单位名称或编码"),
    Column("co_units", "协办单位", ("co_units",), help="单位名称或编码，多个用顿号分隔"),
    Column(
        "status",
        "状态",
        ("status",),
        True,
        "已受理、已派单、办理中、已答复、已回访、已办结、已合并、无效",
    ),
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
    Column("invalid_reason", "无效原因", ("invalid_reason",), help="无效诉求必填"),
    Column("merged_into", "并入诉求", ("merged_into",), help="已合并诉求并入的诉求编号"),
    Column("ended_at", "结束时间", ("ended_at",), help="合并或认定无效的时间"),
    Column("returns", "退单次数", ("return_count",), help="退过单的诉求，更早的派单时间不核对"),
    Column(
        "reworks", "重办次数", ("rework_count",), help="重办过的诉求，更早的答复与回访时间不核对"
    ),
)
HEADER = {c.key: c.header for c in COLUMNS}
SERVICE_FIELDS = {
    "submitter.phone": "submitter_phone",
    "submitter.name": "submitter_name",
    "submitter.type": "submitter_name",
}
# The statuses of the ordinary path, in the order an appeal reaches them.
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
        "已合并": "merged",
        "已并单": "merged",
        "合并": "merged",
        "无效": "invalid",
        "作废": "invalid",
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


def choice_map(name: str) -> dict[str, str]:
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
        # A CSV written by the product's cell writer quotes formula-like text with "'".
        rows = [[_unquote(v) for v in r] for r in csv.reader(io.StringIO(text))]
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
    numbered = [(i, r) for i, r in enumerate(rows, start=1) if any(text_of(v) for v in r)]
    if not numbered:
        raise ValidationFailed.one("file", _("The file is empty."))
    (_n, header), data = numbered[0], numbered[1:]
    if len(data) > MAX_ROWS:
        raise ValidationFailed.one("file", _("At most 200,000 rows per file."))
    return [text_of(h) for h in header], data


def _unquote(value: str) -> str:
    if value.startswith("'") and spreadsheet.is_formula_like(value[1:]):
        return value[1:]
    return value


def text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def header_map(header: list[str]) -> dict[int, str]:
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
