"""The sweep: warn before deadlines pass, flag them when they pass, and tell the people concerned.

Run every minute (``kuaiban sweep`` from cron, or ``kuaiban sweep --loop``). It is idempotent and
safe with several sweepers at once:

1. Find the appeals whose stored alert differs from the one they should carry (cheap range scans,
   see :mod:`kuaiban.deadlines.alerts`).
2. In batches, lock them with ``SELECT … FOR UPDATE SKIP LOCKED`` (rows another sweeper holds are
   left to it), re-check each under the lock, and for each real change write the new alert and
   the "already warned" marker, one appeal event (``alert_yellow`` / ``alert_red`` /
   ``alert_clear``) and the notifications, in one transaction.
3. Mark supervision orders that passed their deadline, once.
4. Tell supervisors about appeals waiting for arbitration, co-units about their parts (and
   whistled departments about their report) due soon or overdue, and administrators about years
   the holiday calendar does not know (each once, by notification key).
5. Run the checks other domains registered with :func:`on_sweep` (the foresight's spike
   alerts), each idempotent on its own.
6. Send pending notification e-mails.
7. Once a day, seal the ledger anchor over every appeal's chain head (kuaiban.appeals.audit).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from kuaiban.appeals import audit
from kuaiban.appeals.models import (
    OPEN_STATUSES,
    PART_PENDING,
    Alert,
    Appeal,
    AssistPart,
    PartWarning,
    Status,
)
from kuaiban.appeals.services import MAX_RETURNS, part_arm, part_deadline, record_event
from kuaiban.core import clock
from kuaiban.deadlines import alerts
from kuaiban.deadlines import services as deadlines
from kuaiban.org.models import User
from kuaiban.supervision.models import Notification
from kuaiban.supervision.services import notifications as notify
from kuaiban.supervision.services import orders

BATCH = 500
log = logging.getLogger(__name__)
CHANGED_FIELDS = [
    "alert",
    "alert_stage",
    "alert_due",
    "event_count",
    "last_event_hash",
    "updated_at",
]


@dataclass
class SweepResult:
    yellow: int = 0
    red: int = 0
    cleared: int = 0
    skipped: int = 0
    orders_overdue: int = 0
    arbitration: int = 0
    parts_warned: int = 0
    mailed: int = 0
    unknown_years: list[int] = field(default_factory=list)
    hooked: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def changes(self) -> int:
        return (
            self.yellow + self.red + self.cleared + self.orders_overdue + sum(self.hooked.values())
        )

    def summary(self) -> str:
        return (
            f"sweep: {self.yellow} yellow, {self.red} red, {self.cleared} cleared, "
            f"{self.orders_overdue} orders overdue, {self.arbitration} to arbitrate, "
            f"{self.parts_warned} co-unit part warnings, "
            + "".join(f"{n} {name}, " for name, n in self.hooked.items())
            + f"{self.mailed} e-mails, {self.skipped} left to another sweeper, "
            f"in {self.seconds:.2f}s"
        )


class _People:
    """Recipients, looked up once per sweep."""

    def __init__(self) -> None:
        self._supervisors: list[User] | None = None
        self._visitors: list[User] | None = None
        self._units: dict[int, list[User]] = {}

    @property
    def supervisors(self) -> list[User]:
        if self._supervisors is None:
            self._supervisors = notify.supervisors()
        return self._supervisors

    @property
    def visitors(self) -> list[User]:
        if self._visitors is None:
            self._visitors = notify.visitors()
        return self._visitors

    def unit(self, unit_id: int | None) -> list[User]:
        """The unit's heads and handlers (who may claim an unclaimed appeal)."""
        if unit_id is None:
            return []
        if unit_id not in self._units:
            self._units[unit_id] = notify.unit_heads(unit_id) + notify.unit_handlers(unit_id)
        return self._units[unit_id]

    def heads(self, unit_id: int | None) -> list[User]:
        return [u for u in self.unit(unit_id) if u.is_unit_head]

    def for_alert(self, appeal: Appeal, state: alerts.AlertState) -> list[User]:
        """Yellow goes to whoever must act; red also to the supervisors."""
        people: list[User]
        if state.stage == "claim":
            people = list(self.unit(appeal.lead_unit_id))
        elif state.stage == "reply":
            people = [appeal.handler] if appeal.handler else []
            people += self.heads(appeal.lead_unit_id)
        else:
            people = list(self.visitors)
        if state.level == Alert.RED:
            people += self.supervisors
        return people


