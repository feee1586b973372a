"""Merge and invalidate: an appeal leaves the work without a result of its own."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from kuaiban.appeals import policy
from kuaiban.appeals.models import (
    Action,
    Appeal,
    Status,
)
from kuaiban.appeals.services.checks import (
    REASON_MAX,
    _guard,
    _locked,
    _set_status,
    _text,
)
from kuaiban.appeals.services.events import record_event
from kuaiban.core import clock
from kuaiban.core.errors import NotFound, ValidationFailed
from kuaiban.org.models import User


@transaction.atomic
def appeal_merge(*, actor: User | None, number: str, into: str) -> Appeal:
    """Merge a repeated appeal into a master; the master's result reaches both submitters."""
    into = (into or "").strip()
    if not into:
        raise ValidationFailed.one("into", _("This field is required."))
    if into == number:
        raise ValidationFailed.one("into", _("An appeal cannot be merged into itself."))
    # Lock both rows in a fixed order so two opposite merges cannot deadlock.
    locked = {
        a.number: a
        for a in Appeal.objects.select_for_update(of=("self",))
        .filter(number__in=sorted([number, into]))
        .order_by("number")
    }
    if number not in locked:
        raise NotFound(_("No appeal numbered %(number)s.") % {"number": number})
    appeal = locked[number]
    _guard(appeal, actor, Action.MERGE)
    master = locked.get(into)
    if master is None or (actor is not None and not policy.can_see(actor, master)):
        raise ValidationFailed.one("into", _("No appeal numbered %(number)s.") % {"number": into})
    if not master.is_open:
        raise ValidationFailed.one(
            "into", _("Appeal %(number)s is already finished.") % {"number": into}
        )
    now = clock.now()
    before = _set_status(appeal, Status.MERGED, now)
    appeal.merged_into = master
    record_event(
        appeal,
        actor=actor,
        action=Action.MERGE,
        from_status=before,
        to_status=Status.MERGED,
        payload={"into": master.number},
    )
    appeal.save()
    record_event(master, actor=actor, action=Action.MERGED_IN, payload={"appeal": appeal.number})
    master.save(update_fields=["event_count", "last_event_hash", "updated_at"])
    return appeal


@transaction.atomic
def appeal_invalidate(*, actor: User | None, number: str, reason: str) -> Appeal:
    appeal = _locked(number)
    _guard(appeal, actor, Action.INVALIDATE)
    reason = _text(reason, "reason", required=True, limit=REASON_MAX)
    now = clock.now()
    before = _set_status(appeal, Status.INVALID, now)
    appeal.invalid_reason = reason
    record_event(
        appeal,
        actor=actor,
        action=Action.INVALIDATE,
        from_status=before,
        to_status=Status.INVALID,
        note=reason,
    )
    appeal.save()
    return appeal
