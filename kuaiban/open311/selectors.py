"""Reads for Open311: the service catalogue, service definitions and public request views."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Max, OuterRef, Q, QuerySet, Subquery
from django.utils import translation
from django.utils.translation import gettext as _

from kuaiban.appeals.models import (
    CONFIDENTIAL_KINDS,
    TERMINAL_STATUSES,
    Appeal,
    AppealEvent,
    Category,
    Kind,
    Status,
    Urgency,
)
from kuaiban.core import clock
from kuaiban.core.errors import NotFound, ValidationFailed
from kuaiban.core.masking import mask_text
from kuaiban.core.validation import check_year
from kuaiban.integrations.models import ApiKey
from kuaiban.open311 import conf
from kuaiban.open311.models import OPEN311_KINDS, Open311Request, Service, ServiceAttribute

CLOSED_STATUSES = frozenset(TERMINAL_STATUSES)
CHANGESET_DEFAULT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class AttributeDef:
    code: str
    datatype: str
    required: bool
    order: int
    description: str
    variable: bool = True
    datatype_description: str = ""
    values: list[dict[str, str]] = field(default_factory=list)

    def keys(self) -> list[str]:
        return [v["key"] for v in self.values]

    def name_of(self, key: str) -> str:
        return next((v["name"] for v in self.values if v["key"] == key), key)

    def as_open311(self) -> dict[str, Any]:
        return {
            "variable": self.variable,
            "code": self.code,
            "datatype": self.datatype,
            "required": self.required,
            "datatype_description": self.datatype_description or None,
            "order": self.order,
            "description": self.description,
            "values": [{"key": v["key"], "name": v["name"]} for v in self.values],
        }


@dataclass(frozen=True)
class ServiceDef:
    code: str
    name: str
    description: str
    keywords: str
    group: str
    notice: str
    default_kind: str
    attributes: list[AttributeDef]
    category_id: int

    def as_open311(self) -> dict[str, Any]:
        return {
            "service_code": self.code,
            "service_name": self.name,
            "description": self.description,
            "metadata": bool(self.attributes),
            "type": "realtime",
            "keywords": self.keywords,
            "group": self.group,
        }

    def definition(self) -> dict[str, Any]:
        return {
            "service_code": self.code,
            "attributes": [a.as_open311() for a in self.attributes],
        }


def default_notice() -> str:
    return _(
        "Registered in the county's appeal ledger: it will be dispatched to the responsible unit "
        "and answered within the time limit. Track it with its service_request_id."
    )


def builtin_attributes(start: int, default_kind: str) -> list[AttributeDef]:
    """The two optional attributes every service has: the appeal's kind and urgency."""
    kind_label = dict(OPEN311_KINDS).get(default_kind, default_kind)
    return [
        AttributeDef(
            code="kind",
            datatype=ServiceAttribute.Datatype.SINGLE,
            required=False,
            order=start,
            description=_("Kind of appeal (default: %(kind)s)") % {"kind": kind_label},
            values=[{"key": k, "name": str(label)} for k, label in OPEN311_KINDS],
        ),
        AttributeDef(
            code="urgency",
            datatype=ServiceAttribute.Datatype.SINGLE,
            required=False,
            order=start + 1,
            description=_("Urgency (default: normal)"),
            values=[{"key": u.value, "name": str(u.label)} for u in Urgency],
        ),
    ]


def _path(cat_id: int, by_id: dict[int, dict[str, Any]]) -> list[str]:
    names: list[str] = []
    node: dict[str, Any] | None = by_id.get(cat_id)
    while node is not None:
        names.append(node["name"])
        node = by_id.get(node["parent_id"]) if node["parent_id"] else None
    return list(reversed(names))


def _custom_attributes(service: Service | None) -> list[AttributeDef]:
    if service is None:
        return []
    return [
        AttributeDef(
            code=a.code,
            datatype=a.datatype,
            required=a.required,
            order=index,
            description=a.description,
            variable=a.variable,
            datatype_description=a.datatype_description,
            values=[{"key": str(v["key"]), "name": str(v["name"])} for v in a.values or []],
        )
        for index, a in enumerate(service.attributes.all(), start=1)
    ]


