"""Industry chains (产业链) over the API and the pages: a leader, enterprises, open appeals,
projects; who may set them up and who may read them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kuaiban.enterprise.models import IndustryChain
from kuaiban.org.models import User
from kuaiban.projects import services as project_services

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(county: Any) -> Any:
    return project_services.project_create(
        actor=User.objects.get(username="leader"),
        data=project_services.ProjectInput(
            year=2026,
            name="城乡公交一体化",
            owner_unit="jtj",
            target="新开通城乡公交线路6条，新增新能源公交车30辆。",
        ),
    )


def put(client: Any, path: str, body: dict[str, Any]) -> Any:
    """PUT through the test API client (it speaks GET and POST itself)."""
    return client._wrap(
        client.client.put(
            f"/api/v1{path}",
            data=json.dumps(body),
            content_type="application/json",
            headers=client.headers,
        )
    )


def chain_body(*codes: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "新能源汽车零部件产业链",
        "leader": "leader",
        "description": "链长统筹要素保障、协调项目落地。",
        "enterprises": list(codes),
        **extra,
    }


def test_leader_sets_up_a_chain_and_reads_its_enterprises_appeals_and_projects(
    api: Any, ent: Any, make_appeal: Any, project: Any
) -> None:
    parts = ent("恒达汽车零部件有限公司")
    cells = ent("金泰电子元件有限公司")
    other = ent("瑞丰食品有限公司")
    make_appeal(
        channel="wechat",
        kind="help",
        title="新厂房用电增容",
        content="我公司新厂房需要增容，报装三个月未接电。",
        submitter_type="enterprise",
        enterprise_name=parts.name,
        credit_code=parts.credit_code,
    )
    make_appeal(
        channel="wechat",
        kind="help",
        title="冷库用地审批",
        content="冷库扩建用地手续迟迟未批。",
        submitter_type="enterprise",
        enterprise_name=other.name,
        credit_code=other.credit_code,
    )
    r = api("leader").post(
        "/chains", chain_body(parts.credit_code, cells.credit_code, projects=[project.pk])
    )
    assert r.status == 201, r.body
    assert r.body["leader"] == "leader" and r.body["enterprises"] == 2
    assert {m["name"] for m in r.body["members"]} == {parts.name, cells.name}
    assert [p["name"] for p in r.body["project_list"]] == ["城乡公交一体化"]
    # Only the chain's own enterprises' open appeals.
    assert [a["title"] for a in r.body["open_appeals"]] == ["新厂房用电增容"]
    listed = api("operator").get("/chains").body
    assert [(c["name"], c["enterprises"], c["projects"]) for c in listed] == [
        ("新能源汽车零部件产业链", 2, 1)
    ]
    # Replacing the members over PUT.
    put_r = put(
        api("supervisor"),
        f"/chains/{r.body['id']}",
        chain_body(other.credit_code, name="食品加工产业链"),
    )
    assert put_r.status == 200, put_r.body
    assert [a["title"] for a in put_r.body["open_appeals"]] == ["冷库用地审批"]
    assert put_r.body["project_list"] == []
    refused = put(api("operator"), f"/chains/{r.body['id']}", chain_body())
    assert refused.status == 403


def test_chain_rules_name_the_field(api: Any, ent: Any) -> None:
    e = ent()
    not_leader = api("leader").post("/chains", chain_body(e.credit_code, leader="handler-jfj"))
    assert not_leader.status == 400
    assert not_leader.body["errors"][0]["field"] == "leader"
    assert "县级领导" in not_leader.body["errors"][0]["message"]
    unknown = api("leader").post("/chains", chain_body("91330000MA0000000X", projects=[9999]))
    assert unknown.status == 400
    assert {e["field"] for e in unknown.body["errors"]} == {"enterprises", "projects"}
    assert api("leader").post("/chains", chain_body(e.credit_code)).status == 201
    again = api("leader").post("/chains", chain_body())
    assert again.status == 409 and "已存在" in again.body["detail"]


def test_only_leaders_and_supervisors_set_up_chains_and_handlers_read_none(
    api: Any, ent: Any, web: Any
) -> None:
    e = ent()
    for who in ("operator", "handler-jfj"):
        r = api(who).post("/chains", chain_body(e.credit_code))
        assert r.status == 403, who
        assert r.body["detail"]
    assert api("handler-jfj").get("/chains").status == 403
    assert not IndustryChain.objects.exists()
    assert web("handler-jfj").get("/enterprise/chains/").status_code == 403
    operator = web("operator")
    page = operator.get("/enterprise/chains/")
    assert page.status_code == 200 and 'data-testid="chain-form"' not in page.content.decode()
    refused = operator.post(
        "/enterprise/chains/", {"chain-name": "食品加工产业链", "chain-leader": "leader"}
    )
    assert refused.status_code == 403


def test_chain_pages(web: Any, ent: Any, assign: Any) -> None:
    e = ent("瑞丰食品有限公司")
    client = web("supervisor")
    bad = client.post("/enterprise/chains/", {"chain-name": "食品加工产业链", "chain-leader": ""})
    assert bad.status_code == 400
    made = client.post(
        "/enterprise/chains/",
        {
            "chain-name": "食品加工产业链",
            "chain-leader": "leader",
            "chain-enterprises": [e.credit_code],
        },
    )
    assert made.status_code == 302, made.content.decode()[:2000]
    chain = IndustryChain.objects.get()
    page = web("leader").get(f"/enterprise/chains/{chain.pk}/").content.decode()
    assert "食品加工产业链" in page and "瑞丰食品有限公司" in page
    assert "空缺" in page  # nobody holds 县级领导包解难题 for it yet
    assert web("leader").get("/enterprise/chains/").status_code == 200
    # The enterprise's own page names its chain for those who read chains, not for its official.
    assert "食品加工产业链" in web("leader").get(f"/enterprise/{e.credit_code}/").content.decode()
    assign("handler-jfj", e)
    own = web("handler-jfj").get(f"/enterprise/{e.credit_code}/").content.decode()
    assert "食品加工产业链" not in own
    assert web("leader").get("/enterprise/chains/999/").status_code == 404