def _sweep_batch(ids: Sequence[int], now: dt.datetime, people: _People, out: SweepResult) -> None:
    with transaction.atomic():
        rows = list(
            Appeal.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("lead_unit", "handler")
            .filter(pk__in=ids, status__in=OPEN_STATUSES)
            .order_by("pk")
        )
        out.skipped += len(ids) - len(rows)
        notices: list[Notification] = []
        changed: list[Appeal] = []
        for appeal in rows:
            want, have = alerts.wanted(appeal, now), alerts.stored(appeal)
            if want == have:
                continue  # another sweeper got here first, or nothing changed after all
            stage = want.stage or have.stage
            due = want.due or have.due
            record_event(
                appeal,
                actor=None,
                action=alerts.ALERT_ACTIONS[Alert(want.level)],
                payload={
                    "from": have.level,
                    "to": want.level,
                    "stage": stage,
                    "due": deadlines.iso(due),
                    "unit": appeal.lead_unit.code if appeal.lead_unit else "",
                },
                at=now,
            )
            appeal.alert, appeal.alert_stage, appeal.alert_due = want.level, want.stage, want.due
            appeal.updated_at = now
            changed.append(appeal)
            if want.level == Alert.NONE:
                out.cleared += 1
                continue
            due_iso = deadlines.iso(want.due)
            if want.level == Alert.RED:
                out.red += 1
            else:
                out.yellow += 1
            notices += notify.build(
                people.for_alert(appeal, want),
                kind=Notification.Kind.ALERT_RED
                if want.level == Alert.RED
                else Notification.Kind.ALERT_YELLOW,
                key=f"alert:{appeal.pk}:{want.stage}:{want.level}:{due_iso}",
                params={"number": appeal.number, "stage": want.stage, "due": due_iso},
                url=reverse("appeals:detail", args=[appeal.number]),
                appeal=appeal,
                now=now,
            )
        _save_alerts(changed)
        notify.save(notices, mail=False)


def _save_alerts(changed: list[Appeal]) -> None:
    """One UPDATE for the batch (the rows are locked; each got its event already)."""
    if not changed:
        return
    if connection.vendor != "postgresql":
        Appeal.objects.bulk_update(changed, CHANGED_FIELDS)
        return
    # UPDATE … FROM (VALUES …): linear in the batch, where bulk_update's CASE is quadratic.
    rows = ", ".join("(%s, %s, %s, %s::timestamptz, %s, %s, %s::timestamptz)" for _ in changed)
    params: list[Any] = []
    for a in changed:
        params += [
            a.pk,
            a.alert,
            a.alert_stage,
            a.alert_due,
            a.event_count,
            a.last_event_hash,
            a.updated_at,
        ]
    table = Appeal._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS a SET alert = v.alert, alert_stage = v.stage, "
            "alert_due = v.due, event_count = v.n, last_event_hash = v.head, updated_at = v.at "
            f"FROM (VALUES {rows}) AS v(id, alert, stage, due, n, head, at) WHERE a.id = v.id",
            params,
        )


def sweep_alerts(
    *, now: dt.datetime, batch: int = BATCH, out: SweepResult | None = None
) -> SweepResult:
    out = out or SweepResult()
    people = _People()
    for ids in alerts.stale_batches(now, size=batch):
        _sweep_batch(ids, now, people, out)
    return out


def _new_keys(kind: str, keys: list[str]) -> set[str]:
    known = set(Notification.objects.filter(kind=kind, key__in=keys).values_list("key", flat=True))
    return set(keys) - known


def arbitration_notices(*, now: dt.datetime) -> int:
    """Tell supervisors once about each appeal returned twice and waiting for their dispatch."""
    waiting = list(
        Appeal.objects.filter(status=Status.RECEIVED, return_count__gte=MAX_RETURNS).only(
            "pk", "number", "return_count"
        )
    )
    keys = {f"arbitration:{a.pk}:{a.return_count}": a for a in waiting}
    fresh = _new_keys(Notification.Kind.ARBITRATION, list(keys))
    if not fresh:
        return 0
    with transaction.atomic():
        rows: list[Notification] = []
        for key in sorted(fresh):
            appeal = keys[key]
            rows += notify.build(
                notify.supervisors(),
                kind=Notification.Kind.ARBITRATION,
                key=key,
                params={"number": appeal.number},
                url=reverse("supervision:arbitration"),
                appeal=appeal,
                now=now,
            )
        notify.save(rows, mail=False)
    return len(fresh)


