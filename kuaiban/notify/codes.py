"""One-time SMS codes that prove a person holds a phone (验证码).

:func:`code_issue` sends a 6-digit code (from :mod:`secrets`) by the ``code`` template and keeps
only its keyed hash, valid for ``KUAIBAN_SMS_CODE_MINUTES``; :func:`code_verify` spends it.
Requests are throttled before anything is written:

- per phone: one code per ``KUAIBAN_SMS_CODE_PHONE_INTERVAL_SECONDS`` (60) and at most
  ``KUAIBAN_SMS_CODE_PER_PHONE_HOUR`` (5) in any hour, counted from the codes' own rows;
- per client address: at most ``KUAIBAN_SMS_CODE_PER_ADDRESS_MINUTE`` (5) a minute and
  ``KUAIBAN_SMS_CODE_PER_ADDRESS_HOUR`` (30) an hour, counted in the shared cache
  (:mod:`kuaiban.core.throttle`, fixed windows).

Past a limit the request is refused with 429 (``Throttled``, with ``retry_after``) naming
``phone``, and no code, message or counter is written.
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from kuaiban.core import clock, throttle
from kuaiban.core.errors import ValidationFailed
from kuaiban.core.validation import clean_phone
from kuaiban.notify.models import PhoneCode
from kuaiban.notify.sms import send_sms

CODE_DIGITS = 6
_SALT = "kuaiban.notify.codes"
_CODE_SHAPE = re.compile(rf"\d{{{CODE_DIGITS}}}")


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def code_valid_for() -> dt.timedelta:
    return dt.timedelta(minutes=_setting("KUAIBAN_SMS_CODE_MINUTES", 10))


def resend_after() -> int:
    """Seconds before the same phone may be sent another code."""
    return _setting("KUAIBAN_SMS_CODE_PHONE_INTERVAL_SECONDS", 60)


def clean_mobile(value: str, field: str = "phone") -> str:
    """A mainland mobile number in national digits (13812345678), else 400 naming ``field``:
    a code can only be sent to a phone that takes SMS."""
    national = clean_phone(value, field=field)
    kind = phonenumbers.number_type(phonenumbers.parse(national, "CN"))
    if kind not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise ValidationFailed.one(field, _("Enter a mobile number: the code is sent by SMS."))
    return national


def _hash(phone: str, code: str) -> str:
    return salted_hmac(_SALT, f"{phone}:{code}", algorithm="sha256").hexdigest()


def _address_subjects(address: str) -> tuple[throttle.Subject, throttle.Subject]:
    return (
        throttle.Subject(
            "sms-code:addr-minute", address, _setting("KUAIBAN_SMS_CODE_PER_ADDRESS_MINUTE", 5), 60
        ),
        throttle.Subject(
            "sms-code:addr-hour", address, _setting("KUAIBAN_SMS_CODE_PER_ADDRESS_HOUR", 30), 3600
        ),
    )


def _refuse(seconds: int) -> throttle.Throttled:
    seconds = max(1, seconds)
    return throttle.Throttled(
        _("Too many code requests: try again in %(seconds)d seconds.") % {"seconds": seconds},
        seconds,
        field="phone",
    )


def _check_phone(phone: str, now: dt.datetime) -> None:
    interval = resend_after()
    per_hour = _setting("KUAIBAN_SMS_CODE_PER_PHONE_HOUR", 5)
    recent = list(
        PhoneCode.objects.filter(phone=phone, created_at__gt=now - dt.timedelta(hours=1))
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:per_hour]
    )
    if recent and (wait := interval - (now - recent[0]).total_seconds()) > 0:
        raise _refuse(int(wait) + 1)
    if len(recent) >= per_hour:
        oldest = recent[-1]
        raise _refuse(int((oldest + dt.timedelta(hours=1) - now).total_seconds()) + 1)


def code_issue(phone: str, *, address: str) -> None:
    """Send a new one-time code to the mainland mobile ``phone``, asked for from the client
    ``address`` (its IP). Refused with 400 naming ``phone`` for a number that is not a mobile,
    429 (:class:`~kuaiban.core.throttle.Throttled`, ``retry_after`` seconds) naming ``phone``
    past a throttle; then nothing is written. A new code replaces any earlier one for the
    phone. The SMS goes after commit (at once outside a transaction), never held by quiet
    hours."""
    national = clean_mobile(phone)
    subjects = _address_subjects(address or "unknown")
    throttle.check(
        *subjects,
        message=_("Too many code requests: try again in %(seconds)d seconds."),
        field="phone",
    )
    now = clock.now()
    with transaction.atomic():
        _check_phone(national, now)
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        PhoneCode.objects.filter(phone=national, spent_at__isnull=True).update(spent_at=now)
        PhoneCode.objects.create(
            phone=national,
            code_hash=_hash(national, code),
            created_at=now,
            expires_at=now + code_valid_for(),
        )
        minutes = int(code_valid_for().total_seconds() // 60)
        send_sms(national, "code", {"code": code, "minutes": minutes})
        throttle.fail(*subjects)  # counts this request against the address


def code_verify(phone: str, code: str) -> str:
    """Spend the code sent to ``phone``; returns the phone in national digits (truthy).

    Refused with 400 naming ``phone`` for a number that is not a mobile, and 400 naming
    ``code`` when the code is not six digits, wrong, expired (older than
    ``KUAIBAN_SMS_CODE_MINUTES``), already used, replaced by a newer code, or burned. Only the
    newest code of a phone counts; a right code is spent at once (single use). Each wrong code
    counts against the newest code; the ``KUAIBAN_SMS_CODE_ATTEMPTS``-th (5) wrong one burns
    it, so that the right code is refused after it too and the person must ask for a new one.

    Transactions: the spend and the wrong-code count are written in a transaction of their
    own when called outside one. Called inside the caller's transaction they are the caller's:
    a spend is undone if the caller's work fails (so the person may try again with the same
    code), and a wrong-code count is kept only if the caller commits. A caller that lets the
    400 escape its transaction should therefore verify *before* opening it.
    """
    national = clean_mobile(phone)
    typed = (code or "").strip()
    if not _CODE_SHAPE.fullmatch(typed):
        raise ValidationFailed.one("code", _("Enter the 6-digit code from the SMS."))
    limit = _setting("KUAIBAN_SMS_CODE_ATTEMPTS", 5)
    now = clock.now()
    problem = ""
    with transaction.atomic():
        row = (
            PhoneCode.objects.select_for_update()
            .filter(phone=national, spent_at__isnull=True, expires_at__gt=now)
            .order_by("-created_at", "-id")
            .first()
        )
        if row is None:
            problem = "expired"
        elif hmac.compare_digest(row.code_hash, _hash(national, typed)):
            row.spent_at = now
            row.save(update_fields=["spent_at"])
        else:
            row.wrong_attempts += 1
            if row.wrong_attempts >= limit:
                row.spent_at = now
                problem = "burned"
            else:
                problem = "wrong"
            row.save(update_fields=["wrong_attempts", "spent_at"])
    # Raised after the block, so that the count above is committed.
    if problem == "expired":
        raise ValidationFailed.one(
            "code", _("This code has expired or was already used: request a new one.")
        )
    if problem == "burned":
        raise ValidationFailed.one(
            "code", _("Wrong code, too many times: this code no longer works. Request a new one.")
        )
    if problem == "wrong":
        raise ValidationFailed.one("code", _("Wrong code: check the SMS and try again."))
    return national
