"""The SMS admin: templates edited there change what is sent; the delivery log is read-only and
shows numbers in full to superusers only."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from kuaiban.notify import sms
from kuaiban.notify.models import SmsMessage, SmsTemplate
from kuaiban.notify.tests.conftest import Outbox
from kuaiban.org.models import Role, User

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
PHONE = "13812345678"


def staff(username: str, *, superuser: bool = False, perms: tuple[str, ...] = ()) -> Client:
    person = User.objects.create_user(
        username=username, password="x", role=Role.ADMIN, is_staff=True, is_superuser=superuser
    )
    for codename in perms:
        person.user_permissions.add(Permission.objects.get(codename=codename))
    client = Client()
    client.force_login(person)
    return client


def test_a_template_edited_in_the_admin_changes_the_sms(outbox: Outbox) -> None:
    client = staff("sms-admin", superuser=True)
    template = SmsTemplate.objects.get(code="closed")
    r = client.post(
        f"/admin/notify/smstemplate/{template.pk}/change/",
        {
            "name": "办结",
            "text": "【清河县12345】您的诉求{number}已办结，欢迎继续监督。",
            "urgent": "",
            "active": "on",
            "provider_template": "",
            "provider_params": "",
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    sms.send_sms(PHONE, "closed", {"number": "KB20261123-000321"})
    assert outbox.texts(PHONE) == ["【清河县12345】您的诉求KB20261123-000321已办结，欢迎继续监督。"]


def test_a_broken_template_is_refused(outbox: Outbox) -> None:
    client = staff("sms-admin", superuser=True)
    template = SmsTemplate.objects.get(code="closed")
    r = client.post(
        f"/admin/notify/smstemplate/{template.pk}/change/",
        {"name": "办结", "text": "{% if number %}没有结束", "active": "on"},
    )
    assert r.status_code == 200  # the form again, with the error
    assert SmsTemplate.objects.get(code="closed").text == template.text


def test_the_log_is_masked_for_staff_who_are_not_superusers(outbox: Outbox) -> None:
    message = sms.send_sms(PHONE, "receipt", {"number": "KB1", "access_code": "ABCDE-23456"})
    viewer = staff("log-reader", perms=("view_smsmessage",))
    listing = viewer.get("/admin/notify/smsmessage/").content.decode()
    assert "138****5678" in listing and PHONE not in listing
    detail = viewer.get(f"/admin/notify/smsmessage/{message.pk}/change/").content.decode()
    assert PHONE not in detail and "ABCDE-23456" not in detail and "KB1" in detail
    # Searching by the number finds nothing for a masked reader (it would tell whose it is).
    assert "138****5678" not in viewer.get(f"/admin/notify/smsmessage/?q={PHONE}").content.decode()
    full = staff("root", superuser=True)
    assert PHONE in full.get(f"/admin/notify/smsmessage/{message.pk}/change/").content.decode()


def test_the_log_cannot_be_edited_or_deleted(outbox: Outbox) -> None:
    message = sms.send_sms(PHONE, "closed", {"number": "KB1"})
    root = staff("root", superuser=True)
    r = root.post(
        f"/admin/notify/smsmessage/{message.pk}/change/", {"to": "13900000000", "text": "改"}
    )
    assert r.status_code == 403
    assert root.post(f"/admin/notify/smsmessage/{message.pk}/delete/").status_code == 403
    assert root.get("/admin/notify/smsmessage/add/").status_code == 403
    message.refresh_from_db()
    assert message.to == PHONE


def test_staff_without_the_permission_see_nothing(outbox: Outbox) -> None:
    sms.send_sms(PHONE, "closed", {"number": "KB1"})
    nobody = staff("clerk")
    assert nobody.get("/admin/notify/smsmessage/").status_code == 403
    assert nobody.get("/admin/notify/smstemplate/").status_code == 403


def test_a_failed_message_can_be_queued_again(outbox: Outbox, settings: Any) -> None:
    message = sms.send_sms(PHONE, "closed", {"number": "KB1"})
    SmsMessage.objects.filter(pk=message.pk).update(status="failed", attempts=8)
    root = staff("root", superuser=True)
    r = root.post(
        "/admin/notify/smsmessage/",
        {"action": "retry", "_selected_action": [message.pk]},
    )
    assert r.status_code == 302
    message.refresh_from_db()
    assert message.status == SmsMessage.Status.QUEUED and message.attempts == 0
