"""The public front door: a person submits without an account, proves the phone by an SMS
code, gets a receipt, and follows the appeal; every refusal names its field and writes nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from kuaiban.appeals.models import Appeal
from kuaiban.portal.tests.conftest import Outbox

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
PHONE = "13912345678"
ADDR = "203.0.113.20"
CONTENT = "东关街菜市场门口的下水道井盖坏了一个多星期，晚上很黑，已经有老人差点踩空，请尽快修好。"


def client() -> Client:
    return Client(REMOTE_ADDR=ADDR, HTTP_ACCEPT_LANGUAGE="zh-hans")


def code_for(outbox: Outbox, phone: str = PHONE) -> str:
    r = client().post("/api/v1/public/codes", {"phone": phone}, content_type="application/json")
    assert r.status_code == 202, r.content
    found = re.search(r"验证码是(\d{6})", outbox.texts(phone)[-1])
    assert found is not None
    return found.group(1)


def submit(**fields: Any) -> Any:
    body = {"kind": "complaint", "content": CONTENT, "title": "井盖损坏", **fields}
    return client().post("/api/v1/public/appeals", body)  # multipart/form-data


def test_submit_with_a_code_gives_a_receipt_on_screen_and_by_sms(outbox: Outbox) -> None:
    r = submit(phone=PHONE, code=code_for(outbox), lat="34.7301", lng="116.9309", address="东关街")
    assert r.status_code == 201, r.content
    number, access = r.json()["number"], r.json()["access_code"]
    appeal = Appeal.objects.get(number=number)
    assert (appeal.channel, appeal.submitter_phone, appeal.created_by) == ("web", PHONE, None)
    assert (float(appeal.lat), float(appeal.lng)) == (34.7301, 116.9309)
    receipt = outbox.texts(PHONE)[-1]
    assert number in receipt and access in receipt

    followed = client().get(f"/api/v1/public/appeals/{number}", {"access_code": access})
    assert followed.status_code == 200, followed.content
    body = followed.json()
    assert body["status"] == "received" and body["title"] == "井盖损坏"
    assert [row["action"] for row in body["timeline"]] == ["register"]
    assert PHONE not in followed.content.decode()
    wrong = client().get(f"/api/v1/public/appeals/{number}", {"access_code": "ABCDE23456"})
    assert wrong.status_code == 404


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": "000000"}, "code"),
        ({"code": ""}, "code"),
        ({"phone": ""}, "phone"),
        ({"content": ""}, "content"),
        ({"lat": "34.7"}, "lng"),
        ({"lat": "134.7", "lng": "116.9"}, "lat"),
        ({"kind": "petition"}, "kind"),
        ({"category": "没有这个分类"}, "category"),
        ({"anonymous": "true"}, "anonymous"),  # only a report may be anonymous
    ],
)
def test_a_bad_submission_names_its_field_and_writes_nothing(
    outbox: Outbox, changes: dict[str, str], field: str
) -> None:
    code = code_for(outbox)
    if changes.get("code") == "000000" and code == "000000":
        changes = {"code": "111111"}
    r = submit(**{"phone": PHONE, "code": code, **changes})
    assert r.status_code == 400, r.content
    assert field in [e["field"] for e in r.json()["errors"]]
    assert not Appeal.objects.exists()


def test_a_field_error_leaves_the_code_unspent(outbox: Outbox) -> None:
    code = code_for(outbox)
    assert submit(phone=PHONE, code=code, content="").status_code == 400
    assert submit(phone=PHONE, code=code).status_code == 201


def test_an_anonymous_report_is_followed_by_its_access_code_only(outbox: Outbox) -> None:
    r = submit(kind="report", anonymous="true", title="某单位违规收费", phone="", code="")
    assert r.status_code == 201, r.content
    appeal = Appeal.objects.get(number=r.json()["number"])
    assert (appeal.submitter_phone, appeal.submitter_name, appeal.kind) == ("", "", "report")
    assert outbox.lines() == []  # nobody to tell
    followed = client().get(
        f"/api/v1/public/appeals/{appeal.number}", {"access_code": r.json()["access_code"]}
    )
    body = followed.json()
    assert body["status"] == "received" and body["title"] == "" and body["timeline"] == []
    assert "违规收费" not in followed.content.decode()
    # No phone was given, so four digits cannot open it.
    assert (
        client().get(f"/api/v1/public/appeals/{appeal.number}", {"access_code": "0000"}).status_code
        == 404
    )


def test_an_entrance_sets_the_channel_and_an_unknown_one_is_404(outbox: Outbox) -> None:
    r = submit(phone=PHONE, code=code_for(outbox), entrance="direct-line")
    assert r.status_code == 201
    assert Appeal.objects.get(number=r.json()["number"]).channel == "direct_line"
    assert submit(kind="report", anonymous="true", entrance="no-such").status_code == 404
    assert Appeal.objects.count() == 1


def test_submissions_are_throttled_per_address(outbox: Outbox, settings: Any) -> None:
    settings.KUAIBAN_PUBLIC_SUBMITS_PER_HOUR = 2
    for _ in range(2):
        assert submit(kind="report", anonymous="true").status_code == 201
    r = submit(kind="report", anonymous="true")
    assert r.status_code == 429 and r.has_header("Retry-After")
    assert Appeal.objects.count() == 2


def test_the_page_sends_a_code_then_shows_the_receipt(outbox: Outbox) -> None:
    c = client()
    page = c.get("/submit/direct-line/")
    assert page.status_code == 200 and "书记直通车" in page.content.decode()
    sent = c.post("/submit/direct-line/", {"action": "code", "phone": PHONE, "content": CONTENT})
    assert sent.status_code == 200 and "验证码已通过短信发送" in sent.content.decode()
    assert CONTENT in sent.content.decode()  # what was typed stays
    code = re.search(r"验证码是(\d{6})", outbox.texts(PHONE)[-1]).group(1)  # type: ignore[union-attr]
    bad = c.post(
        "/submit/direct-line/", {"kind": "complaint", "content": "", "phone": PHONE, "code": code}
    )
    assert bad.status_code == 400 and "errorlist" in bad.content.decode()
    done = c.post(
        "/submit/direct-line/",
        {"kind": "complaint", "content": CONTENT, "phone": PHONE, "code": code},
        follow=True,
    )
    html = done.content.decode()
    appeal = Appeal.objects.get()
    assert appeal.number in html and appeal.access_code_display in html
    assert appeal.channel == "direct_line"


def test_the_page_says_a_wrong_code_beside_the_field(outbox: Outbox) -> None:
    code_for(outbox)
    r = client().post(
        "/submit/", {"kind": "complaint", "content": CONTENT, "phone": PHONE, "code": "12345x"}
    )
    assert r.status_code == 400
    assert 'data-field="code"' in r.content.decode()
    assert not Appeal.objects.exists()
