"""Three levels (区、乡、村): a township delegates an appeal down to one of its villages or grids
(下派) and keeps oversight. Through the REST API and the appeal page, with the refusals: another
township's village, a department, a village re-delegating or returning."""

from __future__ import annotations

from typing import Any

import pytest

from kuaiban.appeals import services
from kuaiban.appeals.models import Appeal, Status
from kuaiban.appeals.tests.test_views import client_for, html, snapshot
from kuaiban.conftest import user
from kuaiban.org.demo import Directory

pytestmark = pytest.mark.django_db

DRAIN = "南关社区菜市场后面的下水道堵了一个星期，污水漫到路上，气味很大，居民出门都要绕行。"


def code_of(region: Any, prefix: str = "v") -> str:
    return f"{prefix}{region.code}"


def at_township(make_appeal: Any, county: Directory, *, claim: bool = True) -> Appeal:
    """An appeal about a blocked drain in 南关社区, led by 城关镇 (and claimed by it)."""
    appeal = make_appeal(title="下水道堵塞", content=DRAIN, region=county.villages[0].code)
    services.appeal_dispatch(actor=user("operator"), number=appeal.number, unit="chengguan")
    if claim:
        services.appeal_claim(actor=user("handler-chengguan"), number=appeal.number)
    return Appeal.objects.get(pk=appeal.pk)


def test_a_township_delegates_to_its_village_which_then_leads(
    api: Any, make_appeal: Any, county: Directory
) -> None:
    appeal = at_township(make_appeal, county)
    nanguan = code_of(county.villages[0])
    reply_due = appeal.reply_due
    r = api("handler-chengguan").post(
        f"/appeals/{appeal.number}/delegate", {"unit": nanguan, "note": "请社区先行疏通"}
    )
    assert r.status == 200, r.body
    assert r.body["lead_unit"] == {"code": nanguan, "name": "南关社区"}
    assert r.body["status"] == "dispatched" and r.body["handler"] is None
    last = r.body["events"][-1]
    assert last["action"] == "delegate" and last["note"] == "请社区先行疏通"
    assert (
        last["payload"]["from_unit"] == "chengguan" and last["payload"]["overseer"] == "chengguan"
    )
    appeal.refresh_from_db()
    assert appeal.reply_due == reply_due  # the township's reply deadline stands
    assert appeal.overseer_unit is not None and appeal.overseer_unit.code == "chengguan"
    assert [e.action for e in appeal.events.order_by("seq")][-1] == "delegate"

    village = api(f"handler-{nanguan}")
    assert village.post(f"/appeals/{appeal.number}/claim").status == 200
    done = village.post(
        f"/appeals/{appeal.number}/reply",
        {"result": "resolved", "text": "社区已联系环卫所疏通下水道，路面已冲洗干净。"},
    )
    assert done.status == 200, done.body
    # Oversight: the township still opens it, with the submitter's phone in full.
    seen = api("handler-chengguan").get(f"/appeals/{appeal.number}")
    assert seen.status == 200 and seen.body["submitter"]["phone"] == "13812345678"
    assert api("handler-zjj").get(f"/appeals/{appeal.number}").status == 404


def test_the_township_hands_it_on_or_takes_it_back(
    api: Any, make_appeal: Any, county: Directory
) -> None:
    appeal = at_township(make_appeal, county)
    nanguan, beijie = code_of(county.villages[0]), code_of(county.villages[1])
    grid = code_of(county.grids[0], "g")
    town = api("handler-chengguan")
    assert town.post(f"/appeals/{appeal.number}/delegate", {"unit": nanguan}).status == 200
    r = town.post(f"/appeals/{appeal.number}/delegate", {"unit": grid})
    assert r.status == 200 and r.body["lead_unit"]["name"] == "南关社区第1网格"
    r = town.post(f"/appeals/{appeal.number}/delegate", {"unit": beijie})
    assert r.status == 200 and r.body["lead_unit"]["code"] == beijie
    back = town.post(f"/appeals/{appeal.number}/delegate", {"unit": "chengguan"})
    assert back.status == 200 and back.body["lead_unit"]["code"] == "chengguan"
    assert back.body["events"][-1]["payload"]["taken_back"] is True
    appeal.refresh_from_db()
    assert appeal.overseer_unit is None
    # The village it was taken from no longer sees it.
    assert api(f"handler-{beijie}").get(f"/appeals/{appeal.number}").status == 404
    again = town.post(f"/appeals/{appeal.number}/delegate", {"unit": "chengguan"})
    assert again.status == 409 and "已在本乡镇" in again.body["detail"]


