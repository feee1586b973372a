"""Registration: a new appeal enters the ledger, validated field by field, with its first event."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.appeals import policy
from kuaiban.appeals.models import (
    Action,
    Appeal,
    AttachmentStage,
    Category,
    Channel,
    Kind,
    Status,
    SubmitterType,
    Urgency,
)
from kuaiban.appeals.services import attachments
from kuaiban.appeals.services.checks import (
    ADDRESS_MAX,
    GROUP_MAX,
    GROUP_URGENT,
    NAME_MAX,
    TITLE_MAX,
    _choice,
    _known,
    _optional,
    _text,
)
from kuaiban.appeals.services.events import record_event
from kuaiban.core import clock
from kuaiban.core.errors import FieldError, PermissionDenied, ValidationFailed
from kuaiban.core.text import fold
from kuaiban.core.uploads import Upload
from kuaiban.core.validation import (
    check_date,
    clean_credit_code,
    clean_id_number,
    clean_phone,
    clean_point,
)
from kuaiban.deadlines import services as deadlines
from kuaiban.org.models import Region, User
from kuaiban.org.selectors import region_from_place

# The channels whose limits table rows give a notice of acceptance clock (受理告知); other
# channels skip the look-up, so registration stays at its few queries.
NOTICE_CHANNELS = frozenset({Channel.PETITION})


@dataclass
class AppealInput:
    channel: str
    kind: str
    content: str
    urgency: str | None = None
    title: str | None = None
    submitter_type: str | None = None
    submitter_name: str | None = None
    submitter_phone: str | None = None
    submitter_id_number: str | None = None
    enterprise_name: str | None = None
    credit_code: str | None = None
    region: str | None = None
    address: str | None = None
    occurred_at: dt.datetime | None = None
    group_size: int | None = None
    category: str | None = None
    # Where it happened, WGS-84 (a map pin, Open311's lat/long): both or neither.
    lat: float | str | None = None
    lng: float | str | None = None
    # An upper-level platform's deadline for the reply (上级转办): the reply clock, started at
    # dispatch, is the earlier of it and the local limit.
    reply_due_cap: dt.datetime | None = None
    # Photos and documents, already checked and re-encoded (kuaiban.core.uploads.prepare).
    files: Sequence[Upload] = ()


def validate_input(data: AppealInput) -> dict[str, Any]:
    """Check every field; collect all problems so the form can show each beside its field."""
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}

    def run(field: str, fn: Callable[[], Any]) -> None:
        try:
            clean[field] = fn()
        except ValidationFailed as exc:
            errors.extend(exc.errors)

    run("channel", lambda: _choice(data.channel, "channel", Channel))
    run("kind", lambda: _choice(data.kind, "kind", Kind))
    run("urgency", lambda: _choice(data.urgency, "urgency", Urgency, default=Urgency.NORMAL))
    run("title", lambda: _text(data.title, "title", required=False, limit=TITLE_MAX))
    run(
        "content",
        lambda: _text(data.content, "content", required=True, limit=settings.KUAIBAN_CONTENT_MAX),
    )
    run(
        "submitter_type",
        lambda: _choice(
            data.submitter_type, "submitter.type", SubmitterType, default=SubmitterType.CITIZEN
        ),
    )
    run(
        "submitter_name",
        lambda: _text(data.submitter_name, "submitter.name", required=False, limit=NAME_MAX),
    )
    run(
        "submitter_phone",
        lambda: _optional(clean_phone, data.submitter_phone, "submitter.phone"),
    )
    run(
        "submitter_id_number",
        lambda: _optional(clean_id_number, data.submitter_id_number, "submitter.id_number"),
    )
    run(
        "enterprise_name",
        lambda: _text(data.enterprise_name, "submitter.enterprise_name", required=False, limit=200),
    )
    run(
        "credit_code",
        lambda: _optional(clean_credit_code, data.credit_code, "submitter.credit_code"),
    )
    needs_code = clean.get("submitter_type") == SubmitterType.ENTERPRISE
    if needs_code and not clean.get("credit_code"):  # noqa: SIM102 - two reasons, two lines
        if not any(e.field == "submitter.credit_code" for e in errors):
            errors.append(
                FieldError(
                    "submitter.credit_code",
                    _("An enterprise needs its unified social credit code."),
                )
            )

    run("region", lambda: _known(Region, data.region, "region", _("Unknown region %(code)r.")))
    run("address", lambda: _text(data.address, "address", required=False, limit=ADDRESS_MAX))

    try:
        point = clean_point(data.lat, data.lng)
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    else:
        clean["lat"], clean["lng"] = point or (None, None)
    run("occurred_at", lambda: _occurred_at(data.occurred_at))
    run("group_size", lambda: _group_size(data.group_size, clean.get("channel")))
    run("reply_due_cap", lambda: _reply_due_cap(data.reply_due_cap))

    run(
        "category",
        lambda: _known(Category, data.category, "category", _("Unknown category %(code)r.")),
    )
    if errors:
        raise ValidationFailed(errors)
    return _derived(clean, data)


def _derived(clean: dict[str, Any], data: AppealInput) -> dict[str, Any]:
    """What follows from the checked fields: a group visit's urgency, the region of the place."""
    if not data.urgency and (clean.get("group_size") or 0) >= GROUP_URGENT:
        # A group visit (5 people or more, 《信访工作条例》's limit on representatives) is
        # urgent unless the operator said otherwise.
        clean["urgency"] = Urgency.URGENT
    if clean.get("region") is None and (clean.get("address") or clean.get("lat") is not None):
        point = (clean["lat"], clean["lng"]) if clean.get("lat") is not None else None
        clean["region"] = region_from_place(clean.get("address") or "", point)
    return clean


