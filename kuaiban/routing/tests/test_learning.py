"""Lead-unit suggestions learnt from the county's own ledger: the unit that kept an appeal (not
one that returned it), the time-split evaluation, retraining in the worker, and the weekly
accuracy of the recorded suggestions (API and routing page), with the denials."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kuaiban.appeals import services as appeals
from kuaiban.appeals.models import Appeal
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.core.text import fold
from kuaiban.org.demo import Directory
from kuaiban.org.models import Unit
from kuaiban.routing import services
from kuaiban.routing.models import ModelVersion, Suggestion, TrainingJob

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("routing_env")]

MANHOLES = [
    "人民路与建设路交叉口的井盖丢失了，晚上骑电动车很危险，请尽快补上",
    "城关大道公交站旁边井盖没了，已经有老人差点掉下去，请尽快处理",
    "解放路口井盖被偷，路面留下一个大坑，车辆经过需要绕行，请尽快补装",
    "新华街十字路口井盖破损塌陷，过往车辆颠簸严重，希望尽快更换井盖",
    "滨河路东段路口的井盖缺失，下雨天积水看不见，行人容易踩空受伤",
    "站前路口一个雨水井盖丢了，放了几块砖头挡着，请有关部门补装井盖",
]
SCHOOLS = [
    "城关二小开学让每个学生交三百元资料费，不开收据，请教育局查处",
    "实验中学强制学生订购教辅资料，每人一百五十元，家长意见很大",
    "桃源镇中心小学午休要额外收费，每月两百元，请问是否合规",
    "第三中学周末组织有偿补课，老师暗示不参加会影响成绩，请查处",
    "育才小学收取校服费后迟迟不发校服，家长多次询问没有答复",
    "城关一中晚自习强制收费，每学期八百元，没有任何收费依据",
]
RETURN_REASON = "井盖属于道路附属设施，由交通运输局负责，非住建局职责，申请退回重新派单。"
REPLY = "经现场核实，已安排人员补装井盖并设置警示标志，已电话告知诉求人。"


def walk(text: str, *, first: str, keeper: str, reply: bool = True) -> Appeal:
    """Register, dispatch to ``first``; if ``first`` differs from ``keeper`` it claims and
    returns the appeal and the operator re-dispatches to ``keeper``, who claims and replies."""
    operator = user("operator")
    appeal = appeals.appeal_register(
        actor=operator,
        data=appeals.AppealInput(
            channel="hotline",
            kind="complaint",
            title=text[:12],
            content=text,
            submitter_name="王建华",
            submitter_phone="13812345678",
        ),
    )
    number = appeal.number or ""
    appeals.appeal_dispatch(actor=operator, number=number, unit=first)
    if first != keeper:
        appeals.appeal_claim(actor=user(f"handler-{first}"), number=number)
        appeals.appeal_return(actor=user(f"handler-{first}"), number=number, reason=RETURN_REASON)
        appeals.appeal_dispatch(actor=operator, number=number, unit=keeper)
    if reply:
        appeals.appeal_claim(actor=user(f"handler-{keeper}"), number=number)
        appeals.appeal_reply(
            actor=user(f"handler-{keeper}"), number=number, result="resolved", text=REPLY
        )
    return Appeal.objects.get(pk=appeal.pk)


def test_a_returned_dispatch_teaches_the_unit_that_kept_the_appeal(county: Directory) -> None:
    # Every manhole report went to 住建局 first, which returned it; 交通运输局 kept it.
    for text in MANHOLES:
        walk(text, first="zjj", keeper="jtj")
    for text in SCHOOLS:
        walk(text, first="jyj", keeper="jyj")
    walk("建设路口井盖松动，车一压就响", first="zjj", keeper="zjj", reply=False)  # unfinished

    samples = services.unit_ledger()
    assert Counter(s.unit for s in samples) == {"jtj": 6, "jyj": 6}
    texts, labels = services.ledger_samples(target="unit")
    assert labels.count("zjj") == 0 and len(texts) == 12
    assert [s.received_at for s in samples] == sorted(s.received_at for s in samples)

    row = services.model_train(
        target="unit", texts=texts, labels=labels, source="test", cv_folds=0, min_class_samples=2
    )
    assert row.active and sorted(row.classes) == ["jtj", "jyj"]
    found = services.suggest("幸福路口的井盖不见了，很危险")
    assert found["units"][0][:2] == ("jtj", "交通运输局")


def _closed(county: Directory, text: str, unit: str, received: dt.datetime) -> Appeal:
    return Appeal.objects.create(
        channel="hotline",
        kind="complaint",
        title=text[:12],
        content=text,
        search_text=fold(text),
        lead_unit=county.units[unit],
        region=county.villages[0],
        status="closed",
        received_at=received,
        replied_at=received + dt.timedelta(days=1),
        closed_at=received + dt.timedelta(days=2),
        number=f"KBL-{received:%m%d%H%M%S}",
    )


def test_evaluate_units_on_a_time_split(county: Directory) -> None:
    start = clock.now() - dt.timedelta(days=60)
    at = [start + dt.timedelta(hours=i) for i in range(40)]
    # Older 32: 16 manhole (交通运输局) and 16 school (教育局) appeals, alternating.
    for i in range(32):
        text = (MANHOLES if i % 2 == 0 else SCHOOLS)[(i // 2) % 6] + f"（第{i}次反映）"
        _closed(county, text, "jtj" if i % 2 == 0 else "jyj", at[i])
    # Newer 8: 3 manholes, 3 schools, and 2 about a unit the older part never saw.
    newer = [
        ("建设路口的井盖丢失，夜里很危险，请补装", "jtj"),
        ("人民路口井盖塌陷，车辆颠簸，请更换", "jtj"),
        ("公交站旁井盖没了，请尽快补上", "jtj"),
        ("城关二小收资料费不开收据", "jyj"),
        ("实验中学强制订购教辅资料收费", "jyj"),
        ("第三中学周末有偿补课收费", "jyj"),
        ("化工厂夜里偷排废气，气味刺鼻", "sthj"),
        ("河道里漂着死鱼，水发臭", "sthj"),
    ]
    for i, (text, unit) in enumerate(newer):
        _closed(county, text, unit, at[32 + i])

    out = StringIO()
    call_command("evaluate", "--units", "--time-split", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "lead unit, time split of 40 finished appeals (text, category and township)"
    assert lines[1].startswith("trained on 32 appeals")
    assert "tested on 8 appeals" in lines[2] and "(2 of a unit unseen in training)" in lines[2]
    assert lines[-2:] == ["accuracy@1: 0.7500", "accuracy@3: 0.7500"]
    out = StringIO()
    call_command("evaluate", "--units", "--time-split", "--text-only", stdout=out)
    assert out.getvalue().startswith("lead unit, time split of 40 finished appeals (text only)")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--units"], "--units goes with --time-split"),
        (["--units", "--time-split", "--test-share", "0.9"], "--test-share"),
        (["--units", "--time-split"], "0 finished appeals"),
        ([], "--file is required"),
    ],
)
def test_evaluate_units_refuses(county: Directory, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("evaluate", *args, stdout=StringIO())


def test_the_worker_retrains_the_unit_model_when_enough_appeals_were_replied(
    county: Directory, settings: Any
) -> None:
    settings.KUAIBAN_ROUTING_RETRAIN_AFTER = 21
    start = clock.now() - dt.timedelta(days=30)
    for i in range(20):
        text = (MANHOLES if i % 2 == 0 else SCHOOLS)[(i // 2) % 6] + f"（第{i}次反映）"
        _closed(county, text, "jtj" if i % 2 == 0 else "jyj", start + dt.timedelta(hours=i))
    assert services.retrain_if_due() is None  # 20 replied: not yet
    walk("幸福路口的井盖不见了，很危险", first="zjj", keeper="jtj")
    job = services.retrain_if_due()
    assert job is not None and job.target == "unit" and job.cv_folds == 0
    assert services.retrain_if_due() is None  # one is queued already
    out = StringIO()
    call_command("routing_worker", stdout=out)
    job.refresh_from_db()
    assert job.status == TrainingJob.Status.DONE, job.output
    active = ModelVersion.objects.get(target="unit", active=True)
    assert active.n_samples == 21 and sorted(active.classes) == ["jtj", "jyj"]
    assert "1 training job(s) run." in out.getvalue()
    # Nothing replied since that model: no further job; 0 turns retraining off.
    assert services.retrain_if_due() is None
    settings.KUAIBAN_ROUTING_RETRAIN_AFTER = 0
    assert services.retrain_if_due() is None


def _local(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def _suggested(appeal: Appeal, at: dt.datetime, units: list[str]) -> None:
    names = dict(Unit.objects.values_list("code", "name"))
    Suggestion.objects.create(
        appeal=appeal,
        created_at=at,
        units=[[u, names[u], p] for u, p in zip(units, (0.7, 0.2, 0.1), strict=False)],
        top_unit=Unit.objects.get(code=units[0]),
        top_probability=0.7,
    )


@pytest.fixture
def weeks(county: Directory) -> None:
    """Six suggestions in the weeks of Monday 2026-11-16 and Monday 2026-11-23."""
    week1, week2 = dt.date(2026, 11, 16), dt.date(2026, 11, 23)
    # Suggested 住建局; it returned the appeal, 交通运输局 kept it (2nd suggestion): @3 only.
    a1 = walk(MANHOLES[0], first="zjj", keeper="jtj")
    _suggested(a1, _local(week1), ["zjj", "jtj", "sthj"])
    a2 = walk(MANHOLES[1], first="jtj", keeper="jtj")
    _suggested(a2, _local(week1 + dt.timedelta(days=2)), ["jtj", "zjj", "sthj"])
    a3 = walk(SCHOOLS[0], first="jyj", keeper="jyj", reply=False)  # not replied: not scored
    _suggested(a3, _local(week1 + dt.timedelta(days=6), 23), ["jyj", "rsj", "zjj"])
    a4 = walk(SCHOOLS[1], first="wjj", keeper="wjj")
    _suggested(a4, _local(week1 + dt.timedelta(days=3)), ["rsj", "jyj", "zjj"])
    b1 = walk(MANHOLES[2], first="zjj", keeper="zjj")
    _suggested(b1, _local(week2), ["zjj", "jtj", "sthj"])
    b2 = walk(SCHOOLS[2], first="jyj", keeper="jyj")
    _suggested(b2, _local(week2 + dt.timedelta(days=4)), ["jyj", "rsj", "wjj"])


def test_weekly_accuracy_in_the_api(api: Any, weeks: None) -> None:
    r = api("operator").get("/routing/accuracy", **{"from": "2026-11-16", "to": "2026-11-29"})
    assert r.status == 200, r.body
    assert r.body == {
        "from": "2026-11-16",
        "to": "2026-11-29",
        "totals": {
            "week": "2026-11-16",
            "suggested": 6,
            "finished": 5,
            "top1": 3,
            "top3": 4,
            "accuracy": 0.6,
            "accuracy_at_3": 0.8,
        },
        "weeks": [
            {
                "week": "2026-11-16",
                "suggested": 4,
                "finished": 3,
                "top1": 1,
                "top3": 2,
                "accuracy": pytest.approx(1 / 3),
                "accuracy_at_3": pytest.approx(2 / 3),
            },
            {
                "week": "2026-11-23",
                "suggested": 2,
                "finished": 2,
                "top1": 2,
                "top3": 2,
                "accuracy": 1.0,
                "accuracy_at_3": 1.0,
            },
        ],
    }
    # Only the second week.
    r = api("supervisor").get("/routing/accuracy", **{"from": "2026-11-23", "to": "2026-11-29"})
    assert [w["week"] for w in r.body["weeks"]] == ["2026-11-23"]
    assert r.body["totals"]["accuracy"] == 1.0


def test_weekly_accuracy_denials_and_bad_input(api: Any, weeks: None) -> None:
    for name in ("handler-zjj", "visitor"):
        assert api(name).get("/routing/accuracy").status == 403
    assert api(None).get("/routing/accuracy").status == 401
    bad = api("operator").get("/routing/accuracy", **{"from": "2026-11-29", "to": "2026-11-01"})
    assert bad.status == 400 and bad.body["errors"][0]["field"] == "from"
    bad = api("operator").get("/routing/accuracy", **{"from": "soon"})
    assert bad.status == 400


def test_weekly_accuracy_on_the_routing_page(weeks: None) -> None:
    c = Client(headers={"accept-language": "zh-hans"})
    c.force_login(user("leader"))
    html = c.get(reverse("routing:overrides"), {"from": "2026-11-16", "to": "2026-11-29"})
    text = html.content.decode()
    assert html.status_code == 200 and 'data-testid="accuracy"' in text
    assert "<td>2026-11-16</td><td>4</td><td>3</td><td>1</td><td>33%</td><td>67%</td>" in text
    assert "<td>2026-11-23</td><td>2</td><td>2</td><td>2</td><td>100%</td><td>100%</td>" in text
    assert "<th>6</th><th>5</th><th>3</th><th>60%</th><th>80%</th>" in text
    assert "建议承办单位的每周准确率" in text
    h = Client()
    h.force_login(user("handler-zjj"))
    assert h.get(reverse("routing:overrides")).status_code == 403
