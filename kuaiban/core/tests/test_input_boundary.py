"""The input side of the trust boundary, through HTTP: dates out of range, text the database or
a spreadsheet cannot hold and unknown fields are refused with a 400 naming the field, before
anything is written; the OpenAPI document says what the API really takes."""

from __future__ import annotations

import json
import typing
from collections import Counter
from typing import Any

import pytest
from django import forms
from django.test import Client
from pydantic import BaseModel

from kuaiban.api.routes import api as ninja_api
from kuaiban.appeals.models import Appeal, AppealEvent
from kuaiban.core.forms import CleanForm
from kuaiban.org.models import User
from kuaiban.projects.models import Project

pytestmark = pytest.mark.django_db

APPEAL = {"channel": "hotline", "kind": "complaint", "title": "小区暖气不热", "content": "暖气不热"}


def counts() -> tuple[int, int, int]:
    return Appeal.objects.count(), AppealEvent.objects.count(), Project.objects.count()


def web(username: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans", raise_request_exception=False)
    client.force_login(User.objects.get(username=username))
    return client


def fields(body: Any) -> list[str]:
    return [e["field"] for e in body["errors"]]


def post_raw(api: Any, path: str, raw: str) -> tuple[int, Any]:
    client = api("operator")
    r = client.client.post(
        f"/api/v1{path}", data=raw, content_type="application/json", headers=client.headers
    )
    return r.status_code, json.loads(r.content)


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00", "9999-12-31T23:59:59", "1899-12-31T08:00"])
def test_api_refuses_an_appeal_out_of_range_before_writing_it(api: Any, when: str) -> None:
    before = counts()
    r = api("operator").post("/appeals", {**APPEAL, "occurred_at": when})
    assert r.status == 400, r.body
    assert fields(r.body) == ["occurred_at"]
    assert counts() == before
    # the ledger keeps working for everyone
    assert api("supervisor").get("/appeals").status == 200
    assert web("supervisor").get("/appeals/").status_code == 200


def test_register_form_refuses_year_one_before_writing(county: Any) -> None:
    before = counts()
    data = {**APPEAL, "urgency": "normal", "submitter_type": "citizen"}
    r = web("operator").post("/appeals/new/", {**data, "occurred_at": "0001-01-01T00:00"})
    assert r.status_code in (200, 400)
    assert counts() == before
    assert "1900" in r.content.decode()  # the range, beside the field
    assert web("operator").get("/metrics/ledger.xlsx").status_code == 200


@pytest.mark.parametrize(
    ("query", "field"), [({"to": "9999-12-31"}, "to"), ({"from": "0001-01-01"}, "from")]
)
def test_api_ledger_refuses_dates_out_of_range(api: Any, query: dict[str, str], field: str) -> None:
    r = api("supervisor").get("/appeals", **query)
    assert r.status == 400, r.body
    assert field in fields(r.body)


def test_api_ledger_refuses_a_number_for_a_date(api: Any) -> None:
    r = api("supervisor").get("/appeals", to="0")
    assert r.status == 400 and fields(r.body) == ["to"]


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "99999-01", "2026-13"])
def test_rankings_page_refuses_a_month_out_of_range(county: Any, month: str) -> None:
    r = web("leader").get("/metrics/rankings/", {"month": month})
    assert r.status_code < 500


def test_api_refuses_a_lone_surrogate_naming_the_field(api: Any) -> None:
    before = counts()
    raw = json.dumps({**APPEAL, "content": "暖气\ud800不热"})  # sent as the escape \ud800
    status, body = post_raw(api, "/appeals", raw)
    assert status == 400 and fields(body) == ["content"]
    status, body = post_raw(api, "/appeals", json.dumps({**APPEAL, "submitter": {"name": "\x00"}}))
    assert status == 400 and fields(body) == ["submitter.name"]
    assert counts() == before


def test_api_strips_control_characters_from_stored_text(api: Any) -> None:
    r = api("operator").post("/appeals", {**APPEAL, "content": "暖气\u0001不热\x7f"})
    assert r.status == 201, r.body
    assert r.body["content"] == "暖气不热"
    assert Appeal.objects.get(number=r.body["number"]).content == "暖气不热"
    assert api("operator").get("/appeals", q="暖气\u0002不热").status == 200
    assert web("operator").get("/metrics/ledger.xlsx").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/appeals/?q=%00",
        "/track/?number=KB%00",
        "/enterprise/9%00/",
        "/appeals/?status=%00open",
        "/metrics/rankings/?month=2026%00-05",
        "/routing/hot/?date_from=%00",
        "/appeals/?%00=1",
    ],
)
def test_pages_refuse_nul_with_a_page_naming_the_field(county: Any, url: str) -> None:
    r = web("supervisor").get(url)
    assert r.status_code == 400
    page = r.content.decode()
    assert "无法受理此请求" in page and 'data-testid="bad-input"' in page
    assert "<header" in page  # the site's layout


def test_a_web_form_with_nul_writes_nothing(county: Any) -> None:
    before = counts()
    r = web("operator").post("/appeals/new/", {**APPEAL, "content": "暖气\x00不热"})
    assert r.status_code == 400
    assert "content" in r.content.decode()
    assert counts() == before


