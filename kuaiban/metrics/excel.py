"""Excel workbooks (.xlsx, Chinese headers) of the ledger and the rankings.

:func:`workbook` is the one writer; the bulletin (通报) of the supervision domain can reuse it
with its own sheets, e.g. ``workbook([Sheet("超期诉求", headers, rows)])``, and
:func:`rankings_sheets` gives it the month's ranking tables ready to append.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from kuaiban.appeals import policy
from kuaiban.appeals.models import Appeal
from kuaiban.core.validation import mask_id, mask_phone
from kuaiban.metrics.models import ResponseMetric
from kuaiban.org.models import User

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LEDGER_MAX_ROWS = 100_000


@dataclass
class Sheet:
    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]
    widths: Sequence[int] = ()
    note: str = ""
    # Excel number formats by column index, e.g. {7: "0.0%"}: the cell keeps its number.
    formats: Mapping[int, str] = field(default_factory=dict)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    return value


def _cell(ws: Worksheet, index: int, value: Any, formats: Mapping[int, str]) -> Any:
    fmt = formats.get(index)
    if fmt is None or not isinstance(value, (int, float)):
        return _plain(value)
    cell = WriteOnlyCell(ws, value=value)
    cell.number_format = fmt
    return cell


def workbook(sheets: Sequence[Sheet]) -> bytes:
    """Write the sheets (streaming, so a large ledger stays cheap) and return the file's bytes."""
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="F0F4F8")
    for sheet in sheets:
        ws: Worksheet = wb.create_sheet(title=sheet.title[:31])
        for i, width in enumerate(sheet.widths):
            ws.column_dimensions[chr(ord("A") + i)].width = width
        ws.freeze_panes = "A2"
        header = []
        for text in sheet.headers:
            cell = WriteOnlyCell(ws, value=str(text))
            cell.font, cell.fill = bold, fill
            cell.alignment = Alignment(vertical="center")
            header.append(cell)
        ws.append(header)
        for row in sheet.rows:
            if sheet.formats:
                ws.append([_cell(ws, i, v, sheet.formats) for i, v in enumerate(row)])
            else:
                ws.append([_plain(v) for v in row])
        if sheet.note:
            ws.append([])
            ws.append([sheet.note])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def response(data: bytes, filename: str) -> HttpResponse:
    r = HttpResponse(data, content_type=XLSX)
    r["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(filename)}"
    return r


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name)


# ----- the ledger --------------------------------------------------------------------------------

LEDGER_HEADERS = (
    "诉求编号",
    "受理时间",
    "渠道",
    "诉求类型",
    "紧急程度",
    "事项分类",
    "标题",
    "诉求内容",
    "诉求人",
    "联系电话",
    "身份证号",
    "企业名称",
    "所属区域",
    "地址",
    "状态",
    "承办单位",
    "签收时限",
    "答复时限",
    "签收时间",
    "答复时间",
    "答复结果",
    "答复内容",
    "回访时间",
    "办结时间",
    "退单次数",
    "重办次数",
    "预警",
)


def ledger_rows(qs: QuerySet[Appeal], user: User) -> Iterable[list[Any]]:
    for a in qs.select_related("lead_unit", "region", "category").iterator(chunk_size=2000):
        full = policy.sees_contact(user, a)
        yield [
            a.number,
            a.received_at,
            a.get_channel_display(),
            a.get_kind_display(),
            a.get_urgency_display(),
            a.category.name if a.category else "",
            a.title,
            a.content,
            a.submitter_name,
            a.submitter_phone if full else mask_phone(a.submitter_phone),
            a.submitter_id_number if full else mask_id(a.submitter_id_number),
            a.enterprise_name,
            a.region.path_names() if a.region else "",
            a.address,
            a.get_status_display(),
            a.lead_unit.name if a.lead_unit else "",
            a.claim_due,
            a.reply_due,
            a.claimed_at,
            a.replied_at,
            a.get_reply_result_display() if a.reply_result else "",
            a.reply_text,
            a.visited_at,
            a.closed_at,
            a.return_count,
            a.rework_count,
            a.get_alert_display(),
        ]


def ledger_workbook(qs: QuerySet[Appeal], user: User) -> bytes:
    """The filtered ledger as ``user`` may read it (phones masked as on screen)."""
    total = qs.count()
    note = ""
    if total > LEDGER_MAX_ROWS:
        note = _("Only the first %(n)d of %(total)d appeals: narrow the filter.") % {
            "n": LEDGER_MAX_ROWS,
            "total": total,
        }
    widths = (20, 17, 12, 9, 8, 14, 24, 50, 10, 14, 20, 18, 22, 20, 8, 14) + (17,) * 4
    return workbook(
        [
            Sheet(
                "诉求台账",
                LEDGER_HEADERS,
                ledger_rows(qs[:LEDGER_MAX_ROWS], user),
                widths=widths,
                note=note,
            )
        ]
    )


# ----- rankings ----------------------------------------------------------------------------------

RANKING_HEADERS = (
    "名次",
    "单位",
    "综合得分",
    "星级",
    "较上月名次变化",
    "较上月得分变化",
    "受理量",
    "及时签收率",
    "退单率",
    "办结率",
    "按期办结率",
    "参评率",
    "满意率",
    "解决率",
    "真实率",
    "重办率",
)
RATE_COLUMNS = (
    "on_time_claim_rate",
    "return_rate",
    "closure_rate",
    "on_time_reply_rate",
    "participation_rate",
    "satisfaction_rate",
    "resolution_rate",
    "authenticity_rate",
    "rework_rate",
)


def _rate(value: float | None) -> float | str:
    """A rate as a number (shown as a percentage), or a dash when it has no denominator."""
    return "—" if value is None else value


def rankings_sheets(data: dict[str, Any]) -> list[Sheet]:
    """One sheet per tier of :func:`kuaiban.metrics.services.rankings`' answer."""
    sheets = []
    for tier in data["tiers"]:
        rows = []
        for r in tier["units"]:
            f = r.figures
            rows.append(
                [
                    r.rank if r.rank is not None else "未排名",
                    r.unit.name,
                    f["score"] if f["score"] is not None else "—",
                    "★" * r.stars if r.stars else "—",
                    r.rank_change if r.rank_change is not None else "—",
                    r.score_change if r.score_change is not None else "—",
                    f["received"],
                    *(_rate(f[k]) for k in RATE_COLUMNS),
                ]
            )
        sheets.append(
            Sheet(
                f"{data['month']} {tier['name']}",
                RANKING_HEADERS,
                rows,
                widths=(6, 18, 10, 8, 14, 14, 8) + (11,) * 9,
                formats={7 + i: "0.0%" for i in range(len(RATE_COLUMNS))},
                note=_(
                    "Score = %(resp)s%% × %(metric)s + %(res)s%% × resolution rate + "
                    "%(sat)s%% × satisfaction rate (points)."
                )
                % {
                    "resp": data["scheme"]["response_weight"],
                    "metric": ResponseMetric(data["scheme"]["response_metric"]).label,
                    "res": data["scheme"]["resolution_weight"],
                    "sat": data["scheme"]["satisfaction_weight"],
                },
            )
        )
    return sheets


def rankings_workbook(data: dict[str, Any]) -> bytes:
    return workbook(rankings_sheets(data))
