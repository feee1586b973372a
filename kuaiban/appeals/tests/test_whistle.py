"""网格吹哨、部门报到: a village (or grid) leading an appeal names departments; each must report
within the report limit, then co-handles its part as any co-unit does. Through the REST API and
the appeal page, with the refusals: a department not named, a department leading, a report
twice, an assist before reporting."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kuaiban.appeals import services
from kuaiban.appeals.models import Appeal, PartStatus
from kuaiban.appeals.tests.test_views import client_for, html, snapshot
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.deadlines import services as deadlines
from kuaiban.org.demo import Directory

pytestmark = pytest.mark.django_db

SEWAGE = (
    "东门村村口的化粪池满溢，污水流进旁边的农田和水渠，村民多次清理后又漫出来，"
    "需要多个部门一起处理。"
)
CALL = "化粪池满溢污染农田，请生态环境分局检测水质、农业农村局评估农田受损、城管局协助清掏。"
# Wednesday 10:00 in Shanghai: two working hours later is 12:00 the same day.
WEDNESDAY = dt.datetime(2026, 6, 10, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))


def at_village(make_appeal: Any, county: Directory) -> tuple[Appeal, str]:
    """An appeal led by 东门村 (delegated by 城关镇) and claimed by its handler."""
    dongmen = f"v{county.villages[2].code}"
    appeal = make_appeal(title="化粪池满溢", content=SEWAGE, region=county.villages[2].code)
    services.appeal_dispatch(actor=user("operator"), number=appeal.number, unit="chengguan")
    services.appeal_delegate(actor=user("handler-chengguan"), number=appeal.number, unit=dongmen)
    services.appeal_claim(actor=user(f"handler-{dongmen}"), number=appeal.number)
    return Appeal.objects.get(pk=appeal.pk), f"handler-{dongmen}"


def test_the_village_whistles_the_departments_report_and_assist(
    api: Any, make_appeal: Any, county: Directory
) -> None:
    with clock.frozen(WEDNESDAY):
        appeal, village = at_village(make_appeal, county)
        r = api(village).post(
            f"/appeals/{appeal.number}/whistle", {"units": ["sthj", "nyj"], "note": CALL}
        )
    assert r.status == 200, r.body
    event = r.body["events"][-1]
    assert event["action"] == "whistle" and event["note"] == CALL
    assert event["payload"]["units"] == ["sthj", "nyj"]
    assert r.body["status"] == "in_progress"  # the lead keeps it
    parts = {p["unit"]["code"]: p for p in r.body["parts"]}
    assert parts["sthj"]["status"] == "summoned"
    want = deadlines.report_due(start=WEDNESDAY)
    assert want == WEDNESDAY + dt.timedelta(hours=2)
    assert dt.datetime.fromisoformat(str(parts["sthj"]["report_due"])) == want

    dept = api("handler-sthj")
    # Named: it opens the appeal, but may not answer before reporting.
    assert dept.get(f"/appeals/{appeal.number}").status == 200
    early = dept.post(f"/appeals/{appeal.number}/assist", {"result": "resolved", "text": "已检测"})
    assert early.status == 409 and "请先报到" in early.body["detail"]
    with clock.frozen(WEDNESDAY + dt.timedelta(hours=1)):
        rep = dept.post(f"/appeals/{appeal.number}/report")
    assert rep.status == 200, rep.body
    assert rep.body["events"][-1]["action"] == "report"
    assert rep.body["events"][-1]["payload"] == {
        "unit": "sthj",
        "on_time": True,
        "due": rep.body["events"][-2]["payload"]["due"],
    }
    mine = rep.body["parts"]
    assert len(mine) == 1 and mine[0]["status"] == "open" and mine[0]["reported_at"]
    again = dept.post(f"/appeals/{appeal.number}/report")
    assert again.status == 409 and "已报到" in again.body["detail"]
    done = dept.post(
        f"/appeals/{appeal.number}/assist",
        {"result": "resolved", "text": "已对水渠取样检测，指导村里清掏化粪池并消杀。"},
    )
    assert done.status == 200 and done.body["events"][-1]["payload"]["claimed"] is True
    # The other department reports late: recorded, not refused.
    with clock.frozen(WEDNESDAY + dt.timedelta(hours=5)):
        late = api("handler-nyj").post(f"/appeals/{appeal.number}/report")
    assert late.status == 200 and late.body["events"][-1]["payload"]["on_time"] is False
    # The lead waits for the part still open, as for any co-unit.
    wait = api(village).post(
        f"/appeals/{appeal.number}/reply", {"result": "resolved", "text": "已处理完毕。"}
    )
    assert wait.status == 409 and "农业农村局" in wait.body["detail"]
    actions = list(appeal.events.order_by("seq").values_list("action", flat=True))
    assert actions[-4:] == ["whistle", "report", "assist", "report"]


def test_a_department_not_named_cannot_report(
    api: Any, make_appeal: Any, county: Directory
) -> None:
    appeal, village = at_village(make_appeal, county)
    api(village).post(f"/appeals/{appeal.number}/whistle", {"units": ["sthj"], "note": CALL})
    before = snapshot(appeal)
    r = api("handler-zjj").post(f"/appeals/{appeal.number}/report")
    assert r.status == 403 and r.body["detail"] == "只有被吹哨点名的部门可以报到。"
    # Neither can the village itself, nor a grid worker.
    assert api(village).post(f"/appeals/{appeal.number}/report").status == 403
    assert snapshot(appeal) == before
    assert part_status(appeal, "sthj") == PartStatus.SUMMONED


def part_status(appeal: Appeal, unit: str) -> str:
    return str(appeal.parts.get(unit__code=unit).status)


def test_who_may_whistle_and_whom(api: Any, make_appeal: Any, county: Directory) -> None:
    appeal, village = at_village(make_appeal, county)
    # A department or township leading an appeal does not whistle: that is the village's.
    other = make_appeal(content=SEWAGE)
    services.appeal_dispatch(actor=user("operator"), number=other.number, unit="zjj")
    r = api("handler-zjj").post(
        f"/appeals/{other.number}/whistle", {"units": ["cgj"], "note": CALL}
    )
    assert r.status == 403
    town = api("handler-chengguan").post(
        f"/appeals/{appeal.number}/whistle", {"units": ["cgj"], "note": CALL}
    )
    assert town.status == 403
    # Only departments are whistled in, each once, with a note.
    bad = api(village).post(
        f"/appeals/{appeal.number}/whistle", {"units": ["chengguan"], "note": CALL}
    )
    assert bad.status == 400 and bad.body["errors"][0]["field"] == "units"
    assert "不是职能部门" in bad.body["errors"][0]["message"]
    empty = api(village).post(f"/appeals/{appeal.number}/whistle", {"units": [], "note": CALL})
    assert empty.status == 400 and empty.body["errors"][0]["field"] == "units"
    bare = api(village).post(f"/appeals/{appeal.number}/whistle", {"units": ["cgj"], "note": " "})
    assert bare.status == 400 and bare.body["errors"][0]["field"] == "note"
    assert (
        api(village)
        .post(f"/appeals/{appeal.number}/whistle", {"units": ["cgj"], "note": CALL})
        .status
        == 200
    )
    twice = api(village).post(f"/appeals/{appeal.number}/whistle", {"units": ["cgj"], "note": CALL})
    assert twice.status == 400 and "城管局" in twice.body["errors"][0]["message"]


def test_a_confidential_report_is_not_whistled(
    api: Any, make_appeal: Any, county: Directory
) -> None:
    dongmen = f"v{county.villages[2].code}"
    appeal = make_appeal(kind="report", title="举报偷排", content="有人夜里往水渠偷排污水。")
    services.appeal_dispatch(actor=user("supervisor"), number=appeal.number, unit=dongmen)
    r = api(f"handler-{dongmen}").post(
        f"/appeals/{appeal.number}/whistle", {"units": ["sthj"], "note": CALL}
    )
    assert r.status == 409
    # A department probing a report it cannot open learns nothing: 404.
    assert api("handler-sthj").post(f"/appeals/{appeal.number}/report").status == 404


def test_the_appeal_page_whistles_and_reports(make_appeal: Any, county: Directory) -> None:
    appeal, village = at_village(make_appeal, county)
    page = html(client_for(village).get(f"/appeals/{appeal.number}/"))
    assert f'action="/appeals/{appeal.number}/whistle/"' in page
    r = client_for(village).post(
        f"/appeals/{appeal.number}/whistle/", {"whistle-units": ["swj"], "whistle-note": CALL}
    )
    assert r.status_code == 302
    dept = client_for("handler-swj")
    page = html(dept.get(f"/appeals/{appeal.number}/"))
    assert f'action="/appeals/{appeal.number}/report/"' in page
    assert f'action="/appeals/{appeal.number}/assist/"' not in page
    assert dept.post(f"/appeals/{appeal.number}/report/").status_code == 302
    page = html(dept.get(f"/appeals/{appeal.number}/"))
    assert f'action="/appeals/{appeal.number}/assist/"' in page
