"""Idempotent intake: `Idempotency-Key` on POST /api/v1/appeals and on Open311 POST requests."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client

from kuaiban.appeals.models import Appeal
from kuaiban.integrations import services
from kuaiban.integrations.models import IdempotencyKey
from kuaiban.org.models import User
from kuaiban.org.services import token_create

pytestmark = pytest.mark.django_db

BODY = {
    "channel": "hotline",
    "kind": "complaint",
    "title": "人民路路面坑洼",
    "content": "人民路从东门村到镇上这段路坑洼不平，下雨积水，已有电动车摔倒，请尽快修补。",
    "submitter": {"name": "李秀英", "phone": "13912345678", "type": "citizen"},
    "address": "人民路128号",
}
KEY = "3f0c8a4e-6c1d-4f5e-9a57-1b2c3d4e5f60"


def post(api: Any, body: Any, key: str | None = KEY, who: str = "operator") -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return api(who).post("/appeals", body, headers=headers)


def test_same_key_same_body_returns_the_first_appeal(api: Any) -> None:
    first = post(api, BODY)
    again = post(api, BODY)
    assert first.status == 201 and again.status == 200
    assert again.body["number"] == first.body["number"]
    assert Appeal.objects.count() == 1


def test_same_body_in_another_layout_is_the_same_request(api: Any) -> None:
    first = post(api, BODY)
    reordered = json.dumps(dict(reversed(list(BODY.items()))), indent=2, ensure_ascii=True)
    client = api("operator")
    raw = client.client.post(
        "/api/v1/appeals",
        data=reordered,
        content_type="application/json",
        headers={**client.headers, "Idempotency-Key": KEY},
    )
    assert raw.status_code == 200 and raw.json()["number"] == first.body["number"]


def test_same_key_different_body_is_409(api: Any) -> None:
    assert post(api, BODY).status == 201
    other = post(api, {**BODY, "content": BODY["content"] + "另外路灯也不亮。"})
    assert other.status == 409
    assert set(other.body) >= {"detail", "errors"} and other.body["errors"] == []
    assert other.body["code"] == "idempotency_mismatch"
    assert Appeal.objects.count() == 1


def test_keys_are_scoped_per_user(api: Any) -> None:
    mine = post(api, BODY, who="operator")
    theirs = post(api, BODY, who="supervisor")
    assert mine.status == theirs.status == 201
    assert mine.body["number"] != theirs.body["number"]
    assert IdempotencyKey.objects.count() == 2


def test_without_a_key_every_post_registers(api: Any) -> None:
    assert post(api, BODY, key=None).status == 201
    assert post(api, BODY, key=None).status == 201
    assert Appeal.objects.count() == 2 and not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("bad", ["x" * 256, "含中文的键", "two words"])
def test_malformed_key_is_400(api: Any, bad: str) -> None:
    r = api("operator").client.post(
        "/api/v1/appeals",
        data=json.dumps(BODY),
        content_type="application/json",
        HTTP_AUTHORIZATION=api("operator").headers["Authorization"],
        HTTP_IDEMPOTENCY_KEY=bad,
    )
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "Idempotency-Key"
    assert Appeal.objects.count() == 0


def test_a_refused_request_does_not_use_up_the_key(api: Any) -> None:
    refused = post(api, {**BODY, "submitter": {"name": "李秀英", "phone": "12345"}})
    assert refused.status == 400
    assert post(api, BODY).status == 201
    assert Appeal.objects.count() == 1


def test_role_checks_still_apply(api: Any) -> None:
    r = post(api, BODY, who="leader")
    assert r.status == 403
    assert not IdempotencyKey.objects.exists() and not Appeal.objects.exists()


# ----- Open311 ----------------------------------------------------------------------------------


def open311(key: str, idem: str, **changes: str) -> Any:
    data = {
        "api_key": key,
        "service_code": "C01.02.01",
        "address_string": "人民路与建设街交叉口东北角",
        "description": "路口绿化带垃圾堆积多日无人清运，气味很大。",
        **changes,
    }
    return Client().post("/open311/v2/requests.json", data, headers={"Idempotency-Key": idem})


def test_open311_post_is_idempotent(county: Any) -> None:
    key = services.apikey_create(name="hotline-vendor", channel="hotline").key
    first = open311(key, KEY)
    again = open311(key, KEY)
    assert first.status_code == 201 and again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    conflict = open311(key, KEY, description="另一处：建设街垃圾桶满了。")
    assert conflict.status_code == 409
    assert conflict.json()[0]["code"] == 409
    assert Appeal.objects.count() == 1
    # Another key may use the same Idempotency-Key for its own request.
    other = services.apikey_create(name="wechat-bot", channel="wechat").key
    assert open311(other, KEY).status_code == 201
    assert Appeal.objects.count() == 2


# ----- concurrency (PostgreSQL) -----------------------------------------------------------------


def fire(count: int, send: Any) -> list[tuple[int, str]]:
    """Run ``send()`` from ``count`` threads released at the same instant."""
    barrier = threading.Barrier(count)
    results: list[tuple[int, str]] = []
    lock = threading.Lock()

    def work() -> None:
        try:
            barrier.wait()
            outcome = send()
            with lock:
                results.append(outcome)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("reference_data")
def test_same_key_from_many_threads_makes_one_appeal(county: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    token = token_create(user=User.objects.get(username="operator"))

    def send() -> tuple[int, str]:
        r = Client().post(
            "/api/v1/appeals",
            data=json.dumps(BODY, ensure_ascii=False),
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": KEY},
        )
        return r.status_code, r.json().get("number", "")

    results = fire(8, send)
    assert Appeal.objects.count() == 1
    number = Appeal.objects.get().number
    assert sorted(s for s, _n in results) == [200] * 7 + [201]
    assert {n for _s, n in results} == {number}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("reference_data")
def test_same_open311_post_from_many_threads_makes_one_appeal(county: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    key = services.apikey_create(name="hotline-vendor", channel="hotline").key

    def send() -> tuple[int, str]:
        r = open311(key, KEY)
        return r.status_code, r.json()[0].get("service_request_id", "")

    results = fire(8, send)
    assert Appeal.objects.count() == 1
    assert sorted(s for s, _n in results) == [200] * 7 + [201]
    assert {n for _s, n in results} == {Appeal.objects.get().number}


def test_nul_characters_are_400_not_500(api: Any) -> None:
    body = post(api, {**BODY, "content": "路面坑洼\x00"}, key=None)
    assert body.status == 400 and set(body.body) >= {"detail", "errors"}
    query = api("operator").get("/appeals", q="坑洼\x00")
    assert query.status == 400 and "NUL" in query.body["detail"]
    assert Appeal.objects.count() == 0
