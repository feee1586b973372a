"""Escalation (上报): an open appeal is reported up to an upper-level platform with a reason.

The appeal stays where it is (the county keeps handling it); the event is the record, and the
integration that knows the platform (``kuaiban.integrations.upstream``) checks the target and
sends the event on after commit. A confidential report never leaves: nobody upstream could
open it here.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from kuaiban.appeals.models import Action, Appeal
from kuaiban.appeals.services.checks import REASON_MAX, _guard, _locked, _text
from kuaiban.appeals.services.events import record_event
from kuaiban.core.errors import Conflict
from kuaiban.org.models import User


@transaction.atomic
def appeal_escalate(
    *, actor: User | None, number: str, target: str, target_name: str, reason: str
) -> Appeal:
    """Report ``number`` up to the platform ``target`` (its code; ``target_name`` for people)
    with ``reason``: one ``escalate`` event, the status unchanged. Once per platform."""
    appeal = _locked(number)
    _guard(appeal, actor, Action.ESCALATE)
    reason = _text(reason, "reason", required=True, limit=REASON_MAX)
    if appeal.is_confidential:
        raise Conflict(
            _("A confidential report is not sent to another platform."), code="confidential"
        )
    if appeal.events.filter(action=Action.ESCALATE, payload__platform=target).exists():
        raise Conflict(
            _("This appeal has already been escalated to %(name)s.") % {"name": target_name},
            code="already_escalated",
        )
    record_event(
        appeal,
        actor=actor,
        action=Action.ESCALATE,
        note=reason,
        payload={"platform": target, "platform_name": target_name},
    )
    appeal.save(update_fields=["event_count", "last_event_hash", "updated_at"])
    return appeal
