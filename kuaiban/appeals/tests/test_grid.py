"""Grid workers (网格员): their grid's open list, the report from the field with photos and the
phone's location, 就地解决 (resolved on the spot) and the whistle, on phone pages; with the
refusals: another grid's appeal, another role on the grid pages, the desk's pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kuaiban.appeals import audit, services
from kuaiban.appeals.models import Appeal, Status
from kuaiban.appeals.tests.test_attachments import photo
from kuaiban.appeals.tests.test_views import client_for, html, snapshot
from kuaiban.conftest import user
from kuaiban.org.demo import Directory
from kuaiban.org.tests.test_navigation import menu, signed_in

pytestmark = pytest.mark.django_db

FOUND = "南关社区3号楼楼道里堆满纸箱和旧家具，堵住了消防通道，住户说已经放了一个多月。"
FIXED = "已联系楼道住户当场清走杂物，消防通道恢复畅通，并张贴了楼道禁止堆放的提示。"


def workers(county: Directory) -> tuple[str, str, str]:
    """The grid workers of 南关社区's two grids, and of 滨河社区's first (another township)."""
    return (
        f"grid-{county.grids[0].code}",
        f"grid-{county.grids[1].code}",
        f"grid-{county.grids[6].code}",
    )


def reported(county: Directory, **fields: Any) -> Appeal:
    mine, _sibling, _far = workers(county)
    data = services.AppealInput(
        channel="grid", kind="help", title="楼道堆物", content=FOUND, **fields
    )
    return services.appeal_grid_report(actor=user(mine), data=data)


def test_the_report_from_the_field_is_led_by_the_grid(county: Directory) -> None:
    mine, _sibling, _far = workers(county)
    client = client_for(mine)
    page = client.get("/grid/report/")
    assert page.status_code == 200 and 'id="grid-locate"' in html(page)
    r = client.post(
        "/grid/report/",
        {
            "kind": "help",
            "title": "楼道堆物堵塞消防通道",
            "content": FOUND,
            "address": "南关社区3号楼2单元",
            "submitter_name": "李秀英",
            "submitter_phone": "13912345678",
            "lat": "34.123456",
            "lng": "113.654321",
            "attachments": [photo("楼道.jpg")],
        },
    )
    assert r.status_code == 302, html(r)[:800]
    appeal = Appeal.objects.get()
    assert r["Location"] == f"/appeals/{appeal.number}/"
    assert appeal.channel == "grid" and appeal.region == county.grids[0]
    assert appeal.lead_unit is not None and appeal.lead_unit.code == f"g{county.grids[0].code}"
    assert appeal.status == Status.DISPATCHED and appeal.reply_due is not None
    assert str(appeal.lat) == "34.123456" and str(appeal.lng) == "113.654321"
    assert appeal.attachments.get().is_image
    events = list(appeal.events.order_by("seq"))
    assert [e.action for e in events] == ["register", "dispatch"]
    assert events[1].payload["grid_report"] is True and events[1].actor == user(mine)
    # The list on the phone shows it under the grid's own.
    page = html(client.get("/grid/"))
    assert appeal.number in page and "楼道堆物堵塞消防通道" in page


def test_without_a_location_and_with_a_missing_text(county: Directory) -> None:
    mine, _s, _f = workers(county)
    r = client_for(mine).post("/grid/report/", {"kind": "help", "content": ""})
    assert r.status_code == 400 and not Appeal.objects.exists()
    r = client_for(mine).post("/grid/report/", {"kind": "help", "content": FOUND})
    assert r.status_code == 302 and Appeal.objects.get().lat is None


def test_resolved_on_spot_is_a_reply_of_its_own(api: Any, county: Directory) -> None:
    mine, _s, _f = workers(county)
    appeal = reported(county)
    r = api(mine).post(f"/appeals/{appeal.number}/resolve_on_spot", {"text": FIXED})
    assert r.status == 200, r.body
    assert r.body["status"] == "replied" and r.body["reply_result"] == "resolved"
    assert r.body["resolved_on_spot"] is True and r.body["handler"]
    last = r.body["events"][-1]
    assert last["action"] == "resolve_on_spot" and last["payload"]["on_spot"] is True
    appeal.refresh_from_db()
    assert appeal.resolved_on_spot and appeal.visit_due is not None
    again = api(mine).post(f"/appeals/{appeal.number}/resolve_on_spot", {"text": FIXED})
    assert again.status == 409 and again.body["code"] == "wrong_status"
    # The return visit follows as after any reply.
    assert (
        api("visitor")
        .post(
            f"/appeals/{appeal.number}/visit",
            {"reached": True, "resolved": True, "satisfaction": "satisfied", "authentic": True},
        )
        .status
        == 200
    )


def test_a_grid_worker_outside_its_grid_is_refused(api: Any, county: Directory) -> None:
    _mine, sibling, far = workers(county)
    appeal = reported(county)
    before = snapshot(appeal)
    r = api(sibling).post(f"/appeals/{appeal.number}/resolve_on_spot", {"text": FIXED})
    assert r.status == 403 and r.body["detail"] == "只有牵头网格的网格员可以进行此操作。"
    w = api(sibling).post(f"/appeals/{appeal.number}/whistle", {"units": ["xfj"], "note": "请协助"})
    assert w.status == 403
    # The neighbouring grid reads it (to help); a grid of another village does not see it.
    assert api(sibling).get(f"/appeals/{appeal.number}").status == 200
    assert api(far).get(f"/appeals/{appeal.number}").status == 404
    assert api(far).post(f"/appeals/{appeal.number}/resolve_on_spot", {"text": FIXED}).status == 404
    assert snapshot(appeal) == before
    # Only a grid worker resolves on the spot; a department's handler may not.
    other = reported(county)
    assert (
        api("handler-zjj").post(f"/appeals/{other.number}/resolve_on_spot", {"text": FIXED}).status
        == 404
    )


def test_the_grid_worker_whistles_and_then_waits_for_the_departments(
    api: Any, county: Directory
) -> None:
    mine, _s, _f = workers(county)
    appeal = reported(county)
    r = api(mine).post(
        f"/appeals/{appeal.number}/whistle",
        {"units": ["xfj", "cgj"], "note": "消防通道堵塞，请消防和城管部门到场。"},
    )
    assert r.status == 200 and r.body["events"][-1]["action"] == "whistle"
    spot = api(mine).post(f"/appeals/{appeal.number}/resolve_on_spot", {"text": FIXED})
    assert spot.status == 409 and "城管局" in spot.body["detail"]
    # The appeal page offers the grid worker both moves while nothing is whistled.
    fresh = reported(county)
    page = html(client_for(mine).get(f"/appeals/{fresh.number}/"))
    assert f'action="/appeals/{fresh.number}/resolve_on_spot/"' in page
    assert f'action="/appeals/{fresh.number}/whistle/"' in page
    assert f'action="/appeals/{fresh.number}/reply/"' not in page


def test_the_grid_pages_are_for_grid_workers_and_the_desk_is_not(county: Directory) -> None:
    mine, _s, _f = workers(county)
    for other in ("handler-zjj", "operator", "supervisor"):
        assert client_for(other).get("/grid/").status_code == 403
        assert client_for(other).get("/grid/report/").status_code == 403
    worker = client_for(mine)
    assert worker.get("/appeals/new/").status_code == 403
    assert worker.get("/").url == "/grid/"  # type: ignore[attr-defined]
    items = menu(signed_in(mine), "/grid/")
    assert items["/grid/"] == "我的网格" and items["/grid/report/"] == "网格上报"
    assert "/appeals/" not in items and "/enterprise/" not in items


def test_a_grid_worker_registers_only_its_own_grids_reports(api: Any, county: Directory) -> None:
    mine, _s, _f = workers(county)
    body = {"channel": "hotline", "kind": "help", "content": FOUND}
    assert api(mine).post("/appeals", body).status == 403
    elsewhere = {**body, "channel": "grid", "region": county.grids[1].code}
    assert api(mine).post("/appeals", elsewhere).status == 403
    assert not Appeal.objects.exists()


def test_the_metrics_count_on_the_spot_resolutions_apart(api: Any, county: Directory) -> None:
    mine, _s, _f = workers(county)
    spot, other = reported(county), reported(county)
    api(mine).post(f"/appeals/{spot.number}/resolve_on_spot", {"text": FIXED})
    services.appeal_whistle(actor=user(mine), number=other.number, units=["cgj"], note="请到场")
    services.appeal_report(actor=user("handler-cgj"), number=other.number)
    services.appeal_assist(
        actor=user("handler-cgj"), number=other.number, text="已清运杂物。", result="resolved"
    )
    day = spot.received_at.astimezone(dt.timezone(dt.timedelta(hours=8))).date().isoformat()
    r = api("leader").get("/metrics", **{"from": day, "to": day, "group_by": "unit"})
    assert r.status == 200, r.body
    assert r.body["total"]["counts"]["on_spot"] == 1
    assert r.body["total"]["counts"]["replied"] == 1
    assert r.body["total"]["on_spot_rate"] == 1.0
    grid = {g["key"]: g for g in r.body["groups"]}[f"g{county.grids[0].code}"]
    assert grid["received"] == 2 and grid["counts"]["on_spot"] == 1


def test_the_audit_replays_delegation_whistle_and_on_the_spot(
    api: Any, make_appeal: Any, county: Directory
) -> None:
    mine, _s, _f = workers(county)
    spot = reported(county)
    api(mine).post(f"/appeals/{spot.number}/resolve_on_spot", {"text": FIXED})
    down = make_appeal(content=FOUND, region=county.villages[0].code)
    services.appeal_dispatch(actor=user("operator"), number=down.number, unit="chengguan")
    nanguan = f"v{county.villages[0].code}"
    services.appeal_delegate(actor=user("handler-chengguan"), number=down.number, unit=nanguan)
    services.appeal_whistle(
        actor=user(f"handler-{nanguan}"), number=down.number, units=["cgj"], note="请到场"
    )
    services.appeal_report(actor=user("handler-cgj"), number=down.number)
    assert list(audit.verify()) == []
