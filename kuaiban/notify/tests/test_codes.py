"""One-time codes through the public API and the services: right, wrong, expired, reused,
throttled per phone and per address."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client

from kuaiban.core import clock
from kuaiban.core.errors import ValidationFailed
from kuaiban.core.throttle import Throttled
from kuaiban.notify import codes
from kuaiban.notify.models import PhoneCode, SmsMessage
from kuaiban.notify.tests.conftest import Outbox

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
PHONE = "13812345678"


def post_code(phone: str, address: str = "203.0.113.7") -> Any:
    return Client(REMOTE_ADDR=address).post(
        "/api/v1/public/codes", {"phone": phone}, content_type="application/json"
    )


def code_in(outbox: Outbox, phone: str) -> str:
    found = re.search(r"验证码是(\d{6})", outbox.texts(phone)[-1])
    assert found is not None
    return found.group(1)


def later(seconds: float) -> Any:
    return clock.frozen(clock.now() + dt.timedelta(seconds=seconds))


def test_the_code_arrives_by_sms_and_only_its_hash_is_kept(outbox: Outbox) -> None:
    r = post_code("138 1234 5678")
    assert r.status_code == 202, r.content
    assert r.json()["expires_in"] == 600 and r.json()["resend_after"] == 60
    code = code_in(outbox, PHONE)
    row = PhoneCode.objects.get()
    assert row.phone == PHONE and code not in row.code_hash
    assert code not in SmsMessage.objects.get().text  # blanked in the log once sent
    assert codes.code_verify(PHONE, code) == PHONE


def test_no_bearer_token_needed_and_documented_under_public(outbox: Outbox) -> None:
    doc = Client().get("/api/v1/openapi.json").json()
    operation = doc["paths"]["/api/v1/public/codes"]["post"]
    assert operation["tags"] == ["public"]
    assert not operation.get("security")
    assert {"202", "400", "429"} <= set(operation["responses"])


def test_a_right_code_works_once(outbox: Outbox) -> None:
    codes.code_issue(PHONE, address="203.0.113.7")
    code = code_in(outbox, PHONE)
    assert codes.code_verify(PHONE, code)
    with pytest.raises(ValidationFailed) as reused:
        codes.code_verify(PHONE, code)
    assert reused.value.errors[0].field == "code"


def test_a_wrong_code_is_refused_and_counted(outbox: Outbox) -> None:
    codes.code_issue(PHONE, address="203.0.113.7")
    code = code_in(outbox, PHONE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    with pytest.raises(ValidationFailed) as caught:
        codes.code_verify(PHONE, wrong)
    assert caught.value.errors[0].field == "code" and caught.value.status == 400
    assert PhoneCode.objects.get().wrong_attempts == 1
    assert codes.code_verify(PHONE, code)  # the right one still works after one mistake


def test_too_many_wrong_codes_burn_it(outbox: Outbox) -> None:
    codes.code_issue(PHONE, address="203.0.113.7")
    code = code_in(outbox, PHONE)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        with pytest.raises(ValidationFailed):
            codes.code_verify(PHONE, wrong)
    with pytest.raises(ValidationFailed) as caught:
        codes.code_verify(PHONE, code)
    assert caught.value.errors[0].field == "code"
    assert PhoneCode.objects.get().spent_at is not None


def test_an_expired_code_is_refused(outbox: Outbox) -> None:
    codes.code_issue(PHONE, address="203.0.113.7")
    code = code_in(outbox, PHONE)
    with later(10 * 60 + 1), pytest.raises(ValidationFailed) as caught:
        codes.code_verify(PHONE, code)
    assert caught.value.errors[0].field == "code"


def test_a_newer_code_replaces_the_older(outbox: Outbox) -> None:
    codes.code_issue(PHONE, address="203.0.113.7")
    first = code_in(outbox, PHONE)
    with later(61):
        codes.code_issue(PHONE, address="203.0.113.7")
        second = code_in(outbox, PHONE)
        if first != second:
            with pytest.raises(ValidationFailed):
                codes.code_verify(PHONE, first)
        assert codes.code_verify(PHONE, second)


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "12 345"])
def test_a_code_of_the_wrong_shape_is_refused(outbox: Outbox, typed: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        codes.code_verify(PHONE, typed)
    assert caught.value.errors[0].field == "code"


@pytest.mark.parametrize("phone", ["", "12345", "010-12345678", "+1 202 555 0143", "手机"])
def test_not_a_mobile_is_400_naming_phone(outbox: Outbox, phone: str) -> None:
    r = post_code(phone)
    assert r.status_code == 400
    assert r.json()["errors"][0]["field"] == "phone"
    assert PhoneCode.objects.count() == 0 and outbox.lines() == []


def test_one_code_a_minute_per_phone(outbox: Outbox) -> None:
    assert post_code(PHONE).status_code == 202
    again = post_code(PHONE, address="198.51.100.9")
    assert again.status_code == 429
    assert again.json()["errors"][0]["field"] == "phone"
    assert 1 <= int(again.headers["Retry-After"]) <= 60
    assert PhoneCode.objects.count() == 1 and len(outbox.lines()) == 1
    with later(61):
        assert post_code(PHONE, address="198.51.100.9").status_code == 202


def test_five_codes_an_hour_per_phone(outbox: Outbox) -> None:
    start = clock.now()
    for i in range(5):
        with clock.frozen(start + dt.timedelta(minutes=2 * i)):
            codes.code_issue(PHONE, address=f"198.51.100.{i}")
    with clock.frozen(start + dt.timedelta(minutes=12)), pytest.raises(Throttled) as caught:
        codes.code_issue(PHONE, address="198.51.100.99")
    assert caught.value.status == 429 and caught.value.retry_after > 60 * 40
    with clock.frozen(start + dt.timedelta(minutes=60, seconds=1)):
        codes.code_issue(PHONE, address="198.51.100.99")
    assert PhoneCode.objects.count() == 6


def test_the_sixth_request_in_a_minute_from_one_address_is_429_and_writes_nothing(
    outbox: Outbox,
) -> None:
    phones = [f"1391234000{i}" for i in range(6)]
    for phone in phones[:5]:
        assert post_code(phone).status_code == 202
    sixth = post_code(phones[5])
    assert sixth.status_code == 429
    body = sixth.json()
    assert body["errors"][0]["field"] == "phone" and body["detail"]
    assert "Retry-After" in sixth.headers
    assert not PhoneCode.objects.filter(phone=phones[5]).exists()
    assert not SmsMessage.objects.filter(to=phones[5]).exists()
    assert outbox.to(phones[5]) == []
    # Another address is not held back by this one.
    assert post_code(phones[5], address="198.51.100.20").status_code == 202


def test_unknown_fields_are_refused(outbox: Outbox) -> None:
    r = Client().post(
        "/api/v1/public/codes",
        {"phone": PHONE, "admin": True},
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "admin"
