"""Changes to the working calendar, and the deadlines they move.

``calendar_days_save`` is the one door for calendar days entered in bulk (the State Council's
notice); it writes the overrides and, in the same transaction, recomputes the pending deadlines
of open appeals that the changed days fall into: one ``deadline_recomputed`` event per appeal
whose deadline moved, through the appeal's hash chain.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q

from kuaiban.appeals.models import Alert, Appeal, AppealEvent, Status
from kuaiban.appeals.services import record_event
from kuaiban.deadlines import services as deadlines
from kuaiban.deadlines.calendar import SHANGHAI, WorkCalendar
from kuaiban.deadlines.models import CalendarDay
from kuaiban.deadlines.notice import NoticeDay
from kuaiban.org.models import User

ACTION_RECOMPUTED = "deadline_recomputed"
# Events after which a clock's deadline is a person's choice, not the table's: left alone.
EXTENSION_APPROVED = "extension_approved"
CLOCK_STATUSES = {
    "claim": (Status.DISPATCHED,),
    "reply": (Status.DISPATCHED, Status.IN_PROGRESS),
    "visit": (Status.REPLIED,),
}
TOLERANCE = dt.timedelta(seconds=1)


@dataclass
class CalendarChange:
    written: int = 0
    changed_days: list[dt.date] = field(default_factory=list)
    appeals: list[str] = field(default_factory=list)  # numbers of appeals whose deadlines moved


@transaction.atomic
def calendar_days_save(*, actor: User, days: Sequence[NoticeDay]) -> CalendarChange:
    """Write the notice's days as calendar-day overrides, then move the deadlines they change."""
    out = CalendarChange()
    before = deadlines.work_calendar()
    for day in days:
        CalendarDay.objects.update_or_create(
            date=day.date, defaults={"is_workday": day.is_workday, "note": day.name[:100]}
        )
        out.written += 1
    out.changed_days = sorted({d.date for d in days if before.is_workday(d.date) != d.is_workday})
    if out.changed_days:
        out.appeals = deadlines_recompute(actor=actor, before=before, changed=out.changed_days)
    return out


@contextlib.contextmanager
def calendar_changed(*, actor: User, dates: Iterable[dt.date]) -> Iterator[list[str]]:
    """Around a change to single calendar days (the admin's form): after the ``with`` body
    wrote them, recompute the deadlines they move, in the same transaction."""
    dates = list(dates)
    moved: list[str] = []
    with transaction.atomic():
        before = deadlines.work_calendar()
        yield moved
        after = deadlines.work_calendar()
        changed = [d for d in dates if before.is_workday(d) != after.is_workday(d)]
        moved += deadlines_recompute(actor=actor, before=before, changed=changed)


def _clock_start(appeal: Appeal, stage: str) -> dt.datetime | None:
    """When ``stage``'s clock started, or None when its deadline is not the table's."""
    events = AppealEvent.objects.filter(appeal=appeal, action__in=["rework", EXTENSION_APPROVED])
    latest = {e.action: e.at for e in events.order_by("seq")}
    if stage == "claim":
        return appeal.dispatched_at
    if stage == "reply":
        start = appeal.dispatched_at
        if start is not None and latest.get("rework") and latest["rework"] > start:
            start = latest["rework"]
        extended = latest.get(EXTENSION_APPROVED)
        if start is None or (extended is not None and extended >= start):
            return None
        return start
    return appeal.replied_at


def deadlines_recompute(
    *, actor: User | None, before: WorkCalendar, changed: Iterable[dt.date]
) -> list[str]:
    """Recompute the running deadlines of open appeals that reach a changed day. A deadline is
    moved only if the old calendar gives the stored one (so a changed limits table or an
    approved extension is never undone). Returns the numbers of the appeals changed."""
    changed = sorted(set(changed))
    if not changed:
        return []
    first = dt.datetime.combine(changed[0], dt.time(0), tzinfo=SHANGHAI)
    settings = deadlines.work_settings()
    after = deadlines.work_calendar(settings)
    reaching = Q()
    for stage, statuses in CLOCK_STATUSES.items():
        reaching |= Q(status__in=statuses, **{f"{stage}_due__gte": first})
    moved: list[str] = []
    for appeal in Appeal.objects.select_for_update().filter(reaching).order_by("pk"):
        limits = deadlines.limits_for(
            channel=appeal.channel, kind=appeal.kind, urgency=appeal.urgency
        )
        clocks: dict[str, dict[str, str | None]] = {}
        fields: list[str] = []
        stages = [s for s, statuses in CLOCK_STATUSES.items() if appeal.status in statuses]
        # The reply first: an emergency's claim deadline is capped by its reply deadline.
        for stage in sorted(stages, key=lambda s: s != "reply"):
            stored: dt.datetime | None = getattr(appeal, f"{stage}_due")
            start = _clock_start(appeal, stage)
            if stored is None or start is None:
                continue
            limit = limits.of(stage)
            old, new = limit.apply(before, start), limit.apply(after, start)
            if stage == "claim" and appeal.reply_due is not None:
                old, new = min(old, appeal.reply_due), min(new, appeal.reply_due)
            if abs(old - stored) > TOLERANCE or abs(new - stored) <= TOLERANCE:
                continue
            setattr(appeal, f"{stage}_due", new)
            setattr(
                appeal,
                f"{stage}_warn_at",
                deadlines.warn_at(start=start, due=new, cal=after, settings=settings),
            )
            clocks[stage] = {"from": deadlines.iso(stored), "to": deadlines.iso(new)}
            fields += [f"{stage}_due", f"{stage}_warn_at"]
        if not clocks:
            continue
        payload: dict[str, object] = {
            "clocks": clocks,
            "days": [d.isoformat() for d in changed],
        }
        if appeal.alert != Alert.NONE and appeal.alert_stage in clocks:
            # The deadline the alert was about moved: the sweep judges the new one afresh.
            payload["alert"] = {"from": appeal.alert, "to": Alert.NONE}
            appeal.alert, appeal.alert_stage, appeal.alert_due = Alert.NONE, "", None
            fields += ["alert", "alert_stage", "alert_due"]
        record_event(appeal, actor=actor, action=ACTION_RECOMPUTED, payload=payload)
        appeal.save(update_fields=[*fields, "event_count", "last_event_hash", "updated_at"])
        moved.append(appeal.number or str(appeal.pk))
    return moved
