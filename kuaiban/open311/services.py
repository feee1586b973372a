"""Open311 writes: a POSTed service request becomes an ordinary appeal in the ledger.

The appeal is registered through :func:`kuaiban.appeals.services.appeal_register` (actor None:
the system, on behalf of the key's integrating system) with the key's channel; the Open311 extras
go into :class:`~kuaiban.open311.models.Open311Request` in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator, validate_email
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from kuaiban.appeals import services as appeals
from kuaiban.appeals.models import Appeal, Urgency
from kuaiban.core import uploads
from kuaiban.core.errors import FieldError, ValidationFailed
from kuaiban.core.uploads import Upload
from kuaiban.core.validation import check_year, clean_phone, clean_point
from kuaiban.integrations import services as integrations
from kuaiban.integrations.models import ApiKey
from kuaiban.open311 import conf
from kuaiban.open311.models import Open311Request, ServiceAttribute
from kuaiban.open311.selectors import AttributeDef, ServiceDef, service_get
from kuaiban.org.models import Region

ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\[\]]+)\](\[\])?$")
STRING_MAX = 200
TEXT_MAX = 500
TITLE_MAX = 40
# Field names of the appeal service → the Open311 parameter a client sent.
FIELD_NAMES = {
    "content": "description",
    "submitter.phone": "phone",
    "submitter.name": "last_name",
    "address": "address_string",
    "region": "address_id",
    "category": "service_code",
    "title": "description",
    "lat": "lat",
    "lng": "long",
}
# Open311 parameters that are part of a request's identity for Idempotency-Key comparison.
SIGNIFICANT = (
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "description",
    "media_url",
)


@dataclass
class ParsedRequest:
    service: ServiceDef
    lat: Decimal | None
    long: Decimal | None
    address_string: str
    address_id: str
    region: Region | None
    email: str
    device_id: str
    account_id: str
    first_name: str
    last_name: str
    phone: str
    description: str
    media_url: str
    attributes: dict[str, Any]
    kind: str
    urgency: str
    # Uploaded `media` files (the GeoReport v2 media extension), checked and re-encoded.
    media: tuple[Upload, ...] = ()


def _one(form: Any, name: str) -> str:
    value = form.get(name)
    return str(value).strip() if value is not None else ""


def _limited(form: Any, name: str, limit: int, errors: list[FieldError]) -> str:
    value = _one(form, name)
    if len(value) > limit:
        errors.append(
            FieldError(
                name,
                _("At most %(limit)d characters (got %(n)d).") % {"limit": limit, "n": len(value)},
            )
        )
    return value


def _attribute_inputs(form: Any) -> dict[str, list[str]]:
    """``attribute[code]=v`` and ``attribute[code][]=v1&attribute[code][]=v2`` → {code: [v…]}."""
    found: dict[str, list[str]] = {}
    for key in form:
        match = ATTRIBUTE_KEY.match(key)
        if match:
            values = form.getlist(key) if hasattr(form, "getlist") else [form[key]]
            found.setdefault(match.group(1), []).extend(str(v).strip() for v in values)
    return found


def _attribute_value(attr: AttributeDef, values: list[str], errors: list[FieldError]) -> Any:
    name = f"attribute[{attr.code}]"
    values = [v for v in values if v != ""]
    if not values:
        if attr.required:
            errors.append(FieldError(name, _("This attribute is required.")))
        return None
    if attr.datatype == ServiceAttribute.Datatype.MULTI:
        unknown = [v for v in values if v not in attr.keys()]  # noqa: SIM118
        if unknown:
            errors.append(FieldError(name, _("Unknown value %(value)r.") % {"value": unknown[0]}))
            return None
        return list(dict.fromkeys(values))
    if len(values) > 1:
        errors.append(FieldError(name, _("Only one value is allowed.")))
        return None
    value = values[0]
    if attr.datatype == ServiceAttribute.Datatype.SINGLE:
        if value not in attr.keys():  # noqa: SIM118
            errors.append(FieldError(name, _("Unknown value %(value)r.") % {"value": value}))
            return None
        return value
    if attr.datatype == ServiceAttribute.Datatype.NUMBER:
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            errors.append(FieldError(name, _("Not a number.")))
            return None
        return value
    if attr.datatype == ServiceAttribute.Datatype.DATETIME:
        try:
            check_year(dt.datetime.fromisoformat(value).year, name)
        except (ValueError, ValidationFailed):
            errors.append(FieldError(name, _("Use an ISO 8601 date-time.")))
            return None
        return value
    limit = TEXT_MAX if attr.datatype == ServiceAttribute.Datatype.TEXT else STRING_MAX
    if attr.datatype == ServiceAttribute.Datatype.STRING and ("\n" in value or "\r" in value):
        errors.append(FieldError(name, _("One line only.")))
        return None
    if len(value) > limit:
        errors.append(FieldError(name, _("At most %(limit)d characters.") % {"limit": limit}))
        return None
    return value


def parse(form: Any) -> ParsedRequest:
    """Check every parameter of a POST and collect all problems at once."""
    code = _one(form, "service_code")
    if not code:
        raise ValidationFailed.one("service_code", _("service_code was not provided."))
    service = service_get(code)  # NotFound → 404, as the specification asks
    errors: list[FieldError] = []
    lat, long, address_string, address_id, region = _location(form, errors)
    email = _limited(form, "email", 254, errors)
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            errors.append(FieldError("email", _("Not an email address.")))
    phone = _one(form, "phone")
    if phone:
        try:
            phone = clean_phone(phone, "phone")
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    media_url = _limited(form, "media_url", 500, errors)
    if media_url:
        try:
            URLValidator(schemes=["http", "https"])(media_url)
        except DjangoValidationError:
            errors.append(FieldError("media_url", _("An http:// or https:// URL.")))
    description = _limited(form, "description", conf.DESCRIPTION_MAX, errors)
    if not description:
        errors.append(FieldError("description", _("Describe the problem (description).")))
    attributes = _attributes(form, service, code, errors)
    parsed = ParsedRequest(
        service=service,
        lat=lat,
        long=long,
        address_string=address_string,
        address_id=address_id,
        region=region,
        email=email,
        device_id=_limited(form, "device_id", 100, errors),
        account_id=_limited(form, "account_id", 100, errors),
        first_name=_limited(form, "first_name", 50, errors),
        last_name=_limited(form, "last_name", 50, errors),
        phone=phone,
        description=description,
        media_url=media_url,
        attributes=attributes,
        kind=str(attributes.pop("kind", service.default_kind)),
        urgency=str(attributes.pop("urgency", Urgency.NORMAL)),
    )
    if errors:
        raise ValidationFailed(errors)
    return parsed


def _location(
    form: Any, errors: list[FieldError]
) -> tuple[Decimal | None, Decimal | None, str, str, Region | None]:
    """lat/long, address_string, address_id and its region: at least one of them is required."""
    lat_raw, long_raw = _one(form, "lat"), _one(form, "long")
    lat = long = None
    try:
        # The one cleaner of a map pin (both or neither, in range), by Open311's names.
        point = clean_point(lat_raw, long_raw, lat_field="lat", lng_field="long")
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    else:
        lat, long = point or (None, None)
    address_string = _limited(form, "address_string", appeals.ADDRESS_MAX, errors)
    address_id = _limited(form, "address_id", 32, errors)
    region = None
    if address_id:
        region = Region.objects.filter(code=address_id).first()
        if region is None:
            errors.append(
                FieldError("address_id", _("Unknown address_id %(id)r.") % {"id": address_id})
            )
    if not (lat_raw or long_raw or address_string or address_id):
        errors.append(
            FieldError("location", _("Send lat and long, or address_string, or address_id."))
        )
    return lat, long, address_string, address_id, region


def _attributes(
    form: Any, service: ServiceDef, code: str, errors: list[FieldError]
) -> dict[str, Any]:
    """The service's variable attributes as sent; a key it does not define is an error."""
    inputs = _attribute_inputs(form)
    for malformed in sorted(
        k for k in form if k.startswith("attribute[") and not ATTRIBUTE_KEY.match(k)
    ):
        # attribute[], attribute[a][b] …: say so rather than drop what the client meant to send.
        errors.append(
            FieldError(malformed, _("Not an attribute of service %(code)s.") % {"code": code})
        )
    by_code = {a.code: a for a in service.attributes}
    for unknown in sorted(set(inputs) - set(by_code)):
        errors.append(
            FieldError(
                f"attribute[{unknown}]", _("Not an attribute of service %(code)s.") % {"code": code}
            )
        )
    attributes: dict[str, Any] = {}
    for attr in service.attributes:
        if not attr.variable:
            continue
        value = _attribute_value(attr, inputs.get(attr.code, []), errors)
        if value is not None:
            attributes[attr.code] = value
    return attributes


