"""Meetings with enterprises: 政企早餐会, 银企对接会, 企业家会见日 (the kind is a field).

Life: draft → published (bookable on /meetings/) → closed (no more bookings) → held (attendance
recorded); cancelled from any state before held. Problems raised at a held meeting become
appeals with channel ``breakfast``, linked to the meeting and the enterprise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.appeals.models import Appeal, Channel
from kuaiban.core import clock
from kuaiban.core.errors import Conflict, DomainError, FieldError, NotFound, ValidationFailed
from kuaiban.core.validation import clean_phone
from kuaiban.enterprise import rules
from kuaiban.enterprise.models import (
    Booking,
    BookingSource,
    Enterprise,
    LinkSource,
    Meeting,
    MeetingKind,
    MeetingStatus,
)
from kuaiban.enterprise.services.checks import PERSON_MAX, collect, require, text
from kuaiban.enterprise.services.links import ProblemInput, link_appeal, register_problem
from kuaiban.enterprise.services.registry import enterprise_for_code, require_contact
from kuaiban.org.models import Role, User

CAPACITY_MAX = 500
TOPIC_MAX = 200
PLACE_MAX = 200


def starts_at(meeting: Meeting) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(meeting.date, meeting.start_time))


@dataclass
class MeetingInput:
    kind: str
    topic: str
    date: dt.date | None
    start_time: dt.time | None
    place: str
    capacity: int | None
    hosts: list[str] = field(default_factory=list)
    end_time: dt.time | None = None
    booking_closes_at: dt.datetime | None = None


def _locked(meeting_id: int) -> Meeting:
    meeting = Meeting.objects.select_for_update().filter(pk=meeting_id).first()
    if meeting is None:
        raise NotFound(_("No meeting #%(id)s.") % {"id": meeting_id})
    return meeting


def _wrong_state(meeting: Meeting, what: str) -> Conflict:
    return Conflict(
        _("Cannot %(what)s a meeting that is %(status)s.")
        % {"what": what, "status": meeting.get_status_display()},
        code="wrong_status",
    )


@transaction.atomic
def meeting_schedule(*, actor: User, data: MeetingInput) -> Meeting:
    require(actor, rules.RUN_MEETINGS)
    now = clock.now()

    clean, closes = _validate_meeting(data, now)
    people = clean.pop("hosts")
    meeting = Meeting.objects.create(
        **clean,
        end_time=data.end_time,
        booking_closes_at=closes,
        created_by=actor,
        created_at=now,
    )
    meeting.hosts.set(people)
    return meeting


def _validate_meeting(data: MeetingInput, now: dt.datetime) -> tuple[dict[str, Any], dt.datetime]:
    """Every field of a meeting to schedule, all problems at once; the cleaned fields and when
    booking closes (by default when the meeting begins)."""

    def kind() -> str:
        if data.kind not in MeetingKind.values:
            raise ValidationFailed.one(
                "kind",
                _("Unknown value %(value)r; one of: %(allowed)s.")
                % {"value": data.kind, "allowed": ", ".join(MeetingKind.values)},
            )
        return data.kind

    def day() -> dt.date:
        if data.date is None:
            raise ValidationFailed.one("date", _("This field is required."))
        if data.date < timezone.localdate(now):
            raise ValidationFailed.one("date", _("Cannot be in the past."))
        return data.date

    def start() -> dt.time:
        if data.start_time is None:
            raise ValidationFailed.one("start_time", _("This field is required."))
        return data.start_time

    def capacity() -> int:
        if data.capacity is None:
            raise ValidationFailed.one("capacity", _("This field is required."))
        if not 1 <= data.capacity <= CAPACITY_MAX:
            raise ValidationFailed.one(
                "capacity", _("Between 1 and %(max)d enterprises.") % {"max": CAPACITY_MAX}
            )
        return int(data.capacity)

    def hosts() -> list[User]:
        names = [n.strip() for n in data.hosts if n and n.strip()]
        if not names:
            raise ValidationFailed.one("hosts", _("Name at least one host leader."))
        people = list(User.objects.filter(username__in=names, is_active=True, role=Role.LEADER))
        missing = sorted(set(names) - {p.username for p in people})
        if missing:
            raise ValidationFailed.one(
                "hosts", _("Not leaders: %(names)s.") % {"names": ", ".join(missing)}
            )
        return people

    clean = collect(
        [
            ("kind", kind),
            ("topic", lambda: text(data.topic, "topic", required=True, limit=TOPIC_MAX)),
            ("date", day),
            ("start_time", start),
            ("place", lambda: text(data.place, "place", required=True, limit=PLACE_MAX)),
            ("capacity", capacity),
            ("hosts", hosts),
        ]
    )
    begins = timezone.make_aware(dt.datetime.combine(clean["date"], clean["start_time"]))
    errors: list[FieldError] = []
    if begins <= now:
        errors.append(FieldError("start_time", _("The meeting must start in the future.")))
    if data.end_time is not None and data.end_time <= clean["start_time"]:
        errors.append(FieldError("end_time", _("Must be after the start time.")))
    closes = data.booking_closes_at or begins
    if timezone.is_naive(closes):
        closes = timezone.make_aware(closes)
    if closes > begins:
        errors.append(
            FieldError("booking_closes_at", _("Booking must close before the meeting starts."))
        )
    if errors:
        raise ValidationFailed(errors)
    return clean, closes


@transaction.atomic
def meeting_publish(*, actor: User, meeting_id: int) -> Meeting:
    require(actor, rules.RUN_MEETINGS)
    meeting = _locked(meeting_id)
    if meeting.status != MeetingStatus.DRAFT:
        raise _wrong_state(meeting, _("publish"))
    if meeting.booking_closes_at <= clock.now():
        raise Conflict(_("Its booking deadline has passed; schedule a new meeting."), code="late")
    meeting.status = MeetingStatus.PUBLISHED
    meeting.published_at = clock.now()
    meeting.save(update_fields=["status", "published_at"])
    return meeting


@transaction.atomic
def meeting_close(*, actor: User, meeting_id: int) -> Meeting:
    """Stop taking bookings (the list is full enough, or the day has come)."""
    require(actor, rules.RUN_MEETINGS)
    meeting = _locked(meeting_id)
    if meeting.status != MeetingStatus.PUBLISHED:
        raise _wrong_state(meeting, _("close booking for"))
    meeting.status = MeetingStatus.CLOSED
    # Booking closes now, not at the planned deadline: the refusal then names the true time.
    meeting.booking_closes_at = min(meeting.booking_closes_at, clock.now())
    meeting.save(update_fields=["status", "booking_closes_at"])
    return meeting


@transaction.atomic
def meeting_cancel(*, actor: User, meeting_id: int) -> Meeting:
    require(actor, rules.RUN_MEETINGS)
    meeting = _locked(meeting_id)
    if meeting.status in (MeetingStatus.HELD, MeetingStatus.CANCELLED):
        raise _wrong_state(meeting, _("cancel"))
    meeting.status = MeetingStatus.CANCELLED
    meeting.save(update_fields=["status"])
    return meeting


def _booking_open(meeting: Meeting, now: dt.datetime) -> None:
    if meeting.status in (MeetingStatus.DRAFT, MeetingStatus.CANCELLED):
        raise NotFound(_("No meeting #%(id)s is open for booking.") % {"id": meeting.pk})
    if meeting.status != MeetingStatus.PUBLISHED or now >= meeting.booking_closes_at:
        closes = timezone.localtime(meeting.booking_closes_at)
        raise Conflict(
            _("Booking for this meeting closed at %(at)s.") % {"at": f"{closes:%Y-%m-%d %H:%M}"},
            code="closed",
        )


def _full(meeting: Meeting) -> Conflict:
    return Conflict(
        _("This meeting is full (%(n)d places); watch for the next one.") % {"n": meeting.capacity},
        code="full",
    )


def booking_refusal(meeting: Meeting) -> DomainError | None:
    """Why the public could not book ``meeting`` now (closed, or full), or None. The public page
    says so up front instead of offering a form that can only be refused."""
    try:
        _booking_open(meeting, clock.now())
    except DomainError as exc:
        return exc
    if meeting.bookings.count() >= meeting.capacity:
        return _full(meeting)
    return None


def _add_booking(
    meeting: Meeting,
    enterprise: Enterprise,
    *,
    phone: str,
    contact_name: str,
    source: str,
    attended: bool = False,
    check_capacity: bool = True,
) -> Booking:
    if meeting.bookings.filter(enterprise=enterprise).exists():
        raise Conflict(
            _("%(name)s has already booked this meeting.") % {"name": enterprise.name},
            code="double_booking",
        )
    if check_capacity and meeting.bookings.count() >= meeting.capacity:
        raise _full(meeting)
    now = clock.now()
    try:
        with transaction.atomic():
            return Booking.objects.create(
                meeting=meeting,
                enterprise=enterprise,
                phone=phone,
                contact_name=contact_name,
                source=source,
                booked_at=now,
                attended=attended,
                attendance_recorded_at=now if attended else None,
            )
    except IntegrityError:
        raise Conflict(
            _("%(name)s has already booked this meeting.") % {"name": enterprise.name},
            code="double_booking",
        ) from None


@transaction.atomic
def booking_create(
    *, meeting_id: int, credit_code: str, phone: str, contact_name: str = ""
) -> Booking:
    """The public books a place: no login. The credit code names the enterprise and the phone
    must be one of its registered contacts (as on the policy page), so nobody books in another
    company's name with its public credit code."""
    clean = collect(
        [
            ("credit_code", lambda: enterprise_for_code(credit_code)),
            ("phone", lambda: clean_phone(phone or "")),
            (
                "contact_name",
                lambda: text(contact_name, "contact_name", required=False, limit=PERSON_MAX),
            ),
        ]
    )
    require_contact(clean["credit_code"], clean["phone"])
    # Lock the meeting so two last-minute bookings cannot both take the last place.
    meeting = _locked(meeting_id)
    _booking_open(meeting, clock.now())
    return _add_booking(
        meeting,
        clean["credit_code"],
        phone=clean["phone"],
        contact_name=clean["contact_name"],
        source=BookingSource.PUBLIC,
    )


