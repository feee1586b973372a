"""Extension requests (延期): a handler asks for more time, a supervisor decides.

Each step is one transaction that locks the appeal, writes one appeal event
(``extension_request`` / ``extension_approved`` / ``extension_refused``, counted by the metrics)
and the :class:`Extension` row, and queues notifications.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from kuaiban.appeals import policy
from kuaiban.appeals.models import Alert, Appeal, Status
from kuaiban.appeals.services import record_event
from kuaiban.core import clock
from kuaiban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kuaiban.deadlines import services as deadlines
from kuaiban.org.models import Role, User
from kuaiban.supervision.models import Extension, Notification
from kuaiban.supervision.services import notifications as notify

ACTION_REQUEST = "extension_request"
ACTION_APPROVED = "extension_approved"
ACTION_REFUSED = "extension_refused"
EXTENSION_ACTIONS = (ACTION_REQUEST, ACTION_APPROVED, ACTION_REFUSED)
REASON_MAX = 500
MAX_DAYS_AHEAD = 90


def _text(value: str | None, field: str, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed.one(field, _("This field is required."))
    if len(text) > REASON_MAX:
        raise ValidationFailed.one(
            field,
            _("At most %(limit)d characters (got %(n)d).") % {"limit": REASON_MAX, "n": len(text)},
        )
    return text


def _locked_appeal(number: str) -> Appeal:
    appeal = (
        Appeal.objects.select_for_update(of=("self",))
        .select_related("lead_unit", "handler")
        .filter(number=number)
        .first()
    )
    if appeal is None:
        raise NotFound(_("No appeal numbered %(number)s.") % {"number": number})
    return appeal


def _check_statutory_cap(appeal: Appeal, due: dt.datetime, *, field: str) -> None:
    """A row with a longest extension (a petition's 30 days, 《信访工作条例》) caps the total:
    no deadline later than that many days after the handling deadline before any extension."""
    limit = deadlines.optional_limit(
        clock="extension", channel=appeal.channel, kind=appeal.kind, urgency=appeal.urgency
    )
    if limit is None or appeal.reply_due is None:
        return
    first = Extension.objects.filter(appeal=appeal).order_by("requested_at", "pk").first()
    base = first.current_due if first is not None else appeal.reply_due
    cap = limit.apply(deadlines.work_calendar(), base)
    if due > cap:
        raise ValidationFailed.one(
            field,
            _("A petition's handling may be extended by %(limit)s at most: until %(date)s.")
            % {"limit": limit, "date": f"{cap.astimezone(deadlines.SHANGHAI):%Y-%m-%d}"},
        )


def _appeal_url(appeal: Appeal) -> str:
    return reverse("appeals:detail", args=[appeal.number])


@transaction.atomic
def extension_request(
    *, actor: User, number: str, reason: str, proposed_due: str | dt.date | dt.datetime | None
) -> Extension:
    """A handler of the lead unit asks to move the reply deadline of an appeal in progress."""
    appeal = _locked_appeal(number)
    if not policy.can_see(actor, appeal):
        raise NotFound(_("No appeal numbered %(number)s.") % {"number": number})
    if actor.role != Role.HANDLER or not actor.unit_id or actor.unit_id != appeal.lead_unit_id:
        raise PermissionDenied(_("Only a handler of the lead unit may ask for more time."))
    if appeal.status != Status.IN_PROGRESS or appeal.reply_due is None:
        raise Conflict(_("Only an appeal in progress can be given more time."), code="wrong_status")
    settings = deadlines.work_settings()
    if appeal.extension_count >= settings.max_extensions:
        raise Conflict(
            _("This appeal already had %(n)d extensions, the most allowed.")
            % {"n": appeal.extension_count},
            code="too_many_extensions",
        )
    if Extension.objects.filter(appeal=appeal, status=Extension.Status.PENDING).exists():
        raise Conflict(
            _("An extension request for this appeal is already waiting for a decision."),
            code="pending_extension",
        )
    reason = _text(reason, "reason", required=True)
    now = clock.now()
    due = deadlines.parse_due(proposed_due, field="proposed_due", now=now, max_days=MAX_DAYS_AHEAD)
    if due <= appeal.reply_due:
        raise ValidationFailed.one(
            "proposed_due", _("Propose a deadline later than the current one.")
        )
    _check_statutory_cap(appeal, due, field="proposed_due")
    assert appeal.lead_unit is not None
    try:
        with transaction.atomic():
            extension = Extension.objects.create(
                appeal=appeal,
                unit=appeal.lead_unit,
                requested_by=actor,
                requested_at=now,
                reason=reason,
                current_due=appeal.reply_due,
                proposed_due=due,
            )
    except IntegrityError:
        raise Conflict(
            _("An extension request for this appeal is already waiting for a decision."),
            code="pending_extension",
        ) from None
    record_event(
        appeal,
        actor=actor,
        action=ACTION_REQUEST,
        note=reason,
        payload={
            "extension": extension.pk,
            "unit": appeal.lead_unit.code,
            "reply_due": deadlines.iso(appeal.reply_due),
            "proposed_due": deadlines.iso(due),
        },
        at=now,
    )
    appeal.save(update_fields=["event_count", "last_event_hash", "updated_at"])
    notify.notify(
        notify.supervisors(),
        kind=Notification.Kind.EXTENSION_REQUESTED,
        key=f"extension:{extension.pk}:requested",
        params={
            "number": appeal.number,
            "unit": appeal.lead_unit.name,
            "due": deadlines.iso(due),
            "reason": reason[:100],
        },
        url=reverse("supervision:extensions"),
        appeal=appeal,
        now=now,
    )
    return extension


@transaction.atomic
def extension_decide(
    *,
    actor: User,
    extension_id: int,
    decision: str,
    note: str = "",
    due: str | dt.date | dt.datetime | None = None,
) -> Extension:
    """A supervisor approves (the reply deadline moves, optionally to another date than the one
    proposed) or refuses (a note saying why is required)."""
    if actor.role != Role.SUPERVISOR:
        raise PermissionDenied(_("Only a supervisor may decide on extensions."))
    if decision not in ("approve", "refuse"):
        raise ValidationFailed.one("decision", _("One of: approve, refuse."))
    found = Extension.objects.filter(pk=extension_id).values_list("appeal__number", flat=True)
    number = found.first()
    if number is None:
        raise NotFound(_("No such extension request."))
    appeal = _locked_appeal(number)
    extension = Extension.objects.select_for_update().get(pk=extension_id)
    if extension.status != Extension.Status.PENDING:
        raise Conflict(
            _("This request was already decided (%(status)s).")
            % {"status": extension.get_status_display()},
            code="already_decided",
        )
    note = _text(note, "note", required=decision == "refuse")
    assert appeal.number is not None
    if decision == "refuse":
        return _refuse(extension, appeal, actor=actor, note=note, now=clock.now())
    return _approve(extension, appeal, actor=actor, note=note, due=due, now=clock.now())


def _refuse(
    extension: Extension, appeal: Appeal, *, actor: User, note: str, now: dt.datetime
) -> Extension:
    extension.status = Extension.Status.REFUSED
    extension.decided_by = actor
    extension.decided_at = now
    extension.decision_note = note
    extension.save()
    record_event(
        appeal,
        actor=actor,
        action=ACTION_REFUSED,
        note=note,
        payload={"extension": extension.pk, "unit": extension.unit.code},
        at=now,
    )
    appeal.save(update_fields=["event_count", "last_event_hash", "updated_at"])
    _tell_unit(extension, appeal, Notification.Kind.EXTENSION_REFUSED, note=note, now=now)
    return extension


def _approve(
    extension: Extension,
    appeal: Appeal,
    *,
    actor: User,
    note: str,
    due: str | dt.date | dt.datetime | None,
    now: dt.datetime,
) -> Extension:
    """The reply deadline moves to ``due`` (or the date proposed); an alert about it is cleared."""
    if appeal.status != Status.IN_PROGRESS or appeal.reply_due is None:
        raise Conflict(
            _("The appeal is no longer in progress; refuse the request instead."),
            code="wrong_status",
        )
    if appeal.extension_count >= deadlines.work_settings().max_extensions:
        raise Conflict(
            _("This appeal already had %(n)d extensions, the most allowed.")
            % {"n": appeal.extension_count},
            code="too_many_extensions",
        )
    granted = (
        deadlines.parse_due(due, field="due", now=now, max_days=MAX_DAYS_AHEAD)
        if due not in (None, "")
        else extension.proposed_due
    )
    if granted <= appeal.reply_due:
        raise ValidationFailed.one("due", _("Grant a deadline later than the current one."))
    _check_statutory_cap(appeal, granted, field="due")
    if granted <= now:
        raise Conflict(
            _("The proposed deadline has passed; grant a later one."), code="deadline_passed"
        )
    before = appeal.reply_due
    deadlines.move_due(appeal, "reply", due=granted, now=now)
    appeal.extension_count += 1
    payload: dict[str, object] = {
        "extension": extension.pk,
        "unit": extension.unit.code,
        "from": deadlines.iso(before),
        "to": deadlines.iso(granted),
        "extensions": appeal.extension_count,
    }
    if appeal.alert != Alert.NONE and appeal.alert_stage == "reply":
        # The deadline the alert was about is gone: the new one starts on time.
        payload["alert"] = {"from": appeal.alert, "to": Alert.NONE}
        appeal.alert, appeal.alert_stage, appeal.alert_due = Alert.NONE, "", None
    extension.status = Extension.Status.APPROVED
    extension.decided_by = actor
    extension.decided_at = now
    extension.decision_note = note
    extension.granted_due = granted
    extension.save()
    record_event(appeal, actor=actor, action=ACTION_APPROVED, note=note, payload=payload, at=now)
    appeal.save(
        update_fields=[
            "reply_due",
            "reply_warn_at",
            "extension_count",
            "alert",
            "alert_stage",
            "alert_due",
            "event_count",
            "last_event_hash",
            "updated_at",
        ]
    )
    _tell_unit(extension, appeal, Notification.Kind.EXTENSION_APPROVED, due=granted, now=now)
    return extension


def _tell_unit(
    extension: Extension,
    appeal: Appeal,
    kind: str,
    *,
    now: dt.datetime,
    note: str = "",
    due: dt.datetime | None = None,
) -> None:
    recipients = [extension.requested_by, *notify.unit_heads(extension.unit_id)]
    if appeal.handler is not None:
        recipients.append(appeal.handler)
    notify.notify(
        recipients,
        kind=kind,
        key=f"extension:{extension.pk}:{kind}",
        params={"number": appeal.number, "due": deadlines.iso(due), "note": note[:100]},
        url=_appeal_url(appeal),
        appeal=appeal,
        now=now,
    )