def _build(
    cat: dict[str, Any],
    by_id: dict[int, dict[str, Any]],
    children: list[str],
    service: Service | None,
) -> ServiceDef:
    path = _path(cat["id"], by_id)
    custom = _custom_attributes(service)
    default_kind = service.default_kind if service else Kind.COMPLAINT
    keywords = service.keywords if service and service.keywords else ", ".join([*path, *children])
    return ServiceDef(
        code=cat["code"],
        name=cat["name"],
        description=(service.description if service and service.description else " / ".join(path)),
        keywords=keywords,
        group=path[0],
        notice=(service.notice if service and service.notice else default_notice()),
        default_kind=default_kind,
        attributes=[*custom, *builtin_attributes(len(custom) + 1, default_kind)],
        category_id=cat["id"],
    )


CAT_FIELDS = ("id", "code", "name", "parent_id")
# How long a web process may serve a cached catalogue before rebuilding it even if its version
# looks unchanged (a renamed category does not change the version).
CATALOGUE_TTL = 60.0
# How often a web process asks for the version at all: every POST needs the catalogue, and an
# edit in the admin may take this long to reach Open311 clients (who cache it far longer).
VERSION_EVERY = 1.0
_catalogue: dict[tuple[Any, ...], tuple[float, dict[str, ServiceDef]]] = {}
_checked: dict[str | None, tuple[float, tuple[Any, ...]]] = {}  # language → (when, version)


def _version() -> tuple[Any, ...]:
    """One cheap query whose answer changes whenever services, attributes or categories are
    added, removed or edited (or a transaction that did so is rolled back)."""
    parts = []
    for model, stamp in (
        (Category, "id"),
        (Service, "updated_at"),
        (ServiceAttribute, "updated_at"),
    ):
        table = connection.ops.quote_name(model._meta.db_table)
        parts.append(f"(SELECT COUNT(*) FROM {table}), (SELECT MAX({stamp}) FROM {table})")
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(parts))
        row = cursor.fetchone()
    return (translation.get_language(), *row)


def forget_version(**_kwargs: Any) -> None:
    """Ask for the version again, and build the catalogue afresh, on the next request (an edit
    in this process, or a test whose tables were emptied and refilled: the version of a refilled
    table under a frozen clock can equal an earlier one's)."""
    _checked.clear()
    _catalogue.clear()


def _build_catalogue() -> dict[str, ServiceDef]:
    by_id = {c["id"]: dict(c) for c in Category.objects.values(*CAT_FIELDS).order_by("code")}
    children: dict[int, list[str]] = {}
    for cat in by_id.values():
        if cat["parent_id"]:
            children.setdefault(cat["parent_id"], []).append(cat["name"])
    services = {s.category_id: s for s in Service.objects.prefetch_related("attributes")}
    return {
        cat["code"]: _build(cat, by_id, children.get(cat["id"], []), services.get(cat["id"]))
        for cat in by_id.values()
        if cat["id"] not in services or services[cat["id"]].active
    }


def catalogue() -> dict[str, ServiceDef]:
    """Every service offered through Open311 by code, in code order (cached per process)."""
    now = time.monotonic()
    language = translation.get_language()
    checked = _checked.get(language)
    if checked is not None and now - checked[0] < VERSION_EVERY:
        version = checked[1]
    else:
        version = _version()
        _checked[language] = (now, version)
    cached = _catalogue.get(version)
    if cached is not None and now - cached[0] < CATALOGUE_TTL:
        return cached[1]
    built = _build_catalogue()
    _catalogue.clear()
    _catalogue[version] = (now, built)
    return built


def service_list() -> list[ServiceDef]:
    return list(catalogue().values())


def service_get(code: str) -> ServiceDef:
    """One service by code, or NotFound (unknown or not offered)."""
    found = catalogue().get(code)
    if found is None:
        raise NotFound(_("service_code %(code)s was not found.") % {"code": code})
    return found


def changeset() -> str:
    """When the catalogue last changed (discovery's changeset: clients refresh caches on it)."""
    latest = max(
        [
            v
            for v in (
                Service.objects.aggregate(m=Max("updated_at"))["m"],
                ServiceAttribute.objects.aggregate(m=Max("updated_at"))["m"],
            )
            if v is not None
        ]
        or [CHANGESET_DEFAULT]
    )
    return latest.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


# ----- requests ---------------------------------------------------------------------------------


