"""The WeChat matrix groups (微信矩阵群) over the API and the pages: a problem raised in a group
becomes an appeal; an answer for the class reaches every member's contacts by SMS and the group
through its signed webhook (a real receiver on 127.0.0.1)."""

from __future__ import annotations

from typing import Any

import pytest

from kuaiban.appeals.models import Appeal, AppealEvent
from kuaiban.enterprise import services
from kuaiban.enterprise.models import EnterpriseAppeal, EnterpriseGroup, GroupAnswer
from kuaiban.integrations.tests.conftest import Receiver, receiver  # noqa: F401 (fixture)
from kuaiban.notify.models import SmsMessage
from kuaiban.notify.tests.conftest import Outbox, outbox  # noqa: F401 (fixture)
from kuaiban.org.models import User

pytestmark = pytest.mark.django_db

ASK = "园区变压器容量不够，新上的生产线无法满负荷运行，能否协调电力部门增容？"


@pytest.fixture
def members(ent: Any) -> list[Any]:
    a = ent("恒达汽车零部件有限公司", contact=("周海燕", "13905310011"))
    b = ent("金泰电子元件有限公司", contact=("孙立军", "13905310012"))
    c = ent("正鑫铸造有限公司", contact=("赵红梅", "13905310013"))
    services.contact_add(
        actor=User.objects.get(username="admin"),
        credit_code=b.credit_code,
        name="钱国栋",
        phone="13905310014",
        position="厂长",
    )
    return [a, b, c]


@pytest.fixture
def group(api: Any, members: list[Any], settings: Any, receiver: Receiver) -> dict[str, Any]:  # noqa: F811
    settings.KUAIBAN_WEBHOOK_ALLOW_PRIVATE = True
    r = api("operator").post(
        "/wechat-groups",
        {
            "name": "制造业企业服务群",
            "industry": "C",
            "members": [m.credit_code for m in members],
            "webhook_url": receiver.url,
        },
    )
    assert r.status == 201, r.body
    receiver.secret = r.body["webhook_secret"]
    return dict(r.body)


def raise_problem(api: Any, group: dict[str, Any], code: str, **extra: Any) -> Any:
    return api(extra.pop("as_user", "operator")).post(
        f"/wechat-groups/{group['id']}/problems",
        {"credit_code": code, "title": "生产线用电增容", "content": ASK, **extra},
    )


def test_a_problem_raised_in_a_group_is_an_appeal_from_the_group(
    api: Any, group: dict[str, Any], members: list[Any]
) -> None:
    r = raise_problem(api, group, members[0].credit_code, unit="jfj")
    assert r.status == 201, r.body
    assert r.body["channel"] == "wechat" and r.body["status"] == "dispatched"
    appeal = Appeal.objects.get(number=r.body["number"])
    assert appeal.credit_code == members[0].credit_code
    assert appeal.submitter_phone == "13905310011"
    link = EnterpriseAppeal.objects.get(appeal=appeal)
    assert (link.source, link.group_id, link.enterprise_id) == ("group", group["id"], members[0].pk)
    assert appeal.events.get(action="register").payload["group"] == group["id"]
    listed = api("supervisor").get(f"/wechat-groups/{group['id']}/problems").body
    assert [p["number"] for p in listed] == [appeal.number]


def test_group_problem_denials(api: Any, group: dict[str, Any], ent: Any) -> None:
    outsider = ent("瑞丰食品有限公司")
    r = raise_problem(api, group, outsider.credit_code)
    assert r.status == 400 and r.body["errors"][0]["field"] == "credit_code"
    assert "不是" in r.body["errors"][0]["message"]
    for who in ("handler-jfj", "leader"):
        assert raise_problem(api, group, outsider.credit_code, as_user=who).status == 403, who
    assert api("handler-jfj").get("/wechat-groups").status == 403
    assert api("handler-jfj").post("/wechat-groups", {"name": "x", "industry": "C"}).status == 403
    bad = api("operator").post(
        "/wechat-groups", {"name": "建筑业企业服务群", "industry": "Z", "webhook_url": "ftp://x"}
    )
    assert bad.status == 400
    assert {e["field"] for e in bad.body["errors"]} == {"industry", "webhook_url"}
    assert not Appeal.objects.exists()


