"""The ledger's web pages: forms, denials by role and unit, masking, tracking and search.

Pages are fetched through django.test.Client as each user; the UI speaks Simplified Chinese by
default, so the messages asserted here are the ones a user reads.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from kuaiban.appeals import services
from kuaiban.appeals.models import Appeal, AppealEvent, Status
from kuaiban.conftest import user
from kuaiban.org.demo import Directory

pytestmark = pytest.mark.django_db

PHONE = "13812345678"  # the make_appeal fixture's submitter phone
ID_NUMBER = "11010519491231002X"


def client_for(username: str) -> Client:
    client = Client()
    client.force_login(user(username))
    return client


def html(response: Any) -> str:
    return str(response.content.decode())


def field_errors(page: str, field: str) -> list[str]:
    """The error messages shown in the block of one form field (id ``f-<field>``)."""
    match = re.search(rf'id="f-{re.escape(field)}".*?</(?:div|details)>', page, re.S)
    assert match, f"no field {field} on the page"
    return re.findall(r"<li>(.*?)</li>", match.group(0), re.S)


def snapshot(appeal: Appeal) -> tuple[str, int, int]:
    appeal.refresh_from_db()
    return appeal.status, appeal.event_count, AppealEvent.objects.filter(appeal=appeal).count()


REGISTER = {
    "channel": "hotline",
    "kind": "complaint",
    "urgency": "normal",
    "submitter_type": "citizen",
    "title": "小区暖气不热",
    "content": "阳光花园小区5号楼暖气一直不热，室温只有十四度，家里有老人。",
    "submitter_name": "王建华",
    "submitter_phone": PHONE,
}


# ----- register ---------------------------------------------------------------------------------


def test_register_form_without_content_shows_the_error_beside_it(county: Directory) -> None:
    response = client_for("operator").post("/appeals/new/", {**REGISTER, "content": "  "})
    assert response.status_code == 400
    assert field_errors(html(response), "content") == ["此项为必填项。"]
    assert Appeal.objects.count() == 0 and AppealEvent.objects.count() == 0


def test_register_form_bad_identifiers_show_field_errors_and_write_nothing(
    county: Directory,
) -> None:
    response = client_for("operator").post(
        "/appeals/new/",
        {
            **REGISTER,
            "submitter_type": "enterprise",
            "submitter_phone": "1381234",
            "credit_code": "913312345QMYQF0XM1",  # wrong check character
            "group_size": "30",  # only petitions have a group size
        },
    )
    assert response.status_code == 400
    page = html(response)
    assert field_errors(page, "submitter_phone") == ["不是有效的中国大陆电话号码。"]
    assert field_errors(page, "credit_code") == ["统一社会信用代码无效（应为18位，含校验码）。"]
    assert field_errors(page, "group_size") == ["只有信访渠道可以填写集体访人数。"]
    assert field_errors(page, "content") == []
    # What was typed is kept so the operator only fixes the mistakes.
    assert REGISTER["content"] in page
    assert Appeal.objects.count() == 0 and AppealEvent.objects.count() == 0


def test_register_form_over_long_content(county: Directory, settings: Any) -> None:
    limit = settings.KUAIBAN_CONTENT_MAX
    response = client_for("operator").post(
        "/appeals/new/", {**REGISTER, "content": "路" * (limit + 1)}
    )
    assert response.status_code == 400
    assert field_errors(html(response), "content") == [
        f"最多 {limit} 个字，当前 {limit + 1} 个字。"
    ]
    assert Appeal.objects.count() == 0


def test_register_form_success_goes_to_the_new_appeal(county: Directory) -> None:
    response = client_for("operator").post("/appeals/new/", REGISTER, follow=True)
    appeal = Appeal.objects.get()
    assert response.redirect_chain[-1][0] == f"/appeals/{appeal.number}/"
    page = html(response)
    assert f"登记成功，工单编号 {appeal.number}。" in page
    assert appeal.submitter_phone == PHONE and appeal.status == Status.RECEIVED


def test_handler_may_not_open_the_register_form(county: Directory) -> None:
    assert client_for("handler-zjj").get("/appeals/new/").status_code == 403
    response = client_for("handler-zjj").post("/appeals/new/", REGISTER)
    assert response.status_code == 403
    assert Appeal.objects.count() == 0


# ----- unit and role boundaries -------------------------------------------------------------------


@pytest.fixture
def dispatched(make_appeal: Any) -> Appeal:
    appeal = make_appeal()
    services.appeal_dispatch(actor=user("operator"), number=appeal.number, unit="zjj")
    appeal.refresh_from_db()
    return appeal


def test_handler_of_another_unit_gets_404_and_cannot_act(dispatched: Appeal) -> None:
    other = client_for("handler-ybj")
    number = dispatched.number
    before = snapshot(dispatched)
    assert other.get(f"/appeals/{number}/").status_code == 404
    for action, data in [
        ("claim", {}),
        ("reply", {"reply-result": "resolved", "reply-text": "已处理。"}),
        ("return", {"return-reason": "不归我们管"}),
    ]:
        assert other.post(f"/appeals/{number}/{action}/", data).status_code == 404, action
    assert snapshot(dispatched) == before
    assert number not in html(other.get("/appeals/inbox/"))
    assert number not in html(other.get("/appeals/"))


def test_lead_unit_handler_sees_and_claims_it(dispatched: Appeal) -> None:
    own = client_for("handler-zjj")
    page = html(own.get(f"/appeals/{dispatched.number}/"))
    assert 'data-action="claim"' in page and 'data-action="dispatch"' not in page
    response = own.post(f"/appeals/{dispatched.number}/claim/", {}, follow=True)
    assert response.status_code == 200
    dispatched.refresh_from_db()
    assert dispatched.status == Status.IN_PROGRESS and dispatched.handler == user("handler-zjj")


def test_handler_cannot_take_an_operators_action(dispatched: Appeal) -> None:
    """A forged POST for an action the page does not offer: refused, nothing changes."""
    before = snapshot(dispatched)
    response = client_for("handler-zjj").post(
        f"/appeals/{dispatched.number}/invalidate/", {"invalidate-reason": "重复来电"}
    )
    assert response.status_code == 403
    assert "无权进行此操作" in html(response)
    assert snapshot(dispatched) == before


def test_wrong_status_is_409_with_the_reason_on_the_page(dispatched: Appeal) -> None:
    before = snapshot(dispatched)
    response = client_for("supervisor").post(f"/appeals/{dispatched.number}/close/", {})
    assert response.status_code == 409
    assert "诉求当前状态为“已派单”" in html(response)
    assert snapshot(dispatched) == before


def test_action_form_error_is_shown_beside_its_field(dispatched: Appeal) -> None:
    handler = client_for("handler-zjj")
    handler.post(f"/appeals/{dispatched.number}/claim/", {})
    before = snapshot(dispatched)
    response = handler.post(
        f"/appeals/{dispatched.number}/reply/", {"reply-result": "resolved", "reply-text": ""}
    )
    assert response.status_code == 400
    assert field_errors(html(response), "reply-text") == ["此项为必填项。"]
    assert snapshot(dispatched) == before


def test_leader_reads_but_is_offered_no_action(dispatched: Appeal) -> None:
    page = html(client_for("leader").get(f"/appeals/{dispatched.number}/"))
    assert "data-action=" not in page
    response = client_for("leader").post(
        f"/appeals/{dispatched.number}/dispatch/", {"dispatch-unit": "ybj"}
    )
    assert response.status_code == 403
    dispatched.refresh_from_db()
    assert dispatched.lead_unit is not None and dispatched.lead_unit.code == "zjj"


def test_unknown_action_is_404(dispatched: Appeal) -> None:
    response = client_for("supervisor").post(f"/appeals/{dispatched.number}/delete/", {})
    assert response.status_code == 404


def test_pages_need_a_login(dispatched: Appeal) -> None:
    anonymous = Client()
    for path in ("/appeals/", "/appeals/new/", "/appeals/inbox/", f"/appeals/{dispatched.number}/"):
        response = anonymous.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), path
    response = anonymous.post(f"/appeals/{dispatched.number}/claim/", {})
    assert response.status_code == 302
    assert snapshot(dispatched)[0] == Status.DISPATCHED


# ----- confidential reports and masking ---------------------------------------------------------


def test_operator_cannot_see_a_report(make_appeal: Any) -> None:
    report = make_appeal(
        kind="report",
        title="举报违规收费",
        content="某培训机构以补课名义违规收取学生费用，每人每学期三千元。",
    )
    operator = client_for("operator")
    assert operator.get(f"/appeals/{report.number}/").status_code == 404
    link = f'href="/appeals/{report.number}/"'
    assert link not in html(operator.get("/appeals/"))
    assert link not in html(operator.get("/appeals/", {"q": report.number}))
    assert client_for("leader").get(f"/appeals/{report.number}/").status_code == 404

    supervisor = client_for("supervisor")
    page = html(supervisor.get(f"/appeals/{report.number}/"))
    assert "保密" in page
    services.appeal_dispatch(actor=user("supervisor"), number=report.number, unit="jyj")
    assert client_for("handler-jyj").get(f"/appeals/{report.number}/").status_code == 200
    assert client_for("handler-zjj").get(f"/appeals/{report.number}/").status_code == 404


def test_phone_and_id_masked_for_leader_full_for_operator(make_appeal: Any) -> None:
    appeal = make_appeal(submitter_id_number=ID_NUMBER)
    path = f"/appeals/{appeal.number}/"

    leader = html(client_for("leader").get(path))
    assert re.search(r'data-testid="phone">138\*\*\*\*5678<', leader)
    assert PHONE not in leader and ID_NUMBER not in leader
    assert "1101**********002X" in leader

    operator = html(client_for("operator").get(path))
    assert re.search(rf'data-testid="phone">{PHONE}<', operator)
    assert ID_NUMBER in operator


# ----- public tracking --------------------------------------------------------------------------


def test_track_with_wrong_last4_shows_a_clear_error_and_no_data(make_appeal: Any) -> None:
    appeal = make_appeal()
    response = Client().get("/track", {"number": appeal.number, "phone_last4": "0000"})
    assert response.status_code == 404
    page = html(response)
    assert "没有找到与该工单编号和查询码相符的诉求" in page
    assert 'data-testid="track-result"' not in page
    for secret in (appeal.title, appeal.content, appeal.submitter_name, PHONE):
        assert secret not in page


def test_track_without_a_key_points_at_the_field(make_appeal: Any) -> None:
    appeal = make_appeal()
    response = Client().get("/track/", {"number": appeal.number, "code": ""})
    assert response.status_code == 400
    page = html(response)
    assert "请输入回执上的查询码，或联系电话的后四位。" in page
    assert 'aria-invalid="true"' in page
    assert 'data-testid="track-result"' not in page


def test_track_shows_status_and_timeline_without_personal_data(dispatched: Appeal) -> None:
    response = Client().get(
        "/track", {"number": dispatched.number.lower(), "phone_last4": PHONE[-4:]}
    )
    assert response.status_code == 200
    page = html(response)
    assert 'data-testid="track-result"' in page
    assert "已派单" in page and "已转交承办单位" in page and "住建局" in page
    for secret in (dispatched.submitter_name, PHONE, dispatched.content):
        assert secret not in page
    # No operator's or handler's name either.
    assert "王晓丽" not in page


# ----- ledger -----------------------------------------------------------------------------------


def test_ledger_simplified_query_finds_traditional_text(make_appeal: Any) -> None:
    trad = make_appeal(title="醫保報銷", content="母親異地就醫醫療保險報銷問題，請幫忙。")
    other = make_appeal()
    ledger = client_for("operator")

    page = html(ledger.get("/appeals/", {"q": "医疗保险"}))
    assert trad.number in page and other.number not in page

    # The same filter through htmx answers with the rows only.
    partial = ledger.get("/appeals/", {"q": "医疗 报销"}, headers={"HX-Request": "true"})
    assert partial.status_code == 200
    rows = html(partial)
    assert "<html" not in rows and trad.number in rows and other.number not in rows


def test_ledger_filters_by_status_and_rejects_unknown_values(
    dispatched: Appeal, make_appeal: Any
) -> None:
    fresh = make_appeal(title="路灯不亮", content="建设路北段路灯连续一周不亮，夜间行人不便。")
    ledger = client_for("supervisor")
    page = html(ledger.get("/appeals/", {"status": "dispatched"}))
    assert dispatched.number in page and fresh.number not in page
    response = ledger.get("/appeals/", {"status": "lost"})
    assert response.status_code == 400
    assert "无法识别的值 &#x27;lost&#x27;" in html(response)


def test_inbox_lists_what_the_unit_must_claim(dispatched: Appeal) -> None:
    page = html(client_for("handler-zjj").get("/appeals/inbox/"))
    to_claim = page.split('data-testid="to-claim"')[1].split("</section>")[0]
    assert dispatched.number in to_claim
