"""The public front door's API, mounted at ``/api/v1/public`` (no bearer token, throttled):
the contract apps and mini-programs submit and follow appeals through."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import File, Form, Path, Query, Router, Schema, Status, UploadedFile

from kuaiban.api.schemas import ERRORS, ErrorOut
from kuaiban.appeals import selectors
from kuaiban.core import throttle
from kuaiban.core.errors import ValidationFailed
from kuaiban.core.throttle import client_address
from kuaiban.core.validation import clean_point, clean_text
from kuaiban.portal import selectors as portal_selectors
from kuaiban.portal import services
from kuaiban.portal.photos import public_photos
from kuaiban.portal.views import masked_title, public_timeline
from kuaiban.routing import selectors as routing
from kuaiban.routing import services as routing_services

router = Router(tags=["public"])


class SubmitIn(Schema):
    kind: str
    content: str
    title: str = ""
    category: str = ""  # a first-level category's code (GET /categories/suggest)
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


class PhotoOut(Schema):
    url: str  # a signed link, valid for KUAIBAN_PUBLIC_PHOTO_LINK_HOURS
    name: str
    at: dt.datetime


class PublicAppealOut(Schema):
    number: str
    status: str
    kind: str
    title: str  # empty for a report (举报): only its status is public
    received_at: dt.datetime
    unit: str
    reply_due: dt.datetime | None
    timeline: list[TimelineOut]
    photos: list[PhotoOut]  # the unit's "after" photos; none for a report


@router.post(
    "/appeals",
    auth=None,
    response={201: ReceiptOut, 429: ErrorOut, **ERRORS},
    summary="Submit an appeal (multipart/form-data)",
    description=(
        "`phone` + `code` (from `POST /api/v1/public/codes`), or `anonymous=true` for a report "
        "(`kind=report`). `lat`/`lng` (WGS-84) both or neither; `entrance` is an entrance's "
        "address (e.g. `direct-line`, `mailbox`; default: the website). Every refusal is a 4xx "
        "naming the field and writes nothing. `photos`: up to 9 image files (JPEG, PNG, WebP; "
        "20 MB each at most), judged by their content and re-saved without metadata (EXIF, GPS). "
        "Throttled per client address (429)."
    ),
)
def submit(
    request: HttpRequest,
    payload: Form[SubmitIn],
    photos: File[list[UploadedFile] | None] = None,
) -> Status:
    appeal = services.public_submit(
        services.Submission(**payload.model_dump(), photos=photos or ()),
        client=client_address(request),
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
        photos=[PhotoOut(**p) for p in public_photos(appeal)],  # type: ignore[arg-type]
    )


TEXT_MAX = 2000


def _lookup_text(text: str) -> str:
    """The typed text of a lookup, cleaned, at most ``TEXT_MAX`` characters (400 naming text).

    The length is checked here, after the input guard has stripped control characters, and not
    in the schema: a schema bound would hold for the raw value and not for the one looked up."""
    text = clean_text(text, "text")
    if not text.strip():
        raise ValidationFailed.one("text", _("Describe the problem."))
    if len(text) > TEXT_MAX:
        raise ValidationFailed.one("text", _("At most %(n)d characters.") % {"n": TEXT_MAX})
    return text


class PublicSimilarOut(Schema):
    number: str
    title: str  # phone and ID numbers masked
    category: str
    status: str
    status_label: str
    received_at: dt.datetime
    supporters: int
    metres: int | None  # from the given point, rounded to 100 m; None without two points


SIMILAR_PER_MINUTE = 60


def _count_lookup(request: HttpRequest) -> None:
    """The as-you-type lookups (similar appeals, category): 60 a minute per address, all counted."""
    subject = throttle.Subject(
        "public-similar:addr-minute", client_address(request), SIMILAR_PER_MINUTE, 60
    )
    throttle.check(subject, field="text")
    throttle.fail(subject)


@router.get(
    "/similar",
    auth=None,
    response={200: list[PublicSimilarOut], 429: ErrorOut, **ERRORS},
    summary="Open appeals like this one (the duplicate prompt)",
    description=(
        'Before a person sends, "这些是您要反映的问题吗?": up to five open, non-confidential '
        "appeals of the last 90 days whose text is like `text` and, with `lat`/`lng`, that lie "
        "within 1.5 km (those without a point follow the near ones). No personal data. Each can "
        "be joined with `POST /appeals/{number}/support`. At most 60 calls a minute per address."
    ),
)
def similar(
    request: HttpRequest,
    text: Annotated[str, Query(min_length=1)],
    lat: Annotated[str, Query(max_length=20)] = "",
    lng: Annotated[str, Query(max_length=20)] = "",
) -> list[PublicSimilarOut]:
    _count_lookup(request)
    point = clean_point(lat, lng)
    found = routing.public_similar(
        text=_lookup_text(text),
        lat=float(point[0]) if point else None,
        lng=float(point[1]) if point else None,
    )
    return [
        PublicSimilarOut(
            number=s.appeal.number or "",
            title=masked_title(s.appeal),
            category=s.appeal.category.name if s.appeal.category else "",
            status=s.appeal.status,
            status_label=s.appeal.get_status_display(),
            received_at=s.appeal.received_at,
            supporters=s.appeal.supporter_count,
            metres=None if s.metres is None else int(round(s.metres / 100) * 100),
        )
        for s in found
    ]


class SupportIn(Schema):
    phone: str
    code: str


class SupportOut(Schema):
    number: str
    supporters: int
    detail: str


@router.post(
    "/appeals/{number}/support",
    auth=None,
    response={200: SupportOut, 429: ErrorOut, **ERRORS},
    summary='Join an open appeal: "我也遇到了"',
    description=(
        "`phone` + `code` (from `POST /codes`). The appeal counts one more supporter and the "
        "person is told its following public steps by SMS (never its access code). 404 for an "
        "unknown or confidential appeal, 409 for one closed, merged or invalid, one this phone "
        "submitted or joined already (the code is not spent then), 400 for a wrong code."
    ),
)
def support(
    request: HttpRequest,
    number: Annotated[str, Path(max_length=32)],
    payload: Form[SupportIn],
) -> SupportOut:
    appeal = services.public_support(
        number=number, phone=payload.phone, code=payload.code, client=client_address(request)
    )
    return SupportOut(
        number=appeal.number or "",
        supporters=appeal.supporter_count,
        detail=_("You have joined this appeal: we will tell you of each step by SMS."),
    )


class CategoryOut(Schema):
    code: str
    name: str
    probability: float


@router.get(
    "/categories/suggest",
    auth=None,
    response={200: list[CategoryOut], 429: ErrorOut, **ERRORS},
    summary="The category suggested for a text, as the person types",
    description=(
        "Up to three first-level categories with the routing model's probability, best first "
        "(none before a model is trained). Shares the duplicate prompt's limit of 60 a minute."
    ),
)
def category_suggest(
    request: HttpRequest, text: Annotated[str, Query(min_length=1)]
) -> list[CategoryOut]:
    _count_lookup(request)
    codes = routing.category_codes()
    found = routing_services.suggest(_lookup_text(text), k=3)["categories"]
    return [
        CategoryOut(code=codes[name], name=name, probability=round(float(p), 3))
        for name, p in found
        if name in codes
    ]


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
