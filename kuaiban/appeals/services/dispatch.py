"""Dispatch, claim and return: who holds the appeal, and the clocks that start with it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kuaiban.appeals.models import (
    Action,
    Appeal,
    Status,
)
from kuaiban.appeals.services.assist import parts_open, parts_withdraw
from kuaiban.appeals.services.checks import (
    MAX_RETURNS,
    REASON_MAX,
    _guard,
    _locked,
    _set_status,
    _text,
    _unit,
)
from kuaiban.appeals.services.events import record_event
from kuaiban.core import clock
from kuaiban.core.errors import Conflict, PermissionDenied, ValidationFailed
from kuaiban.deadlines import services as deadlines
from kuaiban.org.models import Role, User


@transaction.atomic
def appeal_dispatch(
    *,
    actor: User | None,
    number: str,
    unit: str,
    co_units: Iterable[str] = (),
    note: str = "",
    extra_payload: dict[str, Any] | None = None,
) -> Appeal:
    """Give the appeal to a lead unit; ``extra_payload`` adds keys to the event (auto=True ...)."""
    appeal = _locked(number)
    _guard(appeal, actor, Action.DISPATCH)
    if appeal.return_count >= MAX_RETURNS and actor and actor.role != Role.SUPERVISOR:
        raise PermissionDenied(
            _("This appeal was returned twice: a supervisor arbitrates its dispatch.")
        )
    lead = _unit(unit, "unit")
    co_codes = [c for c in dict.fromkeys(co_units) if c]
    co = [_unit(code, "co_units") for code in co_codes]
    if any(u.pk == lead.pk for u in co):
        raise ValidationFailed.one("co_units", _("The lead unit cannot also be a co-handler."))
    note = _text(note, "note", required=False, limit=REASON_MAX)
    now = clock.now()
    before = _set_status(appeal, Status.DISPATCHED, now)
    appeal.lead_unit = lead
    appeal.handler = None
    deadlines.schedule(appeal, "reply", "claim", start=now)
    appeal.visit_due = None
    final = appeal.return_count >= MAX_RETURNS
    record_event(
        appeal,
        actor=actor,
        action=Action.DISPATCH,
        from_status=before,
        to_status=Status.DISPATCHED,
        note=note,
        payload={
            **(extra_payload or {}),
            "unit": lead.code,
            "co_units": [u.code for u in co],
            "final": final,
            # The clocks this dispatch started, so `audit verify` can replay them.
            "claim_due": deadlines.iso(appeal.claim_due),
            "reply_due": deadlines.iso(appeal.reply_due),
        },
    )
    appeal.save()
    appeal.co_units.set(co)
    parts_open(appeal, co, now=now)
    return appeal


@transaction.atomic
def appeal_claim(*, actor: User | None, number: str) -> Appeal:
    appeal = _locked(number)
    _guard(appeal, actor, Action.CLAIM)
    now = clock.now()
    before = _set_status(appeal, Status.IN_PROGRESS, now)
    appeal.handler = actor
    record_event(
        appeal,
        actor=actor,
        action=Action.CLAIM,
        from_status=before,
        to_status=Status.IN_PROGRESS,
        payload={"on_time": bool(appeal.claim_due and now <= appeal.claim_due)},
    )
    appeal.save()
    return appeal


@transaction.atomic
def appeal_return(*, actor: User, number: str, reason: str) -> Appeal:
    appeal = _locked(number)
    _guard(appeal, actor, Action.RETURN)
    reason = _text(reason, "reason", required=True, limit=REASON_MAX)
    if appeal.overseer_unit_id is not None:
        raise Conflict(
            _(
                "This appeal was delegated down by a township: ask the township to take it "
                "back; only it returns the appeal."
            ),
            code="delegated",
        )
    if appeal.return_count >= MAX_RETURNS:
        raise Conflict(
            _("A supervisor's arbitrated dispatch is final and cannot be returned."),
            code="final_dispatch",
        )
    now = clock.now()
    unit_code = appeal.lead_unit.code if appeal.lead_unit else ""
    before = _set_status(appeal, Status.RECEIVED, now)
    appeal.lead_unit = None
    appeal.handler = None
    appeal.claim_due = None
    appeal.reply_due = None
    appeal.return_count += 1
    withdrawn = parts_withdraw(appeal)
    record_event(
        appeal,
        actor=actor,
        action=Action.RETURN,
        from_status=before,
        to_status=Status.RECEIVED,
        note=reason,
        payload={
            "unit": unit_code,
            "returns": appeal.return_count,
            **({"parts_withdrawn": withdrawn} if withdrawn else {}),
        },
    )
    appeal.save()
    appeal.co_units.clear()
    return appeal
