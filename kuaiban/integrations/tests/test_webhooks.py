"""Webhooks against a real local HTTP receiver: signed deliveries of every status change,
back-off and recovery, a dead receiver, filters and scopes, and the worker's claims."""

from __future__ import annotations

import base64
import datetime as dt
import socket
import threading
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, connections

from kuaiban.appeals import services as appeals
from kuaiban.appeals.models import Appeal, AppealEvent
from kuaiban.core import clock
from kuaiban.integrations import services, webhooks
from kuaiban.integrations.management.commands.webhooks import Command as WebhooksCommand
from kuaiban.integrations.models import ApiKey, Delivery, Webhook
from kuaiban.integrations.tests.conftest import Receiver
from kuaiban.open311 import services as open311
from kuaiban.org.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _local_receivers(settings: Any) -> None:
    # The receivers here listen on 127.0.0.1, which webhooks refuse unless allowed
    # (test_webhook_security.py proves the refusal).
    settings.KUAIBAN_WEBHOOK_ALLOW_PRIVATE = True


HEATING = "C01.02.08"


def user(name: str) -> User:
    return User.objects.get(username=name)


def submit(api_key: ApiKey, captured: Any, **changes: str) -> Appeal:
    """An Open311 POST through the service layer, with after-commit hooks run."""
    form = {
        "service_code": HEATING,
        "address_string": "城关镇阳光花园小区5号楼",
        "description": "阳光花园小区5号楼暖气一直不热，室温只有十四度。",
        "last_name": "王",
        "first_name": "建华",
        "phone": "13812345678",
        "attribute[building]": "5号楼2单元",
        **changes,
    }
    with captured(execute=True):
        outcome = open311.request_create(api_key=api_key, form=form)
    return outcome.record.appeal


@pytest.fixture
def hotline(county: Any) -> ApiKey:
    return services.apikey_create(name="hotline-vendor", channel="hotline", public=False).api_key


@pytest.fixture
def hook(hotline: ApiKey, receiver: Receiver) -> Webhook:
    made = webhooks.webhook_create(api_key=hotline, url=receiver.url)
    receiver.secret = made.secret
    return made


