"""The REST contract of /api/v1/appeals, as other systems use it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kuaiban.appeals.models import Appeal, AppealEvent

pytestmark = pytest.mark.django_db

BODY = {
    "channel": "hotline",
    "kind": "complaint",
    "urgency": "normal",
    "title": "人民路路面坑洼",
    "content": "人民路从东门村到镇上这段路坑洼不平，下雨积水，已有电动车摔倒，请尽快修补。",
    "submitter": {"name": "李秀英", "phone": "13912345678", "type": "citizen"},
    "address": "人民路128号",
}


def create(api: Any, who: str = "operator", **changes: Any) -> Any:
    body = {**BODY, **changes}
    return api(who).post("/appeals", body)


def test_units_list(api: Any) -> None:
    r = api("operator").get("/units")
    assert r.status == 200
    names = {u["code"]: u["name"] for u in r.body}
    assert names["zjj"] == "住建局" and names["ybj"] == "医保局" and "chengguan" in names


def test_requires_a_bearer_token(api: Any) -> None:
    r = api(None).get("/appeals")
    assert r.status == 401
    assert r.headers["WWW-Authenticate"] == "Bearer"
    bad = api(None)
    bad.headers["Authorization"] = "Bearer kb_not-a-real-token"
    assert bad.get("/appeals").status == 401


def test_register_returns_201_with_number_and_status(api: Any, county: Any) -> None:
    r = create(api, region=county.villages[0].code)
    assert r.status == 201, r.body
    assert r.body["number"].startswith("KB") and r.body["status"] == "received"
    assert r.body["region"]["code"] == county.villages[0].code
    assert r.body["events"][0]["action"] == "register"
    assert r.body["events"][0]["to_status"] == "received"
    assert r.body["received_at"].endswith("+08:00")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"content": ""}, "content"),
        ({"content": "很" * 5001}, "content"),
        ({"submitter": {"phone": "1381234", "type": "citizen"}}, "submitter.phone"),
        (
            {"submitter": {"type": "enterprise", "credit_code": "91330000123456789X"}},
            "submitter.credit_code",
        ),
        ({"channel": "carrier-pigeon"}, "channel"),
        ({"kind": None}, "kind"),
        ({"region": "nowhere"}, "region"),
        ({"occurred_at": "2999-01-01T00:00:00+08:00"}, "occurred_at"),
    ],
)
def test_register_bad_input_is_400_with_field(
    api: Any, changes: dict[str, Any], field: str
) -> None:
    before = Appeal.objects.count()
    r = create(api, **changes)
    assert r.status == 400, r.body
    assert r.body["detail"]
    assert field in [e["field"] for e in r.body["errors"]], r.body
    assert Appeal.objects.count() == before


@pytest.mark.parametrize(
    ("language", "missing", "choice"),
    [
        ("zh-hans", "此项为必填项。", "取值无效，只能是："),
        ("en", "This field is required.", "Must be one of: "),
    ],
)
def test_schema_errors_speak_the_users_language(
    api: Any, language: str, missing: str, choice: str
) -> None:
    body = {k: v for k, v in BODY.items() if k != "content"} | {"channel": "信鸽"}
    r = api("operator").post("/appeals", body, headers={"Accept-Language": language})
    assert r.status == 400, r.body
    messages = {e["field"]: e["message"] for e in r.body["errors"]}
    assert messages["content"] == missing
    assert messages["channel"].startswith(choice) and "'hotline'" in messages["channel"]


def test_malformed_json_is_400(api: Any) -> None:
    client = api("operator")
    response = client.client.post(
        "/api/v1/appeals", data="{not json", content_type="application/json", headers=client.headers
    )
    assert response.status_code == 400


def test_handler_cannot_register(api: Any) -> None:
    r = create(api, who="handler-zjj")
    assert r.status == 403
    assert r.body["detail"]


def full_loop(api: Any) -> str:
    number = create(api).body["number"]
    r = api("operator").post(f"/appeals/{number}/dispatch", {"unit": "jtj", "co_units": ["cgj"]})
    assert r.status == 200, r.body
    assert r.body["lead_unit"]["code"] == "jtj" and r.body["co_units"][0]["code"] == "cgj"
    assert r.body["claim_due"] and r.body["reply_due"].endswith("+08:00")
    assert api("handler-jtj").post(f"/appeals/{number}/claim", {}).status == 200
    r = api("handler-cgj").post(
        f"/appeals/{number}/assist", {"result": "resolved", "text": "已清理路边占道摊点。"}
    )
    assert r.status == 200, r.body
    r = api("handler-jtj").post(
        f"/appeals/{number}/reply", {"result": "resolved", "text": "已安排养护队修补路面。"}
    )
    assert r.status == 200 and r.body["status"] == "replied" and r.body["visit_due"]
    r = api("supervisor").post(
        f"/appeals/{number}/visit",
        {"reached": True, "resolved": True, "satisfaction": "satisfied", "authentic": True},
    )
    assert r.body["status"] == "visited"
    r = api("supervisor").post(f"/appeals/{number}/close", {"note": "核查办结"})
    assert r.status == 200 and r.body["status"] == "closed"
    return number


def test_full_loop_over_the_api(api: Any) -> None:
    number = full_loop(api)
    r = api("leader").get(f"/appeals/{number}")
    assert [e["action"] for e in r.body["events"]] == [
        "register",
        "dispatch",
        "claim",
        "assist",
        "reply",
        "visit",
        "close",
    ]
    first = r.body["events"][1]
    assert set(first) >= {"at", "actor", "action", "from_status", "to_status", "note"}
    assert first["from_status"] == "received" and first["to_status"] == "dispatched"


def test_wrong_status_is_409(api: Any) -> None:
    number = create(api).body["number"]
    r = api("supervisor").post(f"/appeals/{number}/close", {})
    assert r.status == 409
    assert r.body["detail"]


def test_other_units_get_404_and_nothing_changes(api: Any) -> None:
    number = create(api).body["number"]
    api("operator").post(f"/appeals/{number}/dispatch", {"unit": "jtj"})
    assert api("handler-zjj").get(f"/appeals/{number}").status == 404
    assert api("handler-zjj").post(f"/appeals/{number}/claim", {}).status == 404
    assert api("operator").post(f"/appeals/{number}/claim", {}).status == 403
    assert AppealEvent.objects.filter(appeal__number=number, action="claim").count() == 0


def test_return_requires_reason(api: Any) -> None:
    number = create(api).body["number"]
    api("operator").post(f"/appeals/{number}/dispatch", {"unit": "jtj"})
    r = api("handler-jtj").post(f"/appeals/{number}/return", {"reason": ""})
    assert r.status == 400 and r.body["errors"][0]["field"] == "reason"
    r = api("handler-jtj").post(f"/appeals/{number}/return", {"reason": "属于乡镇管养道路"})
    assert r.status == 200 and r.body["status"] == "received" and r.body["lead_unit"] is None


def test_dispatch_to_unknown_unit_is_400(api: Any) -> None:
    number = create(api).body["number"]
    r = api("operator").post(f"/appeals/{number}/dispatch", {"unit": "moon"})
    assert r.status == 400 and r.body["errors"] == [
        {"field": "unit", "message": r.body["errors"][0]["message"]}
    ]


def test_merge_and_invalidate_and_answer(api: Any) -> None:
    a = create(api).body["number"]
    b = create(api, content="人民路坑洼问题，同上。").body["number"]
    r = api("operator").post(f"/appeals/{b}/merge", {"into": a})
    assert r.status == 200 and r.body["status"] == "merged" and r.body["merged_into"] == a
    c = create(api, content="打骚扰电话测试").body["number"]
    r = api("operator").post(f"/appeals/{c}/invalidate", {"reason": "骚扰电话"})
    assert r.body["status"] == "invalid"
    d = create(api, kind="consultation", content="请问城乡居民医保什么时候缴费？").body["number"]
    r = api("operator").post(f"/appeals/{d}/answer", {"text": "每年9月至12月缴费。"})
    assert r.body["status"] == "replied" and r.body["reply_result"] == "resolved"


def test_phone_masked_for_roles_that_do_not_need_it(api: Any) -> None:
    number = create(api).body["number"]
    api("operator").post(f"/appeals/{number}/dispatch", {"unit": "jtj", "co_units": ["cgj"]})
    assert api("operator").get(f"/appeals/{number}").body["submitter"]["phone"] == "13912345678"
    assert api("handler-jtj").get(f"/appeals/{number}").body["submitter"]["phone"] == "13912345678"
    assert api("leader").get(f"/appeals/{number}").body["submitter"]["phone"] == "139****5678"
    assert api("handler-cgj").get(f"/appeals/{number}").body["submitter"]["phone"] == "139****5678"


def test_id_number_masked(api: Any) -> None:
    body = {**BODY, "submitter": {"type": "citizen", "id_number": "11010519491231002X"}}
    number = api("operator").post("/appeals", body).body["number"]
    assert (
        api("operator").get(f"/appeals/{number}").body["submitter"]["id_number"]
        == "11010519491231002X"
    )
    assert (
        api("leader").get(f"/appeals/{number}").body["submitter"]["id_number"]
        == "1101**********002X"
    )


def test_reports_visible_only_to_supervisors_and_lead_unit(api: Any) -> None:
    number = create(api, kind="report", content="某化工厂夜间偷排废水，请查处。").body["number"]
    assert api("operator").get(f"/appeals/{number}").status == 404
    assert api("leader").get(f"/appeals/{number}").status == 404
    assert api("supervisor").get(f"/appeals/{number}").status == 200
    api("supervisor").post(f"/appeals/{number}/dispatch", {"unit": "sthj", "co_units": ["scjg"]})
    assert api("handler-sthj").get(f"/appeals/{number}").status == 200
    assert api("handler-scjg").get(f"/appeals/{number}").status == 404
    listed = api("leader").get("/appeals").body["items"]
    assert number not in [a["number"] for a in listed]


def test_list_filters_search_and_cursor(api: Any, county: Any) -> None:
    numbers = []
    for i in range(5):
        numbers.append(
            create(api, content=f"第{i}户暖气不热，请维修。", channel="mailbox").body["number"]
        )
    trad = create(api, content="母親異地就醫醫療保險報銷問題，請幫忙。", title="醫保報銷").body[
        "number"
    ]
    other = create(api, channel="grid", content="网格员上报：路灯不亮。").body["number"]
    client = api("supervisor")
    r = client.get("/appeals", channel="mailbox", limit=2)
    assert r.status == 200 and len(r.body["items"]) == 2 and r.body["next_cursor"]
    seen = [a["number"] for a in r.body["items"]]
    while r.body["next_cursor"]:
        r = client.get("/appeals", channel="mailbox", limit=2, cursor=r.body["next_cursor"])
        seen += [a["number"] for a in r.body["items"]]
    assert sorted(seen) == sorted(numbers) and len(seen) == len(set(seen))
    found = client.get("/appeals", q="医疗保险").body["items"]
    assert [a["number"] for a in found] == [trad]
    assert [a["number"] for a in client.get("/appeals", q="医保").body["items"]] == [trad]
    assert other in [a["number"] for a in client.get("/appeals", channel="grid").body["items"]]
    assert client.get("/appeals", status="closed").body["items"] == []
    today = dt.date.today()
    assert len(client.get("/appeals", **{"from": today.isoformat()}).body["items"]) == 7
    assert (
        client.get("/appeals", **{"to": (today - dt.timedelta(days=400)).isoformat()}).body["items"]
        == []
    )


def test_list_sorted_by_alert_pages_red_then_yellow_then_quiet(api: Any) -> None:
    red, quiet, yellow = (create(api).body["number"] for _ in range(3))
    # The sweep sets alerts (tested with the deadlines); here only the order of the list counts.
    Appeal.objects.filter(number=yellow).update(alert="yellow")
    Appeal.objects.filter(number=red).update(alert="red")
    client = api("supervisor")
    r = client.get("/appeals", sort="alert", limit=1)
    seen = [a["number"] for a in r.body["items"]]
    while r.body["next_cursor"]:
        r = client.get("/appeals", sort="alert", limit=1, cursor=r.body["next_cursor"])
        seen += [a["number"] for a in r.body["items"]]
    assert seen == [red, yellow, quiet]
    newest_first = [a["number"] for a in client.get("/appeals").body["items"]]
    assert newest_first == [yellow, quiet, red]
    bad = client.get("/appeals", sort="loudest")
    assert bad.status == 400 and bad.body["errors"][0]["field"] == "sort"


def test_list_bad_filters_are_400(api: Any) -> None:
    client = api("supervisor")
    r = client.get("/appeals", status="flying")
    assert r.status == 400 and r.body["errors"][0]["field"] == "status"
    assert client.get("/appeals", cursor="garbage!!").status == 400
    assert client.get("/appeals", limit=0).status == 400
    assert client.get("/appeals", **{"from": "yesterday"}).status == 400


def test_handler_lists_only_own_unit(api: Any) -> None:
    mine = create(api).body["number"]
    theirs = create(api).body["number"]
    api("operator").post(f"/appeals/{mine}/dispatch", {"unit": "zjj"})
    api("operator").post(f"/appeals/{theirs}/dispatch", {"unit": "jtj"})
    items = [a["number"] for a in api("handler-zjj").get("/appeals").body["items"]]
    assert items == [mine]


def test_openapi_document(api: Any) -> None:
    r = api(None).client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for p in ("/api/v1/appeals", "/api/v1/appeals/{number}", "/api/v1/appeals/{number}/claim"):
        assert p in paths
    assert api(None).client.get("/api/v1/docs").status_code == 200


def test_a_map_pin_is_stored_and_a_half_point_is_refused(api: Any) -> None:
    r = create(api, lat=34.7365, lng=116.9312)
    assert r.status == 201, r.body
    assert (r.body["lat"], r.body["lng"]) == (34.7365, 116.9312)
    before = Appeal.objects.count()
    r = create(api, lat=34.7365)
    assert r.status == 400 and r.body["errors"][0]["field"] == "lng"
    assert Appeal.objects.count() == before
