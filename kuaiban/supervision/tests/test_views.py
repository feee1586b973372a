"""The appeal page's deadline panel, the extension pages and the ledger's yellow/red sorting."""

from __future__ import annotations

from typing import Any

import pytest

from kuaiban.appeals import selectors
from kuaiban.appeals.models import Appeal
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.org.models import User
from kuaiban.supervision.models import Extension
from kuaiban.supervision.services.sweep import sweep
from kuaiban.supervision.tests.conftest import Walk, at

pytestmark = pytest.mark.django_db
REASON = "需等待不动产登记中心出具权属证明，预计需要两周。"


def test_handler_asks_for_more_time_from_the_appeal_page(
    walk: Walk, people: dict[str, User], client: Any
) -> None:
    appeal = walk("in_progress")
    client.force_login(people["head"])
    page = client.get(f"/appeals/{appeal.number}/").content.decode()
    assert 'data-testid="extension-form"' in page
    assert 'data-testid="order-form"' not in page
    url = f"/supervision/appeal/{appeal.number}/extension/"
    with clock.frozen(at(11, 24, 10)):
        r = client.post(url, {"ext-proposed_due": "2026-11-30", "ext-reason": REASON}, follow=True)
    assert "Propose a deadline later" in r.content.decode() or "晚于" in r.content.decode()
    # Each message names its field (the form is not shown again, so it must).
    assert "新的答复期限：" in r.content.decode()
    with clock.frozen(at(11, 24, 10)):
        r = client.post(url, {"ext-proposed_due": "2026-12-18", "ext-reason": " "}, follow=True)
    assert "延期申请未提交：原因：此项为必填项。" in r.content.decode()
    assert not Extension.objects.exists()
    with clock.frozen(at(11, 24, 10)):
        r = client.post(url, {"ext-proposed_due": "2026-12-18", "ext-reason": REASON})
    assert r.status_code == 302
    extension = Extension.objects.get()
    page = client.get(f"/appeals/{appeal.number}/").content.decode()
    assert REASON in page and 'data-testid="extension-form"' not in page  # one at a time

    # Another unit's handler cannot see the appeal, let alone ask.
    client.force_login(user("handler-ybj"))
    with clock.frozen(at(11, 24, 10)):
        r = client.post(url, {"ext-proposed_due": "2026-12-18", "ext-reason": REASON})
    assert r.status_code == 404

    # The supervisor decides on the extensions page.
    client.force_login(user("supervisor"))
    listing = client.get("/supervision/extensions/").content.decode()
    assert appeal.number in listing and f"d{extension.pk}-decision" in listing
    # Refusing needs a note; the message says which appeal and which field.
    r = client.post(
        f"/supervision/extensions/{extension.pk}/decide/",
        {f"d{extension.pk}-decision": "refuse", f"d{extension.pk}-note": ""},
        follow=True,
    )
    assert f"{appeal.number}: 意见（不予批准时必填）：此项为必填项。" in r.content.decode()
    extension.refresh_from_db()
    assert extension.status == "pending"
    with clock.frozen(at(11, 24, 15)):
        r = client.post(
            f"/supervision/extensions/{extension.pk}/decide/",
            {f"d{extension.pk}-decision": "approve", f"d{extension.pk}-note": "同意延期"},
        )
    assert r.status_code == 302
    appeal.refresh_from_db()
    assert appeal.reply_due == at(12, 18, 17, 30)
    timeline = client.get(f"/appeals/{appeal.number}/").content.decode()
    assert "2026-12-18 17:30" in timeline


def test_a_handler_cannot_decide_on_the_page(
    walk: Walk, people: dict[str, User], client: Any
) -> None:
    appeal = walk("in_progress")
    client.force_login(people["head"])
    with clock.frozen(at(11, 24, 10)):
        client.post(
            f"/supervision/appeal/{appeal.number}/extension/",
            {"ext-proposed_due": "2026-12-18", "ext-reason": REASON},
        )
    extension = Extension.objects.get()
    listing = client.get("/supervision/extensions/").content.decode()
    assert appeal.number in listing and "decision" not in listing
    r = client.post(
        f"/supervision/extensions/{extension.pk}/decide/",
        {f"d{extension.pk}-decision": "approve"},
    )
    assert r.status_code == 403
    extension.refresh_from_db()
    assert extension.status == "pending"


def test_supervisor_sees_the_order_form_and_the_alert_events(
    walk: Walk, people: dict[str, User], client: Any
) -> None:
    appeal = walk("dispatched")
    sweep(now=at(11, 23, 18))
    client.force_login(user("supervisor"))
    page = client.get(f"/appeals/{appeal.number}/").content.decode()
    assert 'data-testid="order-form"' in page
    timeline = page.split('data-testid="timeline"')[1]
    assert 'class="ev-alert_red"' in timeline and ">alert_red<" not in timeline
    with clock.frozen(at(11, 24, 9)):
        r = client.post(
            f"/supervision/appeal/{appeal.number}/order/",
            {
                "order-appeal": appeal.number,
                "order-level": "red",
                "order-due": "2026-11-26",
                "order-text": "超期未认领，请立即认领办理并说明原因。",
            },
        )
    assert r.status_code == 302 and "/supervision/orders/DB20261124-" in r["Location"]


def test_ledger_filters_and_sorts_by_alert(
    walk: Walk, people: dict[str, User], client: Any
) -> None:
    quiet = walk("in_progress", title="路灯报修")  # reply due 7 December
    red = walk("dispatched", title="井盖缺失")  # claim due Monday 17:30
    yellow = walk("in_progress", title="噪音扰民", kind="consultation")  # reply due 25th 17:30
    older = walk("dispatched", title="垃圾清运", when=at(11, 20, 9))  # claim due Friday
    sweep(now=at(11, 25, 11))
    assert Appeal.objects.get(pk=yellow.pk).alert == "yellow"
    client.force_login(user("supervisor"))
    page = client.get("/appeals/", {"alert": "red"}).content.decode()
    assert red.number in page and older.number in page and quiet.number not in page
    rows = client.get("/appeals/", {"sort": "alert"}).context["rows"]
    assert [a.number for a in rows] == [older.number, red.number, yellow.number, quiet.number]
    # Keyset pages in the same order.
    first = client.get("/appeals/", {"sort": "alert", "status": "open"})
    assert first.status_code == 200
    assert client.get("/appeals/", {"sort": "nonsense"}).status_code == 400


def test_sorted_ledger_pages_through_everything(
    walk: Walk, people: dict[str, User], client: Any
) -> None:
    for i in range(7):
        walk("dispatched" if i % 2 else "in_progress", when=at(11, 20 + i % 3, 9))
    sweep(now=at(11, 24, 17, 40))
    f = selectors.LedgerFilter.from_params({"sort": "alert"})
    qs = selectors.ledger(user=user("supervisor"), f=f)
    expected = [a.pk for a in qs]
    seen: list[int] = []
    cursor = None
    while True:
        rows, cursor = selectors.page(qs, cursor=cursor, size=2)
        seen += [a.pk for a in rows]
        if cursor is None:
            break
    assert seen == expected and len(seen) == 7
    ranks = [a.alert for a in qs]
    assert ranks == sorted(ranks, key=["red", "yellow", "none"].index)
