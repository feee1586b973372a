"""The enterprise registry over HTTP: create, validate, role-scoped reads, its appeals."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import QuerySet

from kuaiban.appeals.models import Appeal
from kuaiban.enterprise import industries
from kuaiban.enterprise.models import Enterprise, EnterpriseAppeal, Industry
from kuaiban.enterprise.tests.conftest import bad_check_digit, code

pytestmark = pytest.mark.django_db

NEW = {
    "credit_code": code(501),
    "name": "清河县华远新材料科技有限公司",
    "industry": "C",
    "size": "规上",
    "township": "城关镇",
    "address": "兴业大道88号",
    "contact_name": "李丽华",
    "contact_phone": "13905316688",
}


def test_industries_are_the_twenty_sections_of_gbt_4754(api: Any) -> None:
    r = api("operator").get("/industries")
    assert r.status == 200
    assert [i["code"] for i in r.body] == list("ABCDEFGHIJKLMNOPQRST")
    assert {i["code"]: i["name"] for i in r.body} == {c: zh for c, zh, _en in industries.SECTIONS}
    assert Industry.objects.get(code="C").name == "制造业"


def test_operator_registers_an_enterprise(api: Any) -> None:
    r = api("operator").post("/enterprises", NEW)
    assert r.status == 201, r.body
    assert r.body["credit_code"] == NEW["credit_code"]
    assert r.body["industry"] == {"code": "C", "name": "制造业"}
    assert r.body["size"] == "above"
    assert r.body["township"]["name"] == "城关镇"
    assert r.body["contacts"] == [{"name": "李丽华", "position": "", "phone": "13905316688"}]


def test_bad_credit_code_is_refused_with_a_clear_field_error(api: Any) -> None:
    for bad in (bad_check_digit(code(502)), "91330000MA12345", "这不是代码"):
        r = api("operator").post("/enterprises", {**NEW, "credit_code": bad})
        assert r.status == 400, bad
        assert r.body["errors"][0]["field"] == "credit_code"
        assert "统一社会信用代码" in r.body["errors"][0]["message"]
    assert not Enterprise.objects.exists()


def test_every_invalid_field_is_reported_at_once(api: Any) -> None:
    r = api("operator").post(
        "/enterprises",
        {**NEW, "industry": "Z", "size": "巨型", "contact_phone": "12345", "township": "火星乡"},
    )
    assert r.status == 400
    assert {e["field"] for e in r.body["errors"]} == {
        "industry",
        "size",
        "contact_phone",
        "township",
    }


def test_the_credit_code_is_the_key(api: Any) -> None:
    assert api("operator").post("/enterprises", NEW).status == 201
    again = api("operator").post("/enterprises", {**NEW, "name": "另一个名字"})
    assert again.status == 409
    assert Enterprise.objects.count() == 1


def test_a_registration_racing_another_desk_is_a_409_not_a_500(
    api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert api("operator").post("/enterprises", NEW).status == 201
    # The other desk's row lands between the duplicate check and the insert: the check sees
    # nothing, the unique constraint refuses the insert.
    exists = QuerySet.exists

    def check_misses_the_row(qs: QuerySet[Any]) -> bool:
        return False if qs.model is Enterprise else exists(qs)

    monkeypatch.setattr(QuerySet, "exists", check_misses_the_row)
    again = api("operator").post("/enterprises", {**NEW, "name": "另一个名字"})
    assert again.status == 409 and again.body["code"] == "duplicate", again.body
    assert NEW["credit_code"] in again.body["detail"]
    monkeypatch.undo()
    assert list(Enterprise.objects.values_list("name", flat=True)) == [NEW["name"]]


def test_handlers_and_leaders_may_not_edit_the_registry(api: Any) -> None:
    for username in ("handler-zjj", "leader", "visitor"):
        r = api(username).post("/enterprises", NEW)
        assert r.status == 403, username
    assert not Enterprise.objects.exists()


def test_an_official_sees_only_the_enterprises_assigned_to_them(
    api: Any, ent: Any, assign: Any, web: Any
) -> None:
    mine = ent("清河县兴业机械制造有限公司")
    other = ent("瑞丰食品有限公司")
    assign("handler-jfj", mine)

    listed = api("handler-jfj").get("/enterprises")
    assert [e["credit_code"] for e in listed.body["items"]] == [mine.credit_code]
    assert api("handler-jfj").get(f"/enterprises/{other.credit_code}").status == 404
    assert api("handler-jfj").get(f"/enterprises/{mine.credit_code}").status == 200
    # Another unit's handler with no assignment sees nothing.
    assert api("handler-zjj").get("/enterprises").body["items"] == []

    page = web("handler-jfj").get("/enterprise/")
    assert page.status_code == 200
    assert "兴业机械" in page.content.decode() and "瑞丰食品" not in page.content.decode()
    assert web("handler-jfj").get(f"/enterprise/{other.credit_code}/").status_code == 404


def test_leaders_see_every_enterprise(api: Any, ent: Any, web: Any) -> None:
    ent("清河县兴业机械制造有限公司")
    ent("瑞丰食品有限公司", industry="C", size="below")
    r = api("leader").get("/enterprises")
    assert r.body["total"] == 2
    page = web("leader").get("/enterprise/").content.decode()
    assert "兴业机械" in page and "瑞丰食品" in page


def test_contact_phones_are_in_full_only_for_the_desk_and_the_enterprises_officials(
    api: Any, ent: Any, assign: Any, web: Any
) -> None:
    e = ent("清河县兴业机械制造有限公司", contact=("王建军", "13905310001"))
    assign("handler-jfj", e)
    path = f"/enterprises/{e.credit_code}"
    for username in ("operator", "supervisor", "admin", "handler-jfj"):
        assert api(username).get(path).body["contacts"][0]["phone"] == "13905310001", username
    # A leader reads every enterprise but, as in the ledger, phones masked ...
    assert api("leader").get(path).body["contacts"][0]["phone"] == "139****0001"
    listed = api("leader").get("/enterprises").body["items"]
    assert listed[0]["contacts"][0]["phone"] == "139****0001"
    page = web("leader").get(f"/enterprise/{e.credit_code}/").content.decode()
    assert "139****0001" in page and "13905310001" not in page
    # ... unless the enterprise is assigned to them (包保 county leader).
    assign("leader", e, duty="包保县领导")
    assert api("leader").get(path).body["contacts"][0]["phone"] == "13905310001"
    page = web("handler-jfj").get(f"/enterprise/{e.credit_code}/").content.decode()
    assert "13905310001" in page


def test_ending_an_assignment_ends_the_officials_view(api: Any, ent: Any, assign: Any) -> None:
    mine = ent()
    assignment = assign("handler-jfj", mine)
    assert api("handler-jfj").get("/enterprises").body["total"] == 1
    # An official cannot end their own assignment; a leader can.
    assert api("handler-jfj").post(f"/assignments/{assignment.pk}/end").status == 403
    assert api("leader").post(f"/assignments/{assignment.pk}/end").status == 200
    assert api("handler-jfj").get("/enterprises").body["total"] == 0
    assert api("leader").post(f"/assignments/{assignment.pk}/end").status == 409


def test_assignments_over_the_api(api: Any, ent: Any) -> None:
    e = ent()
    r = api("leader").post(
        "/assignments", {"official": "handler-rsj", "enterprise": e.credit_code, "duty": "联络员"}
    )
    assert r.status == 201, r.body
    assert r.body["official"] == "handler-rsj" and r.body["enterprise"] == e.credit_code
    twice = api("leader").post(
        "/assignments", {"official": "handler-rsj", "enterprise": e.credit_code}
    )
    assert twice.status == 409
    assert (
        api("operator")
        .post("/assignments", {"official": "handler-zjj", "enterprise": e.credit_code})
        .status
        == 403
    )
    neither = api("leader").post("/assignments", {"official": "handler-zjj"})
    assert neither.status == 400
    # An official lists only their own assignments.
    assert [a["official"] for a in api("handler-rsj").get("/assignments").body] == ["handler-rsj"]
    assert api("handler-zjj").get("/assignments").body == []


def test_enterprise_page_shows_all_its_appeals_and_their_state(
    ent: Any, make_appeal: Any, web: Any, assign: Any
) -> None:
    e = ent("清河县兴业机械制造有限公司")
    first = make_appeal(
        channel="wechat",
        kind="help",
        title="新厂房用电增容",
        content="我公司新厂房需要增容，报装三个月未接电。",
        submitter_type="enterprise",
        enterprise_name=e.name,
        credit_code=e.credit_code,
    )
    make_appeal(
        title="别家企业的诉求",
        content="与本企业无关。",
        submitter_type="enterprise",
        enterprise_name="别家公司",
        credit_code=code(777),
    )
    from kuaiban.appeals.services import appeal_dispatch
    from kuaiban.org.models import User

    appeal_dispatch(actor=User.objects.get(username="operator"), number=first.number, unit="jfj")
    page = web("operator").get(f"/enterprise/{e.credit_code}/").content.decode()
    assert first.number in page
    assert "新厂房用电增容" in page and "已派单" in page
    assert "别家企业的诉求" not in page
    # The official who looks after it sees its appeals too (and may open the ones their unit holds).
    assign("handler-jfj", e)
    page = web("handler-jfj").get(f"/enterprise/{e.credit_code}/").content.decode()
    assert f'href="/appeals/{first.number}/"' in page


def test_an_appeal_with_a_known_credit_code_links_after_commit(
    ent: Any, make_appeal: Any, django_capture_on_commit_callbacks: Any
) -> None:
    e = ent()
    with django_capture_on_commit_callbacks(execute=True):
        appeal = make_appeal(
            channel="hotline",
            kind="help",
            title="企业贷款担保",
            content="企业流动资金贷款需要担保，希望协调融资担保公司。",
            submitter_type="enterprise",
            enterprise_name=e.name,
            credit_code=e.credit_code,
        )
        citizen = make_appeal()
    link = EnterpriseAppeal.objects.get(appeal=appeal)
    assert link.enterprise == e and link.source == "credit_code" and link.topic == "financing"
    assert not EnterpriseAppeal.objects.filter(appeal=citizen).exists()


def test_appeals_registered_before_the_enterprise_link_when_it_is_registered(
    make_appeal: Any, api: Any
) -> None:
    appeal = make_appeal(
        title="技改补贴未兑现",
        content="去年申报的技改补贴至今未兑现。",
        submitter_type="enterprise",
        enterprise_name="清河县华远新材料科技有限公司",
        credit_code=NEW["credit_code"],
    )
    assert api("operator").post("/enterprises", NEW).status == 201
    link = EnterpriseAppeal.objects.get(appeal=appeal)
    assert link.topic == "subsidies"
    detail = api("operator").get(f"/enterprises/{NEW['credit_code']}")
    assert [a["number"] for a in detail.body["appeals"]] == [appeal.number]
    assert Appeal.objects.count() == 1


def test_web_registration_form_shows_errors_beside_fields(web: Any) -> None:
    r = web("operator").post("/enterprise/new/", {**NEW, "size": "巨型"})
    assert r.status_code == 400
    assert 'data-field="size"' in r.content.decode()
    form = {**NEW, "size": "above", "township": ""}
    r = web("operator").post("/enterprise/new/", {**form, "credit_code": code(503)[:-1] + "Z"})
    assert r.status_code == 400
    assert 'data-field="credit_code"' in r.content.decode()
    ok = web("operator").post("/enterprise/new/", form)
    assert ok.status_code == 302
    assert web("handler-zjj").get("/enterprise/new/").status_code == 403


def test_the_sections_come_back_if_the_table_was_emptied(api: Any) -> None:
    # A flush between transactional tests (or a careless admin) empties the migrated table.
    Industry.objects.all().delete()
    r = api("operator").post("/enterprises", NEW)
    assert r.status == 201, r.body
    assert Industry.objects.count() == 20
    assert len(api("operator").get("/industries").body) == 20