def part_notices(*, now: dt.datetime) -> int:
    """Warn a co-unit's handlers once when its part (协办) or its report (报到, after a whistle)
    is due soon, and again, with the supervisors, once it is overdue. Notifications only: the
    part's clock is the part's, and the appeal's own alert stays the lead's.

    One indexed query picks the parts whose next warning is due (``warn_at``, kept by
    ``part_arm``); nothing to do costs that query alone, however many parts are live. The
    parts are locked (a part another sweeper holds is left to it), warned and re-armed in one
    transaction. The notification keys are checked as well, so a warning sent before the parts
    stored what they were warned of is not sent again."""
    with transaction.atomic():
        parts = list(
            AssistPart.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("appeal")
            .filter(status__in=PART_PENDING, warn_at__lte=now, appeal__status__in=OPEN_STATUSES)
            .order_by("pk")
        )
        if not parts:
            return 0
        keyed: dict[str, tuple[AssistPart, Notification.Kind, str, dt.datetime]] = {}
        for part in parts:
            stage, due = part_deadline(part)
            kind = Notification.Kind.ALERT_RED if due <= now else Notification.Kind.ALERT_YELLOW
            keyed[f"part:{kind}:{part.pk}:{stage}:{due.isoformat()}"] = (part, kind, stage, due)
            part.warned = PartWarning.RED if due <= now else PartWarning.YELLOW
            part.warned_due = due
            part_arm(part)
        fresh = sorted(
            key
            for kind in (Notification.Kind.ALERT_YELLOW, Notification.Kind.ALERT_RED)
            for key in _new_keys(kind, [k for k, v in keyed.items() if v[1] == kind])
        )
        rows: list[Notification] = []
        for key in fresh:
            part, level, stage, due = keyed[key]
            people = notify.unit_handlers(part.unit_id)
            if level == Notification.Kind.ALERT_RED:
                people += notify.supervisors()
            rows += notify.build(
                people,
                kind=level,
                key=key,
                params={"number": part.appeal.number, "stage": stage, "due": due.isoformat()},
                url=reverse("appeals:detail", args=[part.appeal.number]),
                appeal=part.appeal,
                now=now,
            )
        notify.save(rows, mail=False)
        AssistPart.objects.bulk_update(parts, ["warned", "warned_due", "warn_at"], batch_size=500)
    return len(fresh)


def calendar_notices(*, now: dt.datetime) -> list[int]:
    """Warn administrators (once per year) when chinese-calendar does not know a year that
    deadlines may reach; working days then fall back to weekends only plus overrides."""
    years = deadlines.calendar_warnings(timezone.localtime(now).date())
    if not years:
        return years
    keys = {f"calendar:{year}": year for year in years}
    fresh = _new_keys(Notification.Kind.CALENDAR_UNKNOWN, list(keys))
    if fresh:
        with transaction.atomic():
            rows: list[Notification] = []
            for key in sorted(fresh):
                rows += notify.build(
                    notify.administrators(),
                    kind=Notification.Kind.CALENDAR_UNKNOWN,
                    key=key,
                    params={"year": keys[key]},
                    url=reverse("admin:deadlines_calendarday_changelist"),
                    now=now,
                )
            notify.save(rows, mail=False)
    return years


# Checks other domains run on every sweep: ``hook(now=...)`` returns how many things it did.
SweepHook = Callable[..., int]
_sweep_hooks: list[SweepHook] = []


def on_sweep(hook: SweepHook) -> SweepHook:
    """Register ``hook(now=...)`` to run on every sweep (once: registering twice is a no-op).
    A domain that needs the sweep's rhythm but sits above supervision (it sends notifications)
    hooks in from its AppConfig, so supervision never imports it."""
    if hook not in _sweep_hooks:
        _sweep_hooks.append(hook)
    return hook


def sweep(*, now: dt.datetime | None = None, batch: int = BATCH, mail: bool = True) -> SweepResult:
    started = time.monotonic()
    now = now or clock.now()
    out = sweep_alerts(now=now, batch=batch)
    out.orders_overdue = orders.sweep_overdue(now=now)
    out.arbitration = arbitration_notices(now=now)
    out.parts_warned = part_notices(now=now)
    out.unknown_years = calendar_notices(now=now)
    for hook in _sweep_hooks:
        try:
            out.hooked[hook.__name__] = hook(now=now)
        except DatabaseError:  # one domain's check failing leaves the rest of the sweep going
            log.exception("sweep hook %s failed; the next sweep tries again", hook.__name__)
    if mail:
        out.mailed = notify.mail_pending()
    try:
        audit.anchor_write(now=now)  # once a day: a no-op when today's anchor exists
    except DatabaseError:
        log.exception("could not write today's ledger anchor; the next sweep tries again")
    out.seconds = time.monotonic() - started
    return out