def test_unknown_json_fields_are_refused_naming_them(api: Any) -> None:
    before = counts()
    r = api("operator").post("/appeals", {**APPEAL, "investment": 500})
    assert r.status == 400 and fields(r.body) == ["investment"]
    r = api("operator").post("/appeals", {**APPEAL, "submitter": {"nmae": "王建华"}})
    assert r.status == 400 and fields(r.body) == ["submitter.nmae"]
    project = {"name": "城区老旧小区改造", "owner_unit": "zjj", "target": "改造12个小区"}
    r = api("leader").post("/projects", {**project, "investment": 500})
    assert r.status == 400 and fields(r.body) == ["investment"]
    assert counts() == before


# ----- the OpenAPI document -----------------------------------------------------------------


def _models(tp: Any, acc: set[type[BaseModel]]) -> None:
    for arg in typing.get_args(tp):
        _models(arg, acc)
    if isinstance(tp, type) and issubclass(tp, BaseModel) and tp not in acc:
        acc.add(tp)
        for f in tp.model_fields.values():
            _models(f.annotation, acc)


def _operations() -> list[Any]:
    return [
        op
        for _prefix, router in ninja_api._routers
        for view in router.path_operations.values()
        for op in view.operations
    ]


def test_every_json_body_schema_refuses_unknown_fields() -> None:
    bodies: set[type[BaseModel]] = set()
    for op in _operations():
        for model in op.models:
            if model.__name__ == "BodyParams":
                for f in model.model_fields.values():
                    _models(f.annotation, bodies)
    assert len(bodies) > 30
    lax = sorted(m.__name__ for m in bodies if m.model_config.get("extra") != "forbid")
    assert lax == []


def test_schema_names_are_unique_and_visit_has_its_own_body(client: Client) -> None:
    seen: set[type[BaseModel]] = set()
    for op in _operations():
        for model in op.models:
            for f in model.model_fields.values():
                _models(f.annotation, seen)
        for model in (op.response_models or {}).values():
            if model is not None:
                for f in model.model_fields.values():
                    _models(f.annotation, seen)
    twice = [n for n, c in Counter(m.__name__ for m in seen).items() if c > 1]
    assert twice == []
    doc = client.get("/api/v1/openapi.json").json()
    body = doc["paths"]["/api/v1/appeals/{number}/visit"]["post"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(doc["components"]["schemas"][ref]["properties"]) >= {"reached", "satisfaction"}
    assert "visited_on" not in doc["components"]["schemas"][ref]["properties"]


def test_meeting_times_are_declared_as_sent(client: Client) -> None:
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    for name in ("MeetingIn", "MeetingOut"):
        start = schemas[name]["properties"]["start_time"]
        assert start.get("format") != "time"  # RFC 3339 full-time needs an offset; none is sent
        assert start["type"] == "string" and "pattern" in start


def test_every_authenticated_operation_documents_401(client: Client, api: Any) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    missing = [
        f"{method} {path}"
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if op.get("security") and "401" not in op["responses"]
    ]
    assert missing == []
    for path in ("/units", "/regions", "/industries"):
        assert "401" in doc["paths"][f"/api/v1{path}"]["get"]["responses"]
        assert api(None).get(path).status == 401


def test_every_web_form_is_a_clean_form() -> None:
    import kuaiban.urls  # noqa: F401  # imports every view module, so every form class

    def subclasses(cls: type) -> list[type]:
        return [cls, *(s for sub in cls.__subclasses__() for s in subclasses(sub))]

    ours = [c for c in subclasses(forms.Form) if c.__module__.startswith("kuaiban.")]
    assert len(ours) > 30
    assert sorted(c.__qualname__ for c in ours if not issubclass(c, CleanForm)) == []


@pytest.mark.parametrize("stored", ["0001-01-01 00:00:00", "9999-12-31 23:00:00"])
def test_appeals_stored_with_a_bad_date_before_the_check_are_repaired(
    make_appeal: Any, api: Any, stored: str
) -> None:
    import importlib
    from types import SimpleNamespace

    from django.apps import apps as django_apps
    from django.db import connection

    appeal = make_appeal()
    with connection.cursor() as cursor:  # as the old code wrote it, past every check
        cursor.execute(
            f"UPDATE {Appeal._meta.db_table} SET occurred_at = %s WHERE id = %s",
            [stored + ("+00" if connection.vendor == "postgresql" else ""), appeal.pk],
        )
    migration = importlib.import_module(
        "kuaiban.appeals.migrations.0007_h1input_occurred_at_in_range"
    )
    # what RunPython hands it (SQLite's schema editor cannot open inside the test's transaction)
    editor = SimpleNamespace(connection=connection, quote_name=connection.ops.quote_name)
    migration.clear_out_of_range(django_apps, editor)
    assert Appeal.objects.get(pk=appeal.pk).occurred_at is None
    assert web("supervisor").get(f"/appeals/{appeal.number}/").status_code == 200
    assert web("supervisor").get("/appeals/").status_code == 200
    assert api("supervisor").get("/appeals").status == 200
