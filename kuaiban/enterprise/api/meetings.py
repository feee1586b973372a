"""Enterprise API: meetings (政企早餐会, 银企对接会, 企业家会见日) and bookings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Schema, Status

from kuaiban.api.schemas import ERRORS, InputSchema, LocalTime, RefOut
from kuaiban.core.errors import PermissionDenied, ValidationFailed
from kuaiban.enterprise import rules, selectors, services
from kuaiban.enterprise.api.common import (
    EnterprisePeriodParams,
    MeetingKindT,
    ProblemIn,
    count_of,
    ref,
    router,
    user_of,
)
from kuaiban.enterprise.models import (
    Meeting,
    MeetingStatus,
)
from kuaiban.enterprise.services.meetings import starts_at

# ----- meetings ------------------------------------------------------------------------------


class MeetingIn(InputSchema):
    kind: MeetingKindT = "breakfast"
    topic: str
    date: dt.date
    start_time: LocalTime
    end_time: LocalTime | None = None
    place: str
    hosts: list[str] = Field(..., description="Usernames of the host leaders")
    capacity: int
    booking_closes_at: dt.datetime | None = Field(None, description="Default: when it starts")


class ProblemOut(Schema):
    number: str
    enterprise: str
    enterprise_name: str
    title: str
    status: str
    lead_unit: RefOut | None
    reply_result: str | None
    reply_text: str
    topic: str


class MeetingOut(Schema):
    id: int
    kind: str
    topic: str
    date: dt.date
    start_time: LocalTime
    end_time: LocalTime | None
    starts_at: dt.datetime
    place: str
    hosts: list[str]
    capacity: int
    booked: int
    status: str
    booking_closes_at: dt.datetime


class MeetingDetailOut(MeetingOut):
    attended: int
    problems: list[ProblemOut]


def meeting_out(m: Meeting) -> dict[str, Any]:
    return {
        "id": m.pk,
        "kind": m.kind,
        "topic": m.topic,
        "date": m.date,
        "start_time": m.start_time,
        "end_time": m.end_time,
        "starts_at": starts_at(m),
        "place": m.place,
        "hosts": [h.label for h in m.hosts.all()],
        "capacity": m.capacity,
        "booked": count_of(m, "booked", lambda: m.bookings.count()),
        "status": m.status,
        "booking_closes_at": m.booking_closes_at,
    }


def meeting_detail(m: Meeting) -> dict[str, Any]:
    out = meeting_out(m)
    out["booked"] = m.bookings.count()
    out["attended"] = m.bookings.filter(attended=True).count()
    out["problems"] = [
        {
            "number": p.appeal.number,
            "enterprise": p.enterprise.credit_code,
            "enterprise_name": p.enterprise.name,
            "title": p.appeal.title or p.appeal.content[:40],
            "status": p.appeal.status,
            "lead_unit": ref(p.appeal.lead_unit),
            "reply_result": p.appeal.reply_result or None,
            "reply_text": p.appeal.reply_text,
            "topic": p.topic,
        }
        for p in selectors.problems_of(m)
    ]
    return out


class MeetingFiguresOut(Schema):
    meetings: int
    attendances: int
    enterprises: int
    problems: int
    replied: int
    closed: int
    closed_pct: float


@router.get("/meetings", response={200: list[MeetingOut], **ERRORS})
def list_meetings(
    request: HttpRequest, kind: MeetingKindT | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    if status and status not in MeetingStatus.values:
        raise ValidationFailed.one(
            "status",
            _("Unknown value %(value)r; one of: %(allowed)s.")
            % {"value": status, "allowed": ", ".join(MeetingStatus.values)},
        )
    qs = selectors.meetings(user=user_of(request), kind=kind or "", status=status or "")
    return [meeting_out(m) for m in qs[:500]]


@router.get(
    "/meetings/open",
    auth=None,
    response=list[MeetingOut],
    summary="Meetings open for booking (public, no login)",
)
def open_meetings(request: HttpRequest) -> list[dict[str, Any]]:
    return [meeting_out(m) for m in selectors.open_meetings()]


@router.get("/meetings/figures", response={200: MeetingFiguresOut, **ERRORS})
def meeting_figures(
    request: HttpRequest,
    period: Query[EnterprisePeriodParams],
    kind: MeetingKindT | None = None,
) -> dict[str, Any]:
    if not rules.has(user_of(request), rules.SEE_FIGURES):
        raise PermissionDenied(_("Your role may not see these figures."))
    return selectors.meeting_figures(kind=kind or "", date_from=period.from_, date_to=period.to)


@router.post("/meetings", response={201: MeetingDetailOut, **ERRORS}, summary="Schedule (draft)")
def create_meeting(request: HttpRequest, payload: MeetingIn) -> Status[dict[str, Any]]:
    meeting = services.meeting_schedule(
        actor=user_of(request), data=services.MeetingInput(**payload.dict())
    )
    return Status(201, meeting_detail(meeting))


@router.get("/meetings/{meeting_id}", response={200: MeetingDetailOut, **ERRORS})
def get_meeting(request: HttpRequest, meeting_id: int) -> dict[str, Any]:
    return meeting_detail(selectors.meeting_get(user=user_of(request), meeting_id=meeting_id))


@router.post("/meetings/{meeting_id}/publish", response={200: MeetingDetailOut, **ERRORS})
def publish_meeting(request: HttpRequest, meeting_id: int) -> dict[str, Any]:
    return meeting_detail(services.meeting_publish(actor=user_of(request), meeting_id=meeting_id))


@router.post("/meetings/{meeting_id}/close", response={200: MeetingDetailOut, **ERRORS})
def close_meeting(request: HttpRequest, meeting_id: int) -> dict[str, Any]:
    return meeting_detail(services.meeting_close(actor=user_of(request), meeting_id=meeting_id))


@router.post("/meetings/{meeting_id}/cancel", response={200: MeetingDetailOut, **ERRORS})
def cancel_meeting(request: HttpRequest, meeting_id: int) -> dict[str, Any]:
    return meeting_detail(services.meeting_cancel(actor=user_of(request), meeting_id=meeting_id))


class BookingIn(InputSchema):
    credit_code: str
    phone: str
    contact_name: str = ""


class InviteIn(InputSchema):
    credit_code: str
    phone: str = ""
    contact_name: str = ""


class BookingOut(Schema):
    meeting: int
    enterprise: str
    enterprise_name: str
    source: str
    booked_at: dt.datetime
    attended: bool


class PublicBookingOut(Schema):
    meeting: int
    enterprise_name: str
    booked_at: dt.datetime


@router.post(
    "/meetings/{meeting_id}/bookings",
    auth=None,
    response={201: PublicBookingOut, **ERRORS},
    summary="Book a place (public, no login): credit code and a mobile number",
)
def book(request: HttpRequest, meeting_id: int, payload: BookingIn) -> Status[dict[str, Any]]:
    booking = services.booking_create(meeting_id=meeting_id, **payload.dict())
    return Status(
        201,
        {
            "meeting": booking.meeting_id,
            "enterprise_name": booking.enterprise.name,
            "booked_at": booking.booked_at,
        },
    )


@router.get("/meetings/{meeting_id}/bookings", response={200: list[BookingOut], **ERRORS})
def list_bookings(request: HttpRequest, meeting_id: int) -> list[dict[str, Any]]:
    user = user_of(request)
    meeting = selectors.meeting_get(user=user, meeting_id=meeting_id)
    if not rules.has(user, rules.RUN_MEETINGS):
        raise PermissionDenied(_("Only the leader's office sees the booking list."))
    return [
        {
            "meeting": meeting.pk,
            "enterprise": b.enterprise.credit_code,
            "enterprise_name": b.enterprise.name,
            "source": b.source,
            "booked_at": b.booked_at,
            "attended": b.attended,
        }
        for b in selectors.bookings_of(meeting)
    ]


@router.post("/meetings/{meeting_id}/invitations", response={201: BookingOut, **ERRORS})
def invite(request: HttpRequest, meeting_id: int, payload: InviteIn) -> Status[dict[str, Any]]:
    b = services.meeting_invite(actor=user_of(request), meeting_id=meeting_id, **payload.dict())
    return Status(
        201,
        {
            "meeting": b.meeting_id,
            "enterprise": b.enterprise.credit_code,
            "enterprise_name": b.enterprise.name,
            "source": b.source,
            "booked_at": b.booked_at,
            "attended": b.attended,
        },
    )


class AttendanceIn(InputSchema):
    attended: list[str] = Field(..., description="Credit codes of booked enterprises that came")
    walk_ins: list[str] = Field(default_factory=list, description="Credit codes not booked")


@router.post("/meetings/{meeting_id}/attendance", response={200: MeetingDetailOut, **ERRORS})
def attendance(request: HttpRequest, meeting_id: int, payload: AttendanceIn) -> dict[str, Any]:
    meeting = services.attendance_record(
        actor=user_of(request),
        meeting_id=meeting_id,
        attended=payload.attended,
        walk_ins=payload.walk_ins,
    )
    return meeting_detail(meeting)


class MeetingProblemIn(ProblemIn):
    credit_code: str


@router.post(
    "/meetings/{meeting_id}/problems",
    response={201: ProblemOut, **ERRORS},
    summary="Register a problem raised at the meeting (an appeal, channel breakfast)",
)
def raise_problem(
    request: HttpRequest, meeting_id: int, payload: MeetingProblemIn
) -> Status[dict[str, Any]]:
    data = payload.dict()
    code = data.pop("credit_code")
    appeal = services.meeting_problem(
        actor=user_of(request),
        meeting_id=meeting_id,
        credit_code=code,
        problem=services.ProblemInput(**data),
    )
    link = appeal.enterprise_link
    return Status(
        201,
        {
            "number": appeal.number,
            "enterprise": link.enterprise.credit_code,
            "enterprise_name": link.enterprise.name,
            "title": appeal.title or appeal.content[:40],
            "status": appeal.status,
            "lead_unit": ref(appeal.lead_unit),
            "reply_result": appeal.reply_result or None,
            "reply_text": appeal.reply_text,
            "topic": link.topic,
        },
    )
