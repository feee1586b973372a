"""Open311 GeoReport v2 endpoints: parse, check jurisdiction, key and rate, call one service or
selector, answer in the requested format (errors in the specification's error format)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from kuaiban.core.errors import DomainError, NotFound, ValidationFailed
from kuaiban.core.throttle import client_address
from kuaiban.integrations import services as integrations
from kuaiban.integrations.models import ApiKey
from kuaiban.integrations.services import RateLimited
from kuaiban.open311 import conf, selectors, services
from kuaiban.open311.render import errors, respond

View = Callable[..., HttpResponse]


class Params:
    """Query-string and form parameters together (a POST may put either anywhere)."""

    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    def get(self, name: str) -> str | None:
        value = self.request.POST.get(name) if self.request.method == "POST" else None
        if value in (None, ""):
            value = self.request.GET.get(name)
        return value


def _admit(request: HttpRequest, *, key_required: bool) -> ApiKey | None:
    """Check jurisdiction_id, the api_key (required for POST, checked if sent) and the rate."""
    params = Params(request)
    jurisdiction = (params.get("jurisdiction_id") or "").strip()
    if jurisdiction and jurisdiction != conf.JURISDICTION_ID:
        raise NotFound(_("jurisdiction_id %(id)s was not found.") % {"id": jurisdiction})
    raw_key = (params.get("api_key") or "").strip()
    api_key = integrations.apikey_authenticate(raw_key) if (raw_key or key_required) else None
    if api_key is not None:
        integrations.rate_limit_hit(bucket=api_key.scope, limit=api_key.rate_per_minute)
    else:
        integrations.rate_limit_hit(
            bucket=f"ip:{client_address(request)}"[:80], limit=conf.ANONYMOUS_RATE
        )
    return api_key


def _has_nul(request: HttpRequest, kwargs: dict[str, Any]) -> bool:
    values = [*map(str, kwargs.values()), *request.GET.keys(), *map(str, request.GET.values())]
    if request.method == "POST":
        values += [*request.POST.keys(), *(v for _k, vs in request.POST.lists() for v in vs)]
    return "\x00" in "".join(values)


def endpoint(*methods: str) -> Callable[[View], View]:
    """Method check and the one translation of domain errors into Open311 errors."""

    def decorate(fn: View) -> View:
        @csrf_exempt
        @wraps(fn)
        def view(request: HttpRequest, fmt: str, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                response = errors(
                    fmt, 405, [_("Method %(m)s is not allowed here.") % {"m": request.method}]
                )
                response["Allow"] = ", ".join(methods)
                return response
            if _has_nul(request, kwargs):
                # PostgreSQL can neither store nor compare NUL: refuse it before any query.
                return errors(fmt, 400, [_("Text may not contain NUL characters.")])
            try:
                return fn(request, fmt, **kwargs)
            except RateLimited as exc:
                response = errors(fmt, 429, [str(exc.message)])
                response["Retry-After"] = str(exc.retry_after)
                return response
            except ValidationFailed as exc:
                described = [f"{e.field}: {e.message}" for e in exc.errors] or [str(exc.message)]
                return errors(fmt, 400, described)
            except DomainError as exc:
                return errors(fmt, exc.status, [str(exc.message)])

        return view

    return decorate


@endpoint("GET", "HEAD")
def discovery(request: HttpRequest, fmt: str) -> HttpResponse:
    _admit(request, key_required=False)
    changeset = selectors.changeset()
    endpoint_url = request.build_absolute_uri("/open311/v2")
    data = {
        "changeset": changeset,
        "contact": conf.CONTACT
        or _("Kuaiban public appeals platform: ask the county's 12345 service centre."),
        "key_service": conf.KEY_SERVICE
        or _("API keys are issued by the platform administrator (kuaiban apikey create)."),
        "endpoints": [
            {
                "specification": conf.SPECIFICATION,
                "url": endpoint_url,
                "changeset": changeset,
                "type": conf.ENDPOINT_TYPE,
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
    return respond(fmt, "discovery", data)


@endpoint("GET", "HEAD")
def service_list(request: HttpRequest, fmt: str) -> HttpResponse:
    _admit(request, key_required=False)
    return respond(fmt, "services", [s.as_open311() for s in selectors.service_list()])


@endpoint("GET", "HEAD")
def service_definition(request: HttpRequest, fmt: str, code: str) -> HttpResponse:
    _admit(request, key_required=False)
    return respond(fmt, "service_definition", selectors.service_get(code).definition())


@endpoint("GET", "HEAD", "POST")
def requests(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.method == "POST":
        return _create(request, fmt)
    api_key = _admit(request, key_required=False)
    rows = selectors.requests_search(params=Params(request), api_key=api_key)
    return respond(fmt, "service_requests", rows)


def _create(request: HttpRequest, fmt: str) -> HttpResponse:
    api_key = _admit(request, key_required=True)
    assert api_key is not None
    form = request.POST.copy()
    for name, values in request.GET.lists():
        if name not in form:
            form.setlist(name, values)
    outcome = services.request_create(
        api_key=api_key,
        form=form,
        idempotency_key=request.headers.get("Idempotency-Key"),
        media=request.FILES.getlist("media"),
    )
    record, created = outcome.record, outcome.created
    answer: dict[str, Any] = (
        {"token": record.token}
        if api_key.mode == ApiKey.Mode.BATCH
        else {"service_request_id": record.appeal.number}
    )
    answer["service_notice"] = outcome.notice
    answer["account_id"] = record.account_id or None
    response = respond(fmt, "service_requests", [answer], status=201 if created else 200)
    if not created:
        response["Idempotent-Replayed"] = "true"
    return response


@endpoint("GET", "HEAD")
def request_detail(request: HttpRequest, fmt: str, number: str) -> HttpResponse:
    api_key = _admit(request, key_required=False)
    row = selectors.request_get(number=number, api_key=api_key)
    return respond(fmt, "service_requests", [row])


@endpoint("GET", "HEAD")
def token(request: HttpRequest, fmt: str, token: str) -> HttpResponse:
    _admit(request, key_required=False)
    return respond(fmt, "service_requests", [selectors.token_get(token=token)])


@endpoint("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
def unknown(request: HttpRequest, fmt: str, path: str = "") -> HttpResponse:
    return errors(fmt, 404, [_("No such Open311 resource: %(path)s") % {"path": request.path}])