def submitter_name(first: str, last: str) -> str:
    """Family name first and no space for Chinese names; "first last" otherwise."""
    if not first or not last:
        return first or last
    if any("\u4e00" <= c <= "\u9fff" for c in first + last):
        return f"{last}{first}"
    return f"{first} {last}"


def _content(parsed: ParsedRequest) -> str:
    """The appeal's text: the description, then each answered attribute and the coordinates."""
    lines = [parsed.description]
    extra = []
    with translation.override(settings.LANGUAGE_CODE):
        for attr in parsed.service.attributes:
            if attr.code not in parsed.attributes:
                continue
            value = parsed.attributes[attr.code]
            shown = (
                "、".join(attr.name_of(v) for v in value)
                if isinstance(value, list)
                else attr.name_of(value)
            )
            extra.append(f"{attr.description}：{shown}")
        if parsed.lat is not None and parsed.long is not None:
            extra.append(
                _("Coordinates (WGS84): %(lat)s, %(long)s")
                % {"lat": parsed.lat, "long": parsed.long}
            )
    if extra:
        lines.append("")
        lines.extend(extra)
    return "\n".join(lines)


def _title(description: str) -> str:
    first = description.strip().splitlines()[0] if description.strip() else ""
    return first if len(first) <= TITLE_MAX else first[: TITLE_MAX - 1] + "…"


