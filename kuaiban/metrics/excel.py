"""Excel workbooks (.xlsx, Chinese headers) of the ledger and the rankings.

:func:`workbook` is the one writer; the bulletin (通报) of the supervision domain can reuse it
with its own sheets, e.g. ``workbook([Sheet("超期诉求", headers, rows)])``, and
:func:`rankings_sheets` gives it the month's ranking tables ready to append.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpResponse
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.worksheet import Worksheet

from kuaiban.appeals import policy
from kuaiban.appeals.models import Appeal, AssistPart, PartStatus, Status, Visit
from kuaiban.core import spreadsheet
from kuaiban.core.masking import mask_text
from kuaiban.core.validation import mask_id, mask_phone
from kuaiban.metrics.importer.parse import COLUMNS as IMPORT_COLUMNS
from kuaiban.metrics.models import ResponseMetric
from kuaiban.org.models import Role, User

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
            cell = WriteOnlyCell(ws, value=spreadsheet.clean(str(text)))
            cell.font, cell.fill = bold, fill
            cell.alignment = Alignment(vertical="center")
            header.append(cell)
        ws.append(header)
        for row in sheet.rows:
            spreadsheet.append(ws, row, sheet.formats)
        if sheet.note:
            ws.append([])
            spreadsheet.append(ws, [sheet.note])
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
    "协办单位",
    "派单时间",
    "签收时限",
    "答复时限",
    "签收时间",
    "答复时间",
    "答复结果",
    "答复内容",
    "回访时间",
    "满意度",
    "是否解决",
    "是否真实联系",
    "办结时间",
    "无效原因",
    "并入诉求",
    "结束时间",
    "退单次数",
    "重办次数",
    "预警",
)
# Free-text columns: masked (phones, ID numbers, e-mails) for readers who see masked numbers.
FREE_TEXT = ("title", "content", "address", "reply_text", "invalid_reason")


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("是" if value else "否")


def _visit(a: Appeal) -> Visit | None:
    """The latest reached (rated) visit of the appeal, from the prefetched list."""
    rated = [v for v in a.visits.all() if v.reached]
    return max(rated, key=lambda v: v.at) if rated else None


UNREACHED = "未联系上"  # three calls on different days reached nobody: the visit ended unrated


def _rating(a: Appeal, visit: Visit | None) -> str:
    if visit is not None and visit.satisfaction:
        return visit.get_satisfaction_display()
    return UNREACHED if a.visited_at and visit is None else ""


def ledger_rows(qs: QuerySet[Appeal], user: User) -> Iterable[list[Any]]:
    """The rows as ``user`` may read them; the importer reads these same columns back."""
    rows = qs.select_related("lead_unit", "region", "category", "merged_into").prefetch_related(
        "co_units", Prefetch("visits", queryset=Visit.objects.filter(reached=True))
    )
    for a in rows.iterator(chunk_size=2000):
        full = policy.sees_full_numbers(user, a)
        known = (a.submitter_phone, a.submitter_id_number)
        text = {f: getattr(a, f) if full else mask_text(getattr(a, f), known) for f in FREE_TEXT}
        visit = _visit(a) if a.visited_at else None
        yield [
            a.number,
            a.received_at,
            a.get_channel_display(),
            a.get_kind_display(),
            a.get_urgency_display(),
            a.category.name if a.category else "",
            text["title"],
            text["content"],
            a.submitter_name,
            a.submitter_phone if full else mask_phone(a.submitter_phone),
            a.submitter_id_number if full else mask_id(a.submitter_id_number),
            a.enterprise_name,
            a.region.path_names() if a.region else "",
            text["address"],
            a.get_status_display(),
            a.lead_unit.name if a.lead_unit else "",
            "、".join(sorted(u.name for u in a.co_units.all())),
            a.dispatched_at,
            a.claim_due,
            a.reply_due,
            a.claimed_at,
            a.replied_at,
            a.get_reply_result_display() if a.reply_result else "",
            text["reply_text"],
            a.visited_at,
            _rating(a, visit),
            _yes_no(visit.resolved) if visit else "",
            _yes_no(visit.authentic) if visit else "",
            a.closed_at,
            text["invalid_reason"],
            a.merged_into.number if a.merged_into else "",
            a.ended_at if a.status in (Status.MERGED, Status.INVALID) else None,
            a.return_count,
            a.rework_count,
            a.get_alert_display(),
        ]


def ledger_workbook(
    qs: QuerySet[Appeal], user: User, progress: Callable[[int, int], None] | None = None
) -> bytes:
    """The filtered ledger as ``user`` may read it: numbers masked as on screen, in the
    structured columns and inside the free text, and only the appeals ``user`` may open.
    ``progress(done, total)`` hears of each appeal's row (a background export's bar)."""
    total = qs.count()
    note = ""
    if total > LEDGER_MAX_ROWS:
        note = _("Only the first %(n)d of %(total)d appeals: narrow the filter.") % {
            "n": LEDGER_MAX_ROWS,
            "total": total,
        }
    widths = (20, 17, 12, 9, 8, 14, 24, 50, 10, 14, 20, 18, 22, 20, 8, 14, 20) + (17,) * 5
    return workbook(
        [
            Sheet(
                "诉求台账",
                LEDGER_HEADERS,
                _counted(
                    ledger_rows(qs[:LEDGER_MAX_ROWS], user), min(total, LEDGER_MAX_ROWS), progress
                ),
                widths=widths,
                note=note,
            ),
            Sheet(
                "协办情况",
                PART_HEADERS,
                part_rows(qs[:LEDGER_MAX_ROWS], user),
                widths=(20, 14, 12, 17, 17, 17, 10, 50, 8),
            ),
        ]
    )


def _counted(
    rows: Iterable[list[Any]], total: int, progress: Callable[[int, int], None] | None
) -> Iterator[list[Any]]:
    """``rows``, telling ``progress`` of each; the last step (the second sheet and the file) is
    told once the first sheet is written, so the bar reaches its end only with the file."""
    for done, row in enumerate(rows, start=1):
        if progress is not None:
            progress(done, total + 1)
        yield row


# ----- the co-units' parts (协办), a second sheet: the importer reads the first one only -----

PART_HEADERS = (
    "诉求编号",
    "协办单位",
    "协办状态",
    "协办时限",
    "签收时间",
    "答复时间",
    "协办结果",
    "协办意见",
    "是否按期",
)


def part_rows(qs: QuerySet[Appeal], user: User) -> Iterable[list[Any]]:
    """One row per live part of the exported appeals, as ``user`` reads them on the appeal
    page (``policy.visible_parts``): all of them for the lead unit and overseers, its own for a
    co-unit's handler; the opinion masked like the ledger's free text."""
    parts = (
        AssistPart.objects.filter(appeal__in=qs.values("pk"))
        .exclude(status=PartStatus.WITHDRAWN)
        .select_related("appeal", "unit")
        .order_by("appeal__received_at", "appeal_id", "unit__code")
    )
    for p in parts.iterator(chunk_size=2000):
        a = p.appeal
        if user.role == Role.HANDLER and user.unit_id not in (a.lead_unit_id, p.unit_id):
            continue
        full = policy.sees_full_numbers(user, a)
        known = (a.submitter_phone, a.submitter_id_number)
        yield [
            a.number,
            p.unit.name,
            p.get_status_display(),
            p.due,
            p.claimed_at,
            p.answered_at,
            p.get_result_display() if p.result else "",
            p.text if full else mask_text(p.text, known),
            _yes_no(p.on_time),
        ]


# ----- rankings ----------------------------------------------------------------------------------

RANKING_HEADERS = (
    "名次",
    "单位",
    "综合得分",
    "星级",
    "较上期名次变化",
    "较上期得分变化",
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
    "协办及时率",
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
    "co_handling_rate",
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


# An example row for the import template: valid in any county (no region or unit of the demo's).
TEMPLATE_EXAMPLE = {
    "source": "12345-2025-000123",
    "received_at": "2025-03-01 09:30",
    "channel": "12345热线",
    "kind": "投诉",
    "urgency": "一般",
    "title": "小区路灯不亮",
    "content": "幸福小区3号楼前的两盏路灯已经坏了半个多月，晚上出行不便，请尽快维修。",
    "submitter_name": "张秀兰",
    "submitter_phone": "13812345678",
    "address": "幸福小区3号楼",
    "status": "已受理",
}


def import_template() -> bytes:
    """The ledger import's template: the columns in order with one example row, and a sheet
    saying what each column takes (the import page's table)."""
    return workbook(
        [
            Sheet(
                _("Ledger"),
                [c.header for c in IMPORT_COLUMNS],
                [[TEMPLATE_EXAMPLE.get(c.key, "") for c in IMPORT_COLUMNS]],
            ),
            Sheet(
                _("Columns"),
                [_("Column"), _("Required"), _("What it takes")],
                [[c.header, _("yes") if c.required else "", c.help] for c in IMPORT_COLUMNS],
                widths=(16, 8, 70),
            ),
        ]
    )
