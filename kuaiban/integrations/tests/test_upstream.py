"""Upper-level transfers (上级转办) against a fake city 12345 platform: it pushes appeals (signed
with its shared secret), and an http.server on 127.0.0.1 (a random port) plays its adapter,
verifying the signature of every callback: reply, return and close of its own appeals, and the
county's escalations (上报)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from standardwebhooks import Webhook as StandardWebhook

from kuaiban.appeals import services as appeals
from kuaiban.appeals.models import Appeal, AppealEvent
from kuaiban.conftest import ApiResponse, user
from kuaiban.core import clock
from kuaiban.deadlines import services as deadlines
from kuaiban.integrations import services, upstream, webhooks
from kuaiban.integrations.models import (
    Delivery,
    UpstreamPlatform,
    UpstreamTransfer,
    new_secret,
)
from kuaiban.integrations.tests.conftest import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _local_receivers(settings: Any) -> None:
    # The fake city listens on 127.0.0.1, which webhooks refuse unless allowed.
    settings.KUAIBAN_WEBHOOK_ALLOW_PRIVATE = True


@dataclass
class FakeCity:
    """The city's 12345 platform: pushes appeals down, hears back on its adapter."""

    platform: UpstreamPlatform
    adapter: Receiver
    client: Client

    def push(
        self,
        body: dict[str, Any],
        *,
        secret: str | None = None,
        code: str | None = None,
        at: dt.datetime | None = None,
        signed: bool = True,
    ) -> ApiResponse:
        raw = json.dumps(body, ensure_ascii=False)
        headers: dict[str, str] = {}
        if signed:
            msg_id = f"msg_{uuid.uuid4().hex}"
            moment = at or timezone.now()
            signer = StandardWebhook(secret or self.platform.secret)
            headers = {
                "webhook-id": msg_id,
                "webhook-timestamp": str(int(moment.timestamp())),
                "webhook-signature": signer.sign(msg_id, moment, raw),
            }
        response = self.client.post(
            f"/api/v1/upstream/{code or self.platform.code}/appeals",
            data=raw.encode("utf-8"),
            content_type="application/json",
            headers=headers,
        )
        payload = json.loads(response.content) if response.content else None
        return ApiResponse(response.status_code, payload, dict(response.headers))

    @property
    def callbacks(self) -> list[dict[str, Any]]:
        return [r.json for r in self.adapter.delivered]


@pytest.fixture
def city(county: Any, receiver: Receiver) -> FakeCity:
    platform = upstream.platform_create(
        code="city12345", name="市12345", adapter_url=receiver.url, secret=new_secret()
    )
    receiver.secret = platform.secret
    return FakeCity(platform, receiver, Client())


def transfer(number: str = "SZ12345-20261203-0088", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "upstream_number": number,
        "upstream_unit": "市12345热线中心",
        "upstream_deadline": (clock.now() + dt.timedelta(days=1)).isoformat(),
        "kind": "complaint",
        "title": "工地夜间施工噪音扰民",
        "content": "城关镇建设路东侧工地连续一周夜间十一点后仍在施工，噪音很大，影响休息。",
        "submitter": {"name": "刘桂兰", "phone": "13912345678"},
        "address": "城关镇建设路东侧",
    }
    body.update(changes)
    return body


def run_webhooks() -> None:
    call_command("webhooks", verbosity=0)


