"""Writing checked rows: each row's history replayed through the ledger's transition services.

Every step (register, dispatch, claim, reply or answer, visit, close, merge, invalidate) is the
service a person would have called, run with the clock pinned to the row's historical time
(:func:`kuaiban.core.clock.frozen`), so status, deadlines, ``on_time`` and the hash-chained
events come from the one place that decides them. The steps of all rows run in time order, so
an appeal merged into another finds its master still open, as it was.

The actor is the system (``None``): the history was made elsewhere; the batch records who
imported it. Historical events are not news: the after-commit hooks (webhooks, notifications,
automatic dispatch) are paused. Everything runs in one transaction: a step the services refuse
names its row and column, and nothing of the file is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from kuaiban.appeals import services as appeals
from kuaiban.appeals.models import Appeal, Status
from kuaiban.core import clock
from kuaiban.core.errors import DomainError, FieldError, ValidationFailed
from kuaiban.metrics.importer.mapping import Plan
from kuaiban.metrics.importer.parse import HEADER
from kuaiban.metrics.models import ImportBatch, ImportedAppeal


def _note() -> str:
    return _("Imported from a historical ledger.")


@dataclass
class Step:
    at: dt.datetime
    line: int
    order: int
    column: str  # the column a refusal is reported against
    run: Callable[[Replay], None]


@dataclass
class Replay:
    batch: ImportBatch | None
    numbers: dict[int, str] = field(default_factory=dict)  # line → appeal number
    sources: dict[str, int] = field(default_factory=dict)  # source number → line

    def number(self, line: int) -> str:
        return self.numbers[line]

    def master(self, source: str) -> str:
        """The number, in this ledger, of the appeal imported under ``source``."""
        if source in self.sources and self.sources[source] in self.numbers:
            return self.numbers[self.sources[source]]
        known = ImportedAppeal.objects.filter(key=f"src:{source}"[:80]).select_related("appeal")
        found = known.first()
        return (found.appeal.number or "") if found else source


def _register(line: int, plan: Plan) -> Callable[[Replay], None]:
    def run(r: Replay) -> None:
        extra = {"imported": True, "import_key": plan.key, "source_number": plan.source}
        appeal = appeals.appeal_register(actor=None, data=plan.data, extra_payload=extra)
        ImportedAppeal.objects.create(key=plan.key, appeal=appeal, batch=r.batch)
        r.numbers[line] = appeal.number or ""

    return run


def _path(line: int, plan: Plan) -> list[tuple[str, str, Callable[[Replay], None]]]:
    """(time column, reported column, service call) of the ordinary path the row took."""
    t, n = plan.times, line
    out: list[tuple[str, str, Callable[[Replay], None]]] = []
    if "dispatched_at" in t:
        out.append(
            (
                "dispatched_at",
                "unit",
                lambda r: _ok(
                    appeals.appeal_dispatch(
                        actor=None, number=r.number(n), unit=plan.unit, co_units=plan.co_units
                    )
                ),
            )
        )
    if "claimed_at" in t:
        out.append(
            (
                "claimed_at",
                "claimed_at",
                lambda r: _ok(appeals.appeal_claim(actor=None, number=r.number(n))),
            )
        )
    if "replied_at" in t:
        out.append(("replied_at", "reply_text", _reply(n, plan)))
    if "visited_at" in t:
        out.append(("visited_at", "satisfaction", _visit(n, plan)))
    if "closed_at" in t:
        out.append(
            (
                "closed_at",
                "closed_at",
                lambda r: _ok(appeals.appeal_close(actor=None, number=r.number(n), note=_note())),
            )
        )
    return out


def _visit(line: int, plan: Plan) -> Callable[[Replay], None]:
    def run(r: Replay) -> None:
        if not plan.unreached:
            data = appeals.VisitInput(
                reached=True,
                resolved=plan.resolved,
                satisfaction=plan.satisfaction,
                authentic=plan.authentic,
                note=_note(),
            )
            appeals.appeal_visit(actor=None, number=r.number(line), data=data)
            return
        # The ledger keeps the last call only; the service ends a visit after calls on three
        # days, so the two before are placed on the two days before it (at the same hour).
        last = clock.now()
        for days_before in (2, 1, 0):
            with clock.frozen(last - dt.timedelta(days=days_before)):
                data = appeals.VisitInput(reached=False, note=_note())
                appeals.appeal_visit(actor=None, number=r.number(line), data=data)

    return run


def _reply(line: int, plan: Plan) -> Callable[[Replay], None]:
    def run(r: Replay) -> None:
        if plan.unit:
            appeals.appeal_reply(
                actor=None, number=r.number(line), result=plan.reply_result, text=plan.reply_text
            )
        else:  # a consultation answered at intake
            appeals.appeal_answer(actor=None, number=r.number(line), text=plan.reply_text)

    return run


def _ending(line: int, plan: Plan) -> Callable[[Replay], None]:
    def run(r: Replay) -> None:
        if plan.status == Status.INVALID:
            appeals.appeal_invalidate(actor=None, number=r.number(line), reason=plan.invalid_reason)
        else:
            into = r.master(plan.merged_into)
            appeals.appeal_merge(actor=None, number=r.number(line), into=into)

    return run


def _ok(_appeal: Appeal) -> None:
    return None


def steps(line: int, plan: Plan) -> list[Step]:
    """Every service call of the row's history, at its time."""
    out = [Step(plan.received_at, line, 0, "received_at", _register(line, plan))]
    for order, (time_column, column, run) in enumerate(_path(line, plan), start=1):
        out.append(Step(plan.times[time_column], line, order, column, run))
    if plan.ended_at is not None:
        column = "invalid_reason" if plan.status == Status.INVALID else "merged_into"
        out.append(Step(plan.ended_at, line, 99, column, _ending(line, plan)))
    return out


def replay(
    plans: list[tuple[int, Plan]],
    *,
    batch: ImportBatch | None,
    progress: Callable[[int, int], None] | None = None,
) -> list[str]:
    """Run every row's steps in time order inside the caller's transaction; the new numbers.
    ``progress(done, total)`` is told after each step (steps, not rows: a row is several)."""
    state = Replay(batch)
    state.sources = {p.source: line for line, p in plans if p.source}
    timeline = sorted(
        (s for line, p in plans for s in steps(line, p)), key=lambda s: (s.at, s.line, s.order)
    )
    with appeals.hooks_paused():
        for done, step in enumerate(timeline, start=1):
            try:
                with clock.frozen(step.at):
                    step.run(state)
            except DomainError as exc:
                raise _refused(step, exc) from exc
            if progress is not None:
                progress(done, len(timeline))
    return [state.numbers[line] for line, _p in plans]


def _refused(step: Step, exc: DomainError) -> ValidationFailed:
    detail = "; ".join(str(e.message) for e in getattr(exc, "errors", ())) or str(exc.message)
    field_name = HEADER.get(step.column, step.column)
    return ValidationFailed(
        [FieldError(f"row {step.line}", f"{field_name}: {detail}")],
        message=_("Row %(line)d, %(field)s: %(detail)s Nothing was imported.")
        % {"line": step.line, "field": field_name, "detail": detail},
    )
