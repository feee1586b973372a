"""Return disputes: an appeal returned twice waits for a supervisor, whose dispatch is final."""

from __future__ import annotations

from typing import Any

import pytest

from kuaiban.appeals import services
from kuaiban.appeals.models import Appeal, AppealEvent
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.core.errors import PermissionDenied
from kuaiban.org.models import User
from kuaiban.supervision.models import Notification
from kuaiban.supervision.services.sweep import sweep
from kuaiban.supervision.tests.conftest import Walk, at

pytestmark = pytest.mark.django_db


@pytest.fixture
def disputed(walk: Walk, people: dict[str, User]) -> Appeal:
    appeal = walk("dispatched")
    n = appeal.number or ""
    with clock.frozen(at(11, 23, 10)):
        services.appeal_return(
            actor=user("handler-zjj"),
            number=n,
            reason="该小区供热属热力公司经营范围，非住建局职责。",
        )
        services.appeal_dispatch(actor=user("operator"), number=n, unit="cgj")
        services.appeal_return(
            actor=user("handler-cgj"), number=n, reason="城管局不负责供热设施维修，建议派住建局。"
        )
    return Appeal.objects.get(number=n)


def page_of(client: Any, url: str) -> str:
    return " ".join(client.get(url).content.decode().split())


def test_the_queue_shows_both_returns_to_supervisors_only(disputed: Appeal, client: Any) -> None:
    assert disputed.status == "received" and disputed.return_count == 2
    with pytest.raises(PermissionDenied):
        services.appeal_dispatch(actor=user("operator"), number=disputed.number or "", unit="zjj")
    client.force_login(user("supervisor"))
    page = client.get("/supervision/arbitration/").content.decode()
    assert disputed.number in page
    assert "非住建局职责" in page and "建议派住建局" in page
    # Each return names the unit that made it, by its name (not its code).
    assert "<strong>住建局</strong>" in page and "<strong>城管局</strong>" in page
    assert "<strong>cgj</strong>" not in page
    # So does the appeal's timeline: dispatched → 城管局, not → cgj.
    timeline = page_of(client, f"/appeals/{disputed.number}/")
    assert "→ 城管局" in timeline and "→ cgj" not in timeline
    for who in ("operator", "handler-zjj", "leader"):
        client.force_login(user(who))
        assert client.get("/supervision/arbitration/").status_code == 403


def test_supervisors_hear_of_it_once(disputed: Appeal) -> None:
    assert sweep(now=at(11, 23, 11)).arbitration == 1
    notices = Notification.objects.filter(kind=Notification.Kind.ARBITRATION)
    assert list(notices.values_list("recipient__username", flat=True)) == ["supervisor"]
    assert sweep(now=at(11, 23, 12)).arbitration == 0
    assert notices.count() == 1


def test_the_supervisors_dispatch_is_final(disputed: Appeal, client: Any, api: Any) -> None:
    n = disputed.number or ""
    client.force_login(user("supervisor"))
    with clock.frozen(at(11, 23, 14)):
        r = client.post(f"/supervision/arbitration/{n}/", {f"{n}-unit": "", f"{n}-note": ""})
        assert r.status_code == 302
        assert Appeal.objects.get(number=n).status == "received"
        r = client.post(
            f"/supervision/arbitration/{n}/",
            {f"{n}-unit": "zjj", f"{n}-note": "经协调，供热设施监管由住建局牵头。"},
        )
    assert r.status_code == 302
    appeal = Appeal.objects.get(number=n)
    assert appeal.status == "dispatched" and appeal.lead_unit.code == "zjj"  # type: ignore[union-attr]
    dispatch = AppealEvent.objects.filter(appeal=appeal, action="dispatch").last()
    assert dispatch is not None and dispatch.payload["final"] is True
    assert f'data-appeal="{n}"' not in client.get("/supervision/arbitration/").content.decode()
    r = api("handler-zjj").post(f"/appeals/{n}/return", {"reason": "仍非本单位职责。"})
    assert r.status == 409
    assert Appeal.objects.get(number=n).status == "dispatched"


def test_api_queue(disputed: Appeal, api: Any) -> None:
    r = api("supervisor").get("/arbitration")
    assert r.status == 200
    assert [a["number"] for a in r.body] == [disputed.number]
    assert [x["unit"] for x in r.body[0]["returns"]] == ["zjj", "cgj"]
    assert api("operator").get("/arbitration").status == 403
    assert api("handler-zjj").get("/arbitration").status == 403
