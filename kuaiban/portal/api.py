"""The public front door's API, mounted at ``/api/v1/public`` (no bearer token, throttled):
the contract apps and mini-programs submit and follow appeals through."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.http import HttpRequest
from ninja import Form, Path, Query, Router, Schema, Status

from kuaiban.api.schemas import ERRORS, ErrorOut
from kuaiban.appeals import selectors
from kuaiban.core.throttle import client_address
from kuaiban.portal import selectors as portal_selectors
from kuaiban.portal import services
from kuaiban.portal.views import masked_title, public_timeline

router = Router(tags=["public"])


class SubmitIn(Schema):
    kind: str
    content: str
    title: str = ""
    phone: str = ""
    code: str = ""
    name: str = ""
    anonymous: bool = False
    address: str = ""
    lat: str = ""
    lng: str = ""
    entrance: str = ""


class ReceiptOut(Schema):
    number: str
    access_code: str


class TimelineOut(Schema):
    at: dt.datetime
    action: str
    to_status: str | None
    text: str


class PublicAppealOut(Schema):
    number: str
    status: str
    kind: str
    title: str  # empty for a report (举报): only its status is public
    received_at: dt.datetime
    unit: str
    reply_due: dt.datetime | None
    timeline: list[TimelineOut]


@router.post(
    "/appeals",
    auth=None,
    response={201: ReceiptOut, 429: ErrorOut, **ERRORS},
    summary="Submit an appeal (multipart/form-data)",
    description=(
        "`phone` + `code` (from `POST /api/v1/public/codes`), or `anonymous=true` for a report "
        "(`kind=report`). `lat`/`lng` (WGS-84) both or neither; `entrance` is an entrance's "
        "address (e.g. `direct-line`, `mailbox`; default: the website). Every refusal is a 4xx "
        "naming the field and writes nothing. Throttled per client address (429)."
    ),
)
def submit(request: HttpRequest, payload: Form[SubmitIn]) -> Status:
    appeal = services.public_submit(
        services.Submission(**payload.model_dump()), client=client_address(request)
    )
    return Status(
        201, ReceiptOut(number=appeal.number or "", access_code=appeal.access_code_display)
    )


@router.get(
    "/appeals/{number}",
    auth=None,
    response={200: PublicAppealOut, 429: ErrorOut, **ERRORS},
    summary="Follow an appeal by its receipt",
    description=(
        "The receipt's `access_code` opens the appeal's public view: status, the unit, the "
        "public timeline with the unit's replies (numbers masked). Never personal data; a "
        "report (举报) shows its status only. Wrong codes are counted per address and number "
        "(429 past the limit); an unknown number and a wrong code get the same 404."
    ),
)
def follow(
    request: HttpRequest,
    number: Annotated[str, Path(max_length=32)],
    access_code: Annotated[str, Query(max_length=20)] = "",
) -> PublicAppealOut:
    appeal = selectors.track(number=number, key=access_code, client=client_address(request))
    confidential = appeal.is_confidential
    return PublicAppealOut(
        number=appeal.number or "",
        status=appeal.status,
        kind=appeal.kind,
        title="" if confidential else masked_title(appeal),
        received_at=appeal.received_at,
        unit="" if confidential or not appeal.lead_unit_id else str(appeal.lead_unit),
        reply_due=None if confidential else appeal.reply_due,
        timeline=[TimelineOut(**row) for row in public_timeline(appeal)],  # type: ignore[arg-type]
    )


class MapPointOut(Schema):
    category: str
    status: str
    status_label: str
    received: dt.date
    lat: float
    lng: float


class MapOut(Schema):
    days: int
    points: list[MapPointOut]


@router.get(
    "/map",
    auth=None,
    url_name="public_map",
    response={200: MapOut, **ERRORS},
    summary="Recent appeals for the public map",
    description=(
        "Appeals received in the last `days` days (1–365; default the installation's setting, "
        "90) that have a point, newest first. Each is its category's name, its status and the "
        "day it was received, at a point snapped to a grid of 0.001° (about 100 m): the exact "
        "point, the number, the text and the submitter are never sent, and reports (举报), "
        "invalid and merged appeals never appear. `category` is a category's code (it and "
        "everything below it); `status` one of received, dispatched, in_progress, replied, "
        "visited, closed, or `open` (all but closed). An unknown value is a 400 naming it."
    ),
)
def public_map(
    request: HttpRequest,
    category: Annotated[str, Query(max_length=32)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    days: Annotated[str, Query(max_length=3, pattern=r"^[0-9]*$")] = "",
) -> MapOut:
    flt = portal_selectors.MapFilter.from_params(
        {"category": category, "status": status, "days": days}
    )
    points = portal_selectors.public_points(flt)
    return MapOut(days=flt.window, points=[MapPointOut(**vars(p)) for p in points])
