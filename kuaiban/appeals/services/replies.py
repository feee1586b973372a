"""Reply, answer, return visit, rework and close: the unit's result and the citizen's rating."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.appeals.models import (
    Action,
    Appeal,
    AttachmentStage,
    Kind,
    ReplyResult,
    Satisfaction,
    Status,
    Visit,
)
from kuaiban.appeals.services import attachments
from kuaiban.appeals.services.assist import parts_pending
from kuaiban.appeals.services.checks import (
    REASON_MAX,
    TEXT_MAX,
    UNREACHED_ATTEMPTS_TO_END,
    _choice,
    _guard,
    _locked,
    _set_status,
    _text,
)
from kuaiban.appeals.services.events import record_event
from kuaiban.core import clock
from kuaiban.core.errors import Conflict, FieldError, ValidationFailed
from kuaiban.core.uploads import Upload
from kuaiban.deadlines import services as deadlines
from kuaiban.org.models import User


def _unanswered(appeal: Appeal, reason: str) -> dict[str, object]:
    """Refuse a reply while a co-unit's part is unanswered, unless the lead says why; the
    event payload's entry for the parts it replies without."""
    pending = parts_pending(appeal)
    if not pending:
        return {}
    if not reason:
        raise Conflict(
            _(
                "Co-handling units have not answered yet (%(units)s): wait for them, or state "
                "why you reply without them."
            )
            % {"units": "、".join(p.unit.name for p in pending)},
            code="parts_unanswered",
        )
    return {"unanswered": [p.unit.code for p in pending], "unanswered_reason": reason}


@transaction.atomic
def appeal_reply(
    *,
    actor: User | None,
    number: str,
    result: str,
    text: str,
    files: Sequence[Upload] = (),
    reason: str = "",
) -> Appeal:
    """The unit's reply; its photos (``files``, checked already) are the public "after" photos.

    While a co-unit's part is unanswered the reply needs ``reason`` (why not wait for it)."""
    appeal = _locked(number)
    _guard(appeal, actor, Action.REPLY)
    result = _choice(result, "result", ReplyResult)
    text = _text(text, "text", required=True, limit=TEXT_MAX)
    reason = _text(reason, "reason", required=False, limit=REASON_MAX)
    # A person replies; the system replaying a history recorded elsewhere is not asked.
    without = _unanswered(appeal, reason) if actor is not None else {}
    now = clock.now()
    before = _set_status(appeal, Status.REPLIED, now)
    appeal.reply_result = result
    appeal.reply_text = text
    deadlines.schedule(appeal, "visit", start=now)
    event = record_event(
        appeal,
        actor=actor,
        action=Action.REPLY,
        from_status=before,
        to_status=Status.REPLIED,
        note=text,
        payload={
            "result": result,
            "on_time": bool(appeal.reply_due is None or now <= appeal.reply_due),
            "visit_due": deadlines.iso(appeal.visit_due),
            **without,
            **attachments.payload_of(files),
        },
    )
    appeal.save()
    attachments.attach(appeal, event, files, stage=AttachmentStage.REPLY, actor=actor)
    return appeal


@transaction.atomic
def appeal_answer(*, actor: User | None, number: str, text: str) -> Appeal:
    """Answer a consultation at intake: no dispatch needed, straight to replied."""
    appeal = _locked(number)
    _guard(appeal, actor, Action.ANSWER)
    if appeal.kind != Kind.CONSULTATION:
        raise Conflict(_("Only consultations can be answered at intake."), code="wrong_kind")
    text = _text(text, "text", required=True, limit=TEXT_MAX)
    now = clock.now()
    before = _set_status(appeal, Status.REPLIED, now)
    appeal.reply_result = ReplyResult.RESOLVED
    appeal.reply_text = text
    deadlines.schedule(appeal, "visit", start=now)
    record_event(
        appeal,
        actor=actor,
        action=Action.ANSWER,
        from_status=before,
        to_status=Status.REPLIED,
        note=text,
        payload={"result": ReplyResult.RESOLVED, "visit_due": deadlines.iso(appeal.visit_due)},
    )
    appeal.save()
    return appeal


