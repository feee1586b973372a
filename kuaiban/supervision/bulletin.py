"""The monthly bulletin (通报): overdue appeals, the units with most of them, returns and
reworks, open supervision orders, and a summary paragraph in Chinese written from the numbers.

Read-only; built from the ledger's events (``alert_red`` from the sweep, late claims and replies
flagged ``on_time: false``), so a month's bulletin can be produced again at any later time.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.appeals.models import (
    CONFIDENTIAL_KINDS,
    Appeal,
    AppealEvent,
    AssistPart,
    LedgerAnchor,
    PartStatus,
)
from kuaiban.core import clock, spreadsheet
from kuaiban.core.errors import ValidationFailed
from kuaiban.core.masking import mask_text
from kuaiban.deadlines.alerts import ACTION_RED
from kuaiban.org.models import Unit
from kuaiban.supervision.models import SupervisionOrder
from kuaiban.supervision.services.extensions import ACTION_APPROVED, ACTION_REQUEST

SHANGHAI = ZoneInfo("Asia/Shanghai")
TOP_UNITS = 10
STAGE_ZH = {"claim": "认领", "reply": "答复", "visit": "回访", "assist": "协办"}
STATUS_ZH = {
    "received": "待派单",
    "dispatched": "待认领",
    "in_progress": "办理中",
    "replied": "已答复",
    "visited": "已回访",
    "closed": "已办结",
    "merged": "已并单",
    "invalid": "无效",
}
LEVEL_ZH = {"yellow": "黄牌", "red": "红牌"}
VISIT_DESK = "（回访）"


@dataclass
class OverdueItem:
    number: str
    title: str
    unit: str
    stage: str
    due: dt.datetime | None
    status: str


@dataclass
class UnitLine:
    unit: str
    overdue: int = 0
    returns: int = 0
    reworks: int = 0


@dataclass
class OrderLine:
    number: str
    unit: str
    level: str
    appeal: str
    due: dt.datetime
    status: str
    overdue: bool


@dataclass
class Bulletin:
    year: int
    month: int
    start: dt.datetime
    end: dt.datetime
    received: int = 0
    closed: int = 0
    overdue: list[OverdueItem] = field(default_factory=list)
    units: list[UnitLine] = field(default_factory=list)
    returns: int = 0
    reworks: int = 0
    extensions_requested: int = 0
    extensions_approved: int = 0
    orders: list[OrderLine] = field(default_factory=list)
    summary: str = ""
    # The last ledger anchor sealed before the month ended, printed for 对账销号.
    anchor: LedgerAnchor | None = None

    @property
    def label(self) -> str:
        return f"{self.year}年{self.month}月"

    @property
    def as_of(self) -> str:
        """截至月末 for a month that has ended; 截至 today's date for the month in progress."""
        now = clock.now().astimezone(SHANGHAI)
        if now >= self.end:
            return "月末"
        return f"{now.month}月{now.day}日"

    @property
    def slug(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def overdue_units(self) -> list[UnitLine]:
        return [u for u in self.units if u.overdue]

    @property
    def orders_overdue(self) -> int:
        return sum(1 for o in self.orders if o.overdue)


def parse_month(value: str | None) -> tuple[int, int]:
    text = (value or "").strip()
    try:
        year_s, month_s = text.split("-")
        year, month = int(year_s), int(month_s)
        dt.date(year, month, 1)
    except ValueError:
        raise ValidationFailed.one("month", _("Use a month like 2026-11.")) from None
    if not 2000 <= year <= 2100:
        raise ValidationFailed.one("month", _("Use a month like 2026-11."))
    return year, month


def _bounds(year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(year, month, 1, tzinfo=SHANGHAI)
    nxt = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=SHANGHAI)
    return start, nxt


def _title(appeal: Appeal) -> str:
    if appeal.kind in CONFIDENTIAL_KINDS:
        return "（举报件，内容保密）"
    # The bulletin is circulated to units and leaders: no phone or ID number travels with it.
    known = (appeal.submitter_phone, appeal.submitter_id_number)
    return mask_text(appeal.title or appeal.content[:30], known)


def build(year: int, month: int) -> Bulletin:
    start, end = _bounds(year, month)
    b = Bulletin(year=year, month=month, start=start, end=end)
    in_month = Q(at__gte=start, at__lt=end)
    b.received = Appeal.objects.filter(received_at__gte=start, received_at__lt=end).count()
    b.closed = Appeal.objects.filter(closed_at__gte=start, closed_at__lt=end).count()
    units = {u.code: u.name for u in Unit.objects.all()}
    per_unit: dict[str, UnitLine] = {}
    b.overdue = _overdue(in_month, units, per_unit)
    b.overdue += _parts_overdue(start, end, per_unit)
    for event in AppealEvent.objects.filter(in_month, action="return").only("payload"):
        b.returns += 1
        code = str(event.payload.get("unit") or "")
        _line(per_unit, units.get(code, code or "—")).returns += 1
    for event in AppealEvent.objects.filter(in_month, action="rework").select_related(
        "appeal__lead_unit"
    ):
        b.reworks += 1
        lead = event.appeal.lead_unit
        _line(per_unit, lead.name if lead else "—").reworks += 1
    b.units = sorted(
        per_unit.values(), key=lambda u: (-u.overdue, -(u.returns + u.reworks), u.unit)
    )[:TOP_UNITS]
    b.extensions_requested = AppealEvent.objects.filter(in_month, action=ACTION_REQUEST).count()
    b.extensions_approved = AppealEvent.objects.filter(in_month, action=ACTION_APPROVED).count()
    b.orders = _orders_open_at(end)
    b.summary = summary(b)
    b.anchor = LedgerAnchor.objects.filter(made_at__lt=end).order_by("-day").first()
    return b


def _line(per_unit: dict[str, UnitLine], name: str) -> UnitLine:
    return per_unit.setdefault(name, UnitLine(unit=name))


def _overdue(
    in_month: Q, units: dict[str, str], per_unit: dict[str, UnitLine]
) -> list[OverdueItem]:
    """Appeals overdue in the month (the sweep's red alerts, and claims or replies made after
    their deadline), each once at its first lapse; counted against its unit in ``per_unit``."""
    late = AppealEvent.objects.filter(in_month).filter(
        Q(action=ACTION_RED) | Q(action__in=["claim", "reply"], payload__on_time=False)
    )
    first: dict[int, AppealEvent] = {}
    for event in late.order_by("at", "id"):
        first.setdefault(event.appeal_id, event)
    appeals = Appeal.objects.select_related("lead_unit").in_bulk(list(first))
    items = []
    for appeal_id, event in first.items():
        appeal = appeals[appeal_id]
        code = str(event.payload.get("unit") or "")
        stage = str(event.payload.get("stage") or ("reply" if event.action == "reply" else "claim"))
        if stage == "visit":
            # A late return visit is the hotline's own, not the handling unit's.
            unit = VISIT_DESK
        else:
            unit = units.get(code) or (appeal.lead_unit.name if appeal.lead_unit else "—")
        due_raw = event.payload.get("due")
        due = dt.datetime.fromisoformat(due_raw) if isinstance(due_raw, str) else None
        if due is None:
            due = appeal.reply_due if stage == "reply" else appeal.claim_due
        items.append(
            OverdueItem(
                number=appeal.number or "",
                title=_title(appeal),
                unit=unit,
                stage=STAGE_ZH.get(stage, stage),
                due=due,
                status=STATUS_ZH.get(appeal.status, appeal.status),
            )
        )
        if stage != "visit":
            _line(per_unit, unit).overdue += 1
    items.sort(key=lambda o: (o.unit, o.number))
    return items


def _parts_overdue(
    start: dt.datetime, end: dt.datetime, per_unit: dict[str, UnitLine]
) -> list[OverdueItem]:
    """Co-unit parts (协办) whose due fell in the month and that were answered after it or are
    still unanswered past it: listed like overdue appeals, counted against the co-unit."""
    cutoff = min(end, clock.now())
    parts = (
        AssistPart.objects.filter(due__gte=start, due__lt=cutoff)
        .exclude(status=PartStatus.WITHDRAWN)
        .filter(Q(answered_at__isnull=True) | Q(answered_at__gt=F("due")))
        .select_related("appeal", "unit")
        .order_by("unit__name", "appeal__number")
    )
    items = []
    for part in parts:
        items.append(
            OverdueItem(
                number=part.appeal.number or "",
                title=_title(part.appeal),
                unit=part.unit.name,
                stage=STAGE_ZH["assist"],
                due=part.due,
                status=str(part.get_status_display()),
            )
        )
        _line(per_unit, part.unit.name).overdue += 1
    return items


def _orders_open_at(end: dt.datetime) -> list[OrderLine]:
    """Supervision orders still open at the end of the month."""
    open_at_end = (
        SupervisionOrder.objects.filter(issued_at__lt=end)
        .filter(Q(closed_at__isnull=True) | Q(closed_at__gte=end))
        .select_related("unit", "appeal")
        .order_by("due_at", "id")
    )
    lines = []
    for order in open_at_end:
        answered = order.answered_at is not None and order.answered_at < end
        lines.append(
            OrderLine(
                number=order.number or "",
                unit=order.unit.name,
                level=LEVEL_ZH.get(order.level, order.level),
                appeal=order.appeal.number or "" if order.appeal else "",
                due=order.due_at,
                status="已答复待审核" if answered else "待答复",
                overdue=not answered and order.due_at < min(end, clock.now()),
            )
        )
    return lines


def summary(b: Bulletin) -> str:
    """One paragraph in Chinese, written from the numbers."""
    parts = [f"{b.label}（截至{b.as_of}），全县共受理诉求{b.received}件，办结{b.closed}件。"]
    overdue_units = b.overdue_units
    if b.overdue:
        top = "、".join(f"{u.unit}（{u.overdue}件）" for u in overdue_units[:3])
        parts.append(
            f"当月发生超期的诉求{len(b.overdue)}件（含往月受理、本月超过时限的），"
            f"涉及{len(overdue_units)}个单位，其中{top}超期较多。"
        )
    else:
        parts.append("当月无超期诉求。")
    parts.append(f"退单{b.returns}件，重办{b.reworks}件")
    if b.extensions_requested:
        parts.append(f"，申请延期{b.extensions_requested}件、批准{b.extensions_approved}件")
    parts.append("。")
    if b.orders:
        parts.append(f"截至{b.as_of}，在办督办单{len(b.orders)}件")
        parts.append(
            f"，其中已超期{b.orders_overdue}件。" if b.orders_overdue else "，均在期限内。"
        )
    else:
        parts.append(f"截至{b.as_of}，无在办督办单。")
    if b.overdue or b.orders_overdue:
        parts.append("请相关单位对照通报查找原因，限期整改，并将整改情况报县督查组。")
    return "".join(parts)


def _local(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def to_xlsx(b: Bulletin) -> bytes:
    """The bulletin as an Excel workbook: a summary sheet and one sheet per table."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "概要"
    spreadsheet.append(ws, [f"{b.label}诉求办理情况通报"])
    ws["A1"].font = Font(bold=True, size=14)
    spreadsheet.append(ws, [b.summary])
    ws["A2"].alignment = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = 100
    ws.row_dimensions[2].height = 90
    for row in [
        ("受理", b.received),
        ("办结", b.closed),
        ("超期诉求", len(b.overdue)),
        ("退单", b.returns),
        ("重办", b.reworks),
        ("申请延期", b.extensions_requested),
        ("批准延期", b.extensions_approved),
        ("月末在办督办单", len(b.orders)),
        ("其中超期", b.orders_overdue),
    ]:
        spreadsheet.append(ws, row)

    def sheet(title: str, header: list[str], rows: list[list[object]], widths: list[int]) -> None:
        s = wb.create_sheet(title)
        spreadsheet.append(s, header)
        for cell in s[1]:
            cell.font = Font(bold=True)
        for r in rows:
            spreadsheet.append(s, r)
        for index, width in enumerate(widths):
            s.column_dimensions[chr(ord("A") + index)].width = width
        s.freeze_panes = "A2"

    sheet(
        "超期诉求",
        ["编号", "标题", "责任单位", "超期环节", "时限", "当前状态"],
        [[o.number, o.title, o.unit, o.stage, _local(o.due), o.status] for o in b.overdue],
        [20, 40, 18, 10, 18, 10],
    )
    sheet(
        "单位排名",
        ["单位", "超期", "退单", "重办"],
        [[u.unit, u.overdue, u.returns, u.reworks] for u in b.units],
        [20, 8, 8, 8],
    )
    sheet(
        "督办单",
        ["编号", "单位", "等级", "诉求", "答复期限", "状态", "超期"],
        [
            [
                o.number,
                o.unit,
                o.level,
                o.appeal,
                _local(o.due),
                o.status,
                "是" if o.overdue else "",
            ]
            for o in b.orders
        ],
        [18, 18, 8, 20, 18, 14, 6],
    )
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def text(b: Bulletin) -> str:
    """The bulletin as plain text (the command's output)."""
    lines = [f"{b.label}诉求办理情况通报", "", b.summary, ""]
    lines.append(f"一、超期诉求（{len(b.overdue)}件）")
    lines += [
        f"  {o.number}  {o.unit}  {o.stage}时限 {_local(o.due)}  {o.status}  {o.title}"
        for o in b.overdue
    ] or ["  无"]
    lines.append("二、超期较多的单位")
    lines += [
        f"  {i}. {u.unit}：超期{u.overdue}件，退单{u.returns}件，重办{u.reworks}件"
        for i, u in enumerate(b.units, start=1)
    ] or ["  无"]
    lines.append(f"三、退单与重办：退单{b.returns}件，重办{b.reworks}件")
    lines.append(f"四、在办督办单（{len(b.orders)}件）")
    lines += [
        f"  {o.number}  {o.unit}  {o.level}  {o.appeal or '—'}  期限 {_local(o.due)}  {o.status}"
        + ("  已超期" if o.overdue else "")
        for o in b.orders
    ] or ["  无"]
    lines += ["", anchor_line(b)]
    return "\n".join(lines)


def anchor_line(b: Bulletin) -> str:
    a = b.anchor
    if a is None:
        return "台账锚点：尚未生成（kuaiban audit anchor）"
    return f"台账锚点（{a.day:%Y-%m-%d}，{a.appeal_count}件）：{a.digest}"