def test_city_pushes_an_appeal_and_hears_its_return_reply_and_close(
    city: FakeCity, django_capture_on_commit_callbacks: Any
) -> None:
    deadline = clock.now() + dt.timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        first = city.push(transfer(upstream_deadline=deadline.isoformat()))
    assert first.status == 201, first.body
    number = first.body["number"]
    assert first.body["upstream_number"] == "SZ12345-20261203-0088"
    assert first.body["platform"] == "city12345" and first.body["created"] is True

    appeal = Appeal.objects.get(number=number)
    assert appeal.channel == "hotline" and appeal.submitter_name == "刘桂兰"
    assert appeal.reply_due_cap == deadline and appeal.reply_due is None  # set at dispatch
    [registered] = AppealEvent.objects.filter(appeal=appeal)
    assert registered.actor is None and registered.payload["source"] == "upstream"
    assert registered.payload["platform"] == "city12345"
    assert registered.payload["upstream_number"] == "SZ12345-20261203-0088"
    assert UpstreamTransfer.objects.get(appeal=appeal).upstream_unit == "市12345热线中心"

    # The city retries the same transfer: the same appeal, 200, no duplicate, no new event.
    again = city.push(transfer(upstream_deadline=deadline.isoformat()))
    assert again.status == 200 and again.body["number"] == number
    assert again.body["created"] is False
    assert Appeal.objects.count() == 1 and AppealEvent.objects.filter(appeal=appeal).count() == 1

    operator, handler, supervisor = user("operator"), user("handler-zjj"), user("supervisor")
    with django_capture_on_commit_callbacks(execute=True):
        appeals.appeal_dispatch(actor=operator, number=number, unit="zjj")
        appeals.appeal_claim(actor=handler, number=number)
        appeals.appeal_return(actor=handler, number=number, reason="施工噪音属城管局职责，退回重派")
    with django_capture_on_commit_callbacks(execute=True):
        appeals.appeal_dispatch(actor=operator, number=number, unit="cgj")
    cg = user("handler-cgj")
    with django_capture_on_commit_callbacks(execute=True):
        appeals.appeal_claim(actor=cg, number=number)
        appeals.appeal_reply(
            actor=cg,
            number=number,
            result="resolved",
            text="已责令工地晚十点后停工，并告知刘桂兰（13912345678）。",
        )
        appeals.appeal_visit(
            actor=supervisor,
            number=number,
            data=appeals.VisitInput(
                reached=True, resolved=True, satisfaction="satisfied", authentic=True
            ),
        )
        appeals.appeal_close(actor=supervisor, number=number)
    run_webhooks()

    assert all(r.signature_ok for r in city.adapter.received)
    types = [c["type"] for c in city.callbacks]
    # Only what the platform subscribes to: not the county's own dispatches and claims.
    assert types == ["appeal.return", "appeal.reply", "appeal.close"]
    for callback in city.callbacks:
        data = callback["data"]
        assert data["number"] == number
        assert data["upstream"]["platform"] == "city12345"
        assert data["upstream"]["number"] == "SZ12345-20261203-0088"
        assert data["upstream"]["unit"] == "市12345热线中心"
    reply = city.callbacks[1]["data"]
    assert reply["reply_result"] == "resolved" and reply["reply_text"].startswith("已责令工地")
    assert "13912345678" not in city.adapter.delivered[1].body.decode()
    assert city.callbacks[2]["data"]["open311_status"] == "closed"


def test_the_stricter_deadline_governs_the_reply(
    city: FakeCity, django_capture_on_commit_callbacks: Any
) -> None:
    """The city's deadline when it is earlier than the local limit, the local limit when not."""
    soon = (clock.now() + dt.timedelta(hours=20)).replace(microsecond=0)
    late = (clock.now() + dt.timedelta(days=90)).replace(microsecond=0)
    tight = city.push(transfer("SZ-0001", upstream_deadline=soon.isoformat()))
    loose = city.push(transfer("SZ-0002", upstream_deadline=late.isoformat()))
    assert tight.status == loose.status == 201
    operator = user("operator")
    for number in (tight.body["number"], loose.body["number"]):
        appeals.appeal_dispatch(actor=operator, number=number, unit="cgj")
    tight_appeal = Appeal.objects.get(number=tight.body["number"])
    loose_appeal = Appeal.objects.get(number=loose.body["number"])
    assert tight_appeal.reply_due == soon
    assert tight_appeal.claim_due is not None and tight_appeal.claim_due <= soon
    local = deadlines.reply_due(
        channel="hotline",
        kind="complaint",
        urgency="normal",
        start=loose_appeal.dispatched_at or clock.now(),
    )
    assert loose_appeal.reply_due == local and local < late


def test_bad_transfers_are_refused_naming_the_field(city: FakeCity) -> None:
    missing = transfer()
    del missing["upstream_number"]
    cases = [
        (missing, "upstream_number"),
        (transfer(upstream_number="编号 88"), "upstream_number"),
        (transfer(upstream_unit=" "), "upstream_unit"),
        (
            transfer(upstream_deadline=(clock.now() - dt.timedelta(hours=1)).isoformat()),
            "upstream_deadline",
        ),
        (transfer(upstream_deadline="下周五"), "upstream_deadline"),
        (transfer(submitter={"name": "刘桂兰", "phone": "12345"}), "submitter.phone"),
        (transfer(content=""), "content"),
        (transfer(channel="hotline"), "channel"),  # the channel is not the platform's to choose
    ]
    for body, field in cases:
        answer = city.push(body)
        assert answer.status == 400, (field, answer.body)
        assert field in [e["field"] for e in answer.body["errors"]], (field, answer.body)
    bad_number = city.push(transfer(upstream_number="编号 88"))
    assert bad_number.body["errors"] == [
        {
            "field": "upstream_number",
            "message": "须为 1 至 64 位字母、数字及 . _ : / -（上级平台自己的工单编号）。",
        }
    ]
    assert not Appeal.objects.exists() and not UpstreamTransfer.objects.exists()