def test_an_answer_for_the_class_reaches_every_member_and_the_group(
    api: Any,
    group: dict[str, Any],
    members: list[Any],
    receiver: Receiver,  # noqa: F811
    outbox: Outbox,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    number = raise_problem(api, group, members[0].credit_code, unit="jfj").body["number"]
    answer = {
        "number": number,
        "text": "已协调供电公司下周完成增容，周海燕经理13905310011已知悉。",
        "for_class": True,
    }
    # A handler of another unit may not answer; nor before it reached a unit (below).
    denied = api("handler-zjj").post(f"/wechat-groups/{group['id']}/answers", answer)
    assert denied.status in (403, 404)
    events_before = AppealEvent.objects.filter(appeal__number=number).count()
    with django_capture_on_commit_callbacks(execute=True):
        r = api("handler-jfj").post(f"/wechat-groups/{group['id']}/answers", answer)
    assert r.status == 201, r.body
    assert (r.body["enterprises_told"], r.body["sms"]) == (3, 4)
    phones = ["13905310011", "13905310012", "13905310013", "13905310014"]
    sms = SmsMessage.objects.filter(template="group_answer", appeal__number=number)
    assert sorted(sms.values_list("to", flat=True)) == phones
    for phone in phones:
        texts = outbox.texts(phone)
        assert len(texts) == 1 and "已协调供电公司下周完成增容" in texts[0], phone
        assert "制造业企业服务群" in texts[0]
        # The raising enterprise's own phone does not go out to the other members.
        assert "13905310011" not in texts[0] and "经理****" in texts[0]
    # The group's bot got one POST, signed with the group's secret.
    assert len(receiver.delivered) == 1 and receiver.delivered[0].signature_ok
    body = receiver.delivered[0].json
    assert body["type"] == "group.answer" and body["number"] == number
    assert body["for_class"] is True and body["unit"] == "经发局"
    assert "13905310011" not in receiver.delivered[0].body.decode()
    assert GroupAnswer.objects.get().webhook_state == "sent"
    # One event on the appeal, which keeps its status.
    events = AppealEvent.objects.filter(appeal__number=number).order_by("seq")
    assert events.count() == events_before + 1
    last = events.last()
    assert last is not None and last.action == "note" and last.payload["for_class"] is True
    assert Appeal.objects.get(number=number).status == "dispatched"


def test_an_answer_not_for_the_class_tells_the_raising_enterprise_only(
    api: Any,
    group: dict[str, Any],
    members: list[Any],
    receiver: Receiver,  # noqa: F811
    outbox: Outbox,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    number = raise_problem(api, group, members[1].credit_code, unit="jfj").body["number"]
    with django_capture_on_commit_callbacks(execute=True):
        r = api("operator").post(
            f"/wechat-groups/{group['id']}/answers",
            {"number": number, "text": "请带营业执照到政务大厅办理。"},
        )
    assert r.status == 201, r.body
    assert (r.body["enterprises_told"], r.body["sms"], r.body["webhook"]) == (1, 2, "none")
    assert sorted(
        SmsMessage.objects.filter(template="group_answer").values_list("to", flat=True)
    ) == ["13905310012", "13905310014"]
    assert receiver.received == []


def test_answer_denials(api: Any, group: dict[str, Any], members: list[Any], ent: Any) -> None:
    waiting = raise_problem(api, group, members[0].credit_code).body["number"]  # not dispatched
    r = api("operator").post(
        f"/wechat-groups/{group['id']}/answers", {"number": waiting, "text": "稍后答复。"}
    )
    assert r.status == 409 and "派" in r.body["detail"]
    number = raise_problem(api, group, members[0].credit_code, unit="jfj").body["number"]
    # A leader reads the group but does not answer in it.
    leader = api("leader").post(
        f"/wechat-groups/{group['id']}/answers", {"number": number, "text": "好的。"}
    )
    assert leader.status == 403 and "主办单位" in leader.body["detail"]
    # Another group's problem is not this group's to answer.
    other = services.group_save(
        actor=User.objects.get(username="operator"),
        data=services.GroupInput(name="建筑业企业服务群", industry="E"),
    )
    elsewhere = api("operator").post(
        f"/wechat-groups/{other.pk}/answers", {"number": number, "text": "好的。"}
    )
    assert elsewhere.status == 404
    empty = api("handler-jfj").post(
        f"/wechat-groups/{group['id']}/answers", {"number": number, "text": ""}
    )
    assert empty.status == 400 and empty.body["errors"][0]["field"] == "text"
    assert not GroupAnswer.objects.exists()


def test_group_pages(web: Any, group: dict[str, Any], members: list[Any], outbox: Outbox) -> None:  # noqa: F811
    desk = web("operator")
    page = desk.get(f"/enterprise/groups/{group['id']}/")
    assert page.status_code == 200 and "制造业企业服务群" in page.content.decode()
    posted = desk.post(
        f"/enterprise/groups/{group['id']}/problems/",
        {
            "problem-credit_code": members[2].credit_code,
            "problem-title": "铸造用砂运输受限",
            "problem-content": "环保限行期间铸造用砂运不进厂，请协调运输通道。",
            "problem-kind": "help",
        },
    )
    assert posted.status_code == 302
    appeal = Appeal.objects.get(title="铸造用砂运输受限")
    assert appeal.channel == "wechat"
    missing = desk.post(f"/enterprise/groups/{group['id']}/problems/", {"problem-content": "x"})
    assert missing.status_code == 400
    # Not dispatched yet: the answer form is refused with the reason, nothing sent.
    refused = desk.post(
        f"/enterprise/groups/{group['id']}/answers/",
        {"answer-number": appeal.number, "answer-text": "已协调。", "answer-for_class": "on"},
        follow=True,
    )
    assert "派" in refused.content.decode()
    assert not SmsMessage.objects.filter(template="group_answer").exists()
    assert web("handler-jfj").get(f"/enterprise/groups/{group['id']}/").status_code == 403
    assert web("leader").get("/enterprise/groups/").status_code == 200
    assert EnterpriseGroup.objects.count() == 1


def test_the_group_page_answers_for_the_class(
    api: Any,
    web: Any,
    group: dict[str, Any],
    members: list[Any],
    outbox: Outbox,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    number = raise_problem(api, group, members[2].credit_code, unit="jfj").body["number"]
    page = web("operator").get(f"/enterprise/groups/{group['id']}/").content.decode()
    assert "面向全群" in page and number in page
    with django_capture_on_commit_callbacks(execute=True):
        r = web("operator").post(
            f"/enterprise/groups/{group['id']}/answers/",
            {
                "answer-number": number,
                "answer-text": "限行期间可办理通行证。",
                "answer-for_class": "on",
            },
        )
    assert r.status_code == 302
    answer = GroupAnswer.objects.get()
    assert answer.for_class and answer.enterprises_told == 3 and answer.sms_count == 4
    assert len(outbox.lines()) == 4
    # A handler of another unit posting the same form is refused.
    other = web("handler-zjj").post(
        f"/enterprise/groups/{group['id']}/answers/",
        {"answer-number": number, "answer-text": "好的。"},
    )
    assert other.status_code in (403, 404)
    assert GroupAnswer.objects.count() == 1
