"""Open311 and confidential reports (举报): a report answers with its status only, a search
never lists one, and a request merged into a report does not publish the report's number."""

from __future__ import annotations

from typing import Any

import pytest

from kuaiban.appeals import services as appeals
from kuaiban.appeals.models import Appeal
from kuaiban.conftest import user
from kuaiban.open311.tests.conftest import Open311Client

pytestmark = pytest.mark.django_db
REPORT_REPLY = "举报属实，已对该供热站负责人立案调查。"


def post(o311: Open311Client, form: dict[str, Any], **changes: Any) -> str:
    answer = o311.post("json", {**form, **changes})
    assert answer.status == 201, answer.raw
    return str(answer.json[0]["service_request_id"])


def as_replied_report(number: str) -> Appeal:
    # Reclassified at the desk as a report about an official (举报).
    Appeal.objects.filter(number=number).update(kind="report")
    appeals.appeal_dispatch(actor=user("supervisor"), number=number, unit="zjj")
    appeals.appeal_claim(actor=user("handler-zjj"), number=number)
    appeals.appeal_reply(
        actor=user("handler-zjj"), number=number, result="resolved", text=REPORT_REPLY
    )
    return Appeal.objects.get(number=number)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_report_answers_with_its_status_only(
    o311: Open311Client, form: dict[str, Any], fmt: str
) -> None:
    number = post(o311, form, description="供热站站长收取好处费后才给小区供暖。")
    report = as_replied_report(number)
    answer = o311.get(f"requests/{number}", fmt)
    assert answer.status == 200, answer.raw
    rows = answer.requests()
    assert len(rows) == 1 and rows[0]["service_request_id"] == number
    assert rows[0]["status"] == "open"
    text = answer.raw.decode()
    for secret in (REPORT_REPLY, "举报属实", "好处费", "住建局", report.title, "阳光花园"):
        assert secret not in text
    # Searching by dates or service never lists it.
    listed = {str(r["service_request_id"]) for r in o311.get("requests", fmt).requests()}
    assert number not in listed


def test_a_request_merged_into_a_report_does_not_publish_its_number(
    o311: Open311Client, form: dict[str, Any], make_appeal: Any
) -> None:
    report = make_appeal(
        kind="report",
        title="举报供热站收受好处",
        content="供热站站长收取好处费后才给小区供暖。",
        actor=user("supervisor"),
    )
    mine = post(o311, form)
    appeals.appeal_merge(actor=user("supervisor"), number=mine, into=report.number or "")
    row = o311.get(f"requests/{mine}", "json").requests()[0]
    assert row["status"] == "closed"
    assert report.number not in str(row["status_notes"])
    assert "并单" in str(row["status_notes"])