def test_every_status_change_is_delivered_signed(
    hook: Webhook, hotline: ApiKey, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    appeal = submit(hotline, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()
    # Registering the appeal only queued the delivery: nothing was sent yet.
    assert delivery.status == "pending" and delivery.attempts == 0 and receiver.received == []
    call_command("webhooks", verbosity=0)
    [first] = receiver.received
    assert first.signature_ok and first.answered == 200
    assert first.headers["Content-Type"] == "application/json; charset=utf-8"
    assert first.headers["X-Kuaiban-Event"] == "appeal.register"
    body = first.json
    assert body["id"] == delivery.uid == first.headers["webhook-id"]
    assert body["type"] == "appeal.register"
    assert body["data"]["number"] == appeal.number == body["data"]["service_request_id"]
    assert body["data"]["to_status"] == "received" and body["data"]["open311_status"] == "open"
    assert body["data"]["channel"] == "hotline" and body["data"]["category"] == HEATING
    # No personal data travels in a webhook.
    assert "13812345678" not in first.body.decode() and "王建华" not in first.body.decode()
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.last_status_code == 200
    [attempt] = delivery.attempt_log.all()
    assert attempt.status_code == 200 and attempt.response_body == '{"ok":true}'

    with django_capture_on_commit_callbacks(execute=True):
        appeals.appeal_dispatch(actor=user("operator"), number=appeal.number or "", unit="zjj")
    with django_capture_on_commit_callbacks(execute=True):
        appeals.appeal_claim(actor=user("handler-zjj"), number=appeal.number or "")
    with django_capture_on_commit_callbacks(execute=True):
        appeals.appeal_reply(
            actor=user("handler-zjj"),
            number=appeal.number or "",
            result="resolved",
            text="热力公司已上门排气，室温恢复到二十度。已电话告知王建华（13812345678）。",
        )
    call_command("webhooks", verbosity=0)
    types = [r.json["type"] for r in receiver.delivered]
    assert types == ["appeal.register", "appeal.dispatch", "appeal.claim", "appeal.reply"]
    dispatch = receiver.delivered[1].json["data"]
    assert dispatch["from_status"] == "received" and dispatch["to_status"] == "dispatched"
    assert dispatch["lead_unit"] == {"code": "zjj", "name": "住建局"}
    reply = receiver.delivered[3].json["data"]
    assert reply["reply_result"] == "resolved" and reply["reply_text"].startswith("热力公司")
    # The reply is masked like Open311's status_notes: the submitter's name and phone never go out.
    assert reply["reply_text"].endswith("已电话告知***（***********）。")
    assert "13812345678" not in receiver.delivered[3].body.decode()
    assert all(r.signature_ok for r in receiver.received)


def test_failing_receiver_recovers_with_backoff(
    hook: Webhook, hotline: ApiKey, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    receiver.fail_first = 2
    t0 = clock.now()
    with clock.frozen(t0):
        submit(hotline, django_capture_on_commit_callbacks)
        assert webhooks.deliveries_run() == 1
        assert webhooks.deliveries_run() == 0  # not due again yet
    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and delivery.last_status_code == 503
    assert delivery.next_attempt_at == t0 + dt.timedelta(seconds=30)
    with clock.frozen(t0 + dt.timedelta(seconds=29)):
        assert webhooks.deliveries_run() == 0
    t1 = t0 + dt.timedelta(seconds=31)
    with clock.frozen(t1):
        assert webhooks.deliveries_run() == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.next_attempt_at == t1 + dt.timedelta(seconds=60)
    with clock.frozen(t1 + dt.timedelta(seconds=61)):
        assert webhooks.deliveries_run() == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 3
    log = list(delivery.attempt_log.all())
    assert [a.status_code for a in log] == [503, 503, 200]
    assert [a.number for a in log] == [1, 2, 3]
    assert log[0].response_body == "系统维护中，请稍后重试"
    assert log[1].at - log[0].at == dt.timedelta(seconds=31)
    # The same signed bytes on every attempt, so the receiver can de-duplicate by id.
    assert len({r.body for r in receiver.received}) == 1
    assert [r.headers["X-Kuaiban-Attempt"] for r in receiver.received] == ["1", "2", "3"]
    assert all(r.signature_ok for r in receiver.received)


def test_wrong_secret_is_refused_by_the_receiver_and_logged(
    hook: Webhook, hotline: ApiKey, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    receiver.secret = "whsec_" + base64.b64encode(b"the receiver expects another key").decode()
    submit(hotline, django_capture_on_commit_callbacks)
    webhooks.deliveries_run()
    delivery = Delivery.objects.get()
    assert delivery.status == "pending" and delivery.last_status_code == 401
    assert delivery.attempt_log.get().response_body == "bad signature"
    assert receiver.received[0].signature_ok is False


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_dead_receiver_does_not_block_the_change(
    hotline: ApiKey, django_capture_on_commit_callbacks: Any
) -> None:
    webhooks.webhook_create(api_key=hotline, url=f"http://127.0.0.1:{_closed_port()}/hook")
    appeal = submit(hotline, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        appeals.appeal_dispatch(actor=user("operator"), number=appeal.number or "", unit="zjj")
    # The changes are committed and nothing was attempted on the requester's time.
    assert Appeal.objects.get(pk=appeal.pk).status == "dispatched"
    assert list(Delivery.objects.values_list("attempts", flat=True)) == [0, 0]
    now = clock.now()
    with clock.frozen(now):
        assert webhooks.deliveries_run(timeout=2) == 2
    for delivery in Delivery.objects.all():
        assert delivery.status == "pending" and delivery.last_status_code is None
        assert delivery.next_attempt_at == now + dt.timedelta(seconds=30)
        attempt = delivery.attempt_log.get()
        assert attempt.status_code is None and "refused" in attempt.error.lower()


def test_gives_up_after_max_attempts_and_admin_retry_requeues(
    hook: Webhook,
    hotline: ApiKey,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(webhooks, "MAX_ATTEMPTS", 3)
    receiver.fail_first = 100
    at = clock.now()
    submit(hotline, django_capture_on_commit_callbacks)
    for _ in range(3):
        at += dt.timedelta(hours=7)
        with clock.frozen(at):
            assert webhooks.deliveries_run() == 1
    delivery = Delivery.objects.get()
    assert delivery.status == "failed" and delivery.attempts == 3
    assert delivery.next_attempt_at is None
    with clock.frozen(at + dt.timedelta(days=1)):
        assert webhooks.deliveries_run() == 0
        assert webhooks.delivery_retry(delivery)
        receiver.fail_first = 0
        assert webhooks.deliveries_run() == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered"
    assert [a.status_code for a in delivery.attempt_log.all()] == [503, 503, 503, 200]


def test_backoff_is_exponential_and_capped() -> None:
    assert [webhooks.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert webhooks.backoff(30) == dt.timedelta(hours=6)


def test_event_filter_and_channel_scope(
    hotline: ApiKey,
    receiver: Receiver,
    make_appeal: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    dispatches = webhooks.webhook_create(api_key=hotline, url=receiver.url, events=["dispatch"])
    channel = webhooks.webhook_create(
        api_key=hotline, url=receiver.url, scope="channel", secret=dispatches.secret
    )
    receiver.secret = dispatches.secret
    own = submit(hotline, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        desk = make_appeal(channel="hotline")  # registered by an operator, not through the key
    with django_capture_on_commit_callbacks(execute=True):
        make_appeal(channel="mailbox")
    for appeal in (own, desk):
        with django_capture_on_commit_callbacks(execute=True):
            appeals.appeal_dispatch(actor=user("operator"), number=appeal.number or "", unit="zjj")
    rows = set(Delivery.objects.values_list("webhook_id", "event__appeal__number", "event_type"))
    assert rows == {
        (channel.pk, own.number, "appeal.register"),
        (channel.pk, desk.number, "appeal.register"),
        (channel.pk, own.number, "appeal.dispatch"),
        (channel.pk, desk.number, "appeal.dispatch"),
        (dispatches.pk, own.number, "appeal.dispatch"),
    }
    assert webhooks.deliveries_run() == 5
    assert len(receiver.delivered) == 5


def test_notes_without_status_change_are_not_delivered(
    hook: Webhook, hotline: ApiKey, django_capture_on_commit_callbacks: Any
) -> None:
    appeal = submit(hotline, django_capture_on_commit_callbacks)
    other = submit(hotline, django_capture_on_commit_callbacks, description="暖气片漏水。")
    with django_capture_on_commit_callbacks(execute=True):
        appeals.appeal_merge(
            actor=user("operator"), number=other.number or "", into=appeal.number or ""
        )
    actions = set(AppealEvent.objects.values_list("action", flat=True))
    assert "merged_in" in actions
    types = sorted(Delivery.objects.values_list("event_type", flat=True))
    assert types == ["appeal.merge", "appeal.register", "appeal.register"]
    merge = Delivery.objects.get(event_type="appeal.merge")
    assert merge.payload["merged_into"] == appeal.number
    assert merge.payload["open311_status"] == "closed"


def test_revoked_key_and_inactive_webhook_get_nothing(
    hook: Webhook, hotline: ApiKey, django_capture_on_commit_callbacks: Any
) -> None:
    appeal = submit(hotline, django_capture_on_commit_callbacks)
    services.apikey_revoke(name="hotline-vendor")
    with django_capture_on_commit_callbacks(execute=True):
        appeals.appeal_dispatch(actor=user("operator"), number=appeal.number or "", unit="zjj")
    # Nothing new is queued, and what was queued before the revocation is dropped unsent.
    assert list(Delivery.objects.values_list("event_type", flat=True)) == ["appeal.register"]
    assert webhooks.deliveries_run() == 1
    dropped = Delivery.objects.get()
    assert dropped.status == "failed" and dropped.last_status_code is None
    assert "revoked" in dropped.attempt_log.get().error


def test_inactive_webhook_gets_nothing(
    hook: Webhook, hotline: ApiKey, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    submit(hotline, django_capture_on_commit_callbacks)
    hook.active = False
    hook.save()
    submit(hotline, django_capture_on_commit_callbacks, description="暖气片漏水。")
    assert Delivery.objects.count() == 1
    webhooks.deliveries_run()
    assert receiver.received == [] and Delivery.objects.get().status == "failed"


def test_webhook_create_validates(hotline: ApiKey) -> None:
    from kuaiban.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        webhooks.webhook_create(
            api_key=hotline, url="ftp://example.com", events=["close", "explode"], secret="short"
        )
    assert {e.field for e in exc.value.errors} == {"url", "events", "secret"}


def test_claims_are_exclusive_and_stale_claims_are_taken_over(
    hook: Webhook, hotline: ApiKey, django_capture_on_commit_callbacks: Any
) -> None:
    submit(hotline, django_capture_on_commit_callbacks)
    submit(hotline, django_capture_on_commit_callbacks, description="暖气片漏水。")
    now = clock.now()
    with clock.frozen(now):
        first = webhooks.delivery_claim()
        second = webhooks.delivery_claim()
        assert first is not None and second is not None and first.pk != second.pk
        assert webhooks.delivery_claim() is None  # both are being sent
    # A worker that died mid-send leaves its claim; after five minutes another takes it over.
    with clock.frozen(now + dt.timedelta(minutes=4)):
        assert webhooks.delivery_claim() is None
    with clock.frozen(now + dt.timedelta(minutes=6)):
        taken = webhooks.delivery_claim()
        assert taken is not None and taken.attempts == 2


def test_worker_loop_stops_cleanly(
    hook: Webhook,
    hotline: ApiKey,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: Any,
) -> None:
    from kuaiban.core import workers

    submit(hotline, django_capture_on_commit_callbacks)
    # The first idle wait is where a SIGTERM would land: the loop then stops.
    monkeypatch.setattr(workers.Stopper, "sleep", lambda self, seconds: True)
    call_command(WebhooksCommand(), "--loop", "--interval", "0.01", verbosity=0)
    assert [r.json["type"] for r in receiver.delivered] == ["appeal.register"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("reference_data")
def test_concurrent_workers_send_each_delivery_once(
    hotline: ApiKey, receiver: Receiver, django_capture_on_commit_callbacks: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    made = webhooks.webhook_create(api_key=hotline, url=receiver.url)
    receiver.secret = made.secret
    for i in range(24):
        submit(hotline, django_capture_on_commit_callbacks, description=f"第{i + 1}号楼暖气不热。")
    assert Delivery.objects.count() == 24
    barrier = threading.Barrier(4)
    counts: list[int] = []

    def work() -> None:
        try:
            barrier.wait()
            counts.append(webhooks.deliveries_run())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 24
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == len(set(ids)) == 24
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}
    assert all(d.attempt_log.count() == 1 for d in Delivery.objects.all())
