"""网格吹哨、部门报到: a village or grid that leads an appeal calls departments in.

The whistle names departments; each gets a co-unit part (``AssistPart``) that waits for the
department to report (报到) within KUAIBAN_REPORT_HOURS working hours (``deadlines.report_due``).
Reporting opens the part, which the department then claims and answers as any co-unit does
(``assist``), under the part's deadline (the lead's reply deadline less a working day). The
named departments become co-units at once, so they can open the appeal to report. Each move is
one event (``whistle``, ``report``); the appeal's status does not change.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from kuaiban.appeals import policy
from kuaiban.appeals.models import Action, Appeal, AssistPart, PartStatus
from kuaiban.appeals.services.assist import part_arm
from kuaiban.appeals.services.checks import REASON_MAX, _guard, _locked, _text, _unit
from kuaiban.appeals.services.events import record_event
from kuaiban.core import clock
from kuaiban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kuaiban.deadlines import services as deadlines
from kuaiban.org.models import Role, Unit, User

WHISTLE_MAX_UNITS = 10


def _departments(appeal: Appeal, codes: Sequence[str]) -> list[Unit]:
    codes = [c for c in dict.fromkeys(codes) if c]
    if not codes:
        raise ValidationFailed.one("units", _("Name at least one department."))
    if len(codes) > WHISTLE_MAX_UNITS:
        raise ValidationFailed.one(
            "units", _("At most %(n)d departments at once.") % {"n": WHISTLE_MAX_UNITS}
        )
    units = [_unit(code, "units") for code in codes]
    for unit in units:
        if unit.kind != Unit.Kind.DEPARTMENT:
            raise ValidationFailed.one(
                "units",
                _("%(unit)s is not a department: a whistle calls departments in.")
                % {"unit": unit.name},
            )
    taken = set(
        appeal.parts.exclude(status=PartStatus.WITHDRAWN)
        .filter(unit__in=units)
        .values_list("unit__name", flat=True)
    )
    if taken:
        raise ValidationFailed.one(
            "units",
            _("Already co-handling this appeal: %(units)s.") % {"units": "、".join(sorted(taken))},
        )
    return units


@transaction.atomic
def appeal_whistle(*, actor: User, number: str, units: Sequence[str], note: str = "") -> Appeal:
    """吹哨: the lead village or grid names departments, each of which must report."""
    appeal = _locked(number)
    _guard(appeal, actor, Action.WHISTLE)
    if appeal.is_confidential:
        raise Conflict(
            _("A confidential report is not shared with other units by a whistle."),
            code="confidential",
        )
    departments = _departments(appeal, units)
    note = _text(note, "note", required=True, limit=REASON_MAX)
    now = clock.now()
    due = deadlines.assist_due(reply_due=appeal.reply_due, start=now)
    report_due = deadlines.report_due(start=now)
    AssistPart.objects.bulk_create(
        part_arm(
            AssistPart(
                appeal=appeal,
                unit=u,
                status=PartStatus.SUMMONED,
                created_at=now,
                due=due,
                report_due=report_due,
            )
        )
        for u in departments
    )
    appeal.co_units.add(*departments)
    record_event(
        appeal,
        actor=actor,
        action=Action.WHISTLE,
        note=note,
        payload={
            "units": [u.code for u in departments],
            "report_due": deadlines.iso(report_due),
            "due": deadlines.iso(due),
        },
    )
    appeal.save(update_fields=["event_count", "last_event_hash", "updated_at"])
    return appeal


@transaction.atomic
def appeal_report(*, actor: User, number: str) -> Appeal:
    """报到: a department the whistle named acknowledges; its part opens for claim and answer.

    A handler of a department the whistle did not name is refused (403), whether or not it
    could open the appeal otherwise; a confidential report stays 404 to whoever cannot open it.
    """
    appeal = _locked(number)
    if actor.role == Role.HANDLER and not policy.may(actor, Action.REPORT, appeal):
        if appeal.is_confidential and not policy.can_see(actor, appeal):
            raise NotFound(_("No appeal numbered %(number)s.") % {"number": appeal.number})
        part = policy.own_part(actor, appeal)
        if part is not None and part.reported_at is not None:
            raise Conflict(
                _("%(unit)s has already reported.") % {"unit": part.unit.name}, code="reported"
            )
        raise PermissionDenied(_("Only a department named by the whistle may report."))
    _guard(appeal, actor, Action.REPORT)
    part = policy.own_part(actor, appeal)
    assert part is not None and part.report_due is not None  # policy.may found it summoned
    now = clock.now()
    part.status = PartStatus.OPEN
    part.reported_by = actor
    part.reported_at = now
    part_arm(part)  # the report's clock gives way to the part's
    part.save(
        update_fields=["status", "reported_by", "reported_at", "warn_at", "warned", "warned_due"]
    )
    record_event(
        appeal,
        actor=actor,
        action=Action.REPORT,
        payload={
            "unit": part.unit.code,
            "on_time": now <= part.report_due,
            "due": deadlines.iso(part.due),
        },
    )
    appeal.save(update_fields=["event_count", "last_event_hash", "updated_at"])
    return appeal
