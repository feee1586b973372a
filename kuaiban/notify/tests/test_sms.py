"""send_sms: templates rendered and editable, the delivery log, quiet hours, retries."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import transaction

from kuaiban.core import clock
from kuaiban.core.errors import ValidationFailed
from kuaiban.notify import sms
from kuaiban.notify.backends import FileBackend, Outgoing, SmsError
from kuaiban.notify.models import SmsMessage, SmsTemplate
from kuaiban.notify.tests.conftest import Outbox

# Real commits: messages are delivered after the caller's transaction commits.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
TZ = ZoneInfo("Asia/Shanghai")
PHONE = "13812345678"


def at(hm: str, day: str = "2026-11-23") -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=TZ)


def test_file_backend_writes_one_json_line_per_message(outbox: Outbox) -> None:
    message = sms.send_sms(
        PHONE, "receipt", {"number": "KB20261123-000123", "access_code": "ABCDE-23456"}
    )
    [line] = outbox.lines()
    assert set(line) == {"to", "text", "template", "at"}
    assert line["to"] == PHONE and line["template"] == "receipt"
    assert "KB20261123-000123" in line["text"] and "ABCDE-23456" in line["text"]
    assert dt.datetime.fromisoformat(line["at"]).tzinfo is not None
    message.refresh_from_db()
    assert message.status == SmsMessage.Status.SENT and message.attempts == 1
    assert message.sent_at is not None and message.text == line["text"]


def test_file_backend_defaults_to_the_data_directory(settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    settings.KUAIBAN_SMS_OUTBOX = ""
    FileBackend().send(Outgoing(to=PHONE, text="测试短信", template="closed"))
    lines = (tmp_path / "outbox" / "sms.jsonl").read_text("utf-8").splitlines()
    assert json.loads(lines[0])["text"] == "测试短信"


def test_delivery_waits_for_the_commit_and_not_at_all_on_rollback(outbox: Outbox) -> None:
    with transaction.atomic():
        sms.send_sms(PHONE, "closed", {"number": "KB20261123-000001"})
        assert outbox.lines() == []
    assert len(outbox.lines()) == 1
    with pytest.raises(RuntimeError), transaction.atomic():
        sms.send_sms(PHONE, "closed", {"number": "KB20261123-000002"})
        raise RuntimeError("the caller's work failed")
    assert len(outbox.lines()) == 1
    assert SmsMessage.objects.count() == 1


def test_an_edited_template_changes_the_text(outbox: Outbox) -> None:
    SmsTemplate.objects.filter(code="closed").update(text="【城关镇】{number}已办结，谢谢！")
    sms.send_sms(PHONE, "closed", {"number": "KB20261123-000009"})
    assert outbox.texts(PHONE) == ["【城关镇】KB20261123-000009已办结，谢谢！"]


def test_django_template_syntax_works_too(outbox: Outbox) -> None:
    SmsTemplate.objects.filter(code="dispatched").update(
        text="诉求{{ number }}{% if unit %}已转交{{ unit }}{% endif %}办理。"
    )
    sms.send_sms(PHONE, "dispatched", {"number": "KB1", "unit": "县住建局"})
    sms.send_sms(PHONE, "dispatched", {"number": "KB2", "unit": ""})
    assert outbox.texts(PHONE) == ["诉求KB1已转交县住建局办理。", "诉求KB2办理。"]


def test_an_inactive_template_logs_and_sends_nothing(outbox: Outbox) -> None:
    SmsTemplate.objects.filter(code="closed").update(active=False)
    message = sms.send_sms(PHONE, "closed", {"number": "KB1"})
    assert message.status == SmsMessage.Status.SKIPPED
    assert outbox.lines() == []


@pytest.mark.parametrize("to", ["12345", "010-1234", "abc"])
def test_a_bad_number_is_refused_naming_the_field(outbox: Outbox, to: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        sms.send_sms(to, "closed", {"number": "KB1"})
    assert caught.value.errors[0].field == "phone"
    assert SmsMessage.objects.count() == 0


def test_an_unknown_template_is_refused(outbox: Outbox) -> None:
    with pytest.raises(ValidationFailed) as caught:
        sms.send_sms(PHONE, "no-such-template", {})
    assert caught.value.errors[0].field == "template"


# ----- quiet hours -------------------------------------------------------------------------------


def test_quiet_hours_hold_notices_and_release_them_in_the_morning(
    outbox: Outbox, settings: Any
) -> None:
    settings.KUAIBAN_SMS_QUIET_HOURS = "22:00-08:00"
    with clock.frozen(at("23:10")):
        held = sms.send_sms(PHONE, "closed", {"number": "KB20261123-000007"})
        assert held.next_attempt_at == at("08:00", "2026-11-24")
        assert sms.messages_run() == 0
    assert outbox.lines() == []
    with clock.frozen(at("07:59", "2026-11-24")):
        assert sms.messages_run() == 0
    with clock.frozen(at("08:00", "2026-11-24")):
        assert sms.messages_run() == 1
    assert outbox.texts(PHONE) == ["您的诉求KB20261123-000007已办结，感谢您的理解与支持。"]
    held.refresh_from_db()
    assert held.status == SmsMessage.Status.SENT


def test_codes_and_urgent_templates_are_never_held(outbox: Outbox, settings: Any) -> None:
    settings.KUAIBAN_SMS_QUIET_HOURS = "22:00-08:00"
    SmsTemplate.objects.filter(code="code").update(urgent=False)  # codes go whatever is ticked
    with clock.frozen(at("02:30")):
        sms.send_sms(PHONE, "code", {"code": "123456", "minutes": 10})
        sms.send_sms(PHONE, "receipt", {"number": "KB1", "access_code": "ABCDE-23456"})
    assert [m["template"] for m in outbox.to(PHONE)] == ["code", "receipt"]


@pytest.mark.parametrize(
    ("hours", "when", "until"),
    [
        ("22:00-08:00", at("21:59"), None),
        ("22:00-08:00", at("22:00"), at("08:00", "2026-11-24")),
        ("22:00-08:00", at("07:00"), at("08:00")),
        ("12:00-14:00", at("12:30"), at("14:00")),
        ("12:00-14:00", at("14:00"), None),
        ("", at("03:00"), None),
    ],
)
def test_quiet_until(settings: Any, hours: str, when: dt.datetime, until: Any) -> None:
    settings.KUAIBAN_SMS_QUIET_HOURS = hours
    assert sms.quiet_until(when) == until


# ----- retries -----------------------------------------------------------------------------------


class Flaky:
    """A backend failing the first ``failures`` times, as a gateway answering 500 would."""

    calls: list[str] = []
    failures = 0
    retry = True

    def send(self, message: Outgoing) -> str:
        Flaky.calls.append(message.text)
        if len(Flaky.calls) <= Flaky.failures:
            raise SmsError("HTTP 500: gateway error", retry=Flaky.retry)
        return "gw-1"


@pytest.fixture
def flaky(settings: Any) -> type[Flaky]:
    settings.KUAIBAN_SMS_BACKEND = f"{__name__}.Flaky"
    settings.KUAIBAN_SMS_QUIET_HOURS = ""
    Flaky.calls, Flaky.failures, Flaky.retry = [], 0, True
    return Flaky


def test_retries_with_backoff_then_sent(flaky: type[Flaky]) -> None:
    flaky.failures = 2
    start = at("10:00")
    with clock.frozen(start):
        message = sms.send_sms(PHONE, "closed", {"number": "KB1"})
    message.refresh_from_db()
    assert message.status == SmsMessage.Status.QUEUED and message.attempts == 1
    assert message.next_attempt_at == start + dt.timedelta(seconds=30)
    assert "500" in message.last_error
    with clock.frozen(start + dt.timedelta(seconds=29)):
        assert sms.messages_run() == 0
    with clock.frozen(start + dt.timedelta(seconds=30)):
        assert sms.messages_run() == 1
    message.refresh_from_db()
    assert message.attempts == 2
    assert message.next_attempt_at == start + dt.timedelta(seconds=90)  # then 1 minute
    with clock.frozen(start + dt.timedelta(seconds=90)):
        assert sms.messages_run() == 1
    message.refresh_from_db()
    assert message.status == SmsMessage.Status.SENT and message.attempts == 3
    assert message.provider_id == "gw-1" and message.last_error == ""
    assert len(flaky.calls) == 3


def test_gives_up_after_the_last_attempt(flaky: type[Flaky], settings: Any) -> None:
    settings.KUAIBAN_SMS_MAX_ATTEMPTS = 3
    flaky.failures = 99
    when = at("10:00")
    with clock.frozen(when):
        message = sms.send_sms(PHONE, "closed", {"number": "KB1"})
    for _ in range(5):
        when += dt.timedelta(hours=2)
        with clock.frozen(when):
            sms.messages_run()
    message.refresh_from_db()
    assert message.status == SmsMessage.Status.FAILED and message.attempts == 3
    assert len(flaky.calls) == 3
    with clock.frozen(when + dt.timedelta(hours=1)):
        assert sms.message_retry(message)
        assert sms.messages_run() == 1


def test_a_permanent_refusal_is_not_retried(flaky: type[Flaky]) -> None:
    flaky.failures, flaky.retry = 1, False
    message = sms.send_sms(PHONE, "closed", {"number": "KB1"})
    message.refresh_from_db()
    assert message.status == SmsMessage.Status.FAILED and message.attempts == 1
    assert sms.messages_run() == 0


def test_a_retry_due_in_quiet_hours_waits_for_the_morning(
    flaky: type[Flaky], settings: Any
) -> None:
    settings.KUAIBAN_SMS_QUIET_HOURS = "22:00-08:00"
    flaky.failures = 1
    with clock.frozen(at("21:59:50")):
        message = sms.send_sms(PHONE, "closed", {"number": "KB1"})
    message.refresh_from_db()
    assert message.next_attempt_at == at("08:00", "2026-11-24")


def test_the_code_is_blanked_in_the_log_once_sent(outbox: Outbox) -> None:
    message = sms.send_sms(PHONE, "code", {"code": "864209", "minutes": 10})
    assert "864209" in outbox.texts(PHONE)[0]
    message.refresh_from_db()
    assert "864209" not in message.text and message.params["code"] == "******"


def test_the_worker_command_sends_what_is_due(outbox: Outbox, settings: Any) -> None:
    settings.KUAIBAN_SMS_QUIET_HOURS = "22:00-08:00"
    with clock.frozen(at("23:00")):
        sms.send_sms(PHONE, "closed", {"number": "KB1"})
    assert outbox.lines() == []
    with clock.frozen(at("09:00", "2026-11-24")):
        call_command("sms", verbosity=0)
    assert len(outbox.lines()) == 1