def _register(
    parsed: ParsedRequest, api_key: ApiKey, appeal_id: int | None = None
) -> Open311Request:
    content = _content(parsed)
    if len(content) > settings.KUAIBAN_CONTENT_MAX:
        raise ValidationFailed.one(
            "description", _("Description and attributes are too long together.")
        )
    data = appeals.AppealInput(
        channel=api_key.channel,
        kind=parsed.kind,
        urgency=parsed.urgency,
        title=_title(parsed.description),
        content=content,
        submitter_name=submitter_name(parsed.first_name, parsed.last_name),
        submitter_phone=parsed.phone,
        region=parsed.region.code if parsed.region else None,
        address=parsed.address_string,
        category=parsed.service.code,
        # Already clean; the appeal's cleaner checks the pin again, as for every channel.
        lat=None if parsed.lat is None else str(parsed.lat),
        lng=None if parsed.long is None else str(parsed.long),
        files=parsed.media,
    )
    try:
        appeal = appeals.appeal_register_within(  # in request_create's transaction
            actor=None,
            appeal_id=appeal_id,
            data=data,
            extra_payload={"source": "open311", "api_key": api_key.name},
        )
    except ValidationFailed as exc:
        raise ValidationFailed(
            [FieldError(FIELD_NAMES.get(e.field, e.field), e.message) for e in exc.errors]
        ) from None
    request = Open311Request.objects.create(
        appeal=appeal,
        api_key=api_key,
        token=str(uuid.uuid4()),
        service_code=parsed.service.code,
        requested_at=appeal.received_at,
        lat=parsed.lat,
        long=parsed.long,
        address_string=parsed.address_string,
        address_id=parsed.address_id,
        media_url=parsed.media_url,
        description=parsed.description,
        attributes=parsed.attributes,
        email=parsed.email,
        device_id=parsed.device_id,
        account_id=parsed.account_id,
        first_name=parsed.first_name,
        last_name=parsed.last_name,
    )
    integrations.intake_record(appeal=appeal, api_key=api_key, source="open311")
    return request


def request_fingerprint(form: Any) -> str:
    """What makes two POSTs "the same body" (the api_key is the scope, not part of it)."""
    significant: dict[str, Any] = {name: _one(form, name) for name in SIGNIFICANT}
    significant["attributes"] = {k: sorted(v) for k, v in _attribute_inputs(form).items()}
    return integrations.fingerprint(significant)


@dataclass(frozen=True)
class Outcome:
    record: Open311Request
    created: bool  # False: the answer to an earlier request with the same Idempotency-Key
    notice: str


def request_create(
    *,
    api_key: ApiKey,
    form: Any,
    idempotency_key: str | None = None,
    media: Sequence[IO[bytes]] = (),
) -> Outcome:
    """Register a POSTed service request, with its uploaded ``media`` files (photos or PDFs,
    checked and re-encoded before the transaction opens; a bad one is a 400 naming media).

    With an ``Idempotency-Key`` the same key and body answer with the first request again;
    the same key with another body is a Conflict (409).
    """
    if idempotency_key is not None:
        integrations.clean_idempotency_key(idempotency_key)
    parsed = parse(form)
    if media:
        limit = int(settings.KUAIBAN_PHOTOS_PER_APPEAL)
        parsed = replace(parsed, media=uploads.prepare_all(media, field="media", limit=limit))
    if idempotency_key is None:
        with transaction.atomic():
            return Outcome(_register(parsed, api_key), True, parsed.service.notice)
    made: list[Open311Request] = []

    def register(appeal_id: int | None) -> Appeal:
        made.append(_register(parsed, api_key, appeal_id))
        return made[0].appeal

    appeal, created = integrations.idempotent_register(
        scope=api_key.scope,
        key=idempotency_key,
        fingerprint_=request_fingerprint(form),
        register=register,
    )
    if created:
        return Outcome(made[0], True, parsed.service.notice)
    record = Open311Request.objects.select_related("appeal").get(appeal=appeal)
    return Outcome(record, False, parsed.service.notice)