@transaction.atomic
def meeting_invite(
    *, actor: User, meeting_id: int, credit_code: str, phone: str = "", contact_name: str = ""
) -> Booking:
    """The leader's office invites an enterprise (until the meeting is held)."""
    require(actor, rules.RUN_MEETINGS)
    enterprise = enterprise_for_code(credit_code)
    primary = enterprise.contacts.filter(primary=True).first()
    clean = collect(
        [
            ("phone", lambda: clean_phone(phone) if (phone or "").strip() else ""),
            (
                "contact_name",
                lambda: text(contact_name, "contact_name", required=False, limit=PERSON_MAX),
            ),
        ]
    )
    meeting = _locked(meeting_id)
    if meeting.status not in (MeetingStatus.DRAFT, MeetingStatus.PUBLISHED, MeetingStatus.CLOSED):
        raise _wrong_state(meeting, _("invite to"))
    return _add_booking(
        meeting,
        enterprise,
        phone=clean["phone"] or (primary.phone if primary else ""),
        contact_name=clean["contact_name"] or (primary.name if primary else ""),
        source=BookingSource.INVITED,
    )


@transaction.atomic
def attendance_record(
    *, actor: User, meeting_id: int, attended: list[str], walk_ins: list[str] | None = None
) -> Meeting:
    """Record who came (credit codes of booked enterprises, plus walk-ins); the meeting is held."""
    require(actor, rules.RUN_MEETINGS)
    meeting = _locked(meeting_id)
    if meeting.status not in (MeetingStatus.PUBLISHED, MeetingStatus.CLOSED, MeetingStatus.HELD):
        raise _wrong_state(meeting, _("record attendance for"))
    now = clock.now()
    if starts_at(meeting) > now:
        raise Conflict(_("Attendance is recorded once the meeting has begun."), code="early")
    booked = {b.enterprise.credit_code: b for b in meeting.bookings.select_related("enterprise")}
    codes = {c.strip().upper() for c in attended if c and c.strip()}
    unknown = sorted(codes - set(booked))
    if unknown:
        raise ValidationFailed.one(
            "attended",
            _("Not booked for this meeting: %(codes)s (add them as walk-ins).")
            % {"codes": ", ".join(unknown)},
        )
    walk_in_enterprises: list[Enterprise] = []
    errors: list[FieldError] = []
    for index, code in enumerate(walk_ins or []):
        if not (code or "").strip():
            continue
        try:
            walk_in_enterprises.append(enterprise_for_code(code, f"walk_ins.{index}"))
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    for code, booking in booked.items():
        came = code in codes
        if booking.attended != came or booking.attendance_recorded_at is None:
            booking.attended = came
            booking.attendance_recorded_at = now
            booking.save(update_fields=["attended", "attendance_recorded_at"])
    for enterprise in walk_in_enterprises:
        if enterprise.credit_code in booked:
            continue
        primary = enterprise.contacts.filter(primary=True).first()
        _add_booking(
            meeting,
            enterprise,
            phone=primary.phone if primary else "",
            contact_name=primary.name if primary else "",
            source=BookingSource.INVITED,
            attended=True,
            check_capacity=False,
        )
    meeting.status = MeetingStatus.HELD
    meeting.held_at = meeting.held_at or now
    meeting.save(update_fields=["status", "held_at"])
    return meeting


