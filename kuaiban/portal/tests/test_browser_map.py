"""The maps through a real browser on a 390 px phone, offline (no tiles), in Simplified Chinese.

A resident taps the map on the front door, clears the pin, uses the phone's location, and
submits; the public map then shows the recent appeals as blurred points; the supervisor opens
the ledger's map. Screenshots go to ``artifacts/map/``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import expect

from kuaiban.appeals.categories import load_default_tree
from kuaiban.appeals.models import Appeal, Category
from kuaiban.org.demo import Directory
from kuaiban.portal.tests.conftest import Outbox

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = "13912345678"
CONTENT = "东关街菜市场门口的路灯坏了一个多月，晚上很黑，已经有老人摔倒，请尽快修好。"
HERE = {"latitude": 34.7301, "longitude": 116.9312}  # what the phone says


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width}px wide on a 390px phone"


def test_pin_on_the_front_door_and_points_on_the_maps(
    browser: Any,
    live_server: Any,
    artifacts: Path,
    outbox: Outbox,
    county: Directory,
    make_appeal: Any,
) -> None:
    shots = artifacts / "map"
    shots.mkdir(parents=True, exist_ok=True)
    load_default_tree(Category)  # the tree its migration seeds, flushed by transactional tests
    leaf = Category.objects.filter(level=3).order_by("code").first()
    assert leaf is not None
    for lat, lng in (("34.721234", "116.925678"), ("34.735555", "116.941111")):
        make_appeal(lat=lat, lng=lng, category=leaf.code)
    make_appeal(kind="report", title="某单位违规收费", lat="34.726666", lng="116.933333")

    context = browser.new_context(
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        has_touch=True,
        is_mobile=True,
        geolocation=HERE,
        permissions=["geolocation"],
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(live_server.url + "/submit/")
        pin = page.locator("[data-map=pin][data-ready]")
        pin.wait_for()
        assert page.input_value("input[name=lat]") == ""
        assert "尚未标记位置" in page.inner_text("[data-testid=pin-readout]")
        pin.scroll_into_view_if_needed()
        box = pin.bounding_box()
        page.touchscreen.tap(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.4)
        expect(page.locator("input[name=lat]")).not_to_have_value("")
        lat, lng = page.input_value("input[name=lat]"), page.input_value("input[name=lng]")
        assert re.fullmatch(r"-?\d+\.\d{6}", lat) and re.fullmatch(r"-?\d+\.\d{6}", lng)
        assert "已标记" in page.inner_text("[data-testid=pin-readout]")
        assert page.locator(".leaflet-marker-icon").count() == 1
        no_sideways_scroll(page)
        page.screenshot(path=str(shots / "1-pin-tapped.png"))

        page.click("text=清除标记")
        assert page.input_value("input[name=lat]") == ""
        assert page.locator(".leaflet-marker-icon").count() == 0

        page.click("text=使用我的位置")
        expect(page.locator("input[name=lat]")).to_have_value("34.730100")
        assert page.input_value("input[name=lng]") == "116.931200"

        page.fill("textarea[name=content]", CONTENT)
        page.fill("input[name=phone]", PHONE)
        page.click("button[value=code]")  # asked without leaving the page
        page.wait_for_selector("[data-testid=code-status].ok")
        page.locator("[data-map=pin][data-ready]").wait_for()
        # Asking for the code keeps the page as it was: the pin is still there.
        assert page.input_value("input[name=lat]") == "34.730100"
        assert page.locator(".leaflet-marker-icon").count() == 1
        page.locator("#f-map").screenshot(path=str(shots / "2-my-location.png"))
        code = re.search(r"验证码是(\d{6})", outbox.texts(PHONE)[-1]).group(1)  # type: ignore[union-attr]
        page.fill("input[name=code]", code)
        page.click("button[value=submit]")
        page.wait_for_selector("[data-testid=receipt]")
        number = page.inner_text("[data-testid=receipt-number]").strip()
        appeal = Appeal.objects.get(number=number)
        assert (str(appeal.lat), str(appeal.lng)) == ("34.730100", "116.931200")

        # The public map: three points (the report never), on a plain background, offline.
        page.click("nav >> text=问题地图")
        page.wait_for_selector("[data-testid=map][data-count]")
        assert page.get_attribute("[data-testid=map]", "data-count") == "3"
        assert page.locator(".map-point").count() == 3
        assert page.is_visible("[data-testid=map-no-tiles]")
        assert "违规收费" not in page.content() and number not in page.content()
        assert page.locator("[data-testid=map-list] tbody tr").count() == 3
        no_sideways_scroll(page)
        page.locator(".map-point").first.dispatch_event("click")
        page.wait_for_selector(".leaflet-popup-content")
        assert leaf.name in page.inner_text(
            ".leaflet-popup-content"
        ) or "已受理" in page.inner_text(".leaflet-popup-content")
        page.wait_for_timeout(400)  # the popup fades in
        page.screenshot(path=str(shots / "3-public-map.png"), full_page=True)

        # The supervisor's map over the ledger: exact points, the report too, each a link.
        page.goto(live_server.url + "/login/")
        page.fill("input[name=username]", "supervisor")
        page.fill("input[name=password]", settings.KUAIBAN_DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.goto(live_server.url + "/appeals/")
        page.click("[data-testid=ledger-map]")
        page.wait_for_selector("[data-testid=map][data-count]")
        assert page.get_attribute("[data-testid=map]", "data-count") == "4"
        no_sideways_scroll(page)
        page.locator(".map-point").first.dispatch_event("click")
        link = page.locator(".leaflet-popup-content a")
        link.wait_for()
        assert re.fullmatch(r"/appeals/KB\d{8}-\d{6}/", link.get_attribute("href") or "")
        page.wait_for_timeout(400)  # the popup fades in
        page.screenshot(path=str(shots / "4-ledger-map.png"), full_page=True)
    finally:
        context.close()
