"""The appeal's JSON carries its deadlines (ISO 8601 with +08:00, null until known) and alert."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kuaiban.core import clock
from kuaiban.deadlines.calendar import SHANGHAI
from kuaiban.supervision.services.sweep import sweep

pytestmark = pytest.mark.django_db
MONDAY = dt.datetime(2026, 11, 23, 8, 30, tzinfo=SHANGHAI)


def test_deadlines_and_alert_in_the_appeal_json(make_appeal: Any, api: Any) -> None:
    with clock.frozen(MONDAY):
        appeal = make_appeal(kind="help")
    r = api("operator").get(f"/appeals/{appeal.number}")
    assert r.status == 200
    assert (r.body["claim_due"], r.body["reply_due"], r.body["visit_due"]) == (None, None, None)
    assert r.body["alert"] == "none"

    with clock.frozen(MONDAY):
        r = api("operator").post(f"/appeals/{appeal.number}/dispatch", {"unit": "zjj"})
    assert r.status == 200, r.body
    assert r.body["claim_due"] == "2026-11-23T17:30:00+08:00"
    assert r.body["reply_due"] == "2026-11-30T17:30:00+08:00"
    assert r.body["visit_due"] is None

    sweep(now=dt.datetime(2026, 11, 23, 17, 31, tzinfo=SHANGHAI))
    r = api("handler-zjj").get(f"/appeals/{appeal.number}")
    assert r.body["alert"] == "red"
    assert r.body["events"][-1]["action"] == "alert_red"
    assert r.body["events"][-1]["payload"]["due"] == "2026-11-23T17:30:00+08:00"
    listed = api("supervisor").get("/appeals", alert="red")
    assert [a["number"] for a in listed.body["items"]] == [appeal.number]
    assert api("supervisor").get("/appeals", alert="orange").status == 400

    with clock.frozen(dt.datetime(2026, 11, 24, 9, tzinfo=SHANGHAI)):
        api("handler-zjj").post(f"/appeals/{appeal.number}/claim", {})
        r = api("handler-zjj").post(
            f"/appeals/{appeal.number}/reply",
            {"result": "resolved", "text": "已协调社区为老人安装扶手。"},
        )
    assert r.body["visit_due"] == "2026-11-27T17:30:00+08:00"
