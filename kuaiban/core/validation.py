"""Validators for what users type: phone numbers, credit codes, ID numbers, dates, free text."""

from __future__ import annotations

import datetime
import functools
import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

import phonenumbers
from django.utils.translation import gettext as _
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError as StdnumError

from kuaiban.core.errors import FieldError, ValidationFailed


def clean_phone(value: str, field: str = "phone") -> str:
    """A mainland China phone number (mobile or fixed line) in national digits, or an error."""
    national, problem = _phone(value.strip())
    if problem == "unparsable":
        raise ValidationFailed.one(field, _("Not a phone number."))
    if problem == "invalid":
        raise ValidationFailed.one(field, _("Not a valid mainland China phone number."))
    return national


@functools.lru_cache(maxsize=1024)
def _phone(raw: str) -> tuple[str, str]:
    """(national digits, "") or ("", "unparsable" | "invalid"). Remembered: an integration's
    number is checked at its own layer and again when the appeal is registered."""
    try:
        parsed = phonenumbers.parse(raw, "CN")
    except phonenumbers.NumberParseException:
        return "", "unparsable"
    if parsed.country_code != 86 or not phonenumbers.is_valid_number(parsed):
        return "", "invalid"
    return phonenumbers.national_significant_number(parsed), ""


def clean_credit_code(value: str, field: str = "credit_code") -> str:
    """A unified social credit code (统一社会信用代码), checked with its check character."""
    try:
        return str(uscc.validate(value.strip().upper()))
    except StdnumError:
        raise ValidationFailed.one(
            field, _("Not a valid unified social credit code (18 characters with check digit).")
        ) from None


def clean_id_number(value: str, field: str = "id_number") -> str:
    """A resident identity card number (居民身份证号码)."""
    try:
        return str(ric.validate(value.strip().upper()))
    except StdnumError:
        raise ValidationFailed.one(field, _("Not a valid resident ID number.")) from None


def mask_phone(phone: str) -> str:
    if not phone:
        return ""
    if len(phone) <= 4:
        return "*" * len(phone)
    keep_head = 3 if len(phone) >= 11 else 0
    return phone[:keep_head] + "*" * (len(phone) - keep_head - 4) + phone[-4:]


def mask_id(number: str) -> str:
    if not number:
        return ""
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


# Dates typed by users must fall in these years: beyond them, the arithmetic done with a date
# (the period before it, the day after it, a time zone) leaves what ``datetime`` can hold.
FIRST_YEAR, LAST_YEAR = 1900, 2999


def check_year(year: int, field: str) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationFailed.one(
            field,
            _("A date between the years %(first)d and %(last)d.")
            % {"first": FIRST_YEAR, "last": LAST_YEAR},
        )


def check_date(value: datetime.date, field: str) -> datetime.date:
    """A date (or aware/naive datetime) typed by someone, refused outside the supported years."""
    check_year(value.year, field)
    return value


# Text the database cannot store (NUL: PostgreSQL) or encode (lone UTF-16 surrogates), refused.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# C0 control characters other than tab, newline and carriage return, DEL and the C1 block: no
# person types them, Excel refuses them in a cell (openpyxl raises), so they are dropped.
_CONTROL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(value: str, field: str) -> str:
    """``value`` safe to store, search and export: refused (400 naming ``field``) if it holds a
    NUL or a lone surrogate, with other control characters removed."""
    if _UNSTORABLE.search(value):
        raise ValidationFailed.one(field, _("Text may not contain NUL or invalid characters."))
    return _CONTROL.sub("", value)


def clean_data(value: Any, field: str = "body") -> Any:
    """A decoded JSON document (or form data) with every string, key and value, passed through
    :func:`clean_text`; ``field`` names the place (``submitter.name``, ``co_units.0``)."""
    if isinstance(value, str):
        return clean_text(value, field)
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            name = clean_text(key, field) if isinstance(key, str) else key
            path = name if field == "body" else f"{field}.{name}"
            out[name] = clean_data(item, path)
        return out
    if isinstance(value, list):
        prefix = "" if field == "body" else f"{field}."
        return [clean_data(item, f"{prefix}{i}") for i, item in enumerate(value)]
    return value


def parse_day(value: str | None, field: str) -> datetime.date | None:
    """``YYYY-MM-DD`` typed in a query string or form, or None when blank; else a 400."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed.one(field, _("Use a date like 2026-11-23.")) from None
    check_date(day, field)
    return day


def parse_month(value: str | None, field: str = "month") -> datetime.date | None:
    """``YYYY-MM`` (the first of that month) typed in a query string, None when blank."""
    text = (value or "").strip()
    if not text:
        return None
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", text)
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise ValidationFailed.one(field, _("Use a month like 2026-05."))
    check_year(int(match.group(1)), field)
    return datetime.date(int(match.group(1)), int(match.group(2)), 1)


# What a database integer column (bigint) can compare against: ids typed in a URL or a cursor.
ID_MAX = 2**63 - 1


def check_id(value: int, field: str) -> int:
    if not 0 <= value <= ID_MAX:
        raise ValidationFailed.one(field, _("Not a valid identifier."))
    return value


def clean_point(
    lat: Any, lng: Any, *, lat_field: str = "lat", lng_field: str = "lng"
) -> tuple[Decimal, Decimal] | None:
    """A WGS-84 point as stored (six decimals, about 0.1 m), or None when neither is given.

    Both or neither: half a point is an error on the missing half. Latitude is within ±90 and
    longitude within ±180; anything not a finite number is refused by name.
    """
    if lat in (None, "") and lng in (None, ""):
        return None
    errors: list[FieldError] = []
    values: list[Decimal] = []
    for value, field, bound in ((lat, lat_field, 90), (lng, lng_field, 180)):
        if value in (None, ""):
            errors.append(FieldError(field, _("Give both latitude and longitude, or neither.")))
            continue
        try:
            number = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            errors.append(FieldError(field, _("Must be a number.")))
            continue
        if not number.is_finite() or not -bound <= number <= bound:
            errors.append(
                FieldError(field, _("Must be between -%(bound)d and %(bound)d.") % {"bound": bound})
            )
            continue
        values.append(number.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN))
    if errors:
        raise ValidationFailed(errors)
    return values[0], values[1]
