"""Three levels (区、乡、村): a township delegates an appeal down to one of its villages or grids
(下派), keeping oversight.

The rule of oversight: the township that delegated (``Appeal.overseer_unit``) keeps seeing the
appeal as its lead did (the submitter's numbers, every co-unit part), and only it may move the
appeal again: hand it to another of its own villages/grids, or take it back (delegate it to
itself). The village or grid now leads: it claims, replies and whistles as a lead does; the
reply deadline the township had stays, the claim clock starts anew. A delegated appeal is not
returned to the desk by the village: the township takes it back and returns it if need be.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from kuaiban.appeals.models import Action, Appeal, Status
from kuaiban.appeals.services.checks import REASON_MAX, _guard, _locked, _set_status, _text, _unit
from kuaiban.appeals.services.events import record_event
from kuaiban.core import clock
from kuaiban.core.errors import Conflict, PermissionDenied, ValidationFailed
from kuaiban.deadlines import services as deadlines
from kuaiban.org.models import Unit, User


def _delegate_target(appeal: Appeal, township: Unit, code: str) -> Unit:
    """The unit the appeal goes to: the township itself (taking it back) or one of its
    villages/grids; a refusal naming the field otherwise."""
    target = _unit(code, "unit")
    if target.pk == township.pk:
        if appeal.overseer_unit_id is None:
            raise Conflict(_("This appeal is already with your township."), code="same_unit")
        return target
    if not target.is_local:
        raise ValidationFailed.one(
            "unit", _("An appeal is delegated down to a village, community or grid only.")
        )
    if target.township_region is None or target.township_region != township.region:
        raise PermissionDenied(
            _("%(unit)s is not under %(township)s: delegate only to your own villages and grids.")
            % {"unit": target.name, "township": township.name}
        )
    if target.pk == appeal.lead_unit_id:
        raise Conflict(
            _("%(unit)s already leads this appeal.") % {"unit": target.name}, code="same_unit"
        )
    if appeal.co_units.filter(pk=target.pk).exists():
        raise Conflict(
            _("%(unit)s co-handles this appeal and cannot also lead it.") % {"unit": target.name},
            code="co_unit",
        )
    return target


@transaction.atomic
def appeal_delegate(*, actor: User, number: str, unit: str, note: str = "") -> Appeal:
    """下派: the township hands the appeal to one of its villages/grids, or takes it back."""
    appeal = _locked(number)
    _guard(appeal, actor, Action.DELEGATE)
    township = appeal.overseer_unit or appeal.lead_unit
    assert township is not None  # the guard found a township handler
    target = _delegate_target(appeal, township, unit)
    note = _text(note, "note", required=False, limit=REASON_MAX)
    now = clock.now()
    from_unit = appeal.lead_unit.code if appeal.lead_unit else ""
    before = _set_status(appeal, Status.DISPATCHED, now)
    back = target.pk == township.pk
    appeal.lead_unit = target
    appeal.overseer_unit = None if back else township
    appeal.handler = None
    deadlines.schedule(appeal, "claim", start=now)
    record_event(
        appeal,
        actor=actor,
        action=Action.DELEGATE,
        from_status=before,
        to_status=Status.DISPATCHED,
        note=note,
        payload={
            "unit": target.code,
            "from_unit": from_unit,
            "overseer": "" if back else township.code,
            "taken_back": back,
            "claim_due": deadlines.iso(appeal.claim_due),
            "reply_due": deadlines.iso(appeal.reply_due),
        },
    )
    appeal.save()
    return appeal
