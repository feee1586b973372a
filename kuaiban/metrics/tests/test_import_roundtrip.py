"""The ledger export imports back: a supervisor's ``ledger.xlsx`` of the demo county, imported
with ``kuaiban import``, gives the same appeals (status, units, times, on_time), replayed through
the transition services without telling anyone; a row the services refuse names its row and
column, and nothing of the file is written."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from kuaiban.appeals.audit import verify
from kuaiban.appeals.demo import make_appeals
from kuaiban.appeals.models import Action, Appeal, AppealEvent, Status, Visit
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.deadlines.calendar import SHANGHAI
from kuaiban.metrics.models import ImportBatch, ImportedAppeal
from kuaiban.org.demo import Directory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 10, 15, 18, 0, tzinfo=SHANGHAI)
TIMES = ("received_at", "dispatched_at", "claimed_at", "replied_at", "visited_at", "closed_at")


@pytest.fixture
def demo(county: Directory) -> list[Appeal]:
    with clock.frozen(NOW):
        make_appeals(county, count=60, seed=1, now=NOW)
    return list(Appeal.objects.order_by("id"))


def export(tmp_path: Path, who: str = "supervisor") -> Path:
    c = Client()
    c.force_login(user(who))
    with clock.frozen(NOW):
        r = c.get(reverse("metrics:ledger_export"))
    assert r.status_code == 200
    path = tmp_path / "诉求台账.xlsx"
    path.write_bytes(r.content)
    return path


def on_time(appeal: Appeal) -> dict[str, Any]:
    """The on_time flags the services wrote into the claim and reply events."""
    events = AppealEvent.objects.filter(appeal=appeal, action__in=[Action.CLAIM, Action.REPLY])
    return {e.action: e.payload.get("on_time") for e in events.order_by("seq")}


def close_to(a: dt.datetime | None, b: dt.datetime | None) -> bool:
    """Equal times, to the second: a workbook stores times as fractions of a day."""
    if a is None or b is None:
        return a is b
    return abs(a - b) < dt.timedelta(seconds=1)


def counts() -> tuple[int, ...]:
    return (
        Appeal.objects.count(),
        AppealEvent.objects.count(),
        Visit.objects.count(),
        ImportedAppeal.objects.count(),
        ImportBatch.objects.count(),
    )


def run_import(path: Path) -> str:
    out = StringIO()
    try:
        with clock.frozen(NOW):
            call_command("import", str(path), stdout=out)
    except CommandError as exc:
        raise CommandError(f"{exc}\n{out.getvalue()}") from exc
    return out.getvalue()


def test_the_export_imports_back_as_the_same_appeals(
    demo: list[Appeal], tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    path = export(tmp_path)
    # Every path of the demo is in it: answered, returned, reworked, invalid, closed ...
    assert {Status.CLOSED, Status.INVALID, Status.IN_PROGRESS} <= {a.status for a in demo}
    with django_capture_on_commit_callbacks() as callbacks:
        out = run_import(path)
    assert f"Imported {len(demo)} appeals" in out, out
    assert callbacks == []  # historical events: no webhook, notification or auto-dispatch
    for old in demo:
        new = ImportedAppeal.objects.get(key=f"src:{old.number}").appeal
        assert new.pk != old.pk
        got = (new.status, new.lead_unit_id, set(new.co_units.values_list("code", flat=True)))
        want = (old.status, old.lead_unit_id, set(old.co_units.values_list("code", flat=True)))
        assert got == want, old.number
        assert (new.reply_result, new.reply_text, new.invalid_reason) == (
            old.reply_result,
            old.reply_text,
            old.invalid_reason,
        ), old.number
        if old.merged_into_id:
            master = ImportedAppeal.objects.get(key=f"src:{old.merged_into.number}")  # type: ignore[union-attr]
            assert new.merged_into_id == master.appeal_id
        if old.rework_count or old.return_count:
            continue  # the ledger keeps only the latest round: earlier rounds are not replayed
        # A delegation down is replayed as a dispatch to the village: its deadlines start afresh.
        delegated = old.events.filter(action=Action.DELEGATE).exists()
        for name in (*TIMES, *(() if delegated else ("claim_due", "reply_due"))):
            assert close_to(getattr(new, name), getattr(old, name)), (old.number, name)
        assert on_time(new) == on_time(old), old.number
    # The replayed chains verify like any other, and a second import finds every row.
    assert list(verify()) == []
    again = run_import(path)
    assert f"Imported 0 appeals; {len(demo)} already there" in again


def test_a_bad_row_is_refused_by_row_and_column_and_nothing_is_written(
    demo: list[Appeal], tmp_path: Path
) -> None:
    path = export(tmp_path)
    wb = load_workbook(path)
    ws = wb.active
    headers = [c.value for c in ws[1]]
    ws.cell(row=5, column=headers.index("状态") + 1, value="已归档")
    ws.cell(row=7, column=headers.index("受理时间") + 1, value="0001-01-01 00:00")
    wb.save(path)
    before = counts()
    with pytest.raises(CommandError):
        run_import(path)
    assert counts() == before


def test_a_history_the_services_refuse_rolls_the_whole_file_back(
    demo: list[Appeal], tmp_path: Path
) -> None:
    """A merge into an appeal that was already closed passes the row check; the merge service
    refuses it during the replay, after other rows were written: all of them are undone."""
    closed = min((a for a in demo if a.closed_at), key=lambda a: a.closed_at)  # type: ignore[arg-type, return-value]
    path = export(tmp_path)
    wb = load_workbook(path)
    ws = wb.active
    headers = [c.value for c in ws[1]]
    col = {h: headers.index(h) + 1 for h in headers}
    rows = list(ws.iter_rows(min_row=2))
    # A row not yet replied to, turned into "merged into an appeal closed before".
    victim = next(
        i
        for i, r in enumerate(rows, start=2)
        if r[col["答复时间"] - 1].value is None
        and r[col["重办次数"] - 1].value == 0
        and r[col["无效原因"] - 1].value is None
    )
    assert closed.closed_at is not None
    times = [rows[victim - 2][col[h] - 1].value for h in ("受理时间", "派单时间", "签收时间")]
    closed_at = timezone.localtime(closed.closed_at).replace(tzinfo=None)
    ended = max([closed_at, *(t for t in times if t)]) + dt.timedelta(minutes=1)
    ws.cell(row=victim, column=col["状态"], value="已合并")
    ws.cell(row=victim, column=col["并入诉求"], value=closed.number)
    ws.cell(row=victim, column=col["结束时间"], value=ended)
    wb.save(path)
    before = counts()
    with pytest.raises(CommandError) as refused:
        run_import(path)
    assert f"Row {victim}," in str(refused.value) or f"第 {victim} 行" in str(refused.value)
    assert "并入诉求" in str(refused.value)
    assert counts() == before