def _visible(api_key: ApiKey | None) -> QuerySet[Open311Request]:
    last_event = AppealEvent.objects.filter(appeal_id=OuterRef("appeal_id")).order_by("-seq")
    qs = Open311Request.objects.select_related(
        "appeal",
        "appeal__lead_unit",
        "appeal__category",
        "appeal__merged_into",
        # address_id's region up to the county (grid → village → township → county), for
        # the address of a request located by address_id alone, without a query per row.
        "appeal__region__parent__parent__parent",
    ).annotate(last_event_at=Subquery(last_event.values("at")[:1]))
    if api_key is None:
        return qs.filter(api_key__public=True)
    return qs.filter(Q(api_key__public=True) | Q(api_key=api_key))


def _status_notes(request: Open311Request, known: list[str]) -> str | None:
    appeal = request.appeal
    if appeal.status == Status.MERGED and appeal.merged_into_id:
        master = appeal.merged_into
        assert master is not None
        if master.is_confidential:
            # A confidential report's number is never published, not even as the master.
            return _(
                "Merged with another request about the same problem, which carries the answer."
            )
        return _("Merged with request %(number)s, which carries the answer.") % {
            "number": master.number
        }
    if appeal.status == Status.INVALID:
        return _("Closed without action: not a valid appeal.")
    if appeal.reply_text:
        return mask_text(appeal.reply_text, known)
    return None


def _region_address(appeal: Appeal) -> str:
    """A request located by address_id alone: its region's names below the county
    (e.g. 城关镇 / 南关社区), as the specification asks address to come from address_id."""
    region = appeal.region
    return region.path_names() if region is not None else ""


# A request's fields in GeoReport v2's order: public_view fills each, status_only_view two.
REQUEST_FIELDS = (
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
)


def status_only_view(request: Open311Request) -> dict[str, Any]:
    """A confidential report (举报), asked for by its own service_request_id: whether it is open
    or closed, nothing else (no text, unit, place, service or notes)."""
    appeal = request.appeal
    closed = appeal.status in CLOSED_STATUSES
    empty = dict.fromkeys(REQUEST_FIELDS)
    return {**empty, "service_request_id": appeal.number, "status": "closed" if closed else "open"}


def public_view(request: Open311Request, notices: dict[str, ServiceDef]) -> dict[str, Any]:
    """The GET answer for one request: public fields only, free text masked."""
    appeal = request.appeal
    if appeal.is_confidential:
        return status_only_view(request)
    known = [
        appeal.submitter_name,
        appeal.submitter_phone,
        appeal.submitter_id_number,
        request.first_name,
        request.last_name,
        request.email,
        request.account_id,
        request.device_id,
    ]
    closed = appeal.status in CLOSED_STATUSES
    category = appeal.category
    code = category.code if category else request.service_code
    return {
        "service_request_id": appeal.number,
        "status": "closed" if closed else "open",
        "status_notes": _status_notes(request, known),
        "service_name": category.name if category else None,
        "service_code": code,
        "description": mask_text(request.description, known) or None,
        "agency_responsible": appeal.lead_unit.name if appeal.lead_unit else None,
        "service_notice": notices[code].notice if code in notices else default_notice(),
        "requested_datetime": appeal.received_at,
        # The last change in the appeal's history (for a closed request: when it was closed).
        "updated_datetime": (appeal.ended_at if closed else None)
        or getattr(request, "last_event_at", None)
        or appeal.updated_at,
        "expected_datetime": appeal.reply_due,
        "address": mask_text(request.address_string or appeal.address, known)
        or _region_address(appeal)
        or None,
        "address_id": request.address_id or None,
        "zipcode": None,
        # The appeal's own location (its map pin), stored from the POST's lat/long.
        "lat": appeal.lat,
        "long": appeal.lng,
        "media_url": request.media_url or None,
    }


def notice_for(code: str) -> str:
    found = catalogue().get(code)
    return found.notice if found else default_notice()


def _parse_when(value: str, name: str) -> dt.datetime:
    from django.utils import timezone

    text = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.one(
            name, _("Use a W3C date-time such as 2026-11-23T00:00:00+08:00.")
        ) from None
    check_year(parsed.year, name)  # year 1 or 9999 ± 90 days (or a time zone) breaks datetime
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


