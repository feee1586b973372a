"""Handlers hear of work arriving at their unit: dispatched, arbitrated, a co-unit's part, rework
(``supervision.services.work_notices``), in the app, by e-mail and, where configured, by SMS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core import mail

from kuaiban.notify.hooks import silenced
from kuaiban.org.models import User

pytestmark = pytest.mark.django_db

BODY = {
    "channel": "hotline",
    "kind": "complaint",
    "title": "人民路路面坑洼",
    "content": "人民路从东门村到镇上这段路坑洼不平，下雨积水，已有电动车摔倒，请尽快修补。",
    "submitter": {"name": "李秀英", "phone": "13912345678", "type": "citizen"},
}


@pytest.fixture
def run_hooks(django_capture_on_commit_callbacks: Any) -> Any:
    def run(call: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return call()

    return run


def notices(api: Any, who: str) -> list[dict[str, Any]]:
    r = api(who).get("/notifications")
    assert r.status == 200, r.body
    return r.body["items"]


def test_lead_and_co_unit_handlers_are_told_and_nobody_else(api: Any, run_hooks: Any) -> None:
    number = run_hooks(lambda: api("operator").post("/appeals", BODY)).body["number"]
    r = run_hooks(
        lambda: api("operator").post(
            f"/appeals/{number}/dispatch", {"unit": "jtj", "co_units": ["cgj"]}
        )
    )
    assert r.status == 200, r.body
    lead = notices(api, "handler-jtj")
    assert [(n["kind"], n["appeal"]) for n in lead] == [("dispatched", number)]
    assert "交通运输局" in lead[0]["text"] and lead[0]["url"].endswith(f"/appeals/{number}/")
    co = notices(api, "handler-cgj")
    assert [(n["kind"], n["appeal"]) for n in co] == [("co_handle", number)]
    assert "城管局" in co[0]["text"]
    assert notices(api, "handler-zjj") == []  # another unit hears nothing


def test_rework_after_a_dissatisfied_visit_tells_the_lead(api: Any, run_hooks: Any) -> None:
    number = run_hooks(lambda: api("operator").post("/appeals", BODY)).body["number"]
    run_hooks(lambda: api("operator").post(f"/appeals/{number}/dispatch", {"unit": "jtj"}))
    assert api("handler-jtj").post(f"/appeals/{number}/claim", {}).status == 200
    r = api("handler-jtj").post(
        f"/appeals/{number}/reply", {"result": "resolved", "text": "已安排养护队修补路面。"}
    )
    assert r.status == 200, r.body
    r = run_hooks(
        lambda: api("supervisor").post(
            f"/appeals/{number}/visit",
            {
                "reached": True,
                "resolved": False,
                "satisfaction": "dissatisfied",
                "authentic": True,
                "note": "路面仍有坑",
            },
        )
    )
    assert r.status == 200 and r.body["status"] == "in_progress", r.body
    kinds = [n["kind"] for n in notices(api, "handler-jtj")]
    assert kinds == ["rework", "dispatched"]  # newest first


def test_an_arbitrated_dispatch_says_so(api: Any, run_hooks: Any) -> None:
    number = run_hooks(lambda: api("operator").post("/appeals", BODY)).body["number"]
    for unit in ("zjj", "cgj"):
        run_hooks(lambda u=unit: api("operator").post(f"/appeals/{number}/dispatch", {"unit": u}))
        r = api(f"handler-{unit}").post(f"/appeals/{number}/return", {"reason": "不属于本单位职责"})
        assert r.status == 200, r.body
    r = run_hooks(lambda: api("supervisor").post(f"/appeals/{number}/dispatch", {"unit": "jtj"}))
    assert r.status == 200, r.body
    [notice] = notices(api, "handler-jtj")
    assert notice["kind"] == "arbitrated"


def test_a_report_reaches_only_those_who_may_open_it(api: Any, run_hooks: Any) -> None:
    body = {
        **BODY,
        "kind": "report",
        "title": "举报某单位违规收费",
        "content": "举报县某单位违规收取办证费用，请核查。",
    }
    number = run_hooks(lambda: api("operator").post("/appeals", body)).body["number"]
    r = run_hooks(
        lambda: api("supervisor").post(
            f"/appeals/{number}/dispatch", {"unit": "scjg", "co_units": ["cgj"]}
        )
    )
    assert r.status == 200, r.body
    lead = notices(api, "handler-scjg")
    assert [n["kind"] for n in lead] == ["dispatched"]
    assert "违规收费" not in lead[0]["text"]  # the number and the unit only
    # A co-unit hears of it exactly when it may open it; another unit never.
    may_open = api("handler-cgj").get(f"/appeals/{number}").status == 200
    assert bool(notices(api, "handler-cgj")) == may_open
    assert notices(api, "handler-zjj") == []
    assert api("handler-zjj").get(f"/appeals/{number}").status == 404


def test_sms_and_mail_where_configured(
    api: Any, run_hooks: Any, settings: Any, tmp_path: Path
) -> None:
    settings.KUAIBAN_SMS_BACKEND = "kuaiban.notify.backends.FileBackend"
    settings.KUAIBAN_SMS_OUTBOX = str(tmp_path / "sms.jsonl")
    settings.KUAIBAN_SMS_QUIET_HOURS = ""
    handler = User.objects.get(username="handler-jtj")
    handler.phone, handler.email = "13700001111", "jtj@example.gov.cn"
    handler.save()
    number = run_hooks(lambda: api("operator").post("/appeals", BODY)).body["number"]

    settings.KUAIBAN_SMS_STAFF_NOTICES = False
    run_hooks(lambda: api("operator").post(f"/appeals/{number}/dispatch", {"unit": "jtj"}))
    outbox = tmp_path / "sms.jsonl"
    sent = [json.loads(x) for x in outbox.read_text().splitlines()] if outbox.exists() else []
    assert [m for m in sent if m["to"] == "13700001111"] == []
    assert any(number in m.body for m in mail.outbox if "jtj@example.gov.cn" in m.to)

    settings.KUAIBAN_SMS_STAFF_NOTICES = True
    api("handler-jtj").post(f"/appeals/{number}/return", {"reason": "不属于本单位职责"})
    run_hooks(lambda: api("operator").post(f"/appeals/{number}/dispatch", {"unit": "jtj"}))
    sent = [json.loads(x) for x in outbox.read_text().splitlines()]
    mine = [m for m in sent if m["to"] == "13700001111"]
    assert len(mine) == 1 and mine[0]["template"] == "staff_dispatched"
    assert number in mine[0]["text"] and "交通运输局" in mine[0]["text"]


def test_the_demo_history_tells_nobody(api: Any, run_hooks: Any) -> None:
    number = run_hooks(lambda: api("operator").post("/appeals", BODY)).body["number"]
    with silenced():
        r = run_hooks(lambda: api("operator").post(f"/appeals/{number}/dispatch", {"unit": "jtj"}))
    assert r.status == 200
    assert notices(api, "handler-jtj") == []
