"""Base classes for what the REST API accepts: every date in range, no unknown fields.

Every ninja Schema that a request fills derives from :class:`InputSchema` (a JSON body: a field
the schema does not declare is refused with 400 naming it) or :class:`QuerySchema` (query-string
parameters). Both pass every date and datetime through ``kuaiban.core.validation.check_date``,
the one range check the web forms and query strings use too.
"""

from __future__ import annotations

import datetime as dt
import re
import typing
from typing import Annotated, Any

from ninja import Schema
from pydantic import ConfigDict, ValidationInfo, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from kuaiban.appeals.services import AppealInput
from kuaiban.core.errors import ValidationFailed
from kuaiban.core.validation import check_date


def _in_range(value: Any, field: str) -> Any:
    if isinstance(value, dt.date):
        try:
            check_date(value, field)
        except ValidationFailed as exc:
            raise PydanticCustomError("date_out_of_range", str(exc.message)) from None
    elif isinstance(value, list | tuple):
        for item in value:
            _in_range(item, field)
    return value


def _date_kind(annotation: Any) -> str:
    """ "datetime" or "date" if a field of this type holds one, else ""."""
    if annotation is dt.datetime:
        return "datetime"
    if annotation is dt.date:
        return "date"
    kinds = {_date_kind(arg) for arg in typing.get_args(annotation)} - {""}
    return "datetime" if "datetime" in kinds else kinds.pop() if kinds else ""


_NUMBER = re.compile(r"\s*[+-]?\d+(\.\d*)?\s*")
# (schema, field) → _date_kind of its annotation: the validator below runs for every field of
# every request, and walking a field's type each time was 4 % of an appeal's intake CPU.
_KINDS: dict[tuple[type, str], str] = {}


def _field_kind(schema: type[Schema], name: str) -> str:
    try:
        return _KINDS[schema, name]
    except KeyError:
        field = schema.model_fields.get(name)
        kind = _KINDS[schema, name] = _date_kind(field.annotation) if field is not None else ""
        return kind


class QuerySchema(Schema):
    """Query-string parameters: dates checked; other parameters are not this schema's business."""

    @field_validator("*", mode="before")
    @classmethod
    def _dates_are_written(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic reads a bare number as seconds since 1970: a date is written, YYYY-MM-DD.
        kind = _field_kind(cls, info.field_name or "")
        number = isinstance(value, int | float) or (
            isinstance(value, str) and _NUMBER.fullmatch(value) is not None
        )
        if kind and number:
            raise PydanticCustomError(f"{kind}_from_number", "A date is written, not a number.")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _dates_in_range(cls, value: Any, info: ValidationInfo) -> Any:
        return _in_range(value, info.field_name or "")


class InputSchema(QuerySchema):
    """A JSON body (or a part of one): dates checked, unknown fields refused."""

    model_config = ConfigDict(extra="forbid")


class ErrorItem(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    """The one error shape: ``{"detail", "errors": [{"field", "message"}]}``."""

    detail: str
    errors: list[ErrorItem] = []


# The error answers every endpoint may give (each names the field or the reason).
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


class RefOut(Schema):
    """A coded thing by code and name (a unit, a category, a region)."""

    code: str
    name: str


# A wall-clock time of day in Asia/Shanghai, sent and answered without an offset ("09:30",
# "09:30:00"). OpenAPI's ``format: time`` is RFC 3339's full-time, which requires an offset: what
# the API sends would not match what it declares, so the document says what is really sent.
LocalTime = Annotated[
    dt.time,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
            "description": "Local time of day in Asia/Shanghai, HH:MM or HH:MM:SS, no offset",
            "example": "09:30",
        }
    ),
]


# ----- an appeal's body, to the registration's input ----------------------------------------------

_APPEAL_FIELDS = (
    "channel", "kind", "urgency", "title", "content", "region", "address", "lat", "lng",
    "occurred_at", "group_size", "category",
)  # fmt: skip
# The submitter's fields → the registration's names for them.
_SUBMITTER_FIELDS = {
    "type": "submitter_type",
    "name": "submitter_name",
    "phone": "submitter_phone",
    "id_number": "submitter_id_number",
    "enterprise_name": "enterprise_name",
    "credit_code": "credit_code",
}


def appeal_input(payload: Any, **fixed: Any) -> AppealInput:
    """The registration's input from a request body shaped like an appeal (``POST /appeals``,
    an upper-level platform's push): its fields and its ``submitter``'s, those it lacks left to
    the registration's defaults; ``fixed`` sets what the entry point decides (the channel)."""
    values: dict[str, Any] = {name: getattr(payload, name, None) for name in _APPEAL_FIELDS}
    submitter = getattr(payload, "submitter", None)
    values |= {to: getattr(submitter, name, None) for name, to in _SUBMITTER_FIELDS.items()}
    return AppealInput(**(values | fixed))
