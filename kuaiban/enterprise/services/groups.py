"""Writes for the WeChat matrix groups (微信矩阵群): the groups, problems raised in them as
appeals, and answers posted back, to the raising enterprise or for the whole group.

An answer for the class reaches every member enterprise's contacts through the SMS log
(:func:`kuaiban.notify.sms.send_sms`, one message per phone, delivered after commit) and, where
the group has a webhook URL, the group's bot through one POST signed as Standard Webhooks says
(:func:`kuaiban.integrations.webhooks.sign_headers`), sent once after commit; its outcome is kept
on the answer.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.appeals import policy as appeal_policy
from kuaiban.appeals.models import Action, Appeal, Channel, Status
from kuaiban.appeals.services import record_event
from kuaiban.core import clock
from kuaiban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kuaiban.enterprise import industries, rules
from kuaiban.enterprise.models import (
    Enterprise,
    EnterpriseAppeal,
    EnterpriseGroup,
    GroupAnswer,
    Industry,
    LinkSource,
    WebhookState,
)
from kuaiban.enterprise.services.chains import enterprises_of
from kuaiban.enterprise.services.checks import collect, require, text
from kuaiban.enterprise.services.links import ProblemInput, link_appeal, register_problem
from kuaiban.enterprise.services.registry import enterprise_for_code
from kuaiban.integrations import addresses
from kuaiban.integrations.models import new_secret
from kuaiban.integrations.webhooks import sign_headers
from kuaiban.notify.sms import send_sms
from kuaiban.org.models import User

log = logging.getLogger(__name__)

ANSWER_MAX = 2000
SMS_TEMPLATE = "group_answer"
WEBHOOK_TIMEOUT = 5.0
USER_AGENT = "Kuaiban-Groups/1.0"
# A problem must have reached a unit before it can be answered in the group.
NOT_ANSWERABLE = frozenset({Status.RECEIVED, Status.MERGED, Status.INVALID})


@dataclass
class GroupInput:
    name: str
    industry: str
    members: list[str] = field(default_factory=list)  # credit codes
    webhook_url: str = ""


def _industry(value: str) -> Industry:
    found = industries.row(value) if value else None
    if found is None:
        raise ValidationFailed.one("industry", _("Unknown industry %(value)r.") % {"value": value})
    return found


def _webhook(url: str) -> str:
    url = (url or "").strip()
    return addresses.check_url(url, field="webhook_url") if url else ""


def _clean(data: GroupInput) -> dict[str, Any]:
    return collect(
        [
            ("name", lambda: text(data.name, "name", required=True, limit=100)),
            ("industry", lambda: _industry(data.industry)),
            ("members", lambda: enterprises_of(data.members, "members")),
            ("webhook_url", lambda: _webhook(data.webhook_url)),
        ]
    )


@transaction.atomic
def group_save(*, actor: User, data: GroupInput, group_id: int | None = None) -> EnterpriseGroup:
    """Create a group (``group_id`` None) or replace one's name, industry, members and webhook."""
    require(actor, rules.MANAGE_GROUPS)
    group = None
    if group_id is not None:
        group = EnterpriseGroup.objects.select_for_update().filter(pk=group_id).first()
        if group is None:
            raise NotFound(_("No WeChat group #%(id)s.") % {"id": group_id})
    clean = _clean(data)
    taken = Conflict(
        _("A WeChat group named %(name)s already exists.") % {"name": clean["name"]},
        code="duplicate",
    )
    same_name = EnterpriseGroup.objects.filter(name=clean["name"])
    if group is not None:
        same_name = same_name.exclude(pk=group.pk)
    if same_name.exists():
        raise taken
    if group is None:
        group = EnterpriseGroup(created_by=actor, created_at=clock.now())
    group.name, group.industry = clean["name"], clean["industry"]
    if clean["webhook_url"] and not group.webhook_secret:
        group.webhook_secret = new_secret()
    group.webhook_url = clean["webhook_url"]
    try:
        with transaction.atomic():
            group.save()
    except IntegrityError:
        raise taken from None
    group.members.set(clean["members"])
    return group


def _group(group_id: int) -> EnterpriseGroup:
    group = EnterpriseGroup.objects.filter(pk=group_id).first()
    if group is None:
        raise NotFound(_("No WeChat group #%(id)s.") % {"id": group_id})
    return group


@transaction.atomic
def group_problem(*, actor: User, group_id: int, credit_code: str, problem: ProblemInput) -> Appeal:
    """A problem a member enterprise raised in the group → one appeal (channel ``wechat``)
    registered through the ledger, linked to the group and the enterprise."""
    require(actor, rules.RUN_GROUPS)
    group = _group(group_id)
    enterprise = enterprise_for_code(credit_code)
    if not group.members.filter(pk=enterprise.pk).exists():
        raise ValidationFailed.one(
            "credit_code",
            _("%(name)s is not a member of %(group)s.")
            % {"name": enterprise.name, "group": group.name},
        )
    appeal = register_problem(
        actor=actor,
        enterprise=enterprise,
        channel=Channel.WECHAT,
        problem=problem,
        payload={"enterprise": enterprise.credit_code, "group": group.pk, "group_name": group.name},
    )
    link_appeal(appeal, enterprise, source=LinkSource.GROUP, group=group)
    return appeal


def _may_answer(actor: User, appeal: Appeal) -> bool:
    """The desk that runs the groups, or a handler of the appeal's lead unit."""
    return rules.has(actor, rules.RUN_GROUPS) or appeal_policy.may(actor, Action.REPLY, appeal)


def _phones(enterprises: list[Enterprise]) -> list[str]:
    seen: dict[str, None] = {}
    for enterprise in enterprises:
        for contact in enterprise.contacts.all():
            seen.setdefault(contact.phone, None)
    return list(seen)