def test_another_townships_village_is_refused_with_a_clear_error(
    api: Any, make_appeal: Any, county: Directory
) -> None:
    appeal = at_township(make_appeal, county)
    binhe = county.villages[3]  # 滨河社区, 东城街道
    before = snapshot(appeal)
    r = api("handler-chengguan").post(
        f"/appeals/{appeal.number}/delegate", {"unit": code_of(binhe)}
    )
    assert r.status == 403
    assert (
        r.body["detail"] == "滨河社区不属于城关镇：只能下派给本乡镇（街道）所辖的村（社区）和网格。"
    )
    assert snapshot(appeal) == before


def test_only_villages_and_grids_take_a_delegation(
    api: Any, make_appeal: Any, county: Directory
) -> None:
    appeal = at_township(make_appeal, county)
    r = api("handler-chengguan").post(f"/appeals/{appeal.number}/delegate", {"unit": "zjj"})
    assert r.status == 400 and r.body["errors"][0]["field"] == "unit"
    r = api("handler-chengguan").post(f"/appeals/{appeal.number}/delegate", {"unit": "no-such"})
    assert r.status == 400 and r.body["errors"][0]["field"] == "unit"


def test_who_may_not_delegate(api: Any, make_appeal: Any, county: Directory) -> None:
    nanguan = code_of(county.villages[0])
    # A department leading an appeal has no villages.
    dept = make_appeal(content=DRAIN)
    services.appeal_dispatch(actor=user("operator"), number=dept.number, unit="zjj")
    r = api("handler-zjj").post(f"/appeals/{dept.number}/delegate", {"unit": nanguan})
    assert r.status == 403 and r.body["detail"] == "您的角色（承办人）无权进行此操作。"
    appeal = at_township(make_appeal, county)
    assert (
        api("operator").post(f"/appeals/{appeal.number}/delegate", {"unit": nanguan}).status == 403
    )
    api("handler-chengguan").post(f"/appeals/{appeal.number}/delegate", {"unit": nanguan})
    # The village leads now, but moving it is the township's: no re-delegation, no return.
    village = api(f"handler-{nanguan}")
    grid = code_of(county.grids[0], "g")
    assert village.post(f"/appeals/{appeal.number}/delegate", {"unit": grid}).status == 403
    r = village.post(f"/appeals/{appeal.number}/return", {"reason": "不是我们社区的事"})
    assert r.status == 409 and "乡镇收回" in r.body["detail"]


def test_the_appeal_page_offers_the_township_its_own_villages(
    make_appeal: Any, county: Directory
) -> None:
    appeal = at_township(make_appeal, county, claim=False)
    town = client_for("handler-chengguan")
    page = html(town.get(f"/appeals/{appeal.number}/"))
    assert f'action="/appeals/{appeal.number}/delegate/"' in page
    assert "南关社区第1网格" in page and "东门村" in page and "滨河社区" not in page
    r = town.post(
        f"/appeals/{appeal.number}/delegate/",
        {"delegate-unit": code_of(county.villages[2]), "delegate-note": "请东门村处理"},
    )
    assert r.status_code == 302
    appeal.refresh_from_db()
    assert appeal.lead_unit is not None and appeal.lead_unit.name == "东门村"
    assert appeal.status == Status.DISPATCHED
    page = html(town.get(f"/appeals/{appeal.number}/"))
    assert 'data-testid="overseer-unit"' in page and "城关镇" in page
    # A department's handler is offered no delegation.
    other = make_appeal(content=DRAIN)
    services.appeal_dispatch(actor=user("operator"), number=other.number, unit="zjj")
    assert "/delegate/" not in html(client_for("handler-zjj").get(f"/appeals/{other.number}/"))


def test_delegation_only_while_the_township_holds_it_open(
    api: Any, make_appeal: Any, county: Directory
) -> None:
    appeal = at_township(make_appeal, county)
    nanguan = code_of(county.villages[0])
    services.appeal_reply(
        actor=user("handler-chengguan"), number=appeal.number, result="resolved", text="已疏通。"
    )
    before = snapshot(appeal)
    r = api("handler-chengguan").post(f"/appeals/{appeal.number}/delegate", {"unit": nanguan})
    assert r.status == 409 and r.body["code"] == "wrong_status"
    assert snapshot(appeal) == before
    fresh = make_appeal(content=DRAIN)  # received, not dispatched: no township holds it
    r = api("handler-chengguan").post(f"/appeals/{fresh.number}/delegate", {"unit": nanguan})
    assert r.status == 404
