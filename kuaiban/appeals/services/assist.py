"""Co-unit parts (协办): created by dispatch, claimed and answered by the co-unit's handlers.

Each co-unit named at dispatch gets one ``AssistPart`` with its own deadline (the lead's reply
deadline less the limits table's ``assist_lead`` working days, one as shipped,
``deadlines.assist_due``). Claiming and answering a part are
transitions of the appeal like the others (lock, guard, one event), but they leave the appeal's
status alone: the lead still holds it and consolidates the parts into the reply. A return
withdraws the live parts (kept as history); the next dispatch creates new ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from kuaiban.appeals import policy
from kuaiban.appeals.models import (
    PART_PENDING,
    Action,
    Appeal,
    AssistPart,
    AttachmentStage,
    PartStatus,
    PartWarning,
    ReplyResult,
)
from kuaiban.appeals.services import attachments
from kuaiban.appeals.services.checks import TEXT_MAX, _choice, _guard, _locked, _text
from kuaiban.appeals.services.events import record_event
from kuaiban.core import clock
from kuaiban.core.errors import Conflict
from kuaiban.core.uploads import Upload
from kuaiban.deadlines import services as deadlines
from kuaiban.org.models import Unit, User

# A part (or a whistled department's report) is "due soon" once three quarters of its time have
# passed, and overdue at its deadline; its warnings look this far ahead at most. The sweep sends
# them (kuaiban.supervision.services.sweep.part_notices) off ``warn_at``, set here only.
PART_WARN_SHARE = 0.75
PART_LOOKAHEAD = dt.timedelta(days=30)


def part_deadline(part: AssistPart) -> tuple[str, dt.datetime]:
    """The clock the part runs on now: its report (报到) while summoned, else its own part."""
    if part.status == PartStatus.SUMMONED and part.report_due is not None:
        return "report", part.report_due
    return "assist", part.due


def part_arm(part: AssistPart) -> AssistPart:
    """Set ``warn_at``, the moment the part's next warning is due (unsaved): three quarters
    through its current deadline (no earlier than ``PART_LOOKAHEAD`` before it) until the
    due-soon warning was sent, then the deadline itself until the overdue one was, then none.
    A new deadline (or the report's clock giving way to the part's) forgets what was warned
    for the old one. Call it wherever a part's status, ``due`` or ``report_due`` is set."""
    if part.status not in PART_PENDING or (
        part.status == PartStatus.SUMMONED and part.report_due is None
    ):
        part.warn_at = None
        return part
    _stage, due = part_deadline(part)
    if part.warned_due != due:
        part.warned, part.warned_due = PartWarning.NONE, None
    if part.warned == PartWarning.NONE:
        soon = part.created_at + (due - part.created_at) * PART_WARN_SHARE
        part.warn_at = max(soon, due - PART_LOOKAHEAD)
    elif part.warned == PartWarning.YELLOW:
        part.warn_at = due
    else:
        part.warn_at = None
    return part


def parts_open(appeal: Appeal, units: Sequence[Unit], *, now: dt.datetime) -> list[AssistPart]:
    """The parts of a new dispatch, one per co-unit, due before the lead's reply (called by
    dispatch after the reply clock is set). A confidential appeal gets none: co-units do not
    see reports (policy.can_see), so they could not answer one."""
    if appeal.is_confidential or not units:
        return []
    due = deadlines.assist_due(
        reply_due=appeal.reply_due,
        start=now,
        channel=appeal.channel,
        kind=appeal.kind,
        urgency=appeal.urgency,
    )
    return AssistPart.objects.bulk_create(
        part_arm(AssistPart(appeal=appeal, unit=u, created_at=now, due=due)) for u in units
    )


def parts_withdraw(appeal: Appeal) -> list[str]:
    """Withdraw the live parts (a return undid their dispatch); the units' codes."""
    live = appeal.parts.exclude(status=PartStatus.WITHDRAWN)
    codes = list(live.values_list("unit__code", flat=True))
    live.update(status=PartStatus.WITHDRAWN, warn_at=None)  # part_arm of a withdrawn part
    return codes


def parts_pending(appeal: Appeal) -> list[AssistPart]:
    """The live parts the lead is still waiting for, with their units."""
    return list(appeal.parts.filter(status__in=PART_PENDING).select_related("unit"))


def _own_part(appeal: Appeal, actor: User, action: str) -> AssistPart:
    _guard(appeal, actor, action)
    # Read under the appeal's lock (every move of a part locks its appeal first).
    part = policy.own_part(actor, appeal)
    assert part is not None  # the guard's policy.may found it
    if part.status == PartStatus.SUMMONED:
        raise Conflict(
            _("%(unit)s was whistled in: report (报到) first, then claim and answer the part.")
            % {"unit": part.unit.name},
            code="not_reported",
        )
    return part


def _claim(part: AssistPart, actor: User, now: dt.datetime) -> None:
    part.status = PartStatus.CLAIMED
    part.claimed_by = actor
    part.claimed_at = now
    part_arm(part)


@transaction.atomic
def appeal_assist_claim(*, actor: User, number: str) -> Appeal:
    """A co-unit's handler takes the unit's part of the appeal."""
    appeal = _locked(number)
    part = _own_part(appeal, actor, Action.ASSIST_CLAIM)
    if part.status != PartStatus.OPEN:
        raise Conflict(
            _("%(unit)s's part is already %(status)s.")
            % {"unit": part.unit.name, "status": part.get_status_display()},
            code="part_taken",
        )
    now = clock.now()
    _claim(part, actor, now)
    part.save()
    record_event(
        appeal,
        actor=actor,
        action=Action.ASSIST_CLAIM,
        payload={"unit": part.unit.code, "due": deadlines.iso(part.due)},
    )
    appeal.save(update_fields=["event_count", "last_event_hash", "updated_at"])
    return appeal


@transaction.atomic
def appeal_assist(
    *,
    actor: User,
    number: str,
    text: str,
    result: str,
    files: Sequence[Upload] = (),
) -> Appeal:
    """A co-unit's opinion and result on its part; a part nobody claimed is claimed with it."""
    appeal = _locked(number)
    part = _own_part(appeal, actor, Action.ASSIST)
    if part.status == PartStatus.ANSWERED:
        raise Conflict(
            _("%(unit)s has already answered its part.") % {"unit": part.unit.name},
            code="part_answered",
        )
    result = _choice(result, "result", ReplyResult)
    text = _text(text, "text", required=True, limit=TEXT_MAX)
    now = clock.now()
    claimed_now = part.status == PartStatus.OPEN
    if claimed_now:
        _claim(part, actor, now)
    part.status = PartStatus.ANSWERED
    part.text = text
    part.result = result
    part.answered_by = actor
    part.answered_at = now
    part_arm(part)
    part.save()
    event = record_event(
        appeal,
        actor=actor,
        action=Action.ASSIST,
        note=text,
        payload={
            "unit": part.unit.code,
            "result": result,
            "claimed": claimed_now,
            "on_time": now <= part.due,
            **attachments.payload_of(files),
        },
    )
    appeal.save(update_fields=["event_count", "last_event_hash", "updated_at"])
    attachments.attach(appeal, event, files, stage=AttachmentStage.ASSIST, actor=actor)
    return appeal