@transaction.atomic
def meeting_problem(
    *, actor: User, meeting_id: int, credit_code: str, problem: ProblemInput
) -> Appeal:
    """Register a problem raised at a held meeting as an appeal (channel ``breakfast``)."""
    require(actor, rules.RUN_MEETINGS)
    meeting = _locked(meeting_id)
    if meeting.status != MeetingStatus.HELD:
        raise Conflict(
            _("Record attendance first: problems are registered for a held meeting."),
            code="wrong_status",
        )
    enterprise = enterprise_for_code(credit_code)
    booking = meeting.bookings.filter(enterprise=enterprise, attended=True).first()
    if booking is None:
        raise ValidationFailed.one(
            "credit_code",
            _("%(name)s did not attend this meeting.") % {"name": enterprise.name},
        )
    payload: dict[str, Any] = {
        "enterprise": enterprise.credit_code,
        "meeting": meeting.pk,
        "meeting_kind": meeting.kind,
    }
    appeal = register_problem(
        actor=actor,
        enterprise=enterprise,
        channel=Channel.BREAKFAST,
        problem=problem,
        contact_name=booking.contact_name,
        contact_phone=booking.phone,
        payload=payload,
    )
    link_appeal(appeal, enterprise, source=LinkSource.MEETING, meeting=meeting)
    return appeal