def _occurred_at(value: dt.datetime | None) -> dt.datetime | None:
    """When it happened: a real date, made aware, not in the future (five minutes' grace)."""
    if value is None:
        return None
    check_date(value, "occurred_at")  # before the time zone: year 1 or 9999 ± 8 h overflows
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value > clock.now() + dt.timedelta(minutes=5):
        raise ValidationFailed.one("occurred_at", _("Cannot be in the future."))
    return value


def _reply_due_cap(value: dt.datetime | None) -> dt.datetime | None:
    """An upstream deadline: a real date, made aware, still ahead of us."""
    if value is None:
        return None
    check_date(value, "reply_due_cap")
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value <= clock.now():
        raise ValidationFailed.one("reply_due_cap", _("Must be in the future."))
    return value


def _group_size(value: int | str | None, channel: str | None) -> int | None:
    """How many came together: a whole number within bounds, for petition visits only."""
    if value in (None, ""):
        return None
    try:
        size = int(value)
    except (TypeError, ValueError):
        raise ValidationFailed.one("group_size", _("Must be a whole number.")) from None
    if not 1 <= size <= GROUP_MAX:
        raise ValidationFailed.one(
            "group_size", _("Between 1 and %(max)d people.") % {"max": GROUP_MAX}
        )
    if channel != Channel.PETITION:
        raise ValidationFailed.one("group_size", _("Only petition visits have a group size."))
    return size


def number_for(appeal_id: int, received_at: dt.datetime) -> str:
    local = timezone.localtime(received_at)
    return f"{settings.KUAIBAN_NUMBER_PREFIX}{local:%Y%m%d}-{appeal_id:06d}"


def appeal_register(
    *, actor: User | None, data: AppealInput, extra_payload: dict[str, Any] | None = None
) -> Appeal:
    """Put a new appeal in the ledger. ``actor`` None is the system (an integration)."""
    with transaction.atomic():
        return appeal_register_within(actor=actor, data=data, extra_payload=extra_payload)


def appeal_id_next_sql() -> str | None:
    """On PostgreSQL, an SQL expression that draws the id of an appeal about to be registered
    from its sequence, so a row that points to it can be written first, drawing the id in the
    same statement (foreign keys are checked at commit). None on SQLite, which numbers rows as
    it inserts them."""
    if connection.vendor != "postgresql":
        return None
    return f"nextval(pg_get_serial_sequence('{Appeal._meta.db_table}', 'id'))"


def appeal_id_draw() -> int | None:
    """On PostgreSQL, the id of an appeal about to be registered (see appeal_id_next_sql)."""
    expression = appeal_id_next_sql()
    if expression is None:
        return None
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {expression}")
        return int(cursor.fetchone()[0])


def appeal_register_within(
    *,
    actor: User | None,
    data: AppealInput,
    extra_payload: dict[str, Any] | None = None,
    appeal_id: int | None = None,
) -> Appeal:
    """``appeal_register`` inside the caller's open transaction, without a savepoint of its own.

    For callers that write more rows with the appeal (Open311's request, the idempotency key)
    and let any failure roll all of them back: a SAVEPOINT and its RELEASE are two round trips
    per appeal. Validation happens before any write. ``appeal_id``: one drawn
    by ``appeal_id_draw`` or ``appeal_id_next_sql``.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("appeal_register_within needs an open transaction.atomic() block")
    if actor is not None and not (
        policy.may(actor, Action.REGISTER)
        or policy.may_report_from_grid(actor, data.channel, data.region)
    ):
        raise PermissionDenied(_("Your role may not register appeals."))
    clean = validate_input(data)
    now = clock.now()
    phone = clean["submitter_phone"]
    appeal = Appeal(
        **clean,
        search_text=fold(f"{clean['title']}\n{clean['content']}"),
        phone_last4=phone[-4:] if phone else "",
        received_at=now,
        created_by=actor,
    )
    if appeal.channel in NOTICE_CHANNELS:
        appeal.notice_due = deadlines.optional_due(
            clock="notice",
            start=now,
            channel=appeal.channel,
            kind=appeal.kind,
            urgency=appeal.urgency,
        )
    payload = {
        "channel": appeal.channel,
        "kind": appeal.kind,
        **attachments.payload_of(data.files),
        **(extra_payload or {}),
    }
    if connection.vendor == "postgresql":
        # Draw the id first so the row is written once, with its number and the head of its
        # event chain: a second write would touch every index again (the number is indexed, so
        # that UPDATE cannot be HOT). The event goes in first; its foreign key is checked at
        # commit (Django's PostgreSQL foreign keys are DEFERRABLE INITIALLY DEFERRED).
        appeal.pk = appeal_id if appeal_id is not None else appeal_id_draw()
        appeal.number = number_for(appeal.pk, now)
        event = record_event(
            appeal, actor=actor, action=Action.REGISTER, to_status=Status.RECEIVED, payload=payload
        )
        appeal.save(force_insert=True)
    else:
        appeal.save(force_insert=True)
        appeal.number = number_for(appeal.pk, now)
        event = record_event(
            appeal, actor=actor, action=Action.REGISTER, to_status=Status.RECEIVED, payload=payload
        )
        appeal.save(update_fields=["number", "event_count", "last_event_hash"])
    attachments.attach(appeal, event, data.files, stage=AttachmentStage.INTAKE, actor=actor)
    return appeal
