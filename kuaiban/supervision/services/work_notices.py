"""Telling a unit's handlers that work has arrived: an appeal dispatched to their unit, arbitrated
to it by the supervisors, a part asked of it as a co-unit, or an appeal sent back for rework after
a dissatisfied return visit.

An after-commit hook on the appeal's events (registered in ``apps.py``), like the SMS to the
public: the in-app notice (and its e-mail copy, where the person has an address) is written once
per event and person, and — where ``KUAIBAN_SMS_STAFF_NOTICES`` is on — an SMS goes to the
handler's own mobile through the SMS backend. A report (举报) reaches only those who may open it
(``notifications.build``), and its SMS carries the number and the unit, never its text.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from kuaiban.appeals.models import Action, Appeal, AppealEvent, AssistPart
from kuaiban.core.errors import ValidationFailed
from kuaiban.notify.hooks import is_silenced
from kuaiban.notify.sms import send_sms
from kuaiban.org.models import Unit, User
from kuaiban.supervision.models import Notification
from kuaiban.supervision.services import notifications

log = logging.getLogger(__name__)
Kind = Notification.Kind

# Notice kind → the SMS template (notify's 短信模板, editable by an administrator).
SMS_TEMPLATES: dict[str, str] = {
    Kind.DISPATCHED: "staff_dispatched",
    Kind.ARBITRATED: "staff_arbitrated",
    Kind.CO_HANDLE: "staff_co_handle",
    Kind.REWORK: "staff_rework",
}


@dataclass(frozen=True)
class Notice:
    kind: str
    unit: Unit
    due: dt.datetime | None
    recipients: list[User]


def notices_for(appeal: Appeal, event: AppealEvent) -> list[Notice]:
    """Who must hear of this event, and what: empty for the events that bring no work."""
    if event.action == Action.DISPATCH and appeal.lead_unit is not None:
        kind = Kind.ARBITRATED if (event.payload or {}).get("final") else Kind.DISPATCHED
        out = [
            Notice(
                kind,
                appeal.lead_unit,
                appeal.claim_due or appeal.reply_due,
                notifications.unit_handlers(appeal.lead_unit_id),
            )
        ]
        codes = (event.payload or {}).get("co_units") or []
        parts = AssistPart.objects.filter(appeal=appeal, unit__code__in=codes).select_related(
            "unit"
        )
        for part in parts:
            out.append(
                Notice(
                    Kind.CO_HANDLE,
                    part.unit,
                    part.due,
                    notifications.unit_handlers(part.unit_id),
                )
            )
        return out
    if event.action == Action.REWORK and appeal.lead_unit is not None:
        people = notifications.unit_handlers(appeal.lead_unit_id)
        if appeal.handler is not None and appeal.handler not in people:
            people.append(appeal.handler)
        return [Notice(Kind.REWORK, appeal.lead_unit, appeal.reply_due, people)]
    return []


def on_appeal_event(appeal: Appeal, event: AppealEvent) -> None:
    """The after-commit hook: write each notice this event owes, and its SMS where configured."""
    if event.action not in (Action.DISPATCH, Action.REWORK) or is_silenced():
        return  # silenced: the demo's invented history is nobody's news
    url = reverse("appeals:detail", args=[appeal.number])
    written: list[Notification] = []
    texts: list[tuple[User, Notice]] = []
    for notice in notices_for(appeal, event):
        rows = notifications.build(
            notice.recipients,
            kind=notice.kind,
            key=f"{notice.kind}:{event.pk}:{notice.unit.pk}",
            params={
                "number": appeal.number,
                "unit": notice.unit.name,
                "due": notice.due.isoformat() if notice.due else "",
            },
            url=url,
            appeal=appeal,
        )
        written += rows
        texts += [(row.recipient, notice) for row in rows]
    # One insert and one round of e-mail for all the notices of this event.
    notifications.save(written)
    if settings.KUAIBAN_SMS_STAFF_NOTICES:
        for person, notice in texts:
            _sms(person, notice, appeal)


def _sms(user: User, notice: Notice, appeal: Appeal) -> None:
    if not user.phone:
        return
    due = f"{timezone.localtime(notice.due):%m月%d日%H:%M}" if notice.due else ""
    try:
        send_sms(
            user.phone,
            SMS_TEMPLATES[notice.kind],
            {"number": appeal.number or "", "unit": notice.unit.name, "due": due},
            appeal=appeal,
        )
    except ValidationFailed:  # a staff phone that is not a mobile: the in-app notice stands
        log.warning("staff notice SMS not sent to user %s: no valid mobile", user.pk)