def test_pushes_without_the_platforms_signature_are_refused(city: FakeCity) -> None:
    other = new_secret()
    refusals = [
        (city.push(transfer(), secret=other), 401),  # signed with another secret
        (city.push(transfer(), signed=False), 401),  # not signed at all
        (city.push(transfer(), at=timezone.now() - dt.timedelta(minutes=10)), 401),  # replayed
        (city.push(transfer(), code="province12345"), 404),  # no such platform
    ]
    for answer, status in refusals[:3]:
        assert answer.status == status, answer.body
        assert answer.body["code"] == "bad_signature"
        assert answer.body["detail"] == "请求未使用该平台的共享密钥签名，或签名时间已超过五分钟。"
    unknown, status = refusals[3]
    assert unknown.status == status
    assert unknown.body["detail"] == "没有代码为 province12345 的上级平台。"

    city.platform.active = False
    upstream.platform_save(city.platform)
    disabled = city.push(transfer())
    assert disabled.status == 403 and disabled.body["detail"] == "该上级平台已停用。"
    assert not Appeal.objects.exists()


def test_an_appeal_escalated_up_reaches_the_city(
    city: FakeCity, api: Any, make_appeal: Any, django_capture_on_commit_callbacks: Any
) -> None:
    county_appeal = make_appeal(
        title="跨县河道污染", content="县界河段有企业夜间偷排污水，涉及两个区县，县里协调不动。"
    )
    number = county_appeal.number
    reason = "涉及跨区县河道，需市级协调；群众电话13812345678。"
    with django_capture_on_commit_callbacks(execute=True):
        answer = api("operator").post(f"/appeals/{number}/escalate", {"reason": reason})
    assert answer.status == 200, answer.body
    assert answer.body["platform"] == "city12345" and answer.body["number"] == number
    county_appeal.refresh_from_db()
    assert county_appeal.status == "received"  # the county keeps handling it
    [event] = AppealEvent.objects.filter(appeal=county_appeal, action="escalate")
    assert event.note == reason and event.payload["platform"] == "city12345"
    run_webhooks()
    [callback] = city.adapter.delivered
    assert callback.signature_ok and callback.headers["X-Kuaiban-Event"] == "appeal.escalate"
    data = callback.json["data"]
    assert data["number"] == number and data["escalation"]["platform"] == "city12345"
    assert data["to_status"] is None and data["open311_status"] == "open"
    assert data["escalation"]["reason"].startswith("涉及跨区县河道")
    assert data["escalation"]["title"] == "跨县河道污染"
    assert "13812345678" not in callback.body.decode() and "王建华" not in callback.body.decode()

    # The timeline says so, with the reason.
    page = Client()
    page.force_login(user("supervisor"))
    html = page.get(f"/appeals/{number}/").content.decode()
    assert "已上报上级平台" in html and "→ 市12345" in html and "涉及跨区县河道" in html

    # Once per platform.
    twice = api("supervisor").post(f"/appeals/{number}/escalate", {"reason": "再次上报"})
    assert twice.status == 409 and twice.body["code"] == "already_escalated"
    assert twice.body["detail"] == "本件已上报市12345，不能重复上报。"


def test_who_may_escalate_and_what_cannot_go_up(city: FakeCity, api: Any, make_appeal: Any) -> None:
    appeal = make_appeal()
    number = appeal.number
    appeals.appeal_dispatch(actor=user("operator"), number=number, unit="zjj")
    for who in ("handler-zjj", "leader", "visitor"):
        denied = api(who).post(f"/appeals/{number}/escalate", {"reason": "需市级协调"})
        assert denied.status == 403, (who, denied.body)
        role = user(who).get_role_display()
        assert denied.body["detail"] == f"您的角色（{role}）无权进行此操作。"
    no_reason = api("operator").post(f"/appeals/{number}/escalate", {"reason": " "})
    assert no_reason.status == 400 and no_reason.body["errors"][0]["field"] == "reason"
    unknown = api("operator").post(
        f"/appeals/{number}/escalate", {"reason": "需省级协调", "platform": "province12345"}
    )
    assert unknown.status == 400 and unknown.body["errors"][0]["field"] == "platform"
    nowhere = api("operator").post("/appeals/KB20990101-999999/escalate", {"reason": "需协调"})
    assert nowhere.status == 404

    report = make_appeal(kind="report", title="举报违规收费", content="某单位违规收取办证费用。")
    confidential = api("supervisor").post(
        f"/appeals/{report.number}/escalate", {"reason": "需市纪委处理"}
    )
    assert confidential.status == 409 and confidential.body["code"] == "confidential"
    assert confidential.body["detail"] == "举报件保密，不能上报其他平台。"

    came_down = city.push(transfer("SZ-0099"))
    back_up = api("operator").post(
        f"/appeals/{came_down.body['number']}/escalate", {"reason": "退回市级"}
    )
    assert back_up.status == 409 and back_up.body["code"] == "from_this_platform"
    assert back_up.body["detail"] == "本件由市12345转办而来，应办理答复，不能再上报回该平台。"
    assert not AppealEvent.objects.filter(action="escalate").exists()


