"""A fuzz pass over every web page and form, as every role: the URLconf is walked, each page is
fetched with every query parameter the pages read set to hostile values (NUL, control
characters, invalid UTF-8, dates out of range, formula prefixes, huge text), and every form a
page shows is posted back with the same values. No answer may be a 5xx; a refused request
(NUL) writes nothing."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from kuaiban.org.models import User

pytestmark = pytest.mark.django_db

ROLES = ["admin", "operator", "supervisor", "leader", "visitor", "handler-zjj"]
# Every query parameter a page reads (grep request.GET in kuaiban/*/views.py).
PARAMS = [
    "q", "number", "phone_last4", "code", "from", "to", "month", "date_from", "date_to", "status",
    "unit", "channel", "kind", "region", "alert", "category", "cursor", "year", "period",
    "metric", "batch", "format", "industry", "size", "township", "assigned", "unread", "sort",
]  # fmt: skip
# Percent-encoded, so invalid UTF-8 can be sent as it would arrive from a browser or a script.
FUZZ = [
    "%00",
    "KB%00",
    "%01%02%1B%7F",
    "%ED%A0%80",  # a UTF-8-encoded lone surrogate: not valid UTF-8
    "0001-01-01",
    "9999-12-31",
    "99999-01-01",
    "9999-12",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "%3D1%2B1",  # =1+1
    "%2BSUM(A1)",
    "-99999999999999999999",
    "x" * 5000,
]
NUL = {"%00", "KB%00"}
SKIP = ("/logout/", "/i18n/", "/admin/", "/api/", "/open311/", "/static/")


def _routes(patterns: list[Any], prefix: str = "") -> list[str]:
    out: list[str] = []
    for p in patterns:
        if not isinstance(p.pattern, RoutePattern):
            continue
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            out += _routes(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            out.append(route)
    return out


def _concrete(route: str, number: str) -> str:
    route = re.sub(r"<int:[^>]+>", "1", route)
    route = re.sub(r"<str:number>", number, route)
    route = re.sub(r"<(str|slug|path):action>", "claim", route)
    route = re.sub(r"<[^>]+>", "x", route)
    return "/" + route


def _rows() -> dict[str, int]:
    return {
        m._meta.label: m._default_manager.count()
        for m in apps.get_models()
        if m.__module__.startswith("kuaiban.") and not m._meta.label.startswith("integrations.")
    }


FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S | re.I)
NAME = re.compile(r"<(?:input|textarea|select)\b[^>]*\bname=\"([^\"]+)\"", re.I)


def _forms(html: str, url: str) -> list[tuple[str, list[str]]]:
    found = []
    for attrs, body in FORM.findall(html):
        if 'method="post"' not in attrs.lower():
            continue
        action = re.search(r'action="([^"]*)"', attrs)
        target = (action.group(1) if action else "") or url
        if target.startswith(SKIP) or not target.startswith("/"):
            continue
        names = [n for n in NAME.findall(body) if n != "csrfmiddlewaretoken"]
        found.append((target.replace("&amp;", "&"), sorted(set(names))))
    return found


def test_no_page_or_form_answers_5xx_and_refusals_write_nothing(
    county: Any, make_appeal: Any
) -> None:
    number = make_appeal().number
    urls = sorted(
        {u for u in (_concrete(r, number) for r in _routes(get_resolver().url_patterns))} - {"/"}
    )
    urls = [u for u in urls if not u.startswith(SKIP)] + ["/"]
    assert len(urls) > 40
    clients = {}
    for role in ROLES:
        clients[role] = Client(raise_request_exception=False)
        clients[role].force_login(User.objects.get(username=role))
    clients["anonymous"] = Client(raise_request_exception=False)
    failures: list[str] = []
    posted: set[tuple[str, str]] = set()
    for i, url in enumerate(urls):
        for j, value in enumerate(FUZZ):
            role = [*clients][(i + j) % len(clients)]
            client = clients[role]
            query = "&".join(f"{p}={value}" for p in PARAMS)
            r = client.get(f"{url}?{query}")
            if r.status_code >= 500:
                failures.append(f"GET {url} {value[:20]} as {role}: {r.status_code}")
            page = client.get(url)
            if page.status_code != 200 or "html" not in page.get("Content-Type", ""):
                continue
            for target, names in _forms(page.content.decode(), url):
                if not names or (target, value) in posted:
                    continue
                posted.add((target, value))
                body = "&".join(f"{quote(n)}={value}" for n in names)
                before = _rows() if value in NUL else None
                r = client.post(target, body, content_type="application/x-www-form-urlencoded")
                if r.status_code >= 500:
                    failures.append(f"POST {target} {value[:20]} as {role}: {r.status_code}")
                if before is not None:
                    if r.status_code != 400:
                        failures.append(f"POST {target} with NUL as {role}: {r.status_code}")
                    if _rows() != before:
                        failures.append(f"POST {target} with NUL as {role} wrote rows")
    assert len(posted) > 20
    assert failures == []
