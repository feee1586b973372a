"""Import the enterprise registry from Excel, with a dry run that reports every invalid row.

Rules: every row is checked and every problem reported (row number, field, why); nothing is
written unless every row is valid, or the caller asks to skip the invalid ones; the credit code
is the key, so importing the same file again updates in place and never duplicates.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook

from kuaiban.core import spreadsheet
from kuaiban.core.errors import Conflict, FieldError, ValidationFailed
from kuaiban.enterprise import rules
from kuaiban.enterprise.models import Enterprise
from kuaiban.enterprise.services.checks import require
from kuaiban.enterprise.services.links import link_existing_appeals
from kuaiban.enterprise.services.registry import (
    EnterpriseInput,
    save_enterprise,
    validate_enterprise,
)
from kuaiban.org.models import User

MAX_ROWS = 5000

# Field → accepted column headers (Chinese first; English for machine exports).
HEADERS: dict[str, tuple[str, ...]] = {
    "credit_code": ("统一社会信用代码", "信用代码", "credit_code"),
    "name": ("企业名称", "名称", "name"),
    "industry": ("行业门类", "所属行业", "行业", "industry"),
    "size": ("企业规模", "规模", "企业类型", "size"),
    "township": ("所属乡镇", "乡镇（街道）", "乡镇(街道)", "乡镇", "township"),
    "address": ("地址", "企业地址", "address"),
    "contact_name": ("联系人", "contact_name"),
    "contact_phone": ("联系电话", "联系人电话", "手机", "contact_phone"),
}
REQUIRED = ("credit_code", "name", "industry", "size")
# The template's example row (a valid one: importing the template unchanged creates it).
TEMPLATE_EXAMPLE: dict[str, str] = {
    "credit_code": "91330000MA2K8Q3L7B",
    "name": "清河县兴业机械制造有限公司",
    "industry": "C",
    "size": "规上",
    "township": "城关镇",
    "address": "工业路8号",
    "contact_name": "王建军",
    "contact_phone": "13905310001",
}


@dataclass
class RowResult:
    row: int
    credit_code: str
    name: str
    action: str  # create / update / unchanged / invalid
    errors: list[FieldError] = field(default_factory=list)

    @property
    def reasons(self) -> list[tuple[str, str, str]]:
        """Each error as (field, column header of the workbook, message): the header is what the
        person who filled in the sheet recognises, rather than the internal field name."""
        return [(e.field, HEADERS.get(e.field, (e.field,))[0], str(e.message)) for e in self.errors]


@dataclass
class ImportReport:
    rows: list[RowResult]
    dry_run: bool
    written: bool = False

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def n_create(self) -> int:
        return self.count("create")

    @property
    def n_update(self) -> int:
        return self.count("update")

    @property
    def n_unchanged(self) -> int:
        return self.count("unchanged")

    @property
    def invalid(self) -> list[RowResult]:
        return [r for r in self.rows if r.action == "invalid"]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImportReport:
        """The report :meth:`as_dict` gave (a background import's result), for the page."""
        rows = [
            RowResult(
                int(r["row"]),
                str(r["credit_code"]),
                str(r["name"]),
                str(r["action"]),
                [FieldError(str(e["field"]), str(e["message"])) for e in r["errors"]],
            )
            for r in data.get("rows", [])
        ]
        return cls(rows, dry_run=bool(data.get("dry_run")), written=bool(data.get("written")))

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "written": self.written,
            "total": len(self.rows),
            "create": self.count("create"),
            "update": self.count("update"),
            "unchanged": self.count("unchanged"),
            "invalid": self.count("invalid"),
            "rows": [
                {
                    "row": r.row,
                    "credit_code": r.credit_code,
                    "name": r.name,
                    "action": r.action,
                    "errors": [{"field": e.field, "message": str(e.message)} for e in r.errors],
                }
                for r in self.rows
            ],
        }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def read_workbook(source: str | Path | IO[bytes]) -> list[tuple[int, dict[str, str]]]:
    """Rows of the first sheet as (Excel row number, {field: text}); blank rows left out."""
    try:
        book = load_workbook(source, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for a file that is not a workbook
        raise ValidationFailed.one("file", _("Not an Excel workbook (.xlsx).")) from None
    try:
        sheet = book.worksheets[0]
        lines = sheet.iter_rows(values_only=True)
        header = next(lines, None)
        if header is None:
            raise ValidationFailed.one("file", _("The first sheet is empty."))
        names = [_cell(h).replace(" ", "").replace("*", "") for h in header]
        columns: dict[str, int] = {}
        for fld, accepted in HEADERS.items():
            for index, name in enumerate(names):
                if name in accepted or name.lower() in accepted:
                    columns[fld] = index
                    break
        missing = [HEADERS[f][0] for f in REQUIRED if f not in columns]
        if missing:
            raise ValidationFailed.one(
                "file",
                _("Missing columns: %(names)s. The first row must hold the column names.")
                % {"names": "、".join(missing)},
            )
        rows: list[tuple[int, dict[str, str]]] = []
        for number, line in enumerate(lines, start=2):
            values = {fld: _cell(line[i]) if i < len(line) else "" for fld, i in columns.items()}
            if not any(values.values()):
                continue
            if len(rows) >= MAX_ROWS:
                raise ValidationFailed.one(
                    "file", _("At most %(n)d rows per import.") % {"n": MAX_ROWS}
                )
            rows.append((number, values))
        return rows
    finally:
        book.close()


def import_template() -> bytes:
    """The import's workbook: each column's Chinese name (required ones marked ``*``, which the
    reader ignores) and one example row, every cell through the spreadsheet neutraliser."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "企业名录"
    spreadsheet.append(sheet, [h[0] + ("*" if f in REQUIRED else "") for f, h in HEADERS.items()])
    spreadsheet.append(sheet, [TEMPLATE_EXAMPLE[f] for f in HEADERS])
    for letter in "ABCDEFGH":
        sheet.column_dimensions[letter].width = 22
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _differs(clean: dict[str, Any], existing: Enterprise) -> bool:
    for key in ("name", "industry", "size", "township", "address"):
        if getattr(existing, key) != clean[key]:
            return True
    if clean["contact_phone"]:
        contact = existing.contacts.filter(phone=clean["contact_phone"]).first()
        return contact is None or contact.name != clean["contact_name"] or not contact.primary
    return False


def enterprise_import(
    *,
    actor: User,
    rows: list[tuple[int, dict[str, str]]],
    dry_run: bool,
    skip_invalid: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Check ``rows`` and, unless ``dry_run``, write them; ``progress(done, total)`` hears of
    each row written (the background import's progress bar)."""
    require(actor, rules.MANAGE_REGISTRY)
    results: list[RowResult] = []
    valid: list[tuple[dict[str, Any], Enterprise | None]] = []
    seen: dict[str, int] = {}
    existing = {
        e.credit_code: e
        for e in Enterprise.objects.filter(
            credit_code__in=[v.get("credit_code", "").strip().upper() for _n, v in rows]
        )
    }
    for number, values in rows:
        data = EnterpriseInput(**{k: values.get(k, "") for k in HEADERS})
        result = RowResult(number, values.get("credit_code", ""), values.get("name", ""), "")
        try:
            clean = validate_enterprise(data)
        except ValidationFailed as exc:
            result.action, result.errors = "invalid", list(exc.errors)
            results.append(result)
            continue
        code = clean["credit_code"]
        result.credit_code = code
        if code in seen:
            result.action = "invalid"
            result.errors = [
                FieldError(
                    "credit_code",
                    _("Same credit code as row %(row)d.") % {"row": seen[code]},
                )
            ]
            results.append(result)
            continue
        seen[code] = number
        current = existing.get(code)
        if current is None:
            result.action = "create"
        else:
            result.action = "update" if _differs(clean, current) else "unchanged"
        results.append(result)
        valid.append((clean, current))
    report = ImportReport(results, dry_run=dry_run)
    if dry_run or (report.invalid and not skip_invalid):
        return report
    _write(valid, progress)
    report.written = True
    return report


def _write(
    valid: list[tuple[dict[str, Any], Enterprise | None]],
    progress: Callable[[int, int], None] | None,
) -> None:
    try:
        with transaction.atomic():
            created: list[Enterprise] = []
            for done, (clean, current) in enumerate(valid, start=1):
                enterprise, _changed = save_enterprise(clean, current)
                if current is None:
                    created.append(enterprise)
                if progress is not None:
                    progress(done, len(valid))
            link_existing_appeals(created)
    except IntegrityError:
        raise Conflict(
            _("The registry changed while importing (another import?); run it again."),
            code="race",
        ) from None