def test_a_confidential_transfer_is_answered_to_its_platform_only(
    city: FakeCity, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    """A report the city sent down goes back to the city (it has it already), never to a key
    following the hotline channel."""
    vendor = services.apikey_create(name="hotline-vendor", channel="hotline", public=False)
    webhooks.webhook_create(api_key=vendor.api_key, url=receiver.url, scope="channel")
    with django_capture_on_commit_callbacks(execute=True):
        pushed = city.push(
            transfer("SZ-JB-007", kind="report", title="举报", content="举报某站所违规收费。")
        )
    number = pushed.body["number"]
    handler = user("handler-zjj")
    with django_capture_on_commit_callbacks(execute=True):
        appeals.appeal_dispatch(actor=user("supervisor"), number=number, unit="zjj")
        appeals.appeal_claim(actor=handler, number=number)
        appeals.appeal_reply(actor=handler, number=number, result="resolved", text="已查实并退费。")
    run_webhooks()
    deliveries = Delivery.objects.select_related("webhook").all()
    assert {d.webhook.pk for d in deliveries} == {city.platform.webhook_id}
    assert [c["type"] for c in city.callbacks] == ["appeal.reply"]


def test_upstream_command_creates_lists_and_disables(
    county: Any, receiver: Receiver, capsys: Any
) -> None:
    call_command(
        "upstream", "create", "--code", "prov12345", "--name", "省12345", "--url", receiver.url
    )
    out, err = capsys.readouterr()
    secret = out.strip()
    platform = UpstreamPlatform.objects.get(code="prov12345")
    assert secret == platform.secret and secret.startswith("whsec_")
    assert "/api/v1/upstream/prov12345/appeals" in err
    assert platform.webhook is not None and platform.webhook.url == receiver.url
    assert platform.api_key is not None and platform.api_key.channel == "hotline"
    call_command("upstream", "list")
    assert "prov12345" in capsys.readouterr().out
    call_command("upstream", "disable", "prov12345")
    platform.refresh_from_db()
    assert not platform.active and platform.webhook is not None and not platform.webhook.active
    with pytest.raises(CommandError, match="adapter_url"):
        call_command("upstream", "create", "--code", "x1", "--name", "某市", "--url", "ftp://x")


def test_admin_adds_a_platform_with_its_key_and_webhook(county: Any, receiver: Receiver) -> None:
    client = Client()
    client.force_login(user("admin"))
    form = {
        "code": "city12345",
        "name": "市12345",
        "adapter_url": receiver.url,
        "secret": new_secret(),
        "active": "on",
    }
    refused = client.post("/admin/integrations/upstreamplatform/add/", {**form, "secret": "abc"})
    assert refused.status_code == 200 and not UpstreamPlatform.objects.exists()
    assert "whsec_" in refused.content.decode()
    added = client.post("/admin/integrations/upstreamplatform/add/", form)
    assert added.status_code == 302, added.content.decode()[:2000]
    platform = UpstreamPlatform.objects.get(code="city12345")
    assert platform.webhook is not None and platform.webhook.secret == form["secret"]
    assert platform.webhook.url == receiver.url and platform.api_key is not None
    assert (
        client.get(f"/admin/integrations/upstreamplatform/{platform.pk}/change/").status_code == 200
    )
    assert client.get("/admin/integrations/upstreamtransfer/").status_code == 200


def test_a_platform_past_its_rate_is_told_when_to_come_back(city: FakeCity) -> None:
    key = city.platform.api_key
    assert key is not None
    key.rate_per_minute = 1
    key.save(update_fields=["rate_per_minute"])
    assert city.push(transfer("SZ-0101")).status == 201
    over = city.push(transfer("SZ-0102"))
    assert over.status == 429 and int(over.headers["Retry-After"]) >= 1
    assert not UpstreamTransfer.objects.filter(upstream_number="SZ-0102").exists()
