"""The REST API's instance, authentication and its one error shape."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import DataError
from django.http import HttpRequest, HttpResponse
from django.utils.datastructures import MultiValueDict
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.openapi.schema import REF_TEMPLATE, OpenAPISchema
from ninja.parser import Parser
from ninja.security import HttpBearer

from kuaiban.api.renderers import JSONRenderer
from kuaiban.api.schemas import ErrorItem, ErrorOut
from kuaiban.core.errors import DomainError, ValidationFailed
from kuaiban.core.validation import clean_data
from kuaiban.integrations.services import RateLimited, rate_limit_hit
from kuaiban.org.models import ApiToken, User
from kuaiban.org.services import TokenRejected, token_authenticate


class CleanParser(Parser):
    """JSON bodies, forms and query strings passed through the one text cleaner
    (``kuaiban.core.validation.clean_data``): a NUL (PostgreSQL can neither store nor compare
    it) or a lone surrogate (no encoding can) is refused with 400 naming the field; other
    control characters (which a spreadsheet cell refuses) are removed from every string."""

    def parse_body(self, request: HttpRequest) -> Any:
        # A ValidationFailed here reaches on_http_error as the cause of ninja's HttpError.
        return clean_data(super().parse_body(request))

    def parse_querydict(
        self, data: MultiValueDict[str, Any], list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        for key in data:
            if key not in list_fields and len(data.getlist(key)) > 1:
                # ninja would keep the last one silently: a parameter is sent once or not at all
                raise ValidationFailed.one(key, _("Only one value is allowed."))
        cleaned: dict[str, Any] = clean_data(super().parse_querydict(data, list_fields, request))
        return cleaned


class BearerToken(HttpBearer):
    """A personal token (``kuaiban token``). Unknown: 401; expired or revoked: 401 saying so
    (TokenRejected); over KUAIBAN_API_RATE_PER_MINUTE this minute: 429 with Retry-After."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = token_authenticate(token, on_use=_count_request)
        if user is not None:
            request.user = user
        return user


def _count_request(token: ApiToken) -> None:
    """One rate mechanism for tokens and API keys (RateLimited past the token's rate)."""
    rate_limit_hit(bucket=f"token:{token.pk}", limit=settings.KUAIBAN_API_RATE_PER_MINUTE)


def on_token_refused(request: HttpRequest, exc: Any) -> HttpResponse:
    """The answer to a token refused by BearerToken, with the header its status calls for."""
    assert isinstance(exc, DomainError)
    response = api.create_response(request, exc.as_dict(), status=exc.status)
    if isinstance(exc, RateLimited):
        response["Retry-After"] = str(exc.retry_after)
    else:
        response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


class KuaibanAPI(NinjaAPI):
    """NinjaAPI whose OpenAPI document is built once per path prefix and language.

    Building it walks every operation's pydantic models (about a second of CPU for this API);
    the routes are fixed once the URLconf is loaded, so every later request reuses the result.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._schemas: dict[tuple[str, str | None], OpenAPISchema] = {}

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        key = (path_prefix, get_language())
        schema = self._schemas.get(key)
        if schema is None:
            schema = super().get_openapi_schema(path_prefix=path_prefix)
            _document_401(schema)
            self._schemas[key] = schema
        return schema


def _document_401(schema: OpenAPISchema) -> None:
    """Every operation that needs a bearer token may answer 401 (see on_auth_error): say so in
    the document, in the one error shape, where the operation does not list it already."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault("ErrorOut", ErrorOut.model_json_schema(ref_template=REF_TEMPLATE))
    components.setdefault("ErrorItem", ErrorItem.model_json_schema(ref_template=REF_TEMPLATE))
    answer = {
        "description": "Unauthorized: no valid `Authorization: Bearer <token>`",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
    }
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and operation.get("security"):
                operation.setdefault("responses", {}).setdefault(401, answer)


api = KuaibanAPI(
    title="Kuaiban API",
    version="1",
    description=(
        "The appeal ledger over HTTP. Authenticate with `Authorization: Bearer <token>` "
        "(`kuaiban token USERNAME` prints one). Errors are `{detail, errors: [{field, message}]}`."
    ),
    auth=BearerToken(),
    urls_namespace="api-v1",
    docs_url="/docs",
    openapi_url="/openapi.json",
    renderer=JSONRenderer(),
    parser=CleanParser(),
)
api.add_exception_handler(RateLimited, on_token_refused)
api.add_exception_handler(TokenRejected, on_token_refused)


def error_body(
    detail: str, errors: list[dict[str, str]] | None = None, **extra: Any
) -> dict[str, Any]:
    return {"detail": detail, "errors": errors or [], **extra}


def _loc_to_field(loc: Any) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "payload", "data")]
    # pydantic puts the model name first for a single body parameter: drop lowercase schema args.
    return ".".join(parts) or "body"


def _message(err: dict[str, Any]) -> str:
    """pydantic's English message for one error, said in the user's language where we know it."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        return _("Unknown field: this operation does not take it.")
    if kind == "date_out_of_range":
        return str(err.get("msg", ""))
    if kind == "missing":
        return _("This field is required.")
    if kind in ("literal_error", "enum"):
        return _("Must be one of: %(choices)s.") % {"choices": ctx.get("expected", "")}
    if kind == "string_type":
        return _("Must be text.")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return _("Must be a whole number.")
    if kind in ("float_type", "float_parsing"):
        return _("Must be a number.")
    if kind in ("bool_type", "bool_parsing"):
        return _("Must be true or false.")
    if kind.startswith("datetime"):
        return _("Must be a date and time in ISO 8601, e.g. 2026-11-23T09:30:00+08:00.")
    if kind.startswith("date"):
        return _("Must be a date, YYYY-MM-DD.")
    if kind in ("list_type", "dict_type", "model_type", "model_attributes_type"):
        return _("Has the wrong shape (see the API documentation).")
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = {
            "greater_than_equal": ("ge", _("Must be at least %(n)s.")),
            "greater_than": ("gt", _("Must be more than %(n)s.")),
            "less_than_equal": ("le", _("Must be at most %(n)s.")),
            "less_than": ("lt", _("Must be less than %(n)s.")),
        }[kind]
        return bound[1] % {"n": ctx.get(bound[0], "")}
    if kind in ("string_too_long", "too_long"):
        return _("Too long: at most %(n)s.") % {"n": ctx.get("max_length", "")}
    if kind in ("string_too_short", "too_short"):
        return _("Too short: at least %(n)s.") % {"n": ctx.get("min_length", "")}
    if kind == "json_invalid":
        return _("The body is not valid JSON.")
    return str(err.get("msg", "invalid"))


@api.exception_handler(NinjaValidationError)
def on_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [
        {"field": _loc_to_field(err.get("loc", ())), "message": _message(err)} for err in exc.errors
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "Invalid input."
    return api.create_response(request, error_body(detail, errors), status=400)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    response = api.create_response(request, exc.as_dict(), status=exc.status)
    retry_after = getattr(exc, "retry_after", None)  # a throttle's 429 says when to come back
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(
        request,
        error_body(_("Authentication required: send Authorization: Bearer <token>.")),
        status=401,
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(DataError)
def on_data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
    # A value the database refuses (a NUL in a path, a number out of range): the client's input.
    return api.create_response(
        request, error_body(_("The database refused a value in this request.")), status=400
    )


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, DomainError):  # refused while parsing the body (CleanParser)
        return on_domain_error(request, exc.__cause__)
    return api.create_response(request, error_body(str(exc)), status=exc.status_code)
