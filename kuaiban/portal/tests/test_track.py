"""/track/: access codes, wrong guesses throttled per address and per number, masked public
text, and confidential reports (举报) shown by status only."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from django.test import Client
from stdnum.cn import ric

from kuaiban.appeals import services
from kuaiban.appeals.models import ACCESS_CODE_ALPHABET, Appeal
from kuaiban.conftest import user

pytestmark = pytest.mark.django_db

PHONE = "13812345678"
ID_BASE = "33052219850314273"
ID_NUMBER = ID_BASE + ric.calc_check_digit(ID_BASE + "0")
REPORT_REPLY = "举报属实，已对该企业立案查处，责令停产整改。"


def html(response: Any) -> str:
    return str(response.content.decode())


def wrong_code() -> str:
    return "".join(secrets.choice(ACCESS_CODE_ALPHABET) for _ in range(10))


def replied(appeal: Appeal, text: str, *, by: str = "operator") -> Appeal:
    n = appeal.number or ""
    services.appeal_dispatch(actor=user(by), number=n, unit="zjj")
    services.appeal_claim(actor=user("handler-zjj"), number=n)
    services.appeal_reply(actor=user("handler-zjj"), number=n, result="resolved", text=text)
    return Appeal.objects.get(pk=appeal.pk)


def test_the_id_number_of_the_test_data_is_valid() -> None:
    assert ric.is_valid(ID_NUMBER)


def test_thirty_wrong_guesses_are_throttled_with_retry_after(make_appeal: Any) -> None:
    appeal = make_appeal()
    browser = Client(REMOTE_ADDR="203.0.113.7")
    statuses = []
    for _ in range(30):
        response = browser.get("/track/", {"number": appeal.number, "code": wrong_code()})
        statuses.append(response.status_code)
    # The per-number limit (10 wrong guesses an hour) is reached first.
    assert statuses[:10] == [404] * 10
    assert set(statuses[10:]) == {429}
    assert int(response["Retry-After"]) > 0
    page = html(response)
    assert "错误次数过多" in page and "<footer>" in page  # in the site's layout, in Chinese
    assert 'data-testid="track-throttled"' in page
    # Now even the right code waits: a guesser learns nothing from a late hit.
    right = browser.get("/track/", {"number": appeal.number, "code": appeal.access_code})
    assert right.status_code == 429
    assert appeal.title not in html(right)
    # The last four digits are locked out for that number from any address too.
    other = Client(REMOTE_ADDR="198.51.100.20")
    assert other.get("/track/", {"number": appeal.number, "code": PHONE[-4:]}).status_code == 429


def test_wrong_guesses_over_many_numbers_lock_the_address(make_appeal: Any) -> None:
    mine = make_appeal()
    guesser = Client(REMOTE_ADDR="203.0.113.9")
    for i in range(20):  # one guess each at 20 numbers: no number reaches its own limit
        response = guesser.get("/track/", {"number": f"KB20261202-{i:06d}", "code": "0000"})
        assert response.status_code == 404
    response = guesser.get("/track/", {"number": mine.number, "code": mine.access_code})
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    # Another address is not affected.
    citizen = Client(REMOTE_ADDR="198.51.100.30")
    assert (
        citizen.get("/track/", {"number": mine.number, "code": mine.access_code}).status_code == 200
    )


def test_the_receipt_code_opens_the_page_with_numbers_masked(make_appeal: Any) -> None:
    appeal = make_appeal(
        title=f"暖气不热 请回电{PHONE}",
        content=f"我是王建华，身份证{ID_NUMBER}，阳光花园5号楼暖气不热。",
        submitter_id_number=ID_NUMBER,
    )
    appeal = replied(appeal, f"已联系王建华（{PHONE}，身份证{ID_NUMBER}），暖气已修复。")
    # The operator reads the code on the appeal's page and tells the submitter.
    receipt = html(_logged_in("operator").get(f"/appeals/{appeal.number}/"))
    assert appeal.access_code_display in receipt
    assert appeal.access_code_display not in html(
        _logged_in("leader").get(f"/appeals/{appeal.number}/")
    )
    typed = appeal.access_code_display.lower()  # as a person types it: lower case, a hyphen
    response = Client().get("/track/", {"number": appeal.number, "code": typed})
    assert response.status_code == 200
    page = html(response)
    assert 'data-testid="track-result"' in page
    assert "暖气已修复" in page and "住建局" in page and "暖气不热 请回电" in page
    assert PHONE not in page and ID_NUMBER not in page
    assert "*" * len(PHONE) in page
    # The last four digits still work, as a convenience.
    assert (
        Client().get("/track/", {"number": appeal.number, "phone_last4": "5678"}).status_code == 200
    )


def _logged_in(username: str) -> Client:
    client = Client()
    client.force_login(user(username))
    return client


def test_a_report_shows_its_status_only(make_appeal: Any) -> None:
    report = make_appeal(
        kind="report",
        title="举报某化工厂夜间偷排",
        content="城关镇某化工厂每晚十一点后向河道偷排废水，气味刺鼻。",
        actor=user("supervisor"),
    )
    report = replied(report, REPORT_REPLY, by="supervisor")
    response = Client().get("/track/", {"number": report.number, "code": report.access_code})
    assert response.status_code == 200
    page = html(response)
    assert report.number in page and "已答复" in page
    for secret in (REPORT_REPLY, "举报属实", report.title, "偷排", "住建局"):
        assert secret not in page


def test_an_appeal_merged_into_a_report_does_not_name_it(make_appeal: Any) -> None:
    report = make_appeal(
        kind="report",
        title="举报化工厂偷排",
        content="化工厂夜间偷排废水。",
        actor=user("supervisor"),
    )
    report = replied(report, REPORT_REPLY, by="supervisor")
    mine = make_appeal(title="河水发臭", content="城关镇南河河水发臭，怀疑有人偷排。")
    services.appeal_merge(
        actor=user("supervisor"), number=mine.number or "", into=report.number or ""
    )
    mine.refresh_from_db()
    page = html(Client().get("/track/", {"number": mine.number, "code": mine.access_code}))
    assert "合并办理" in page
    assert report.number not in page and REPORT_REPLY not in page and "举报属实" not in page
