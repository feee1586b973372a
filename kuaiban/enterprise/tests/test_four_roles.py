"""四包 on an enterprise over HTTP: the four roles, who may set them, handing a role over."""

from __future__ import annotations

from typing import Any

import pytest

from kuaiban.enterprise.models import Assignment

pytestmark = pytest.mark.django_db


def seat(api: Any, code: str, role: str, **extra: Any) -> Any:
    return api(extra.pop("as_user", "leader")).post(
        "/assignments", {"enterprise": code, "role": role, **extra}
    )


def test_the_four_roles_are_held_and_shown(api: Any, ent: Any, web: Any) -> None:
    e = ent("商南县秦岭新能源汽车零部件有限公司")
    r = seat(api, e.credit_code, "leader", official="leader", duty="包保县领导")
    assert r.status == 201, r.body
    assert r.body["role"] == "leader" and r.body["role_label"]
    r = seat(api, e.credit_code, "approval", official="handler-xzsp")
    assert r.status == 201, r.body
    assert r.body["unit"] == {"code": "xzsp", "name": "行政审批局"}  # the official's own unit
    r = seat(api, e.credit_code, "responsible", official="handler-jfj", unit="chengguan")
    assert r.status == 201, r.body
    assert r.body["unit"]["name"] == "城关镇"
    assert seat(api, e.credit_code, "service", official="handler-rsj").status == 201

    detail = api("leader").get(f"/enterprises/{e.credit_code}").body
    roles = {o["role"]: o["username"] for o in detail["officials"]}
    assert roles == {
        "leader": "leader",
        "approval": "handler-xzsp",
        "responsible": "handler-jfj",
        "service": "handler-rsj",
    }
    page = web("leader").get(f"/enterprise/{e.credit_code}/").content.decode()
    assert "县级领导包解难题" in page and "审批部门包办手续" in page
    assert "责任单位包抓进度" in page and "业务骨干包联服务" in page
    assert 'data-role="responsible">人社局' not in page
    assert [a["official"] for a in api("leader").get("/assignments?role=approval").body] == [
        "handler-xzsp"
    ]


def test_a_role_has_one_holder_and_is_handed_over_on_purpose(api: Any, ent: Any) -> None:
    e = ent()
    assert seat(api, e.credit_code, "service", official="handler-rsj").status == 201
    again = seat(api, e.credit_code, "service", official="handler-zjj")
    assert again.status == 409
    assert "业务骨干包联服务" in again.body["detail"] and "替换" in again.body["detail"]
    handed = seat(api, e.credit_code, "service", official="handler-zjj", replace=True)
    assert handed.status == 201, handed.body
    active = Assignment.objects.filter(enterprise=e, ended_at__isnull=True)
    assert [a.official.username for a in active] == ["handler-zjj"]
    assert Assignment.objects.get(official__username="handler-rsj").ended_at is not None


def test_role_rules_name_the_field(api: Any, ent: Any) -> None:
    e = ent()
    not_leader = seat(api, e.credit_code, "leader", official="handler-jfj")
    assert not_leader.status == 400
    assert not_leader.body["errors"][0]["field"] == "official"
    assert "县级领导" in not_leader.body["errors"][0]["message"]
    bad_unit = seat(api, e.credit_code, "approval", official="handler-jfj", unit="火星局")
    assert bad_unit.status == 400 and bad_unit.body["errors"][0]["field"] == "unit"
    no_unit_role = seat(api, e.credit_code, "service", official="handler-jfj", unit="xzsp")
    assert no_unit_role.status == 400 and no_unit_role.body["errors"][0]["field"] == "unit"
    unknown = seat(api, e.credit_code, "boss", official="handler-jfj")
    assert unknown.status in (400, 422)
    assert not Assignment.objects.exists()


def test_only_leaders_and_supervisors_set_roles(api: Any, ent: Any, web: Any) -> None:
    e = ent()
    for who in ("operator", "handler-jfj"):
        r = seat(api, e.credit_code, "service", official="handler-rsj", as_user=who)
        assert r.status == 403, who
        assert "角色" in r.body["detail"]
    page = web("handler-jfj")
    assert page.post(
        f"/enterprise/{e.credit_code}/assign/",
        {"assign-official": "handler-rsj", "assign-role": "service"},
    ).status_code in (403, 404)
    leader_page = web("supervisor").post(
        f"/enterprise/{e.credit_code}/assign/",
        {"assign-official": "handler-rsj", "assign-role": "service", "assign-duty": "联络员"},
    )
    assert leader_page.status_code == 302
    assert Assignment.objects.get(enterprise=e).role == "service"
    taken = web("supervisor").post(
        f"/enterprise/{e.credit_code}/assign/",
        {"assign-official": "handler-zjj", "assign-role": "service"},
    )
    assert taken.status_code == 409
    assert "替换" in taken.content.decode()
