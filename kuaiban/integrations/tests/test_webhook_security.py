"""The trust boundary of webhooks: confidential reports never leave through them, deliveries are
signed as Standard Webhooks specifies (a replay is refused by the receiver), and webhooks never
post to loopback, link-local or private addresses unless an administrator allows it."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from standardwebhooks import Webhook as StandardWebhook
from standardwebhooks import WebhookVerificationError

from kuaiban.core.errors import ValidationFailed
from kuaiban.integrations import services, webhooks
from kuaiban.integrations.models import ApiKey, Delivery, Webhook
from kuaiban.integrations.tests.conftest import Receiver
from kuaiban.org.models import User

pytestmark = pytest.mark.django_db

REPORT = {
    "channel": "hotline",
    "kind": "report",
    "urgency": "normal",
    "title": "化工厂夜间偷排",
    "content": "城关镇东郊某化工厂夜间偷排废水，河水发黑发臭，请查处，举报人要求保密。",
    "submitter": {"name": "赵立新", "phone": "13712345678", "type": "citizen"},
    "address": "城关镇东郊",
}
COMPLAINT = {
    **REPORT,
    "kind": "complaint",
    "title": "人民路路面坑洼",
    "content": "人民路从东门村到镇上这段路坑洼不平，下雨积水，已有电动车摔倒，请尽快修补。",
}


@pytest.fixture
def hotline(county: Any) -> ApiKey:
    return services.apikey_create(name="hotline-vendor", channel="hotline", public=False).api_key


def loop(api: Any, body: dict[str, Any], unit: str, captured: Any) -> str:
    """Register, dispatch, claim and reply over the REST API, after-commit hooks run."""
    with captured(execute=True):
        r = api("supervisor").post("/appeals", body)
        assert r.status == 201, r.body
        number = r.body["number"]
        assert api("supervisor").post(f"/appeals/{number}/dispatch", {"unit": unit}).status == 200
        assert api(f"handler-{unit}").post(f"/appeals/{number}/claim", {}).status == 200
        reply = {"result": "resolved", "text": "已责令停产整改，罚款二十万元，河道已清淤。"}
        assert api(f"handler-{unit}").post(f"/appeals/{number}/reply", reply).status == 200
    return number


# ----- confidential kinds -----------------------------------------------------------------------


def test_channel_subscriber_gets_no_report_events(
    api: Any,
    hotline: ApiKey,
    receiver: Receiver,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.KUAIBAN_WEBHOOK_ALLOW_PRIVATE = True
    hook = webhooks.webhook_create(api_key=hotline, url=receiver.url, scope="channel")
    receiver.secret = hook.secret
    report = loop(api, REPORT, "sthj", django_capture_on_commit_callbacks)
    # The hotline vendor's app could not open the report: nothing about it is queued or sent.
    assert Delivery.objects.count() == 0
    call_command("webhooks", verbosity=0)
    assert receiver.received == []
    # The same loop for a complaint of the channel reaches the subscriber, event by event.
    complaint = loop(api, COMPLAINT, "jtj", django_capture_on_commit_callbacks)
    call_command("webhooks", verbosity=0)
    sent = [r.json for r in receiver.delivered]
    assert [b["type"] for b in sent] == [
        "appeal.register",
        "appeal.dispatch",
        "appeal.claim",
        "appeal.reply",
    ]
    assert {b["data"]["number"] for b in sent} == {complaint}
    assert report not in json.dumps(sent, ensure_ascii=False)
    assert "偷排" not in json.dumps(sent, ensure_ascii=False)


def test_delivery_queued_before_an_appeal_became_confidential_is_dropped(
    api: Any,
    hotline: ApiKey,
    receiver: Receiver,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from kuaiban.appeals.models import Appeal

    settings.KUAIBAN_WEBHOOK_ALLOW_PRIVATE = True
    hook = webhooks.webhook_create(api_key=hotline, url=receiver.url, scope="channel")
    receiver.secret = hook.secret
    with django_capture_on_commit_callbacks(execute=True):
        number = api("supervisor").post("/appeals", COMPLAINT).body["number"]
    assert Delivery.objects.count() == 1
    Appeal.objects.filter(number=number).update(kind="report")  # reclassified as 举报
    call_command("webhooks", verbosity=0)
    assert receiver.received == []
    delivery = Delivery.objects.get()
    assert delivery.status == "failed"
    assert "may not see" in delivery.attempt_log.get().error


# ----- Standard Webhooks signatures -------------------------------------------------------------


def test_signature_verifies_and_a_replay_is_rejected(
    api: Any,
    hotline: ApiKey,
    receiver: Receiver,
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.KUAIBAN_WEBHOOK_ALLOW_PRIVATE = True
    hook = webhooks.webhook_create(api_key=hotline, url=receiver.url, scope="channel")
    assert webhooks.secret_valid(hook.secret) and len(base64.b64decode(hook.secret[6:])) == 32
    receiver.secret = hook.secret
    with django_capture_on_commit_callbacks(execute=True):
        number = api("supervisor").post("/appeals", COMPLAINT).body["number"]
    call_command("webhooks", verbosity=0)
    [got] = receiver.received
    assert got.signature_ok and got.answered == 200
    headers = {k: got.headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}
    assert headers["webhook-signature"].startswith("v1,")
    assert "X-Kuaiban-Signature" not in got.headers
    # What an integrating system does with the standardwebhooks package:
    data = StandardWebhook(hook.secret).verify(got.body, headers)
    assert data["id"] == headers["webhook-id"] and data["data"]["number"] == number
    # The same bytes and headers ten minutes later (a captured delivery replayed) are refused,
    with pytest.raises(WebhookVerificationError, match="too old"):
        old = str(int(headers["webhook-timestamp"]) - 600)
        StandardWebhook(hook.secret).verify(got.body, {**headers, "webhook-timestamp": old})
    # and so is a fresh timestamp on the old signature, a changed body, or another secret.
    with pytest.raises(WebhookVerificationError):
        fresh = str(int(headers["webhook-timestamp"]) + 1)
        StandardWebhook(hook.secret).verify(got.body, {**headers, "webhook-timestamp": fresh})
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(hook.secret).verify(got.body.replace(b"open", b"shut"), headers)
    with pytest.raises(WebhookVerificationError):
        StandardWebhook(webhooks.new_secret()).verify(got.body, headers)


def test_signed_timestamp_is_the_time_of_sending(hotline: ApiKey) -> None:
    secret = webhooks.new_secret()
    at = dt.datetime(2026, 11, 23, 17, 29, 37, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    body = b'{"id":"x","type":"appeal.reply"}'
    headers = webhooks.sign_headers(secret, "msg_1", at, body)
    assert headers["webhook-timestamp"] == str(int(at.timestamp()))
    expected = StandardWebhook(secret).sign("msg_1", at.astimezone(dt.UTC), body.decode())
    assert headers["webhook-signature"] == expected


def test_secrets_must_be_standard(hotline: ApiKey, fake_dns: Any) -> None:
    with pytest.raises(ValidationFailed) as exc:
        webhooks.webhook_create(
            api_key=hotline, url="https://vendor.example.com/kb", secret="not-a-whsec-secret!"
        )
    assert [e.field for e in exc.value.errors] == ["secret"]
    good = "whsec_" + base64.b64encode(b"0123456789abcdef01234567").decode()
    hook = webhooks.webhook_create(
        api_key=hotline, url="https://vendor.example.com/kb", secret=good
    )
    assert hook.secret == good


# ----- private addresses ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/hook",
        "http://192.168.0.8/hook",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "https://intranet.example.cn/hook",
        "https://both.example.cn/hook",
    ],
)
def test_private_urls_are_refused(hotline: ApiKey, fake_dns: Any, url: str) -> None:
    fake_dns["localhost"] = ["127.0.0.1", "::1"]
    with pytest.raises(ValidationFailed) as exc:
        webhooks.webhook_create(api_key=hotline, url=url)
    assert [e.field for e in exc.value.errors] == ["url"]
    assert Webhook.objects.count() == 0


def test_private_url_allowed_by_the_setting(hotline: ApiKey, settings: Any) -> None:
    settings.KUAIBAN_WEBHOOK_ALLOW_PRIVATE = True
    hook = webhooks.webhook_create(api_key=hotline, url="http://10.1.2.3/hook")
    assert hook.url == "http://10.1.2.3/hook"


def test_admin_form_refuses_a_private_url_naming_the_field(
    hotline: ApiKey, fake_dns: Any, settings: Any
) -> None:
    client = Client()
    client.force_login(User.objects.get(username="admin"))
    form = {
        "api_key": hotline.pk,
        "url": "http://169.254.169.254/latest/meta-data/",
        "secret": webhooks.new_secret(),
        "events": ["reply"],
        "scope": "own",
        "active": "on",
    }
    refused = client.post("/admin/integrations/webhook/add/", form)
    assert refused.status_code == 200
    errors = refused.context["adminform"].form.errors
    assert list(errors) == ["url"] and "169.254.169.254" in str(errors["url"])
    assert Webhook.objects.count() == 0
    accepted = client.post(
        "/admin/integrations/webhook/add/", {**form, "url": "https://vendor.example.com/kb"}
    )
    assert accepted.status_code == 302 and Webhook.objects.get().url.endswith("/kb")
    settings.KUAIBAN_WEBHOOK_ALLOW_PRIVATE = True
    allowed = client.post("/admin/integrations/webhook/add/", form)
    assert allowed.status_code == 302 and Webhook.objects.count() == 2


def test_command_refuses_a_private_url(hotline: ApiKey, fake_dns: Any) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="url"):
        call_command(
            "apikey", "webhook", "hotline-vendor", "--url", "http://192.168.1.1/kb", verbosity=0
        )


def test_delivery_to_a_name_that_now_resolves_privately_is_not_sent(
    api: Any,
    hotline: ApiKey,
    receiver: Receiver,
    fake_dns: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # Registered while the name pointed at a public address; it now points at the receiver on
    # 127.0.0.1 (DNS rebinding): the worker checks again and connects to nothing.
    hook = webhooks.webhook_create(
        api_key=hotline,
        url=f"http://rebinding.example.cn:{receiver.url.split(':')[2]}",
        scope="channel",
    )
    receiver.secret = hook.secret
    fake_dns["rebinding.example.cn"] = ["127.0.0.1"]
    with django_capture_on_commit_callbacks(execute=True):
        api("supervisor").post("/appeals", COMPLAINT)
    call_command("webhooks", verbosity=0)
    assert receiver.received == []
    delivery = Delivery.objects.get()
    attempt = delivery.attempt_log.get()
    assert delivery.status == "pending" and "127.0.0.1" in attempt.error
