"""The maps: the public one (blurred points, nothing personal, reports never), the pin on the
front door, and the staff map over the ledger's filter (only what the reader may see)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from kuaiban.appeals import services
from kuaiban.appeals.categories import load_default_tree
from kuaiban.appeals.models import Appeal, Category
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.org.demo import Directory
from kuaiban.portal.tests.conftest import Outbox

pytestmark = pytest.mark.django_db

# 城关镇东关街 as a resident's phone would give it: six decimals, about 0.1 m.
LAT, LNG = "34.723456", "116.934567"
BLURRED = (34.723, 116.935)
NAME, PHONE = "王建华", "13812345678"


def anonymous() -> Client:
    return Client(REMOTE_ADDR="203.0.113.30", HTTP_ACCEPT_LANGUAGE="zh-hans")


def staff(username: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(user(username))
    return client


def leaves() -> tuple[Category, Category]:
    """Two leaf categories under different top categories."""
    load_default_tree(Category)  # the tree its migration seeds, flushed by transactional tests
    first = Category.objects.filter(level=3).order_by("code").first()
    assert first is not None
    other = (
        Category.objects.filter(level=3)
        .exclude(code__startswith=first.code.split(".")[0] + ".")
        .order_by("code")
        .first()
    )
    assert other is not None
    return first, other


def points(**params: str) -> Any:
    r = anonymous().get("/api/v1/public/map", params)
    assert r.status_code == 200, r.content
    return r.json()["points"]


def test_the_public_map_sends_only_a_blurred_point_and_no_personal_data(
    make_appeal: Any,
) -> None:
    leaf, _other = leaves()
    appeal = make_appeal(lat=LAT, lng=LNG, category=leaf.code, address="东关街17号")
    r = anonymous().get("/api/v1/public/map")
    assert r.status_code == 200, r.content
    body = r.content.decode()
    (point,) = r.json()["points"]
    assert set(point) == {"category", "status", "status_label", "received", "lat", "lng"}
    assert (point["lat"], point["lng"]) == BLURRED
    assert point["category"] == leaf.name and point["status"] == "received"
    assert point["status_label"] == "已受理" or point["status_label"]
    assert point["received"] == timezone.localdate(appeal.received_at).isoformat()
    # The exact point, and anything finer than the grid, never leaves the server.
    for secret in (LAT, LNG, "34.7234", "116.9345", "116.9346"):
        assert secret not in body
    for personal in (appeal.number, NAME, PHONE, "暖气", "东关街", appeal.title):
        assert personal not in body


def test_reports_invalid_old_and_placeless_appeals_never_appear(
    make_appeal: Any, county: Directory
) -> None:
    shown = make_appeal(lat=LAT, lng=LNG)
    make_appeal(kind="report", title="某单位违规收费", lat="34.730001", lng="116.930001")
    make_appeal()  # no point
    spam = make_appeal(lat="34.740000", lng="116.940000")
    services.appeal_invalidate(actor=user("operator"), number=spam.number, reason="骚扰电话")
    with clock.frozen(timezone.now() - dt.timedelta(days=120)):
        make_appeal(lat="34.750000", lng="116.950000")
    assert [(p["lat"], p["lng"]) for p in points()] == [BLURRED]
    assert shown.lat is not None
    # A longer window brings the old one back; the report and the invalid one stay out.
    assert [(p["lat"], p["lng"]) for p in points(days="200")] == [BLURRED, (34.75, 116.95)]
    page = anonymous().get("/map/").content.decode()
    assert "违规收费" not in page and "34.730" not in page and "34.740" not in page


def test_the_public_map_filters_by_category_and_status(make_appeal: Any) -> None:
    leaf, other = leaves()
    heating = make_appeal(lat=LAT, lng=LNG, category=leaf.code)
    make_appeal(lat="34.700000", lng="116.900000", category=other.code)
    services.appeal_dispatch(
        actor=user("operator"), number=heating.number, unit="zjj", note="请住建局核实处理"
    )
    top = leaf.code.split(".")[0]  # a top category takes everything below it
    assert [p["category"] for p in points(category=top)] == [leaf.name]
    assert [p["lat"] for p in points(status="dispatched")] == [BLURRED[0]]
    assert [p["lat"] for p in points(status="received")] == [34.7]
    assert len(points(status="open")) == 2
    assert points(status="closed") == []
    page = anonymous().get("/map/", {"status": "dispatched"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "34.723, 116.935" in html and "34.700" not in html
    # The page's script reads the same filter from the API.
    assert 'data-points-url="/api/v1/public/map?status=dispatched"' in html


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "bogus"}, "status"),
        ({"status": "merged"}, "status"),
        ({"category": "C99.99"}, "category"),
        ({"category": "x" * 40}, "category"),
        ({"days": "0"}, "days"),
        ({"days": "366"}, "days"),
        ({"days": "abc"}, "days"),
        ({"days": "9999"}, "days"),
    ],
)
def test_a_bad_filter_is_a_400_naming_the_field(
    county: Directory, params: dict[str, str], field: str
) -> None:
    r = anonymous().get("/api/v1/public/map", params)
    assert r.status_code == 400, r.content
    assert field in [e["field"] for e in r.json()["errors"]]
    page = anonymous().get("/map/", params)
    assert page.status_code == 400
    html = page.content.decode()
    label = {"status": "状态", "category": "分类", "days": "天数"}[field]
    assert re.search(rf'data-testid="map-error">[^<]*{label}', html), html
    assert "问题地图" in html and "快办" in html  # the app's own layout, in Chinese


def test_the_public_map_page_works_offline_and_without_script(
    make_appeal: Any, county: Directory
) -> None:
    make_appeal(lat=LAT, lng=LNG)
    r = anonymous().get("/map/")
    assert r.status_code == 200
    html = r.content.decode()
    # No tiles configured (tests run offline): a plain background and a note saying so.
    assert 'data-tiles=""' in html and 'data-testid="map-no-tiles"' in html
    # The list carries the same points for a page without script.
    assert "34.723, 116.935" in html
    # Only the site's own scripts, Leaflet from the installed package among them; none inline.
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all("src=" in attrs for attrs in scripts)
    assert "/static/vendor/leaflet/leaflet.js" in html
    for asset in ("vendor/leaflet/leaflet.js", "vendor/leaflet/leaflet.css", "kuaiban/map.js"):
        served = anonymous().get(f"/static/{asset}")
        assert served.status_code == 200, asset
        b"".join(served.streaming_content)  # type: ignore[attr-defined]
    policy = dict(d.strip().split(" ", 1) for d in r.headers["Content-Security-Policy"].split(";"))
    assert "'unsafe-inline'" not in policy["script-src"] and "'self'" in policy["script-src"]
    # The public finds it in the menu.
    assert 'href="/map/"' in anonymous().get("/submit/").content.decode()


def _settings_with(**env: str) -> subprocess.CompletedProcess[str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("KUAIBAN_MAP_")}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, kuaiban.settings as s; "
            "print(json.dumps(s.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src']))",
        ],
        env={**keep, **env},
        capture_output=True,
        text=True,
    )


def test_the_tile_host_from_the_setting_is_allowed_by_the_csp() -> None:
    tianditu = _settings_with(
        KUAIBAN_MAP_TILES_URL="https://t{s}.tianditu.gov.cn/vec_w/wmts?tk=KEY&x={x}&y={y}&z={z}"
    )
    assert tianditu.returncode == 0, tianditu.stderr
    assert "https://*.tianditu.gov.cn" in json.loads(tianditu.stdout)
    osm = _settings_with(KUAIBAN_MAP_TILES_URL="https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    assert "https://tile.openstreetmap.org" in json.loads(osm.stdout)
    assert json.loads(_settings_with().stdout) == ["'self'", "data:", "blob:"]
    for bad in (
        {"KUAIBAN_MAP_TILES_URL": "javascript:alert(1)"},
        {"KUAIBAN_MAP_CENTER": "34.7,116.9"},
        {"KUAIBAN_MAP_CENTER": "134.7,116.9,11"},
        {"KUAIBAN_MAP_PUBLIC_DAYS": "0"},
    ):
        failed = _settings_with(**bad)
        assert failed.returncode != 0 and "KUAIBAN_MAP_" in failed.stderr, bad


def test_the_submit_page_has_the_pin_and_still_works_by_address(county: Directory) -> None:
    page = anonymous().get("/submit/mailbox/")
    assert page.status_code == 200
    html = page.content.decode()
    assert re.search(r'<input type="hidden" name="lat"[^>]*id="id_lat"', html)
    assert re.search(r'<input type="hidden" name="lng"', html)
    assert 'data-map="pin"' in html and "使用我的位置" in html
    # Without script the map stays hidden and the address field is there.
    assert re.search(r"<div data-map-wrap hidden>", html) and 'name="address"' in html


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_pin_is_stored_with_the_appeal_and_a_bad_one_is_shown_beside_the_map(
    outbox: Outbox,
) -> None:
    c = anonymous()
    assert c.post("/submit/", {"action": "code", "phone": "13912345678"}).status_code == 200
    code = re.search(r"验证码是(\d{6})", outbox.texts("13912345678")[-1]).group(1)  # type: ignore[union-attr]
    form = {
        "kind": "complaint",
        "content": "东关街菜市场门口的路灯坏了一个月，晚上很黑，请尽快修好。",
        "phone": "13912345678",
        "code": code,
        "action": "submit",
    }
    bad = c.post("/submit/", {**form, "lat": LAT})
    assert bad.status_code == 400
    assert re.search(r'id="f-map".*?经度', bad.content.decode(), re.S)
    assert not Appeal.objects.exists()
    done = c.post("/submit/", {**form, "lat": LAT, "lng": LNG})
    assert done.status_code == 302, done.content
    appeal = Appeal.objects.get()
    assert (str(appeal.lat), str(appeal.lng)) == (LAT, LNG)


# ----- The staff map over the ledger's filter ---------------------------------------------------


def staff_points(client: Client, query: str = "") -> list[dict[str, Any]]:
    r = client.get(f"/appeals/map/{query}")
    assert r.status_code == 200, r.content
    found = re.search(
        r'<script id="map-points" type="application/json">(.*?)</script>', r.content.decode(), re.S
    )
    return json.loads(found.group(1)) if found else []


def test_the_staff_map_shows_exact_points_of_what_the_reader_may_see(make_appeal: Any) -> None:
    operator = user("operator")
    ours = make_appeal(lat=LAT, lng=LNG, title="阳光花园暖气不热")
    theirs = make_appeal(lat="34.700001", lng="116.900001", title="西关路占道经营")
    report = make_appeal(
        kind="report",
        lat="34.710001",
        lng="116.910001",
        title="某单位违规收费",
        actor=user("supervisor"),
    )
    services.appeal_dispatch(actor=operator, number=ours.number, unit="zjj")
    services.appeal_dispatch(actor=operator, number=theirs.number, unit="cgj")
    services.appeal_dispatch(actor=user("supervisor"), number=report.number, unit="zjj")

    seen = staff_points(staff("handler-zjj"))
    assert {p["number"] for p in seen} == {ours.number, report.number}
    mine = next(p for p in seen if p["number"] == ours.number)
    assert (mine["lat"], mine["lng"]) == (float(LAT), float(LNG))  # staff see the exact point
    assert mine["url"] == f"/appeals/{ours.number}/"
    page = staff("handler-zjj").get("/appeals/map/").content.decode()
    assert theirs.number not in page and "占道经营" not in page

    assert {p["number"] for p in staff_points(staff("handler-cgj"))} == {theirs.number}
    # The operator sees every appeal but reports; the supervisor sees them all.
    assert {p["number"] for p in staff_points(staff("operator"))} == {ours.number, theirs.number}
    assert len(staff_points(staff("supervisor"))) == 3


def test_the_staff_map_takes_the_ledgers_filter(make_appeal: Any) -> None:
    a = make_appeal(lat=LAT, lng=LNG)
    b = make_appeal(lat="34.700001", lng="116.900001")
    services.appeal_dispatch(actor=user("operator"), number=a.number, unit="zjj")
    client = staff("supervisor")
    assert [p["number"] for p in staff_points(client, "?status=dispatched")] == [a.number]
    assert [p["number"] for p in staff_points(client, "?unit=zjj&status=open")] == [a.number]
    assert {p["number"] for p in staff_points(client, "?status=open")} == {a.number, b.number}
    ledger = client.get("/appeals/", {"status": "dispatched"}).content.decode()
    assert 'href="/appeals/map/?status=dispatched"' in ledger
    bad = client.get("/appeals/map/", {"status": "bogus"})
    assert bad.status_code == 400 and "bogus" in bad.content.decode()
    assert Client().get("/appeals/map/").status_code == 302  # a login first