@transaction.atomic
def group_answer(
    *, actor: User, group_id: int, number: str, text_: str = "", for_class: bool = False
) -> GroupAnswer:
    """Post an answer to a problem raised in the group: the raising enterprise's contacts are
    told by SMS; ``for_class`` (面向全群): every member's contacts, and the group's webhook.
    One transaction and one event on the appeal; the messages leave after commit."""
    group = _group(group_id)
    appeal = (
        Appeal.objects.select_for_update(of=("self",))
        .filter(number=(number or "").strip())
        .select_related("lead_unit")
        .first()
    )
    if appeal is None or not appeal_policy.can_see(actor, appeal):
        raise NotFound(_("No appeal numbered %(number)s.") % {"number": number})
    link = EnterpriseAppeal.objects.filter(appeal=appeal, group=group).first()
    if link is None:
        raise NotFound(
            _("%(number)s was not raised in %(group)s.") % {"number": number, "group": group.name}
        )
    if not _may_answer(actor, appeal):
        raise PermissionDenied(
            _("Only a handler of the lead unit or the group desk may answer in the group.")
        )
    if appeal.status in NOT_ANSWERABLE or appeal.is_confidential:
        raise Conflict(
            _("Dispatch the problem to a unit before answering it in the group."),
            code="wrong_status",
        )
    answer_text = text(text_ or appeal.reply_text, "text", required=True, limit=ANSWER_MAX)
    members = list(group.members.prefetch_related("contacts")) if for_class else []
    told = members or list(Enterprise.objects.filter(pk=link.enterprise_id))
    phones = _phones(told)
    now = clock.now()
    answer = GroupAnswer.objects.create(
        group=group,
        appeal=appeal,
        text=answer_text,
        for_class=for_class,
        posted_by=actor,
        posted_at=now,
        enterprises_told=len(told),
        sms_count=len(phones),
        webhook_state=WebhookState.QUEUED if for_class and group.webhook_url else WebhookState.NONE,
    )
    _tell(answer, group, appeal, phones)
    record_event(
        appeal,
        actor=actor,
        action=Action.NOTE,
        note=(
            _("Answered in %(group)s for the whole group; %(n)d enterprises told.")
            if for_class
            else _("Answered in %(group)s; the raising enterprise told.")
        )
        % {"group": group.name, "n": len(told)},
        payload={
            "group": group.pk,
            "group_answer": answer.pk,
            "for_class": for_class,
            "enterprises_told": len(told),
            "sms": len(phones),
        },
    )
    appeal.save(update_fields=["event_count", "last_event_hash", "updated_at"])
    return answer


def _tell(answer: GroupAnswer, group: EnterpriseGroup, appeal: Appeal, phones: list[str]) -> None:
    limit = int(getattr(settings, "KUAIBAN_SMS_REPLY_CHARS", 100))
    context = {
        "group": group.name,
        "number": appeal.number or "",
        "unit": appeal.lead_unit.name if appeal.lead_unit else "",
        "answer": shown(appeal, answer.text)[:limit],
    }
    for phone in phones:
        send_sms(phone, SMS_TEMPLATE, context, appeal=appeal)
    if answer.webhook_state == WebhookState.QUEUED:
        transaction.on_commit(partial(webhook_send, answer.pk))


def shown(appeal: Appeal, value: str) -> str:
    """Text that leaves for other enterprises: masked as on every public page (the submitter's
    own numbers and anything shaped like a phone or ID number)."""
    return appeal_policy.number_mask_public(appeal)(value)


def webhook_body(answer: GroupAnswer) -> bytes:
    appeal = answer.appeal
    return json.dumps(
        {
            "type": "group.answer",
            "group": {"id": answer.group_id, "name": answer.group.name},
            "number": appeal.number,
            "question": shown(appeal, appeal.title or appeal.content[:40]),
            "unit": appeal.lead_unit.name if appeal.lead_unit else None,
            "answer": shown(appeal, answer.text),
            "for_class": answer.for_class,
            "posted_at": timezone.localtime(answer.posted_at).isoformat(timespec="seconds"),
        },
        ensure_ascii=False,
    ).encode("utf-8")


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def webhook_send(answer_id: int) -> str:
    """POST the answer to its group's webhook once (after commit) and keep the outcome."""
    answer = (
        GroupAnswer.objects.select_related("group", "appeal__lead_unit")
        .filter(pk=answer_id, webhook_state=WebhookState.QUEUED)
        .first()
    )
    if answer is None:
        return ""
    group = answer.group
    body = webhook_body(answer)
    code: int | None = None
    error = ""
    try:
        addresses.check_url(group.webhook_url, field="webhook_url")
        headers = sign_headers(group.webhook_secret, f"msg_{uuid.uuid4().hex}", clock.now(), body)
        request = urllib.request.Request(
            group.webhook_url,
            data=body,
            method="POST",
            headers={**headers, "Content-Type": "application/json", "User-Agent": USER_AGENT},
        )
        with _opener.open(request, timeout=WEBHOOK_TIMEOUT) as response:
            code = response.status
    except urllib.error.HTTPError as exc:
        code, error = exc.code, f"HTTP {exc.code}"
    except (ValidationFailed, urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:300]
    state = WebhookState.SENT if code is not None and 200 <= code < 300 else WebhookState.FAILED
    GroupAnswer.objects.filter(pk=answer.pk).update(
        webhook_state=state,
        webhook_status_code=code,
        webhook_error=error,
        webhook_sent_at=clock.now(),
    )
    if state == WebhookState.FAILED:
        log.warning("Group webhook for answer %s failed: %s", answer.pk, error or code)
    return state
