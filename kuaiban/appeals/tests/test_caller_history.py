"""Caller history at intake (issue 14): typing a phone number shows that phone's appeals of the
last 90 days and flags a repeated call; `GET /api/v1/appeals?phone=` does the same for clients.
Only the roles that read numbers in full may search by one."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from kuaiban.appeals import services
from kuaiban.conftest import user
from kuaiban.core import clock

pytestmark = pytest.mark.django_db

PHONE = "13905551234"
OTHER = "13905559999"


@pytest.fixture
def history(make_appeal: Any) -> dict[str, Any]:
    now = clock.now()
    with clock.frozen(now - dt.timedelta(days=120)):
        old = make_appeal(submitter_phone=PHONE, title="去年的路灯问题")
    with clock.frozen(now - dt.timedelta(days=30)):
        closed = make_appeal(submitter_phone=PHONE, title="小区垃圾清运不及时")
        services.appeal_invalidate(actor=user("operator"), number=closed.number, reason="重复")
    recent = make_appeal(submitter_phone=PHONE, title="小区暖气不热")
    report = make_appeal(submitter_phone=PHONE, kind="report", title="举报违规占地")
    stranger = make_appeal(submitter_phone=OTHER, title="别人的诉求")
    return {"old": old, "closed": closed, "recent": recent, "report": report, "other": stranger}


def _page(username: str, phone: str) -> tuple[int, str]:
    client = Client()
    client.force_login(user(username))
    response = client.get("/appeals/caller/", {"submitter_phone": phone}, HTTP_HX_REQUEST="true")
    return response.status_code, response.content.decode()


def test_the_operator_sees_the_last_90_days_and_a_repeated_call(history: dict[str, Any]) -> None:
    status, html = _page("operator", "139-0555-1234")
    assert status == 200
    assert "重复来电" in html
    assert history["recent"].number in html
    assert history["closed"].number in html
    assert history["old"].number not in html  # 120 days ago
    assert history["other"].number not in html
    # The operator cannot open reports, so the report is neither listed nor counted.
    assert history["report"].number not in html
    assert "2 件" in html and "1 件仍未办结" in html


def test_the_supervisor_also_sees_the_confidential_report(history: dict[str, Any]) -> None:
    status, html = _page("supervisor", PHONE)
    assert status == 200
    assert history["report"].number in html


def test_a_new_number_is_not_a_repeated_call(history: dict[str, Any]) -> None:
    status, html = _page("operator", "13700001111")
    assert status == 200
    assert "重复来电" not in html
    assert "近 90 天没有" in html


def test_a_bad_number_is_named_and_a_partial_one_waits(history: dict[str, Any]) -> None:
    status, html = _page("operator", "12345678901")
    assert status == 400
    assert "submitter_phone" in html
    status, html = _page("operator", "1390")
    assert status == 200 and html.strip() == ""


def test_handlers_and_leaders_cannot_use_the_intake_history(history: dict[str, Any]) -> None:
    assert _page("handler-zjj", PHONE)[0] == 403
    assert _page("leader", PHONE)[0] == 403


def test_the_api_filters_the_ledger_by_phone(history: dict[str, Any], api: Any) -> None:
    r = api("operator").get("/appeals", phone=f"+86 {PHONE}")
    assert r.status == 200, r.body
    numbers = {item["number"] for item in r.body["items"]}
    # The ledger filter is not limited to 90 days: every visible appeal from the phone.
    assert numbers == {history["recent"].number, history["closed"].number, history["old"].number}


def test_the_api_refuses_phone_search_to_other_roles_and_bad_numbers(
    history: dict[str, Any], api: Any
) -> None:
    r = api("leader").get("/appeals", phone=PHONE)
    assert r.status == 403, r.body
    r = api("handler-zjj").get("/appeals", phone=PHONE)
    assert r.status == 403, r.body
    r = api("operator").get("/appeals", phone="not-a-phone")
    assert r.status == 400
    assert r.body["errors"][0]["field"] == "phone"
