"""The policy library, one-to-many answers (promote, tell the industry, suggest to the desk),
topics and the enterprise appeal figures."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from kuaiban.appeals import services as appeal_services
from kuaiban.appeals.models import Appeal, AppealEvent
from kuaiban.core import clock
from kuaiban.enterprise import topics
from kuaiban.enterprise.models import Answer, Notice
from kuaiban.org.models import User

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(dt.datetime(2026, 6, 1, 10))

SUBSIDY = {
    "title": "清河县支持制造业高质量发展若干政策",
    "document_number": "清政发〔2026〕3号",
    "text": "对年度设备投资额超过500万元的技术改造项目，按设备投资额的8%给予补助。",
    "issuing_unit": "jfj",
    "industries": ["C"],
    "valid_from": "2026-01-01",
    "valid_to": "2028-12-31",
}
FOR_ALL = {
    "title": "中小微企业融资担保费补贴和贷款贴息办法",
    "text": "县融资担保公司为中小微企业提供的担保，担保费率不高于1%。",
    "issuing_unit": "jfj",
    "valid_from": "2026-01-01",
}
RETAIL_EXPIRED = {
    "title": "商贸流通企业促消费奖励办法（2025）",
    "text": "对年销售额首次突破5000万元的批发零售企业奖励5万元。",
    "issuing_unit": "jfj",
    "industries": ["F"],
    "valid_from": "2025-01-01",
    "valid_to": "2025-12-31",
}


def test_policies_are_published_by_the_desk_and_read_by_industry(
    api: Any, web: Any, ent: Any
) -> None:
    with clock.frozen(NOW):
        for body in (SUBSIDY, FOR_ALL, RETAIL_EXPIRED):
            r = api("operator").post("/policies", body)
            assert r.status == 201, r.body
        assert api("handler-jfj").post("/policies", SUBSIDY).status == 403
        backwards = api("operator").post("/policies", {**SUBSIDY, "valid_to": "2025-01-01"})
        assert backwards.status == 400 and backwards.body["errors"][0]["field"] == "valid_to"
        unknown = api("operator").post("/policies", {**SUBSIDY, "industries": ["Z"]})
        assert unknown.status == 400

        manufacturer = ent("清河县兴业机械制造有限公司", industry="C")
        shop = ent("惠民商贸有限公司", industry="F")
        # The public reads them with no login: by industry, or by an enterprise's credit code.
        c = api(None).get("/policies", industry="C")
        f = api(None).get("/policies", credit_code=shop.credit_code)
    assert c.status == 200
    assert sorted(p["title"] for p in c.body) == sorted([SUBSIDY["title"], FOR_ALL["title"]])
    assert [p["title"] for p in f.body] == [FOR_ALL["title"]]  # retail one has expired
    with clock.frozen(NOW):
        page = web("handler-zjj").get("/enterprise/policies/?industry=F").content.decode()
        assert FOR_ALL["title"] in page and SUBSIDY["title"] not in page
        detail = web("operator").get(f"/enterprise/{manufacturer.credit_code}/").content.decode()
        assert SUBSIDY["title"] in detail
        public = web(None).get("/meetings/policies/?industry=C").content.decode()
        assert SUBSIDY["title"] in public


def replied_enterprise_appeal(enterprise: Any, content: str, reply: str) -> Appeal:
    operator = User.objects.get(username="operator")
    handler = User.objects.get(username="handler-jfj")
    appeal = appeal_services.appeal_register(
        actor=operator,
        data=appeal_services.AppealInput(
            channel="wechat",
            kind="consultation",
            title="技改补贴申报",
            content=content,
            submitter_type="enterprise",
            submitter_name="王建军",
            submitter_phone="13905310001",
            enterprise_name=enterprise.name,
            credit_code=enterprise.credit_code,
        ),
    )
    from kuaiban.enterprise.services import link_existing_appeals

    link_existing_appeals([enterprise])
    number = appeal.number or ""
    appeal_services.appeal_dispatch(actor=operator, number=number, unit="jfj")
    appeal_services.appeal_claim(actor=handler, number=number)
    return appeal_services.appeal_reply(actor=handler, number=number, result="resolved", text=reply)


QUESTION = "我们今年投入600万元做了设备技术改造，想问一下县里的技改补贴怎么申报，需要哪些材料？"
REPLY = (
    "技改补贴按设备投资额的8%给予补助，请于3月底前通过政务服务网提交申报表、设备发票和验收报告。"
)


def test_a_reply_promoted_to_an_answer_reaches_the_whole_industry(
    api: Any, web: Any, ent: Any
) -> None:
    asker = ent("清河县兴业机械制造有限公司", industry="C", contact=("王建军", "13905310001"))
    peers = [ent(f"制造企业{i}有限公司", industry="C") for i in range(3)]
    other = ent("惠民商贸有限公司", industry="F")
    with clock.frozen(NOW):
        appeal = replied_enterprise_appeal(asker, QUESTION, REPLY)
        # Before any reply exists there is nothing to promote; citizens' appeals never.
        r = api("operator").post("/answers", {"number": appeal.number})
    assert r.status == 201, r.body
    assert r.body["industry"] == {"code": "C", "name": "制造业"}
    assert r.body["text"] == REPLY and r.body["topic"] == "subsidies"
    told = {t["enterprise"] for t in r.body["told_enterprises"]}
    assert told == {asker.credit_code, *(p.credit_code for p in peers)}
    assert other.credit_code not in told
    assert Notice.objects.count() == 4
    note = AppealEvent.objects.filter(appeal=appeal, action="note").get()
    assert note.payload["told"] == 4 and note.payload["industry"] == "C"

    again = api("operator").post("/answers", {"number": appeal.number})
    assert again.status == 409
    assert api("handler-jfj").post("/answers", {"number": appeal.number}).status == 403
    answer_page = web("leader").get(f"/enterprise/answers/{r.body['id']}/").content.decode()
    assert "已告知 4 家企业（0 家已读）" in answer_page and "制造企业0有限公司" in answer_page

    # An enterprise of the industry opens its notice box with credit code and contact phone.
    peer = peers[0]
    wrong = web(None).post(
        "/meetings/policies/", {"credit_code": peer.credit_code, "phone": "13800000000"}
    )
    assert wrong.status_code == 400 and "不是本企业登记的联系电话" in wrong.content.decode()
    box = web(None).post(
        "/meetings/policies/", {"credit_code": peer.credit_code, "phone": "13905310001"}
    )
    assert box.status_code == 200 and REPLY in box.content.decode()
    assert Notice.objects.get(enterprise=peer).read_at is not None
    assert Notice.objects.get(enterprise=peers[1]).read_at is None


def test_promotion_needs_a_replied_enterprise_appeal(api: Any, ent: Any, make_appeal: Any) -> None:
    e = ent()
    citizen = make_appeal()
    fresh = make_appeal(
        title="技改补贴申报",
        content=QUESTION,
        submitter_type="enterprise",
        enterprise_name=e.name,
        credit_code=e.credit_code,
    )
    not_ours = api("operator").post("/answers", {"number": citizen.number, "industry": "C"})
    not_yet = api("operator").post("/answers", {"number": fresh.number})
    missing = api("operator").post("/answers", {"number": "KB20260101-999999"})
    assert not_ours.status == 409 and not_yet.status == 409 and missing.status == 404
    assert not Answer.objects.exists()


def test_later_similar_appeals_show_the_answer_to_the_operator(
    api: Any, web: Any, ent: Any, make_appeal: Any
) -> None:
    asker = ent("清河县兴业机械制造有限公司", industry="C")
    later = ent("华远新材料科技有限公司", industry="C")
    with clock.frozen(NOW):
        appeal = replied_enterprise_appeal(asker, QUESTION, REPLY)
        assert api("operator").post("/answers", {"number": appeal.number}).status == 201
    similar = make_appeal(
        channel="wechat",
        kind="consultation",
        title="设备改造补贴",
        content="我公司新上了一条自动化生产线，请问技改补贴申报需要准备什么材料？",
        submitter_type="enterprise",
        enterprise_name=later.name,
        credit_code=later.credit_code,
    )
    unrelated = make_appeal(
        channel="wechat",
        kind="help",
        title="员工子女入学",
        content="企业引进的技术骨干子女今年要上小学，希望协调就近入学。",
        submitter_type="enterprise",
        enterprise_name=later.name,
        credit_code=later.credit_code,
    )
    from kuaiban.enterprise.services import link_existing_appeals

    link_existing_appeals([later])
    match = api("operator").get("/answers/match", number=similar.number)
    assert match.status == 200
    assert [m["answer"]["source_appeal"] for m in match.body] == [appeal.number]
    assert api("operator").get("/answers/match", number=unrelated.number).body == []
    desk = web("operator").get("/enterprise/desk/").content.decode()
    assert similar.number in desk and unrelated.number in desk
    assert desk.count('data-testid="suggested-answer"') == 1
    assert web("handler-jfj").get("/enterprise/desk/").status_code == 403


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("流动资金贷款需要担保，银行要求追加抵押物", "financing"),
        ("新厂房用电增容报装三个月未接电", "utilities"),
        ("技术工人招工难，希望组织招聘会", "labour"),
        ("去年申报的技改补贴至今未兑现", "subsidies"),
        ("二期项目用地指标未落实，希望尽快供地", "land"),
        ("厂房不动产权证一直办不下来", "property"),
        ("施工许可卡在消防审查环节", "construction"),
        ("产品订单下滑，希望帮助对接市场和电商平台", "sales"),
        ("食堂的饭菜太咸了", "other"),
        ("技改補貼至今未兌現", "subsidies"),  # traditional characters fold to simplified
    ],
)
def test_topics_by_keywords(text: str, topic: str) -> None:
    assert topics.classify(text) == topic


def test_enterprise_appeal_figures_by_topic_and_industry(
    api: Any, ent: Any, make_appeal: Any
) -> None:
    maker = ent("清河县兴业机械制造有限公司", industry="C")
    shop = ent("惠民商贸有限公司", industry="F")
    texts = [
        (maker, "流动资金贷款需要担保"),
        (maker, "新厂房用电增容未接电"),
        (maker, "技改补贴未兑现"),
        (shop, "商铺融资贷款困难"),
    ]
    for e, text in texts:
        make_appeal(
            title=text,
            content=text,
            submitter_type="enterprise",
            enterprise_name=e.name,
            credit_code=e.credit_code,
        )
    from kuaiban.enterprise.services import link_existing_appeals

    link_existing_appeals([maker, shop])
    r = api("leader").get("/enterprise-figures")
    assert r.status == 200
    by_topic = {row["topic"]: row["total"] for row in r.body["by_topic"]}
    assert by_topic["financing"] == 2 and by_topic["utilities"] == 1
    assert by_topic["subsidies"] == 1 and by_topic["land"] == 0
    assert [(row["industry"], row["total"]) for row in r.body["by_industry"]] == [
        ("C", 3),
        ("F", 1),
    ]
    assert r.body["total"] == 4 and r.body["closed"] == 0