def _rework(appeal: Appeal, actor: User | None, now: dt.datetime, note: str, cause: str) -> None:
    before = _set_status(appeal, Status.IN_PROGRESS, now)
    appeal.rework_count += 1
    appeal.reply_result = ""
    appeal.visit_due = None
    deadlines.schedule(appeal, "reply", start=now)
    if appeal.handler_id is None and appeal.lead_unit_id is None:
        # Answered at intake: the rework goes back to the registration desk.
        before_rework = before
        appeal.status = Status.RECEIVED
        appeal.reply_due = None
        record_event(
            appeal,
            actor=actor,
            action=Action.REWORK,
            from_status=before_rework,
            to_status=Status.RECEIVED,
            note=note,
            payload={"cause": cause, "reworks": appeal.rework_count},
        )
        return
    record_event(
        appeal,
        actor=actor,
        action=Action.REWORK,
        from_status=before,
        to_status=Status.IN_PROGRESS,
        note=note,
        payload={
            "cause": cause,
            "reworks": appeal.rework_count,
            "reply_due": deadlines.iso(appeal.reply_due),
        },
    )


@dataclass
class VisitInput:
    reached: bool
    resolved: bool | None = None
    satisfaction: str | None = None
    authentic: bool | None = None
    note: str | None = None
    files: Sequence[Upload] = ()


@transaction.atomic
def appeal_visit(*, actor: User | None, number: str, data: VisitInput) -> Appeal:
    """Record a return visit. Unreached: an attempt (three on different days end it unrated).
    Reached: the rating; dissatisfied or untrue sends the appeal back for rework."""
    appeal = _locked(number)
    _guard(appeal, actor, Action.VISIT)
    note = _text(data.note, "note", required=False, limit=REASON_MAX)
    now = clock.now()
    if not data.reached:
        Visit.objects.create(appeal=appeal, at=now, visitor=actor, reached=False, note=note)
        # This round's calls only: those since the latest reply (a rework starts a new round).
        calls = appeal.visits.filter(reached=False, at__gte=appeal.replied_at).only("at")
        days = {timezone.localtime(v.at).date() for v in calls}
        if len(days) >= UNREACHED_ATTEMPTS_TO_END:
            before = _set_status(appeal, Status.VISITED, now)
            record_event(
                appeal,
                actor=actor,
                action=Action.VISIT,
                from_status=before,
                to_status=Status.VISITED,
                note=note,
                payload={"reached": False, "rated": False, "attempts": len(days)},
            )
        else:
            record_event(
                appeal,
                actor=actor,
                action=Action.VISIT_ATTEMPT,
                note=note,
                payload={"reached": False, "attempts": len(days)},
            )
        appeal.save()
        return appeal

    errors: list[FieldError] = []
    if data.resolved is None:
        errors.append(FieldError("resolved", _("Say whether the problem was resolved.")))
    if data.satisfaction not in Satisfaction.values:
        errors.append(FieldError("satisfaction", _("One of: satisfied, basic, dissatisfied.")))
    if data.authentic is None:
        errors.append(FieldError("authentic", _("Say whether the unit really made contact.")))
    if errors:
        raise ValidationFailed(errors)
    assert data.satisfaction is not None
    Visit.objects.create(
        appeal=appeal,
        at=now,
        visitor=actor,
        reached=True,
        resolved=data.resolved,
        satisfaction=data.satisfaction,
        authentic=data.authentic,
        note=note,
    )
    before = _set_status(appeal, Status.VISITED, now)
    event = record_event(
        appeal,
        actor=actor,
        action=Action.VISIT,
        from_status=before,
        to_status=Status.VISITED,
        note=note,
        payload={
            "reached": True,
            "rated": True,
            "resolved": data.resolved,
            "satisfaction": data.satisfaction,
            "authentic": data.authentic,
            **attachments.payload_of(data.files),
        },
    )
    attachments.attach(appeal, event, data.files, stage=AttachmentStage.VISIT, actor=actor)
    if data.satisfaction == Satisfaction.DISSATISFIED or data.authentic is False:
        cause = "dissatisfied" if data.satisfaction == Satisfaction.DISSATISFIED else "untrue"
        _rework(appeal, actor, now, note, cause)
    appeal.save()
    return appeal


@transaction.atomic
def appeal_rework(*, actor: User | None, number: str, note: str) -> Appeal:
    appeal = _locked(number)
    _guard(appeal, actor, Action.REWORK)
    note = _text(note, "note", required=True, limit=REASON_MAX)
    _rework(appeal, actor, clock.now(), note, "supervisor")
    appeal.save()
    return appeal


@transaction.atomic
def appeal_close(*, actor: User | None, number: str, note: str = "") -> Appeal:
    appeal = _locked(number)
    _guard(appeal, actor, Action.CLOSE)
    note = _text(note, "note", required=False, limit=REASON_MAX)
    now = clock.now()
    before = _set_status(appeal, Status.CLOSED, now)
    record_event(
        appeal,
        actor=actor,
        action=Action.CLOSE,
        from_status=before,
        to_status=Status.CLOSED,
        note=note,
    )
    appeal.save()
    return appeal
