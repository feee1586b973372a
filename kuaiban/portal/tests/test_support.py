"""The duplicate prompt and "我也遇到了": before sending, a person sees open public appeals like
theirs and near them, and may join one; the joined appeal counts them and tells them each step.
Nothing confidential, closed or far away is offered; every refusal leaves the appeal as it was."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kuaiban.appeals import services
from kuaiban.appeals.models import Appeal, Supporter
from kuaiban.conftest import user
from kuaiban.org.demo import Directory
from kuaiban.portal.tests.conftest import Outbox
from kuaiban.portal.tests.test_submit import client, code_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

FIRST = "13912345678"
SECOND = "13798765432"
MANHOLE = "东关街菜市场门口的下水道井盖坏了，晚上很黑，已经有老人差点踩空，请尽快修好。"
ASKED = "东关街菜市场门口井盖坏了好几天，晚上走路很危险"


def register(county: Directory, **fields: Any) -> Appeal:
    data = {
        "channel": "web",
        "kind": "complaint",
        "title": "井盖损坏",
        "content": MANHOLE,
        "submitter_phone": FIRST,
        "lat": "34.730100",
        "lng": "116.930900",
        **fields,
    }
    return services.appeal_register(actor=None, data=services.AppealInput(**data))


def similar(**params: str) -> Any:
    return client().get("/api/v1/public/similar", {"text": ASKED, **params})


def test_the_prompt_offers_open_public_appeals_near_the_pin_and_nothing_else(
    county: Directory,
) -> None:
    near = register(county)
    register(county, lat="34.760100", lng="116.930900")  # the same words 3 km away
    register(county, kind="report", title="", submitter_phone="")
    closed = register(county, lat="34.730200", lng="116.931000")
    services.appeal_invalidate(actor=user("operator"), number=closed.number, reason="重复")
    r = similar(lat="34.730500", lng="116.931200")
    assert r.status_code == 200, r.content
    rows = r.json()
    assert [row["number"] for row in rows] == [near.number]
    assert rows[0]["title"] == "井盖损坏" and rows[0]["metres"] == 100  # ~52 m, to 100 m
    assert FIRST not in r.content.decode() and "submitter" not in r.content.decode()
    # Without a pin the far one is offered as well (text alone); the report never is.
    assert len(similar().json()) == 2


@pytest.mark.parametrize(
    ("params", "field"),
    [({"text": ""}, "text"), ({"lat": "34.7"}, "lng"), ({"lat": "北纬", "lng": "116"}, "lat")],
)
def test_a_bad_prompt_query_names_its_field(
    county: Directory, params: dict[str, str], field: str
) -> None:
    r = similar(**params)
    assert r.status_code == 400, r.content
    assert field in str(r.json())


def test_joining_counts_the_person_and_tells_them_the_steps(
    outbox: Outbox, county: Directory
) -> None:
    appeal = register(county)
    r = client().post(
        f"/api/v1/public/appeals/{appeal.number}/support",
        {"phone": SECOND, "code": code_for(outbox, SECOND)},
    )
    assert r.status_code == 200, r.content
    assert r.json()["supporters"] == 1
    appeal.refresh_from_db()
    assert appeal.supporter_count == 1 and appeal.events.filter(action="support").count() == 1
    assert SECOND not in str(appeal.events.get(action="support").payload)
    services.appeal_dispatch(actor=None, number=appeal.number, unit="chengguan")
    told = outbox.to(SECOND)
    assert [m["template"] for m in told][-1] == "dispatched"
    assert appeal.access_code_display not in " ".join(outbox.texts(SECOND))


@pytest.mark.parametrize("case", ["again", "own", "wrong-code", "report", "closed"])
def test_a_refused_join_changes_nothing_and_keeps_the_code(
    outbox: Outbox, county: Directory, case: str
) -> None:
    appeal = register(county)
    phone = FIRST if case == "own" else SECOND
    if case == "again":
        Supporter.objects.create(appeal=appeal, phone=SECOND, joined_at=appeal.received_at)
        Appeal.objects.filter(pk=appeal.pk).update(supporter_count=1)
    if case == "report":
        appeal = register(county, kind="report", title="", submitter_phone="")
    if case == "closed":
        services.appeal_invalidate(actor=user("operator"), number=appeal.number, reason="无效")
    code = code_for(outbox, phone)
    sent = "000000" if case == "wrong-code" and code != "000000" else code
    if case == "wrong-code" and sent == code:
        sent = "111111"
    before = Supporter.objects.count()
    r = client().post(
        f"/api/v1/public/appeals/{appeal.number}/support", {"phone": phone, "code": sent}
    )
    expected = {"again": 409, "own": 409, "wrong-code": 400, "report": 404, "closed": 409}
    assert r.status_code == expected[case], r.content
    assert Supporter.objects.count() == before
    if case != "wrong-code":  # the code was not spent on a refusal: it still opens a submission
        body = {"kind": "complaint", "content": "路灯不亮很多天了。", "phone": phone, "code": code}
        assert client().post("/api/v1/public/appeals", body).status_code == 201


def test_the_join_page_on_the_web(outbox: Outbox, county: Directory) -> None:
    appeal = register(county)
    page = client().get(f"/submit/join/{appeal.number}/")
    assert page.status_code == 200 and "井盖损坏" in page.content.decode()
    assert FIRST not in page.content.decode()
    wrong = client().post(
        f"/submit/join/{appeal.number}/", {"action": "join", "phone": SECOND, "code": "12"}
    )
    assert wrong.status_code == 400 and 'data-field="code"' in wrong.content.decode()
    done = client().post(
        f"/submit/join/{appeal.number}/",
        {"action": "join", "phone": SECOND, "code": code_for(outbox, SECOND)},
    )
    assert done.status_code == 200 and 'data-testid="joined"' in done.content.decode()
    report = register(county, kind="report", title="", submitter_phone="")
    assert client().get(f"/submit/join/{report.number}/").status_code == 404
    assert re.search(r"我也遇到了", page.content.decode())
