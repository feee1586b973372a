"""Import a historical ledger (台账) from .xlsx or .csv.

Three steps, in three modules:

* :mod:`.parse` reads the file: its header (Chinese column names, with aliases) and its rows;
* :mod:`.mapping` checks each row and maps it to a plan (the appeal and the history it went
  through), naming every problem by row and column; nothing is written;
* :mod:`.replay` writes the valid rows by replaying each history through the ledger's transition
  services at its historical times, in one transaction, without after-commit hooks.

Two passes, always: :func:`check`, then :func:`write` — only if every row is valid, or the
caller asked to skip the invalid ones. The ledger export (``/metrics/ledger.xlsx``, downloaded by
a supervisor, who sees full numbers) has the same columns and imports back.

Every row has an import key — ``src:<来源编号>`` (or the exported 诉求编号), else a digest of the
row — kept in :class:`~kuaiban.metrics.models.ImportedAppeal`: importing the same file again finds
every key and creates nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kuaiban.core.errors import FieldError, ValidationFailed
from kuaiban.metrics.importer.mapping import Lookups, Plan, check_row, row_key
from kuaiban.metrics.importer.parse import COLUMNS, MAX_BYTES, MAX_ROWS, header_map, read_table
from kuaiban.metrics.importer.replay import replay
from kuaiban.metrics.models import ImportBatch, ImportedAppeal
from kuaiban.org.models import User

__all__ = [
    "COLUMNS",
    "MAX_BYTES",
    "MAX_ROWS",
    "Checked",
    "Imported",
    "RowResult",
    "batch_counts",
    "check",
    "check_upload",
    "describe",
    "import_batch",
    "write",
]


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


@dataclass
class Imported:
    imported: int
    duplicates: int
    invalid: int
    numbers: list[str]


def check(name: str, content: bytes) -> Checked:
    """Read and check every row; write nothing."""
    header, data = read_table(name, content)
    columns = header_map(header)
    lk = Lookups.load()
    rows = [
        (line, {columns[i]: v for i, v in enumerate(raw) if i in columns}) for line, raw in data
    ]
    keys = [row_key(values)[0] for _line, values in rows]
    known = set(ImportedAppeal.objects.filter(key__in=keys).values_list("key", flat=True))
    seen: set[str] = set()
    results: list[RowResult] = []
    for line, values in rows:
        key, _source = row_key(values)
        if key in known or key in seen:
            results.append(RowResult(line, key, "duplicate"))
            continue
        seen.add(key)
        plan, errors = check_row(values, lk)
        results.append(RowResult(line, key, "invalid" if errors else "valid", errors, plan))
    return Checked(results)


def write(
    checked: Checked,
    *,
    actor: User | None,
    batch: ImportBatch | None,
    skip_invalid: bool,
    progress: Callable[[int, int], None] | None = None,
) -> Imported:
    """Write the valid rows, all in one transaction; refuse if any row is invalid and
    ``skip_invalid`` is not given. ``actor`` is who imports (kept on the batch); the replayed
    events are the system's."""
    invalid = checked.invalid
    if invalid and not skip_invalid:
        raise ValidationFailed(
            [
                FieldError(f"row {r.line}", "; ".join(f"{e.field}: {e.message}" for e in r.errors))
                for r in invalid[:50]
            ],
            message=_("%(n)d rows are invalid: nothing was imported.") % {"n": len(invalid)},
        )
    plans = [(r.line, r.plan) for r in checked.rows if r.state == "valid" and r.plan is not None]
    with transaction.atomic():
        numbers = replay(plans, batch=batch, progress=progress)
    return Imported(len(numbers), checked.count("duplicate"), len(invalid), numbers)


# ----- the two doors: upload page and command ----------------------------------------------------


def batch_counts(batch: ImportBatch, checked: Checked) -> None:
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
    batch_counts(batch, checked)
    batch.save()
    return batch


def import_batch(
    *,
    batch: ImportBatch,
    actor: User,
    skip_invalid: bool,
    progress: Callable[[int, int], None] | None = None,
) -> Imported:
    """Check the stored file again (someone may have imported rows since) and write it."""
    checked = check(batch.file_name, bytes(batch.content))
    with transaction.atomic():
        result = write(
            checked, actor=actor, batch=batch, skip_invalid=skip_invalid, progress=progress
        )
        batch_counts(batch, checked)
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