def _whole_number(value: str | None, name: str, *, low: int, high: int) -> int | None:
    """A positive integer typed in the query string (None when absent), low..high or refused."""
    text = (value or "").strip()
    if not text:
        return None
    # Digits only, and few of them: no sign, decimal point, exponent or 5,000-digit number.
    if not (text.isascii() and text.isdigit() and len(text) <= 9) or not low <= int(text) <= high:
        raise ValidationFailed.one(
            name,
            _("A whole number from %(low)d to %(high)d.") % {"low": low, "high": high},
        )
    return int(text)


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


@dataclass(frozen=True)
class RequestQuery:
    ids: list[str]
    codes: list[str]
    statuses: list[str]
    start: dt.datetime
    end: dt.datetime
    page: int = 1
    page_size: int = conf.RESPONSE_LIMIT

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    @classmethod
    def parse(cls, params: Any) -> RequestQuery:
        ids = _split(params.get("service_request_id"))
        codes = _split(params.get("service_code"))
        statuses = _split(params.get("status"))
        page = _whole_number(params.get("page"), "page", low=1, high=conf.PAGE_MAX)
        page_size = _whole_number(
            params.get("page_size"), "page_size", low=1, high=conf.PAGE_SIZE_MAX
        )
        bad = [s for s in statuses if s not in ("open", "closed")]
        if bad:
            raise ValidationFailed.one(
                "status", _("Unknown status %(value)s; use open or closed.") % {"value": bad[0]}
            )
        span = dt.timedelta(days=conf.MAX_SPAN_DAYS)
        start_raw, end_raw = params.get("start_date"), params.get("end_date")
        start = _parse_when(start_raw, "start_date") if start_raw else None
        end = _parse_when(end_raw, "end_date") if end_raw else None
        if start and end:
            if start > end:
                raise ValidationFailed.one("start_date", _("start_date is after end_date."))
            if end - start > span:
                raise ValidationFailed.one(
                    "end_date",
                    _("The range may not span more than %(days)d days.")
                    % {"days": conf.MAX_SPAN_DAYS},
                )
        elif start:
            end = start + span
        elif end:
            start = end - span
        else:
            end = clock.now()
            start = end - span
        assert start is not None and end is not None
        return cls(
            ids=ids[: conf.RESPONSE_LIMIT],
            codes=codes,
            statuses=statuses,
            start=start,
            end=end,
            page=page or 1,
            page_size=page_size or conf.RESPONSE_LIMIT,
        )


def requests_search(*, params: Any, api_key: ApiKey | None) -> list[dict[str, Any]]:
    """GET requests: by ids (which overrides everything else) or by code, status and dates;
    one page of the answers (``page``, ``page_size``)."""
    query = RequestQuery.parse(params)
    qs = _visible(api_key)
    if query.ids:
        qs = qs.filter(appeal__number__in=query.ids)
    else:
        # A search by dates, codes or status never lists a confidential report (its number is
        # told only to whoever already holds it).
        qs = qs.exclude(appeal__kind__in=CONFIDENTIAL_KINDS)
        qs = qs.filter(requested_at__gte=query.start, requested_at__lte=query.end)
        if query.codes:
            qs = qs.filter(appeal__category__code__in=query.codes)
        if set(query.statuses) == {"open"}:
            qs = qs.exclude(appeal__status__in=CLOSED_STATUSES)
        elif set(query.statuses) == {"closed"}:
            qs = qs.filter(appeal__status__in=CLOSED_STATUSES)
    # Newest first; the id breaks ties, so pages never overlap nor skip a request.
    rows = list(qs.order_by("-requested_at", "-id")[query.offset : query.offset + query.page_size])
    notices = catalogue()
    return [public_view(r, notices) for r in rows]


def request_get(*, number: str, api_key: ApiKey | None) -> dict[str, Any]:
    row = _visible(api_key).filter(appeal__number=number).first()
    if row is None:
        raise NotFound(_("service_request_id %(id)s was not found.") % {"id": number})
    return public_view(row, catalogue())


def token_get(*, token: str) -> dict[str, Any]:
    row = Open311Request.objects.select_related("appeal").filter(token=token).first()
    if row is None:
        raise NotFound(_("token %(token)s was not found.") % {"token": token})
    return {"service_request_id": row.appeal.number, "token": row.token}
