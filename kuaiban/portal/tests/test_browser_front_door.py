"""The front door through a real browser on a 390 px phone, in Simplified Chinese.

A resident of 城关镇 is offered a similar appeal nearby, pins the place from the phone's location,
chooses a photo, asks for a code, submits on 书记直通车, reads the code and
the receipt from the SMS outbox, tracks the appeal; after the unit replies with an "after" photo
the tracking page shows it, and the self-rating link arrives by SMS and is used. Screenshots go
to ``artifacts/front_door/``.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from kuaiban.appeals import services
from kuaiban.appeals.models import Appeal
from kuaiban.core import uploads
from kuaiban.core.tests.photos import has_gps, phone_jpeg
from kuaiban.org.demo import Directory
from kuaiban.org.models import User
from kuaiban.portal.tests.conftest import Outbox

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PHONE = "13912345678"
CONTENT = "东关街菜市场门口的下水道井盖坏了一个多星期，晚上很黑，已经有老人差点踩空，请尽快修好。"
PHOTO = {"name": "井盖.jpg", "mimeType": "image/jpeg", "buffer": phone_jpeg()}
REPLY = "已安排市政维修队更换井盖并加装警示标志，现已修复，欢迎监督。"


def no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width}px wide on a 390px phone"


def test_submit_track_and_rate_on_a_phone(
    browser: Any,
    live_server: Any,
    artifacts: Path,
    outbox: Outbox,
    county: Directory,
    settings: Any,
) -> None:
    settings.KUAIBAN_SITE_URL = live_server.url
    shots = artifacts / "front_door"
    shots.mkdir(parents=True, exist_ok=True)
    # Someone nearby reported the same manhole last week: the page offers to join it.
    earlier = services.appeal_register(
        actor=None,
        data=services.AppealInput(
            channel="web",
            kind="complaint",
            title="东关街井盖坏了",
            content="东关街菜市场门口的井盖坏了，晚上很黑，容易踩空。",
            submitter_phone="13700001234",
            lat="34.730200",
            lng="116.931100",
        ),
    )
    context = browser.new_context(
        locale="zh-CN",
        viewport={"width": 390, "height": 844},
        geolocation={"latitude": 34.7301, "longitude": 116.9312},
        permissions=["geolocation"],
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto(live_server.url + "/")  # the public's home links every public service
        page.click("[data-testid=home-submit]")
        page.wait_for_url("**/submit/")
        page.click("text=书记直通车")
        page.wait_for_selector("h1:has-text('书记直通车')")
        page.select_option("select[name=kind]", "complaint")
        page.fill("input[name=title]", "井盖损坏")
        page.fill("textarea[name=content]", CONTENT)
        page.fill("input[name=address]", "城关镇东关街菜市场门口")
        page.locator("[data-map=pin][data-ready]").wait_for()
        page.click("text=使用我的位置")  # the map pin, from the phone's location
        page.wait_for_selector("[data-testid=similar] li")
        similar = page.inner_text("[data-testid=similar]")
        assert "这些是您要反映的问题吗" in similar and "我也遇到了" in similar
        assert earlier.number in page.inner_html("[data-testid=similar]")
        no_sideways_scroll(page)
        page.screenshot(path=str(shots / "0-similar-and-pin.png"), full_page=True)
        page.fill("input[name=phone]", PHONE)
        page.set_input_files("input[name=photos]", files=[PHOTO])
        page.click("button[value=code]")  # asked without leaving the page: the photo stays
        page.wait_for_selector("[data-testid=code-status].ok")
        assert page.input_value("textarea[name=content]") == CONTENT  # nothing typed is lost
        assert page.evaluate("document.querySelector('input[name=photos]').files.length") == 1
        code = re.search(r"验证码是(\d{6})", outbox.texts(PHONE)[-1]).group(1)  # type: ignore[union-attr]
        page.fill("input[name=code]", "000000" if code != "000000" else "111111")
        page.click("button[value=submit]")
        page.wait_for_selector("[data-field=code]")
        assert "验证码" in page.inner_text("[data-field=code]")
        no_sideways_scroll(page)
        page.screenshot(path=str(shots / "1-wrong-code.png"), full_page=True)
        assert "重新选择照片" in page.inner_text("#f-photos")
        page.set_input_files("input[name=photos]", files=[PHOTO])
        page.fill("input[name=code]", code)
        page.click("button[value=submit]")
        page.wait_for_selector("[data-testid=receipt]")
        no_sideways_scroll(page)
        page.screenshot(path=str(shots / "2-receipt.png"), full_page=True)
        number = page.inner_text("[data-testid=receipt-number]").strip()
        access = page.inner_text("[data-testid=receipt-code]").strip()
        receipt_sms = outbox.texts(PHONE)[-1]
        assert number in receipt_sms and access in receipt_sms
        appeal = Appeal.objects.get(number=number)
        assert appeal.channel == "direct_line" and appeal.submitter_phone == PHONE
        assert (str(appeal.lat), str(appeal.lng)) == ("34.730100", "116.931200")
        (photo,) = appeal.attachments.all()
        assert photo.stage == "intake" and not has_gps(photo.read())

        page.click("text=查询进度")
        page.fill("input[name=code]", access)
        page.click("button:has-text('查询')")
        page.wait_for_selector("[data-testid=track-result]")
        assert "井盖损坏" in page.inner_text("[data-testid=track-result]")
        assert PHONE not in page.content()

        handler = User.objects.get(username="handler-chengguan")
        services.appeal_dispatch(actor=None, number=number, unit=handler.unit.code)  # type: ignore[union-attr]
        services.appeal_claim(actor=handler, number=number)
        after = uploads.prepare(io.BytesIO(phone_jpeg(800, 600)), field="files")
        services.appeal_reply(
            actor=handler, number=number, result="resolved", text=REPLY, files=[after]
        )
        texts = outbox.texts(PHONE)
        assert any("已转交" in t for t in texts) and any(REPLY[:20] in t for t in texts)
        link = re.search(r"(http\S+)", texts[-1]).group(1)  # type: ignore[union-attr]
        assert link.startswith(live_server.url)

        page.reload()  # the tracking page now shows the reply and the unit's "after" photo
        page.wait_for_selector("[data-testid=public-photos] img")
        # decode() waits for the bytes, rejects a broken image; no string eval (the CSP forbids it)
        photo_img = page.locator("[data-testid=public-photos] img").first
        photo_img.evaluate("img => img.decode()")
        assert photo_img.evaluate("img => img.naturalWidth") > 0
        no_sideways_scroll(page)
        page.screenshot(path=str(shots / "3-after-photo.png"), full_page=True)

        page.goto(link)
        page.wait_for_selector("[data-testid=rate]")
        page.check("input[name=resolved][value=yes]")
        page.check("input[name=satisfaction][value=satisfied]")
        page.check("input[name=contacted][value=yes]")
        no_sideways_scroll(page)
        page.click("button[type=submit]")
        page.wait_for_selector("[data-testid=thanks]")
        page.screenshot(path=str(shots / "4-rated.png"), full_page=True)
        appeal.refresh_from_db()
        assert appeal.status == "visited"
    finally:
        context.close()
