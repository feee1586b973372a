""" "My appeals": a person proves their phone by an SMS code and sees every appeal made with it,
from any channel, with the public timeline and the unit's photos; never anyone else's."""

from __future__ import annotations

import io

import pytest

from kuaiban.appeals import services
from kuaiban.appeals.models import Supporter
from kuaiban.conftest import user
from kuaiban.core import uploads
from kuaiban.core.tests.photos import phone_jpeg
from kuaiban.org.demo import Directory
from kuaiban.portal.tests.conftest import Outbox
from kuaiban.portal.tests.test_submit import client, code_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
MINE = "13912345678"
OTHER = "13600001111"


def register(phone: str, channel: str, title: str, kind: str = "complaint") -> str:
    data = services.AppealInput(
        channel=channel,
        kind=kind,
        title=title,
        content=f"{title}，请尽快处理。",
        submitter_phone=phone,
    )
    return services.appeal_register(actor=user("operator"), data=data).number or ""


def test_a_proven_phone_sees_its_own_appeals_from_every_channel(
    outbox: Outbox, county: Directory
) -> None:
    hotline = register(MINE, "hotline", "楼道灯坏了")
    letter = register(MINE, "mailbox", "小区垃圾无人清运")
    report = register(MINE, "hotline", "某单位收受红包", kind="report")
    other = register(OTHER, "hotline", "邻居家漏水")
    joined = register(OTHER, "web", "路口红绿灯不亮")
    handler = user("handler-chengguan")
    services.appeal_dispatch(actor=None, number=hotline, unit="chengguan")
    services.appeal_claim(actor=handler, number=hotline)
    after = uploads.prepare(io.BytesIO(phone_jpeg()), field="files")
    services.appeal_reply(
        actor=handler, number=hotline, result="resolved", text="已更换灯泡。", files=[after]
    )
    services.appeal_support(number=joined, phone=MINE)

    browser = client()
    assert 'data-testid="mine-login"' in browser.get("/mine/").content.decode()
    wrong = browser.post("/mine/", {"action": "open", "phone": MINE, "code": "12345"})
    assert wrong.status_code == 400 and 'data-field="code"' in wrong.content.decode()
    opened = browser.post(
        "/mine/", {"action": "open", "phone": MINE, "code": code_for(outbox, MINE)}
    )
    assert opened.status_code == 302
    page = browser.get("/mine/").content.decode()
    for number in (hotline, letter, report, joined):
        assert number in page
    assert other not in page and "邻居家漏水" not in page
    assert "某单位收受红包" not in page  # a report shows its status only
    assert "已更换灯泡" in page and "/photos/" in page
    assert MINE not in page and "139****5678" in page
    assert Supporter.objects.filter(phone=MINE).count() == 1
    browser.post("/mine/", {"action": "forget"})
    assert 'data-testid="mine-login"' in browser.get("/mine/").content.decode()
    # Another browser has not proven the phone: it sees nothing.
    assert hotline not in client().get("/mine/").content.decode()
