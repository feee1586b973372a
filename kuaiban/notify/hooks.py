"""Telling the submitter, by SMS, at each public step of their appeal.

Domain services only say what happened (an event, after commit); this hook decides who hears
it. For an appeal from a channel in ``KUAIBAN_SMS_NOTIFY_CHANNELS`` (the public ones by
default: web, app, direct_line, mailbox; an operator who registers a hotline call calls back)
whose submitter left a mobile number:

============  ========================================================================
registered    ``receipt``: the tracking number and the access code
dispatched    ``dispatched``: to which unit
replied       ``replied``: the unit and its reply (masked, cut to KUAIBAN_SMS_REPLY_CHARS),
              then ``rating``: the one-time self-rating link (kuaiban.visits)
closed        ``closed``
============  ========================================================================

A confidential kind (举报) is told only its number and status: ``receipt`` and ``closed`` (which
carry nothing else), and ``status`` instead of the unit or the reply; it gets no rating link
(such reports are visited by phone only). Other people who asked to hear about an appeal (its
supporters, "我也遇到了") are added by :func:`also_tell`; they are told the same steps, but
never the receipt's access code nor the submitter's rating link.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Callable, Iterable, Iterator

import phonenumbers
from django.conf import settings
from django.utils import translation

from kuaiban.appeals import policy
from kuaiban.appeals.models import Action, Appeal, AppealEvent, Status
from kuaiban.notify.sms import send_sms
from kuaiban.visits.services import rating_path, self_rating_link_send

log = logging.getLogger(__name__)

STEPS = {
    Action.REGISTER: "receipt",
    Action.DISPATCH: "dispatched",
    Action.REPLY: "replied",
    Action.ANSWER: "replied",
    Action.CLOSE: "closed",
}

Recipients = Callable[[Appeal], Iterable[str]]
_extra_recipients: list[Recipients] = []
_silenced: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "kuaiban_sms_silenced", default=False
)


@contextlib.contextmanager
def silenced() -> Iterator[None]:
    """Send nobody anything for the events recorded inside (the demo's invented history)."""
    token = _silenced.set(True)
    try:
        yield
    finally:
        _silenced.reset(token)


def is_silenced() -> bool:
    """Inside :func:`silenced`: other apps' notices of the same events stay quiet too."""
    return _silenced.get()


def also_tell(provider: Recipients) -> Recipients:
    """Register ``provider(appeal) -> phones``: more people told of an appeal's steps after its
    registration (e.g. the public app's supporters). Called only for events that are sent."""
    _extra_recipients.append(provider)
    return provider


def _mobile(phone: str) -> bool:
    try:
        parsed = phonenumbers.parse(phone, "CN")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.number_type(parsed) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def _reply(appeal: Appeal, text: str) -> str:
    masked = policy.number_mask_public(appeal)(text.strip())
    limit = max(10, int(settings.KUAIBAN_SMS_REPLY_CHARS))
    return masked if len(masked) <= limit else masked[: limit - 1] + "…"


def _site_url() -> str:
    return (str(settings.KUAIBAN_SITE_URL or "") or "http://127.0.0.1:8000").rstrip("/")


def notices(appeal: Appeal, event: AppealEvent) -> list[tuple[str, dict[str, str]]]:
    """The (template, context) pairs this event owes the submitter, in order."""
    template = STEPS.get(event.action)  # type: ignore[call-overload]
    if template is None:
        return []
    number = appeal.number or ""
    with translation.override(settings.LANGUAGE_CODE):
        status = str(Status(appeal.status).label)
    unit = appeal.lead_unit.name if appeal.lead_unit_id and appeal.lead_unit else ""
    if template == "receipt":
        return [(template, {"number": number, "access_code": appeal.access_code_display})]
    if template == "closed":
        return [(template, {"number": number})]
    if appeal.is_confidential:
        return [("status", {"number": number, "status": status})]
    if template == "dispatched":
        return [(template, {"number": number, "unit": unit, "status": status})]
    return [(template, {"number": number, "unit": unit, "reply": _reply(appeal, event.note)})]


def on_appeal_event(appeal: Appeal, event: AppealEvent) -> None:
    """The after-commit hook (registered in apps.py): queue the SMS this event owes."""
    if not settings.KUAIBAN_SMS_NOTIFY or event.action not in STEPS or _silenced.get():
        return
    # The submitter of a desk channel hears from the operator; the people who joined the appeal
    # at the front door asked to be told, whatever channel it came in by.
    public = appeal.channel in settings.KUAIBAN_SMS_NOTIFY_CHANNELS
    if not public and not appeal.supporter_count:
        return
    owed = notices(appeal, event)
    submitter = appeal.submitter_phone if _mobile(appeal.submitter_phone or "") else ""
    if not public:
        submitter = ""
    if submitter:
        for template, context in owed:
            send_sms(submitter, template, context, appeal=appeal)
    if event.action != Action.REGISTER:
        others = {p for provider in _extra_recipients for p in provider(appeal) if _mobile(p)}
        for phone in sorted(others - {submitter}):
            for template, context in owed:
                send_sms(phone, template, context, appeal=appeal)
    if submitter and event.action in (Action.REPLY, Action.ANSWER):
        _send_rating_link(appeal, submitter)


def _send_rating_link(appeal: Appeal, phone: str) -> None:
    issued = self_rating_link_send(number=appeal.number or "")
    if issued is None:
        return
    _link, token = issued
    url = f"{_site_url()}{rating_path(token)}"
    send_sms(phone, "rating", {"number": appeal.number or "", "url": url}, appeal=appeal)
