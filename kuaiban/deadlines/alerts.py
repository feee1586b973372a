"""Which alert an appeal should carry now, and how to find the appeals whose alert is stale.

An appeal's running clock depends on its status (claim while dispatched, reply while in
progress, return visit while replied). The alert it should carry is:

- ``red`` once that clock's deadline has passed,
- ``yellow`` once its warning moment (stored when the deadline was set) has passed,
- ``none`` otherwise, and whenever no clock runs.

The stored alert is ``(alert, alert_stage, alert_due)``: the level, the clock it is about, and the
deadline it was raised for — the "already warned" marker. The sweep changes an appeal only when
the stored triple differs from the wanted one, so running it twice changes nothing, and a moved
deadline (an extension) is watched afresh. Appeals that ended (closed, merged, invalid) keep the
alert they ended with.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Iterator
from dataclasses import dataclass
from functools import reduce

from django.db.models import F, Q

from kuaiban.appeals.models import DEADLINE_STATUS, OPEN_STATUSES, Alert, Appeal

ACTION_YELLOW = "alert_yellow"
ACTION_RED = "alert_red"
ACTION_CLEAR = "alert_clear"
ALERT_ACTIONS = {Alert.YELLOW: ACTION_YELLOW, Alert.RED: ACTION_RED, Alert.NONE: ACTION_CLEAR}

HELD = (Alert.RED, Alert.YELLOW)
# status → clock, and the reverse.
STAGE_STATUS = {stage: status for status, stage in DEADLINE_STATUS.items()}


@dataclass(frozen=True)
class AlertState:
    level: str
    stage: str = ""
    due: dt.datetime | None = None

    @classmethod
    def none(cls) -> AlertState:
        return cls(Alert.NONE)


def wanted(appeal: Appeal, now: dt.datetime) -> AlertState:
    """The alert ``appeal`` should carry at ``now``."""
    stage = DEADLINE_STATUS.get(appeal.status, "")
    if not stage:
        return AlertState.none()
    due: dt.datetime | None = getattr(appeal, f"{stage}_due")
    warn: dt.datetime | None = getattr(appeal, f"{stage}_warn_at")
    if due is None:
        return AlertState.none()
    if due <= now:
        return AlertState(Alert.RED, stage, due)
    if warn is not None and warn <= now:
        return AlertState(Alert.YELLOW, stage, due)
    return AlertState.none()


def stored(appeal: Appeal) -> AlertState:
    if appeal.alert == Alert.NONE:
        return AlertState.none()
    return AlertState(appeal.alert, appeal.alert_stage, appeal.alert_due)


def is_stale(appeal: Appeal, now: dt.datetime) -> bool:
    if appeal.status not in OPEN_STATUSES:
        return False
    return stored(appeal) != wanted(appeal, now)


def _holds(level: str, stage: str, now: dt.datetime) -> Q:
    """Rows whose stored alert is exactly (level, stage, current deadline) and still right."""
    due, warn = f"{stage}_due", f"{stage}_warn_at"
    q = Q(status=STAGE_STATUS[stage], alert=level, alert_stage=stage, alert_due=F(due))
    if level == Alert.RED:
        return q & Q(**{f"{due}__lte": now})
    return q & Q(**{f"{warn}__lte": now, f"{due}__gt": now})


def crossing_filters(now: dt.datetime) -> list[tuple[Q, str]]:
    """(filter, column) pairs for the appeals that crossed a line since the last sweep: in the
    status where each clock runs, a deadline passed but not red yet, or a warning moment passed
    but still quiet. Each is a range scan on a partial index that holds only such appeals."""
    out: list[tuple[Q, str]] = []
    for stage, status in STAGE_STATUS.items():
        due, warn = f"{stage}_due", f"{stage}_warn_at"
        out.append((Q(status=status, **{f"{due}__lte": now}) & ~Q(alert=Alert.RED), due))
        # No "deadline not yet passed" here: the few quiet appeals already overdue are found
        # twice, harmlessly, and the scan stays on the warning index.
        out.append((Q(status=status, alert=Alert.NONE, **{f"{warn}__lte": now}), warn))
    return out


def misplaced_filter(now: dt.datetime) -> Q:
    """Alerted open appeals whose alert no longer holds: the clock stopped (claimed, replied,
    returned) or its deadline moved. Reads the alerted appeals only."""
    still_right = reduce(
        operator.or_,
        (
            _holds(level, stage, now)
            for stage in STAGE_STATUS
            for level in (Alert.RED, Alert.YELLOW)
        ),
    )
    return Q(alert__in=[Alert.YELLOW, Alert.RED], status__in=OPEN_STATUSES) & ~still_right


def stale_batches(now: dt.datetime, *, size: int) -> Iterator[list[int]]:
    """Ids of appeals whose alert may be stale, a batch at a time (the caller re-checks each
    under a lock; an id may come twice). The crossings are read in keyset pages ordered by the
    indexed column, which keeps PostgreSQL on the small partial index: its statistics describe
    the whole table, where most deadlines (of ended appeals) lie in the past."""
    for q, column in crossing_filters(now):
        after: tuple[dt.datetime, int] | None = None
        while True:
            qs = Appeal.objects.filter(q)
            if after is not None:
                qs = qs.filter(
                    Q(**{f"{column}__gt": after[0]}) | Q(**{column: after[0], "pk__gt": after[1]})
                )
            rows = list(qs.order_by(column, "pk").values_list(column, "pk")[:size])
            if rows:
                yield [pk for _, pk in rows]
            if len(rows) < size:
                break
            after = rows[-1]
    misplaced = list(
        Appeal.objects.filter(misplaced_filter(now)).order_by().values_list("pk", flat=True)
    )
    for start in range(0, len(misplaced), size):
        yield misplaced[start : start + size]
