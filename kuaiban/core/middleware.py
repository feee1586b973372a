"""The input guard: every request's path, query string and form passes the one text cleaner.

``kuaiban.core.validation.clean_text`` refuses NUL (PostgreSQL can neither store nor compare
it) and lone surrogates, and strips other control characters (a spreadsheet cell refuses
them). Here it runs on the URL path, on every key and value of ``request.GET`` and, for form
posts, ``request.POST``, before any view: a refused value answers 400 naming the field (a page
in the site's layout; the API's JSON error shape under /api/; Open311's error list under
/open311/), and stripped values replace the originals, so views and forms see clean text.
JSON bodies are the API parser's business (``kuaiban.api.base.CleanParser``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import render
from django.utils.translation import gettext as _

from kuaiban.core.errors import ValidationFailed
from kuaiban.core.validation import clean_text

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

#: How a surface answers a refused input, by path prefix. ``core`` knows no domain app: a
#: surface with its own error shape (Open311's error list) registers it from its AppConfig.
Refusal = Callable[[HttpRequest, str, str], HttpResponse]
_REFUSALS: dict[str, Refusal] = {}


def register_refusal(prefix: str, answer: Refusal) -> None:
    """Answer refused input under ``prefix`` with ``answer(request, field, message)``."""
    _REFUSALS[prefix] = answer


def _cleaned(data: QueryDict) -> QueryDict:
    out = QueryDict(mutable=True, encoding=data.encoding)
    for key, values in data.lists():
        name = clean_text(key, key.replace("\x00", "\\x00"))
        out.setlist(name, [clean_text(value, name) for value in values])
    out._mutable = False
    return out


class InputGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            clean_text(request.path, "path")
            request.GET = _cleaned(request.GET)  # type: ignore[assignment]
            if request.method == "POST" and request.content_type in FORM_TYPES:
                request.POST = _cleaned(request.POST)  # type: ignore[assignment]
        except ValidationFailed as exc:
            return refused(request, exc)
        return self.get_response(request)


def refused(request: HttpRequest, exc: ValidationFailed) -> HttpResponse:
    """400 naming the field, in the shape the surface the request came to speaks."""
    field = exc.errors[0].field if exc.errors else ""
    message = str(exc.message)
    if request.path.startswith("/api/"):
        body = exc.as_dict()
        body["detail"] = f"{field}: {message}"
        return JsonResponse(body, status=400)
    for prefix, answer in _REFUSALS.items():
        if request.path.startswith(prefix):
            return answer(request, field, message)
    return render(
        request,
        "core/bad_input.html",
        {"field": field, "message": message, "title": _("This request cannot be accepted")},
        status=400,
    )
