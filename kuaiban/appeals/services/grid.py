"""Grid workers (网格员): what they report from the field, and what they resolve on the spot.

A grid worker's report (网格上报) is registered with channel ``grid`` in the worker's own grid
and led by that grid at once: one transaction, a ``register`` and a ``dispatch`` event (the
grid, not the desk, dispatched it: ``grid_report`` in the payload). On an appeal its grid leads,
the grid worker may resolve it on the spot (就地解决): a reply of its own kind, with
``Appeal.resolved_on_spot`` set and one ``resolve_on_spot`` event, followed by the return visit
as any reply is; or whistle departments in (``whistle``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from kuaiban.appeals.models import Action, Appeal, AttachmentStage, Channel, ReplyResult, Status
from kuaiban.appeals.services import attachments
from kuaiban.appeals.services.assist import parts_pending
from kuaiban.appeals.services.checks import TEXT_MAX, _guard, _locked, _set_status, _text
from kuaiban.appeals.services.events import record_event
from kuaiban.appeals.services.registration import AppealInput, appeal_register_within
from kuaiban.core import clock
from kuaiban.core.errors import Conflict, PermissionDenied
from kuaiban.core.uploads import Upload
from kuaiban.deadlines import services as deadlines
from kuaiban.org.models import Role, Unit, User


def _grid_of(actor: User) -> Unit:
    unit = actor.unit
    if actor.role != Role.GRID_WORKER or unit is None or unit.kind != Unit.Kind.GRID:
        raise PermissionDenied(_("Only a grid worker reports from the field."))
    if unit.region is None:
        raise PermissionDenied(_("Your grid has no region; ask an administrator."))
    return unit


# The channels a grid worker registers with: its own report, or a problem raised at a door
# (敲门行动, kuaiban.doors).
GRID_CHANNELS = (Channel.GRID, Channel.VISIT)


@transaction.atomic
def appeal_grid_report(*, actor: User, data: AppealInput, channel: str = Channel.GRID) -> Appeal:
    """网格上报: register what the grid worker found, in its grid, led by its grid.

    ``channel`` is ``grid`` (the field report) or ``visit`` (a problem a household raised on a
    door-to-door visit); either way the appeal lies in the worker's grid and the grid leads it."""
    grid = _grid_of(actor)
    assert grid.region is not None
    if channel not in GRID_CHANNELS:
        raise PermissionDenied(_("A grid worker registers field reports and door visits only."))
    data = dataclasses.replace(data, channel=channel, region=grid.region.code)
    appeal = appeal_register_within(actor=actor, data=data, extra_payload={"grid": grid.code})
    now = clock.now()
    before = _set_status(appeal, Status.DISPATCHED, now)
    appeal.lead_unit = grid
    deadlines.schedule(appeal, "reply", "claim", start=now)
    record_event(
        appeal,
        actor=actor,
        action=Action.DISPATCH,
        from_status=before,
        to_status=Status.DISPATCHED,
        payload={
            "unit": grid.code,
            "co_units": [],
            "final": False,
            "grid_report": True,
            "claim_due": deadlines.iso(appeal.claim_due),
            "reply_due": deadlines.iso(appeal.reply_due),
        },
    )
    appeal.save()
    return appeal


@transaction.atomic
def appeal_resolve_on_spot(
    *, actor: User, number: str, text: str, files: Sequence[Upload] = ()
) -> Appeal:
    """就地解决: the grid worker settled it there and then; replied, counted apart."""
    appeal = _locked(number)
    _guard(appeal, actor, Action.RESOLVE_ON_SPOT)
    text = _text(text, "text", required=True, limit=TEXT_MAX)
    pending = parts_pending(appeal)
    if pending:
        raise Conflict(
            _(
                "Departments were called in (%(units)s): the appeal is answered with them, "
                "not on the spot."
            )
            % {"units": "、".join(p.unit.name for p in pending)},
            code="parts_unanswered",
        )
    now = clock.now()
    before = _set_status(appeal, Status.REPLIED, now)
    if appeal.claimed_at is None:
        appeal.claimed_at = now
    appeal.handler = actor
    appeal.reply_result = ReplyResult.RESOLVED
    appeal.reply_text = text
    appeal.resolved_on_spot = True
    deadlines.schedule(appeal, "visit", start=now)
    event = record_event(
        appeal,
        actor=actor,
        action=Action.RESOLVE_ON_SPOT,
        from_status=before,
        to_status=Status.REPLIED,
        note=text,
        payload={
            "result": ReplyResult.RESOLVED,
            "on_spot": True,
            "on_time": bool(appeal.reply_due is None or now <= appeal.reply_due),
            "visit_due": deadlines.iso(appeal.visit_due),
            **attachments.payload_of(files),
        },
    )
    appeal.save()
    attachments.attach(appeal, event, files, stage=AttachmentStage.REPLY, actor=actor)
    return appeal
