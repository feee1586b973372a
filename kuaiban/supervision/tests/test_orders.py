"""Supervision orders (督办单): issued by a supervisor, answered by the unit, closed or sent back;
their own list, timeline and overdue state."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from kuaiban.appeals import services
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kuaiban.org.models import User
from kuaiban.supervision.models import Notification, OrderEvent, SupervisionOrder
from kuaiban.supervision.services import orders
from kuaiban.supervision.services.sweep import sweep
from kuaiban.supervision.tests.conftest import Walk, actions, at

pytestmark = pytest.mark.django_db
PUSH = "该诉求已超期未办结，请住建局于11月27日前书面报告办理进展和整改措施。"


def issue(**kwargs: Any) -> SupervisionOrder:
    fields: dict[str, Any] = {"level": "yellow", "text": PUSH, "due": "2026-11-27"}
    fields.update(kwargs)
    with clock.frozen(at(11, 24, 9)):
        return orders.order_issue(actor=user(fields.pop("actor", "supervisor")), **fields)


def timeline(order: SupervisionOrder) -> list[str]:
    return list(order.events.order_by("seq").values_list("action", flat=True))


def test_order_on_an_appeal_goes_to_its_lead_unit(walk: Walk, people: dict[str, User]) -> None:
    appeal = walk("in_progress")
    order = issue(appeal=appeal.number)
    assert order.number == f"DB20261124-{order.pk:05d}"
    assert order.unit.code == "zjj" and order.status == "open"
    assert order.due_at == at(11, 27, 17, 30)
    assert timeline(order) == ["issue"]
    # The appeal's own history shows the push.
    assert actions(appeal)[-1] == "supervise"
    told = Notification.objects.filter(kind=Notification.Kind.ORDER_ISSUED)
    assert set(told.values_list("recipient__username", flat=True)) == {"handler-zjj", "zjj-clerk"}


def test_answer_close_and_send_back(walk: Walk, people: dict[str, User], client: Any) -> None:
    order = issue(appeal=walk("in_progress").number)
    with clock.frozen(at(11, 25, 10)):
        orders.order_answer(
            actor=people["clerk"],
            number=order.number or "",
            text="已与热力公司对接，11月26日完成管道更换，室温恢复至20度。",
        )
        with pytest.raises(Conflict):  # answered already
            orders.order_answer(actor=people["clerk"], number=order.number or "", text="补充")
        orders.order_reopen(
            actor=user("supervisor"),
            number=order.number or "",
            note="未附现场照片，请补充佐证材料。",
            due="2026-11-30",
            level="red",
        )
    order.refresh_from_db()
    assert (order.status, order.level, order.due_at) == ("open", "red", at(11, 30, 17, 30))
    with clock.frozen(at(11, 26, 10)):
        orders.order_answer(actor=people["head"], number=order.number or "", text="已补充照片。")
        orders.order_close(actor=user("supervisor"), number=order.number or "", note="同意销号")
    order.refresh_from_db()
    assert order.status == "closed"
    assert timeline(order) == ["issue", "answer", "reopen", "answer", "close"]
    reopen = order.events.get(action="reopen")
    assert reopen.payload["level"] == {"from": "yellow", "to": "red"}
    # The order's timeline says it in words: the cards and the new deadline.
    client.force_login(user("supervisor"))
    page = client.get(f"/supervision/orders/{order.number}/").content.decode()
    assert "黄牌督办 → 红牌督办 · 答复期限 2026-11-30 17:30" in page


def test_order_on_a_unit_without_an_appeal(people: dict[str, User]) -> None:
    order = issue(unit="ybj", text="医保局本月退单率偏高，请说明原因。")
    assert order.appeal is None and order.unit.code == "ybj"
    with pytest.raises(NotFound):  # 住建局 cannot see 医保局's order
        orders.order_answer(actor=people["clerk"], number=order.number or "", text="不适用")
    with clock.frozen(at(11, 25, 9)):
        orders.order_answer(actor=user("handler-ybj"), number=order.number or "", text="已整改")


def test_who_may_do_what(walk: Walk, people: dict[str, User]) -> None:
    appeal = walk("in_progress")
    for who in ("handler-zjj", "operator", "leader", "admin"):
        with pytest.raises(PermissionDenied):
            issue(appeal=appeal.number, actor=who)
    order = issue(appeal=appeal.number)
    with pytest.raises(PermissionDenied):  # the supervisor does not answer for the unit
        orders.order_answer(actor=user("supervisor"), number=order.number or "", text="……")
    with pytest.raises(PermissionDenied):  # the unit does not close its own order
        orders.order_close(actor=people["head"], number=order.number or "")
    with pytest.raises(NotFound):
        orders.order_get(user=user("handler-ybj"), number=order.number or "")
    with pytest.raises(NotFound):
        orders.order_get(user=user("operator"), number=order.number or "")
    assert orders.order_get(user=user("leader"), number=order.number or "") == order


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"appeal": "KB20261124-999999"}, "appeal"),
        ({"appeal": None, "unit": None}, "unit"),
        ({"unit": "nosuch"}, "unit"),
        ({"unit": "zjj", "level": "orange"}, "level"),
        ({"unit": "zjj", "text": ""}, "text"),
        ({"unit": "zjj", "due": "2026-11-20"}, "due"),
        ({"unit": "zjj", "due": "下周"}, "due"),
    ],
)
def test_bad_orders_are_refused(
    people: dict[str, User], fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        issue(**fields)
    assert field in {e.field for e in info.value.errors}
    assert not SupervisionOrder.objects.exists()


def test_orders_on_finished_appeals_are_refused(walk: Walk, people: dict[str, User]) -> None:
    appeal = walk("dispatched")
    with clock.frozen(at(11, 23, 10)):
        services.appeal_invalidate(actor=user("operator"), number=appeal.number, reason="重复")
    with pytest.raises(ValidationFailed):
        issue(appeal=appeal.number)


def test_the_sweep_marks_overdue_orders_once(
    walk: Walk, people: dict[str, User], django_capture_on_commit_callbacks: Any
) -> None:
    order = issue(appeal=walk("in_progress").number)
    sweep(now=at(11, 27, 17, 0))
    order.refresh_from_db()
    assert order.overdue_at is None
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):  # as outside a test's transaction
        result = sweep(now=at(11, 27, 17, 31), mail=False)  # kuaiban sweep --no-mail
    assert result.orders_overdue == 1
    assert mail.outbox == []  # left pending: the next sweep sends them …
    with django_capture_on_commit_callbacks(execute=True):
        result = sweep(now=at(11, 27, 17, 32))
    assert result.orders_overdue == 0
    # … and counts what it sent.
    assert result.mailed == len(mail.outbox) == 2
    assert {m.to[0] for m in mail.outbox} == {
        "zhang.wei@zjj.example.cn",
        "chen.jianguo@dc.example.cn",
    }
    order.refresh_from_db()
    assert order.overdue_at == at(11, 27, 17, 31)
    assert timeline(order) == ["issue", "overdue"]
    told = Notification.objects.filter(kind=Notification.Kind.ORDER_OVERDUE)
    assert set(told.values_list("recipient__username", flat=True)) == {"handler-zjj", "supervisor"}
    assert sweep(now=at(11, 27, 18)).orders_overdue == 0
    assert OrderEvent.objects.filter(action="overdue").count() == 1
    assert orders.SupervisionOrder.objects.filter(orders.overdue_q(at(11, 28, 9))).count() == 1


# ----- over HTTP --------------------------------------------------------------------------------


def test_api_orders(walk: Walk, people: dict[str, User], api: Any) -> None:
    appeal = walk("in_progress")
    body = {"appeal": appeal.number, "level": "red", "text": PUSH, "due": "2026-11-27"}
    with clock.frozen(at(11, 24, 9)):
        assert api("handler-zjj").post("/supervision-orders", body).status == 403
        r = api("supervisor").post("/supervision-orders", {**body, "level": "orange"})
        assert r.status == 400 and r.body["errors"][0]["field"] == "level"
        r = api("supervisor").post("/supervision-orders", {**body, "due": "yesterday"})
        assert r.status == 400 and r.body["errors"][0]["field"] == "due"
        r = api("supervisor").post("/supervision-orders", body)
    assert r.status == 201, r.body
    number = r.body["number"]
    assert r.body["unit"] == "zjj" and r.body["due"] == "2026-11-27T17:30:00+08:00"
    assert [e["action"] for e in r.body["events"]] == ["issue"]

    assert api("handler-ybj").get(f"/supervision-orders/{number}").status == 404
    listed = api("handler-zjj").get("/supervision-orders", status="open")
    assert [o["number"] for o in listed.body["items"]] == [number]
    assert api("handler-ybj").get("/supervision-orders").body["items"] == []
    r = api("supervisor").get("/supervision-orders", status="nonsense")
    assert r.status == 400

    with clock.frozen(at(11, 28, 9)):
        overdue = api("supervisor").get("/supervision-orders", overdue="true")
        assert [o["number"] for o in overdue.body["items"]] == [number]
        assert overdue.body["items"][0]["overdue"] is True
        r = api("handler-zjj").post(f"/supervision-orders/{number}/answer", {"text": ""})
        assert r.status == 400
        r = api("handler-zjj").post(
            f"/supervision-orders/{number}/answer", {"text": "已完成整改，详见附件说明。"}
        )
        assert r.status == 200 and r.body["status"] == "answered"
        assert r.body["overdue"] is False
        r = api("handler-zjj").post(f"/supervision-orders/{number}/close", {})
        assert r.status == 403
        r = api("supervisor").post(f"/supervision-orders/{number}/reopen", {"note": ""})
        assert r.status == 400
        r = api("supervisor").post(f"/supervision-orders/{number}/close", {"note": "销号"})
    assert r.status == 200 and r.body["status"] == "closed"
    assert [e["action"] for e in r.body["events"]] == ["issue", "answer", "close"]


def test_order_pages(walk: Walk, people: dict[str, User], client: Any) -> None:
    order = issue(appeal=walk("in_progress").number)
    client.force_login(people["clerk"])
    page = client.get("/supervision/")
    assert page.status_code == 200 and order.number in page.content.decode()
    detail = client.get(f"/supervision/orders/{order.number}/")
    assert detail.status_code == 200 and PUSH in detail.content.decode()
    with clock.frozen(at(11, 25, 9)):
        r = client.post(
            f"/supervision/orders/{order.number}/answer/", {"answer-text": "已整改完毕。"}
        )
    assert r.status_code == 302
    order.refresh_from_db()
    assert order.status == "answered"
    r = client.post(f"/supervision/orders/{order.number}/close/", {"close-note": ""})
    assert r.status_code == 403

    client.force_login(user("handler-ybj"))
    assert client.get(f"/supervision/orders/{order.number}/").status_code == 404
    client.force_login(user("operator"))
    assert client.get("/supervision/").status_code == 403

    client.force_login(user("supervisor"))
    with clock.frozen(at(11, 25, 9)):
        r = client.post(
            "/supervision/",
            {
                "order-unit": "ybj",
                "order-level": "red",
                "order-due": "2026-11-30",
                "order-text": "",
            },
        )
    assert r.status_code == 400 and "errorlist" in r.content.decode()
    with clock.frozen(at(11, 25, 9)):
        r = client.post(
            "/supervision/",
            {
                "order-unit": "ybj",
                "order-level": "red",
                "order-due": "2026-11-30",
                "order-text": "医保局本月三件诉求超期，请书面说明。",
            },
        )
    assert r.status_code == 302
    assert SupervisionOrder.objects.filter(unit__code="ybj", level="red").exists()


def test_admin_lists_orders_read_only(walk: Walk, people: dict[str, User], client: Any) -> None:
    order = issue(appeal=walk("in_progress").number)
    client.force_login(user("admin"))
    page = client.get("/admin/supervision/supervisionorder/").content.decode()
    assert order.number in page
    assert client.get("/admin/supervision/supervisionorder/add/").status_code == 403
    assert client.get("/admin/supervision/notification/").status_code == 200
    assert client.get("/admin/supervision/extension/").status_code == 200
