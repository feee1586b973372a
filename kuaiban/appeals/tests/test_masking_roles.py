"""Free text masked for every reader who sees masked numbers (policy.sees_full_numbers): the
same mask_text in the pages and the API, full for those who must call the submitter."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from stdnum.cn import ric

from kuaiban.appeals import services
from kuaiban.appeals.models import Appeal
from kuaiban.conftest import user

pytestmark = pytest.mark.django_db

PHONE = "13987652222"
ID_BASE = "33052219850314273"
ID_NUMBER = ID_BASE + ric.calc_check_digit(ID_BASE + "0")


def page(username: str, path: str) -> str:
    client = Client()
    client.force_login(user(username))
    response = client.get(path)
    assert response.status_code == 200, (username, path, response.status_code)
    return str(response.content.decode())


@pytest.fixture
def appeal(make_appeal: Any) -> Appeal:
    assert ric.is_valid(ID_NUMBER)
    a = make_appeal(
        title=f"拖欠工资 联系{PHONE}",
        content=f"本人李秀英，身份证号{ID_NUMBER}，电话{PHONE}，在城关镇工地务工被拖欠工资三个月。",
        submitter_name="李秀英",
        submitter_phone=PHONE,
        submitter_id_number=ID_NUMBER,
    )
    n = a.number or ""
    services.appeal_dispatch(
        actor=user("operator"), number=n, unit="zjj", note=f"请尽快联系{PHONE}核实"
    )
    return Appeal.objects.get(pk=a.pk)


def reply(appeal: Appeal) -> Appeal:
    n = appeal.number or ""
    services.appeal_claim(actor=user("handler-zjj"), number=n)
    services.appeal_reply(
        actor=user("handler-zjj"),
        number=n,
        result="resolved",
        text=f"已电话{PHONE}联系李秀英，协调施工方于本周五前结清工资。",
    )
    return Appeal.objects.get(pk=appeal.pk)


def api_get(api: Any, username: str, path: str) -> str:
    response = api(username).get(path)
    assert response.status == 200, response.body
    return json.dumps(response.body, ensure_ascii=False)


def test_a_leader_reads_masked_numbers_in_every_text_on_pages_and_api(
    appeal: Appeal, api: Any
) -> None:
    appeal = reply(appeal)
    for path in (f"/appeals/{appeal.number}/", "/appeals/", "/metrics/", "/metrics/appeals/"):
        html = page("leader", path)
        assert PHONE not in html and ID_NUMBER not in html, path
    detail = page("leader", f"/appeals/{appeal.number}/")
    assert "拖欠工资" in detail and "*" * len(PHONE) in detail and "*" * len(ID_NUMBER) in detail
    for path in (f"/appeals/{appeal.number}", "/appeals"):
        body = api_get(api, "leader", path)
        assert PHONE not in body and ID_NUMBER not in body, path
        assert "139****2222" in body  # the structured field, as before
    events = api("leader").get(f"/appeals/{appeal.number}").body["events"]
    assert any("*" * len(PHONE) in e["note"] for e in events)


def test_the_lead_units_handler_and_the_operator_read_them_in_full(
    appeal: Appeal, api: Any
) -> None:
    for username in ("handler-zjj", "operator"):
        html = page(username, f"/appeals/{appeal.number}/")
        assert f"电话{PHONE}" in html and f"身份证号{ID_NUMBER}" in html
        body = api_get(api, username, f"/appeals/{appeal.number}")
        assert f"电话{PHONE}" in body and ID_NUMBER in body
    # A handler of another unit cannot open it at all.
    other = Client()
    other.force_login(user("handler-ybj"))
    assert other.get(f"/appeals/{appeal.number}/").status_code == 404


def test_the_visitor_sees_full_numbers_only_for_its_visit_queue(appeal: Appeal, api: Any) -> None:
    # Dispatched, not yet replied: not in the visit queue, so masked.
    html = page("visitor", f"/appeals/{appeal.number}/")
    assert PHONE not in html and ID_NUMBER not in html
    assert PHONE not in page("visitor", f"/visits/{appeal.number}/")
    body = api_get(api, "visitor", f"/appeals/{appeal.number}")
    assert PHONE not in body and ID_NUMBER not in body
    # Replied: the visitor must call the submitter back.
    appeal = reply(appeal)
    assert appeal.number in page("visitor", "/visits/")
    html = page("visitor", f"/appeals/{appeal.number}/")
    assert f"电话{PHONE}" in html and ID_NUMBER in html
    assert f"电话{PHONE}" in page("visitor", f"/visits/{appeal.number}/")
    assert PHONE in api_get(api, "visitor", f"/appeals/{appeal.number}")
    # Visited: out of the queue again.
    services.appeal_visit(
        actor=user("visitor"),
        number=appeal.number or "",
        data=services.VisitInput(
            reached=True, resolved=True, satisfaction="satisfied", authentic=True
        ),
    )
    assert PHONE not in page("visitor", f"/appeals/{appeal.number}/")
