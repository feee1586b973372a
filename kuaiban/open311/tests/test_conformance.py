"""GeoReport v2 conformance: every endpoint in .json and .xml, including the error cases.

XML is parsed with xml.etree and checked element by element against the names (and order) the
specification gives; JSON against its Spark-convention mapping.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from kuaiban.appeals import services as appeals
from kuaiban.appeals.models import Appeal, Category
from kuaiban.core import clock
from kuaiban.integrations import services as integrations
from kuaiban.open311.models import Open311Request
from kuaiban.open311.tests.conftest import DESCRIPTION, FORMATS, HEATING, NOISE, Open311Client
from kuaiban.org.models import User

pytestmark = pytest.mark.django_db

DISCOVERY = ["changeset", "contact", "key_service", "endpoints"]
ENDPOINT = ["specification", "url", "changeset", "type", "formats"]
SERVICE = ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
ATTRIBUTE = [
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
    "values",
]
POSTED = ["service_request_id", "service_notice", "account_id"]
REQUEST = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
W3 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")
DATATYPES = {"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"}


def tags(element: Any) -> list[str]:
    return [child.tag for child in element]


# ----- discovery --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery(o311: Open311Client, county: Any, fmt: str) -> None:
    a = o311.get("discovery", fmt)
    assert a.status == 200
    if fmt == "xml":
        assert a.xml is not None and a.xml.tag == "discovery"
        assert tags(a.xml) == DISCOVERY
        endpoints = a.xml.find("endpoints")
        assert endpoints is not None and tags(endpoints) == ["endpoint"]
        endpoint = endpoints[0]
        assert tags(endpoint) == ENDPOINT
        assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
        assert endpoint.findtext("url") == "http://testserver/open311/v2"
        assert endpoint.findtext("type") == "production"
        assert [f.text for f in endpoint.find("formats") or []] == ["text/xml", "application/json"]
        assert all(f.tag == "format" for f in endpoint.find("formats") or [])
    else:
        assert list(a.json) == DISCOVERY
        endpoint = a.json["endpoints"][0]
        assert list(endpoint) == ENDPOINT
        assert endpoint["url"] == "http://testserver/open311/v2"
        assert endpoint["formats"] == ["text/xml", "application/json"]
        assert a.json["changeset"] == endpoint["changeset"]


# ----- services ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_services_one_per_category(o311: Open311Client, county: Any, fmt: str) -> None:
    a = o311.get("services", fmt)
    assert a.status == 200
    if fmt == "xml":
        assert a.xml is not None and a.xml.tag == "services"
        services = []
        for service in a.xml:
            assert service.tag == "service"
            assert tags(service) == SERVICE
            services.append({child.tag: child.text for child in service})
    else:
        services = a.json
        assert all(list(s) == SERVICE for s in services)
    assert len(services) == Category.objects.count()
    by_code = {s["service_code"]: s for s in services}
    heating = by_code[HEATING]
    assert heating["service_name"] == "冬季采暖"
    assert heating["group"] == "城乡建设"
    assert heating["description"] == "城乡建设 / 城市建设和市政管理 / 冬季采暖"
    assert heating["type"] == "realtime"
    assert heating["metadata"] in ("true", True)
    assert "冬季采暖" in (heating["keywords"] or "")


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition_with_attributes(o311: Open311Client, county: Any, fmt: str) -> None:
    a = o311.get(f"services/{HEATING}", fmt)
    assert a.status == 200
    if fmt == "xml":
        assert a.xml is not None and a.xml.tag == "service_definition"
        assert tags(a.xml) == ["service_code", "attributes"]
        assert a.xml.findtext("service_code") == HEATING
        attributes = []
        for attribute in a.xml.find("attributes") or []:
            assert attribute.tag == "attribute" and tags(attribute) == ATTRIBUTE
            values = []
            for value in attribute.find("values") or []:
                assert value.tag == "value" and tags(value) == ["key", "name"]
                values.append({"key": value.findtext("key"), "name": value.findtext("name")})
            row: dict[str, Any] = {c.tag: c.text for c in attribute if c.tag != "values"}
            row["values"] = values
            row["variable"] = row["variable"] == "true"
            row["required"] = row["required"] == "true"
            row["order"] = int(row["order"])
            attributes.append(row)
    else:
        assert list(a.json) == ["service_code", "attributes"]
        attributes = a.json["attributes"]
        assert all(list(x) == ATTRIBUTE for x in attributes)
    codes = [x["code"] for x in attributes]
    assert codes == ["building", "indoor_temp", "vulnerable", "kind", "urgency"]
    assert [x["order"] for x in attributes] == [1, 2, 3, 4, 5]
    assert all(x["datatype"] in DATATYPES for x in attributes)
    building = attributes[0]
    assert building["required"] is True and building["datatype"] == "string"
    assert building["description"] == "楼栋及单元"
    vulnerable = attributes[2]
    assert vulnerable["values"] == [{"key": "yes", "name": "是"}, {"key": "no", "name": "否"}]
    kind = attributes[3]
    assert {v["key"] for v in kind["values"]} == {"complaint", "help", "consultation", "suggestion"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition_unknown_code_is_404(o311: Open311Client, county: Any, fmt: str) -> None:
    a = o311.get("services/C99.99", fmt)
    assert a.status == 404
    assert a.errors[0][0] == 404 and "C99.99" in a.errors[0][1]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("path", ["discovery", "services", f"services/{HEATING}", "requests"])
def test_jurisdiction_checked(o311: Open311Client, county: Any, fmt: str, path: str) -> None:
    assert o311.get(path, fmt, jurisdiction_id="kuaiban.local").status == 200
    assert o311.get(path, fmt, jurisdiction_id="").status == 200  # optional: same as absent
    wrong = o311.get(path, fmt, jurisdiction_id="sfgov.org")
    assert wrong.status == 404
    assert wrong.errors == [(404, "jurisdiction_id sfgov.org was not found.")] or (
        wrong.errors[0][0] == 404 and "sfgov.org" in wrong.errors[0][1]
    )


# ----- POST requests ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_creates_an_ordinary_appeal(
    o311: Open311Client, form: dict[str, Any], county: Any, fmt: str
) -> None:
    a = o311.post(fmt, form)
    assert a.status == 201, a.raw
    if fmt == "xml":
        assert a.xml is not None and a.xml.tag == "service_requests"
        request = a.xml[0]
        assert request.tag == "request" and tags(request) == POSTED
        number = request.findtext("service_request_id")
        assert request.findtext("account_id") == "user-20461"
        assert request.findtext("service_notice")
    else:
        assert len(a.json) == 1 and list(a.json[0]) == POSTED
        number = a.json[0]["service_request_id"]
        assert a.json[0]["account_id"] == "user-20461"
    appeal = Appeal.objects.get(number=number)
    assert appeal.channel == "app"  # the key's channel
    assert appeal.kind == "complaint" and appeal.urgency == "normal"
    assert appeal.category is not None and appeal.category.code == HEATING
    assert appeal.region == county.villages[0]
    assert appeal.address == "城关镇阳光花园小区5号楼"
    assert appeal.submitter_name == "王建华" and appeal.submitter_phone == "13812345678"
    assert appeal.created_by is None  # registered by the system on the key's behalf
    assert appeal.content.startswith(DESCRIPTION)
    assert "楼栋及单元：5号楼2单元" in appeal.content
    assert "家中是否有老人、婴幼儿或病人：是" in appeal.content
    event = appeal.events.get()
    assert event.action == "register"
    assert event.payload["source"] == "open311" and event.payload["api_key"] == "mobile-app"
    record = Open311Request.objects.get(appeal=appeal)
    assert str(record.lat) == "36.123456" and str(record.long) == "115.654321"
    assert record.attributes == {"building": "5号楼2单元", "indoor_temp": "14", "vulnerable": "yes"}
    assert record.email == "wangjh@example.com" and record.device_id == "android-5f3c2a"


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_kind_urgency_and_multivaluelist(
    o311: Open311Client, form: dict[str, Any], fmt: str
) -> None:
    for name in ("attribute[building]", "attribute[indoor_temp]", "attribute[vulnerable]"):
        form.pop(name)
    form.update(
        {
            "service_code": NOISE,
            "description": "滨河路建筑工地每天夜里施工到凌晨两点，噪声很大，影响休息。",
            "attribute[noise_source]": "construction",
            "attribute[noise_period][]": ["night", "day"],
            "attribute[kind]": "help",
            "attribute[urgency]": "urgent",
        }
    )
    a = o311.post(fmt, form)
    assert a.status == 201, a.raw
    appeal = Appeal.objects.get()
    assert appeal.kind == "help" and appeal.urgency == "urgent"
    assert "发生时段：夜间（22时至次日6时）、昼间（6时至22时）" in appeal.content
    assert Open311Request.objects.get().attributes["noise_period"] == ["night", "day"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_with_address_string_only(
    o311: Open311Client, key: str, county: Any, fmt: str
) -> None:
    a = o311.post(
        fmt,
        {
            "api_key": key,
            "service_code": "C01.02.01",
            "address_string": "人民路与建设街交叉口东北角",
            "description": "路口绿化带垃圾堆积多日无人清运。",
        },
    )
    assert a.status == 201, a.raw
    assert Appeal.objects.get().address == "人民路与建设街交叉口东北角"


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_with_address_id_only_answers_with_that_place(
    o311: Open311Client, key: str, county: Any, fmt: str
) -> None:
    # The specification: address "should be provided from the address_string or address_id".
    village = county.villages[0]
    a = o311.post(
        fmt,
        {
            "api_key": key,
            "service_code": "C01.02.01",
            "address_id": village.code,
            "description": "村口路灯坏了一个多月，晚上漆黑一片。",
        },
    )
    assert a.status == 201, a.raw
    appeal = Appeal.objects.get()
    assert appeal.region == village and appeal.address == ""
    [row] = o311.get(f"requests/{appeal.number}", fmt).requests()
    assert row["address_id"] == village.code
    assert row["address"] == f"{village.parent.name} / {village.name}"
    assert row["lat"] in (None, "") and row["long"] in (None, "")


POST_ERRORS = [
    ({"service_code": ""}, 400, "service_code"),
    ({"service_code": "C99.99"}, 404, "C99.99"),
    ({"lat": "", "long": "", "address_string": "", "address_id": ""}, 400, "location"),
    ({"long": ""}, 400, "long"),
    ({"lat": "91"}, 400, "lat"),
    ({"long": "东经115度"}, 400, "long"),
    ({"address_id": "999999"}, 400, "address_id"),
    ({"description": ""}, 400, "description"),
    ({"description": "很" * 4001}, 400, "description"),
    ({"phone": "12345"}, 400, "phone"),
    ({"email": "not-an-email"}, 400, "email"),
    ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ({"attribute[building]": ""}, 400, "attribute[building]"),
    ({"attribute[vulnerable]": "maybe"}, 400, "attribute[vulnerable]"),
    ({"attribute[indoor_temp]": "很冷"}, 400, "attribute[indoor_temp]"),
    ({"attribute[colour]": "red"}, 400, "attribute[colour]"),
    ({"attribute[]": "red"}, 400, "attribute[]"),
    ({"attribute[building][floor]": "3"}, 400, "attribute[building][floor]"),
    ({"attribute[kind]": "report"}, 400, "attribute[kind]"),
    ({"jurisdiction_id": "sfgov.org"}, 404, "jurisdiction_id"),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("change", "status", "mentions"), POST_ERRORS)
def test_post_errors(
    o311: Open311Client,
    form: dict[str, Any],
    fmt: str,
    change: dict[str, str],
    status: int,
    mentions: str,
) -> None:
    form.update(change)
    a = o311.post(fmt, form)
    assert a.status == status, a.raw
    assert all(code == status for code, _d in a.errors)
    assert any(mentions in description for _c, description in a.errors), a.errors
    assert Appeal.objects.count() == 0  # nothing half-written


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_reports_every_problem_at_once(
    o311: Open311Client, form: dict[str, Any], fmt: str
) -> None:
    form.update({"phone": "110", "email": "x", "attribute[building]": ""})
    a = o311.post(fmt, form)
    assert a.status == 400
    described = " ".join(d for _c, d in a.errors)
    assert len(a.errors) == 3
    assert "phone" in described and "email" in described and "attribute[building]" in described


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "api_key", [None, "", "kbk_not-a-key-we-issued"], ids=["missing", "empty", "unknown"]
)
def test_post_needs_a_valid_api_key(
    o311: Open311Client, form: dict[str, Any], fmt: str, api_key: str | None
) -> None:
    if api_key is None:
        form.pop("api_key")
    else:
        form["api_key"] = api_key
    a = o311.post(fmt, form)
    assert a.status == 403
    assert a.errors[0][0] == 403 and "api_key" in a.errors[0][1]
    assert Appeal.objects.count() == 0


@pytest.mark.parametrize("fmt", FORMATS)
def test_revoked_key_is_refused(o311: Open311Client, form: dict[str, Any], fmt: str) -> None:
    assert o311.post(fmt, form).status == 201
    integrations.apikey_revoke(name="mobile-app")
    a = o311.post(fmt, form)
    assert a.status == 403
    assert a.errors[0][1] == "该 api_key 已被吊销。"  # in the default language, Chinese
    assert Appeal.objects.count() == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_batch_key_gets_a_token_and_tokens_resolve_it(
    o311: Open311Client, form: dict[str, Any], county: Any, fmt: str
) -> None:
    made = integrations.apikey_create(name="grid-handsets", channel="grid", mode="batch")
    form["api_key"] = made.key
    a = o311.post(fmt, form)
    assert a.status == 201
    if fmt == "xml":
        assert a.xml is not None
        assert tags(a.xml[0]) == ["token", "service_notice", "account_id"]
        token = a.xml[0].findtext("token")
    else:
        assert list(a.json[0]) == ["token", "service_notice", "account_id"]
        token = a.json[0]["token"]
    appeal = Appeal.objects.get()
    assert appeal.channel == "grid"
    t = o311.get(f"tokens/{token}", fmt)
    assert t.status == 200
    if fmt == "xml":
        assert t.xml is not None and t.xml.tag == "service_requests"
        assert tags(t.xml[0]) == ["service_request_id", "token"]
    rows = t.requests()
    assert rows == [{"service_request_id": appeal.number, "token": token}]


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_token_is_404(o311: Open311Client, county: Any, fmt: str) -> None:
    a = o311.get("tokens/5f1b7c3e-0000-4000-8000-000000000000", fmt)
    assert a.status == 404 and a.errors[0][0] == 404


# ----- GET requests -----------------------------------------------------------------------------


def post(o311: Open311Client, form: dict[str, Any], **changes: Any) -> str:
    a = o311.post("json", {**form, **changes})
    assert a.status == 201, a.raw
    return str(a.json[0]["service_request_id"])


PERSONAL = ["王建华", "建华", "13812345678", "wangjh@example.com", "android-5f3c2a", "user-20461"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_request_shows_public_fields_only(
    o311: Open311Client, form: dict[str, Any], county: Any, fmt: str
) -> None:
    form["description"] = DESCRIPTION + "我是王建华，电话13812345678，邮箱wangjh@example.com。"
    number = post(o311, form)
    a = o311.get(f"requests/{number}", fmt)
    assert a.status == 200
    if fmt == "xml":
        assert a.xml is not None and a.xml.tag == "service_requests"
        assert tags(a.xml[0]) == REQUEST
    else:
        assert list(a.json[0]) == REQUEST
    [row] = a.requests()
    assert row["service_request_id"] == number
    assert row["status"] == "open"
    assert row["service_code"] == HEATING and row["service_name"] == "冬季采暖"
    assert row["address"] == "城关镇阳光花园小区5号楼"
    assert row["address_id"] == county.villages[0].code
    assert float(row["lat"] or 0) == pytest.approx(36.123456)
    assert float(row["long"] or 0) == pytest.approx(115.654321)
    assert row["media_url"] == "https://img.example.com/heating/5-2.jpg"
    assert W3.match(str(row["requested_datetime"])) and W3.match(str(row["updated_datetime"]))
    assert str(row["description"]).startswith(DESCRIPTION)
    body = a.raw.decode()
    for value in PERSONAL:
        assert value not in body, value
    for element in ("first_name", "last_name", "phone", "email", "device_id", "account_id"):
        assert f'"{element}"' not in body and f"<{element}>" not in body


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_request_follows_the_appeal(
    o311: Open311Client, form: dict[str, Any], county: Any, fmt: str
) -> None:
    number = post(o311, form)
    operator = User.objects.get(username="operator")
    handler = User.objects.get(username="handler-zjj")
    supervisor = User.objects.get(username="supervisor")
    appeals.appeal_dispatch(actor=operator, number=number, unit="zjj")
    [row] = o311.get(f"requests/{number}", fmt).requests()
    assert row["status"] == "open" and row["agency_responsible"] == "住建局"
    appeal = Appeal.objects.get(number=number)
    assert appeal.reply_due is not None
    assert str(row["expected_datetime"]) == appeal.reply_due.astimezone(
        dt.timezone(dt.timedelta(hours=8))
    ).isoformat(timespec="seconds")
    appeals.appeal_claim(actor=handler, number=number)
    appeals.appeal_reply(
        actor=handler,
        number=number,
        result="resolved",
        text="已安排热力公司上门排气检修，王建华家室温恢复到二十度，回访电话13812345678。",
    )
    appeals.appeal_visit(
        actor=supervisor,
        number=number,
        data=appeals.VisitInput(
            reached=True, resolved=True, satisfaction="satisfied", authentic=True
        ),
    )
    appeals.appeal_close(actor=supervisor, number=number)
    [row] = o311.get(f"requests/{number}", fmt).requests()
    assert row["status"] == "closed"
    assert str(row["status_notes"]).startswith("已安排热力公司上门排气检修")
    notes = str(row["status_notes"])
    assert "王建华" not in notes and "13812345678" not in notes
    closed = Appeal.objects.get(number=number)
    assert closed.ended_at is not None
    assert str(row["updated_datetime"]) == closed.ended_at.astimezone(
        dt.timezone(dt.timedelta(hours=8))
    ).isoformat(timespec="seconds")


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_request_unknown_is_404(o311: Open311Client, county: Any, fmt: str) -> None:
    a = o311.get("requests/KB20261123-999999", fmt)
    assert a.status == 404 and a.errors[0][0] == 404


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_requests_filters(
    o311: Open311Client, form: dict[str, Any], county: Any, fmt: str
) -> None:
    first = post(o311, form)
    second = post(o311, form, description="暖气片漏水，地板泡坏了。")
    noise = post(
        o311,
        {k: v for k, v in form.items() if not k.startswith("attribute")},
        service_code=NOISE,
        description="夜里广场舞音响太吵。",
        **{"attribute[noise_source]": "neighbour"},
    )
    appeals.appeal_invalidate(
        actor=User.objects.get(username="operator"), number=second, reason="重复来电"
    )

    def ids(**params: Any) -> set[str]:
        a = o311.get("requests", fmt, **params)
        assert a.status == 200, a.raw
        return {str(r["service_request_id"]) for r in a.requests()}

    assert ids() == {first, second, noise}
    assert ids(service_code=HEATING) == {first, second}
    assert ids(service_code=f"{HEATING},{NOISE}") == {first, second, noise}
    assert ids(status="open") == {first, noise}
    assert ids(status="closed") == {second}
    assert ids(status="open,closed") == {first, second, noise}
    # service_request_id overrides every other argument
    assert ids(service_request_id=f"{first},{second}", status="open") == {first, second}
    now = clock.now()
    assert ids(start_date=(now - dt.timedelta(days=1)).isoformat()) == {first, second, noise}
    assert ids(end_date=(now - dt.timedelta(days=1)).isoformat()) == set()
    assert ids(
        start_date=(now - dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        end_date=(now + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    ) == {first, second, noise}
    invalid = o311.get("requests", fmt, service_request_id=second).requests()[0]
    assert invalid["status"] == "closed" and "重复来电" not in str(invalid["status_notes"])


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("params", "mentions"),
    [
        ({"status": "pending"}, "status"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "2026-13-45"}, "end_date"),
        ({"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}, "90"),
        ({"start_date": "2026-06-01T00:00:00Z", "end_date": "2026-05-01T00:00:00Z"}, "start_date"),
        # The calendar's ends: 90 days before year 1 or after 9999 cannot be computed (was a 500).
        ({"end_date": "0001-01-01T00:00:00Z"}, "end_date"),
        ({"start_date": "9999-12-31T23:59:59Z"}, "start_date"),
        ({"start_date": "0001-01-01T00:00:00+08:00", "end_date": "0001-01-02T00:00:00Z"}, "1900"),
    ],
)
def test_get_requests_errors(
    o311: Open311Client, county: Any, fmt: str, params: dict[str, str], mentions: str
) -> None:
    a = o311.get("requests", fmt, **params)
    assert a.status == 400
    assert a.errors[0][0] == 400 and mentions in a.errors[0][1]


@pytest.mark.parametrize("fmt", FORMATS)
def test_private_key_requests_only_seen_with_that_key(
    o311: Open311Client, form: dict[str, Any], county: Any, fmt: str
) -> None:
    hotline = integrations.apikey_create(name="hotline-vendor", channel="hotline", public=False)
    number = post(o311, form, api_key=hotline.key)
    assert Appeal.objects.get(number=number).channel == "hotline"
    assert o311.get("requests", fmt).requests() == []
    assert o311.get(f"requests/{number}", fmt).status == 404
    other = o311.get(f"requests/{number}", fmt, api_key=form["api_key"])
    assert other.status == 404
    mine = o311.get(f"requests/{number}", fmt, api_key=hotline.key)
    assert mine.status == 200 and mine.requests()[0]["service_request_id"] == number
    listed = o311.get("requests", fmt, api_key=hotline.key).requests()
    assert [r["service_request_id"] for r in listed] == [number]


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_with_a_bad_api_key_is_403(o311: Open311Client, county: Any, fmt: str) -> None:
    a = o311.get("requests", fmt, api_key="kbk_wrong")
    assert a.status == 403 and a.errors[0][0] == 403


@pytest.mark.parametrize("fmt", FORMATS)
def test_ledger_appeals_from_other_channels_are_not_published(
    o311: Open311Client, make_appeal: Any, fmt: str
) -> None:
    appeal = make_appeal()
    assert o311.get("requests", fmt).requests() == []
    assert o311.get(f"requests/{appeal.number}", fmt).status == 404


# ----- HTTP plumbing ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_wrong_method_and_unknown_resource(o311: Open311Client, county: Any, fmt: str) -> None:
    response = o311.client.post(f"/open311/v2/services.{fmt}", {})
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"
    missing = o311.get("reports", fmt)
    assert missing.status == 404 and missing.errors[0][0] == 404


def test_only_json_and_xml(o311: Open311Client, county: Any) -> None:
    response = o311.client.get("/open311/v2/services.csv")
    assert response.status_code == 404
    assert response["Content-Type"] == "text/xml; charset=utf-8"


def test_errors_speak_the_client_language(o311: Open311Client, county: Any) -> None:
    chinese = o311.get("services/C99.99", "json")
    assert chinese.errors == [(404, "未找到 service_code C99.99。")]
    response = o311.client.get("/open311/v2/services/C99.99.json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.json() == [{"code": 404, "description": "service_code C99.99 was not found."}]


@pytest.mark.parametrize("fmt", FORMATS)
def test_updated_datetime_is_the_last_change(
    o311: Open311Client, form: dict[str, Any], county: Any, fmt: str
) -> None:
    posted_at = dt.datetime(2026, 11, 20, 1, 15, tzinfo=dt.UTC)
    with clock.frozen(posted_at):
        number = post(o311, form)
    with clock.frozen(posted_at + dt.timedelta(hours=3)):
        appeals.appeal_dispatch(
            actor=User.objects.get(username="operator"), number=number, unit="zjj"
        )
    [row] = o311.get(f"requests/{number}", fmt).requests()
    assert row["requested_datetime"] == "2026-11-20T09:15:00+08:00"
    assert row["updated_datetime"] == "2026-11-20T12:15:00+08:00"


@pytest.mark.parametrize("fmt", FORMATS)
def test_nul_characters_are_refused(o311: Open311Client, form: dict[str, Any], fmt: str) -> None:
    posted = o311.post(fmt, {**form, "description": "暖气不热\x00"})
    assert posted.status == 400 and posted.errors[0][0] == 400
    searched = o311.get("requests", fmt, service_request_id="KB\x00")
    assert searched.status == 400
    assert Appeal.objects.count() == 0
