"""The notification list: one's own only, unread first to see, marked read one by one or all."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.deadlines.calendar import SHANGHAI
from kuaiban.org.models import User
from kuaiban.supervision.models import Notification
from kuaiban.supervision.services.sweep import sweep
from kuaiban.supervision.tests.conftest import Walk, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def alerted(walk: Walk, people: dict[str, User]) -> str:
    appeal = walk("dispatched")
    sweep(now=at(11, 23, 18))
    return appeal.number or ""


def test_page_lists_mine_and_marks_read(alerted: str, client: Any) -> None:
    client.force_login(user("handler-zjj"))
    page = client.get("/supervision/notifications/").content.decode()
    assert alerted in page and "已超期" in page  # rendered in Chinese
    mine = Notification.objects.get(recipient__username="handler-zjj")
    r = client.post(f"/supervision/notifications/{mine.pk}/read/", headers={"HX-Request": "true"})
    assert r.status_code == 200 and "unread" not in r.content.decode().split(">")[0]
    mine.refresh_from_db()
    assert mine.read_at is not None
    # Someone else's notice is not there to be read.
    theirs = Notification.objects.get(recipient__username="supervisor", kind="alert_red")
    assert client.post(f"/supervision/notifications/{theirs.pk}/read/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    client.force_login(user("supervisor"))
    r = client.post("/supervision/notifications/read/")
    assert r.status_code == 302
    assert not Notification.objects.filter(recipient__username="supervisor", read_at=None).exists()


def test_page_shows_the_calendar_warning_to_administrators(client: Any, county: Any) -> None:
    with clock.frozen(dt.datetime(2098, 11, 20, 9, tzinfo=SHANGHAI)):
        client.force_login(user("admin"))
        page = client.get("/supervision/notifications/").content.decode()
        assert "2099" in page and 'data-testid="calendar-warning"' in page
        client.force_login(user("operator"))
        page = client.get("/supervision/notifications/").content.decode()
        assert 'data-testid="calendar-warning"' not in page


def test_api_lists_and_marks(alerted: str, api: Any) -> None:
    r = api("zjj-clerk").get("/notifications")
    assert r.status == 200 and r.body["unread"] == 1
    item = r.body["items"][0]
    assert item["kind"] == "alert_red" and item["appeal"] == alerted
    assert item["url"] == f"/appeals/{alerted}/"
    assert item["created_at"].endswith("+08:00")
    assert api("supervisor").post(f"/notifications/{item['id']}/read").status == 404
    r = api("zjj-clerk").post(f"/notifications/{item['id']}/read")
    assert r.status == 200 and r.body["read_at"]
    assert api("zjj-clerk").get("/notifications", unread="true").body["items"] == []
    r = api("supervisor").post("/notifications/read-all")
    assert r.status == 200 and r.body["marked"] >= 1
    assert api("supervisor").get("/notifications", cursor="abc").status == 400
    assert api(None).get("/notifications").status == 401


def test_api_paginates_by_cursor(walk: Walk, people: dict[str, User], api: Any) -> None:
    for _ in range(5):
        walk("dispatched")
    sweep(now=at(11, 23, 18))
    first = api("supervisor").get("/notifications", limit=3)
    assert len(first.body["items"]) == 3 and first.body["next_cursor"]
    rest = api("supervisor").get("/notifications", limit=3, cursor=first.body["next_cursor"])
    ids = [n["id"] for n in first.body["items"] + rest.body["items"]]
    assert len(ids) == len(set(ids)) == 5
    assert rest.body["next_cursor"] is None
