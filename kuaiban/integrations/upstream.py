"""Upper-level transfers (上级转办): appeals a city or provincial 12345 platform sends down, the
answers that go back up, and appeals the county reports up (上报).

- A platform pushes an appeal to ``POST /api/v1/upstream/<code>/appeals``, signed with its
  shared secret (:func:`platform_authenticate`); :func:`upstream_register` puts it in the
  ledger through the one registration service, as the system, channel hotline, with the
  platform's deadline as the appeal's ``reply_due_cap`` (the reply clock started at dispatch is
  the earlier of it and the local limit). Once per (platform, upstream number).
- The appeal is the platform's API key's intake, and the platform's webhook follows that key's
  own appeals: every reply, return and end goes back to the adapter by the webhook machinery
  (signed, retried; :mod:`kuaiban.integrations.webhooks`).
- :func:`upstream_escalate` reports a county appeal up to a platform: one ``escalate`` event
  (``appeals.services.appeal_escalate``), delivered to that platform's webhook.
"""

from __future__ import annotations

import binascii
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import replace

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks import Webhook as StandardWebhook
from standardwebhooks import WebhookVerificationError

from kuaiban.appeals import policy, services
from kuaiban.appeals.models import Action, Appeal, Channel
from kuaiban.core import clock
from kuaiban.core.errors import (
    Conflict,
    DomainError,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from kuaiban.core.validation import check_date
from kuaiban.integrations import addresses
from kuaiban.integrations.models import (
    UPSTREAM_EVENTS,
    ApiKey,
    UpstreamPlatform,
    UpstreamTransfer,
    Webhook,
)
from kuaiban.integrations.services import apikey_create, intake_record, rate_limit_hit
from kuaiban.integrations.webhooks import secret_message, secret_valid
from kuaiban.org.models import User

SOURCE = "upstream"
UPSTREAM_NUMBER = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._:/-]{0,63}$")
UNIT_MAX = 100


class SignatureRejected(DomainError):
    """A push whose Standard Webhooks signature is missing, wrong or out of date: 401."""

    def __init__(self, message: str) -> None:
        super().__init__(message=message, code="bad_signature", status=401)


# ----- platforms --------------------------------------------------------------------------------


def _key_name(code: str) -> str:
    return f"upstream-{code}"[:63]


@transaction.atomic
def platform_save(platform: UpstreamPlatform) -> UpstreamPlatform:
    """Check and save ``platform`` (new or edited) with its API key and webhook in step: the
    key brings its appeals in (channel hotline, private), the webhook sends their news to the
    adapter URL, signed with the shared secret; an inactive platform's webhook is inactive."""
    errors: list[FieldError] = []
    try:
        addresses.check_url(platform.adapter_url)
    except ValidationFailed as exc:
        errors.extend(FieldError("adapter_url", e.message) for e in exc.errors)
    if not secret_valid(platform.secret):
        errors.append(FieldError("secret", secret_message()))
    if errors:
        raise ValidationFailed(errors)
    if platform.api_key_id is None:
        platform.api_key = apikey_create(
            name=_key_name(platform.code),
            channel=Channel.HOTLINE,
            description=platform.name,
            public=False,
        ).api_key
    hook = platform.webhook or Webhook(api_key=platform.api_key, scope=Webhook.Scope.OWN)
    hook.url = platform.adapter_url
    hook.secret = platform.secret
    hook.events = list(UPSTREAM_EVENTS)
    hook.active = platform.active
    hook.save()
    platform.webhook = hook
    platform.save()
    return platform


def platform_create(
    *, code: str, name: str, adapter_url: str, secret: str | None = None
) -> UpstreamPlatform:
    """A new platform (``kuaiban upstream create``); its secret is made when not given."""
    if UpstreamPlatform.objects.filter(code=code).exists():
        raise Conflict(_("An upstream platform coded %(code)s exists already.") % {"code": code})
    platform = UpstreamPlatform(code=code, name=name, adapter_url=adapter_url)
    if secret:
        platform.secret = secret
    try:
        platform.full_clean(exclude=["adapter_url", "secret"])
    except DjangoValidationError as exc:
        raise ValidationFailed(
            [FieldError(f, str(m[0])) for f, m in exc.message_dict.items()]
        ) from None
    return platform_save(platform)


def platform_authenticate(code: str, body: bytes, headers: Mapping[str, str]) -> UpstreamPlatform:
    """The platform ``code`` if ``body`` carries its valid signature: 404 for an unknown
    platform, 403 for a disabled one, 401 for a missing, wrong or stale (over five minutes)
    signature (Standard Webhooks' ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``),
    429 past its key's requests per minute."""
    platform = UpstreamPlatform.objects.select_related("api_key").filter(code=code).first()
    if platform is None:
        raise NotFound(_("No upstream platform coded %(code)s.") % {"code": code})
    if not platform.active or platform.api_key is None or platform.api_key.revoked_at:
        raise PermissionDenied(_("This upstream platform is disabled."))
    try:
        StandardWebhook(platform.secret).verify(body, dict(headers), json_parse=False)
    except (WebhookVerificationError, ValueError, binascii.Error):
        raise SignatureRejected(
            _("The request is not signed with this platform's secret, or its timestamp is stale.")
        ) from None
    # The platform's key's requests per minute, as for every key (429 with Retry-After).
    rate_limit_hit(bucket=platform.api_key.scope, limit=platform.api_key.rate_per_minute)
    return platform


# ----- transfers down ---------------------------------------------------------------------------


def _clean_transfer(
    number: str, unit: str, deadline: dt.datetime | None
) -> tuple[str, str, dt.datetime]:
    errors: list[FieldError] = []
    number = (number or "").strip()
    if not UPSTREAM_NUMBER.match(number):
        errors.append(
            FieldError(
                "upstream_number",
                _("1 to 64 letters, digits and . _ : / - (the platform's own number)."),
            )
        )
    unit = (unit or "").strip()
    if not unit or len(unit) > UNIT_MAX:
        errors.append(
            FieldError("upstream_unit", _("Required, at most %(n)d characters.") % {"n": UNIT_MAX})
        )
    if deadline is None:
        errors.append(FieldError("upstream_deadline", _("This field is required.")))
    else:
        try:
            check_date(deadline, "upstream_deadline")
        except ValidationFailed as exc:
            errors.extend(exc.errors)
        else:
            if timezone.is_naive(deadline):
                deadline = timezone.make_aware(deadline)
            if deadline <= clock.now():
                errors.append(FieldError("upstream_deadline", _("Must be in the future.")))
    if errors:
        raise ValidationFailed(errors)
    assert deadline is not None
    return number, unit, deadline


def upstream_register(
    *,
    platform: UpstreamPlatform,
    data: services.AppealInput,
    upstream_number: str,
    upstream_unit: str,
    upstream_deadline: dt.datetime | None,
) -> tuple[Appeal, bool]:
    """Register an appeal sent down by ``platform``: (appeal, created).

    One transaction: the appeal (``appeal_register_within``: one ``register`` event whose payload
    names the platform and its number), its :class:`UpstreamTransfer` and its intake. The same
    upstream number again answers with the first appeal (created False), whatever the body;
    two concurrent pushes of it meet at the transfer's unique constraint, and the second
    answers with the first's appeal.
    """
    number, unit, deadline = _clean_transfer(upstream_number, upstream_unit, upstream_deadline)
    found = _transfer(platform, number)
    if found is not None:
        return found.appeal, False
    data = replace(data, channel=Channel.HOTLINE, reply_due_cap=deadline)
    payload = {
        "source": SOURCE,
        "platform": platform.code,
        "upstream_number": number,
        "upstream_unit": unit,
    }
    try:
        with transaction.atomic():
            appeal = services.appeal_register_within(actor=None, data=data, extra_payload=payload)
            UpstreamTransfer.objects.create(
                appeal=appeal,
                platform=platform,
                upstream_number=number,
                upstream_unit=unit,
                upstream_deadline=deadline,
            )
            assert isinstance(platform.api_key, ApiKey)
            intake_record(appeal=appeal, api_key=platform.api_key, source=SOURCE)
    except IntegrityError:
        found = _transfer(platform, number)
        if found is None:
            raise
        return found.appeal, False
    return appeal, True


def _transfer(platform: UpstreamPlatform, number: str) -> UpstreamTransfer | None:
    return (
        UpstreamTransfer.objects.select_related("appeal")
        .filter(platform=platform, upstream_number=number)
        .first()
    )


# ----- escalation up ----------------------------------------------------------------------------


def upstream_escalate(*, actor: User, number: str, platform: str | None, reason: str) -> Appeal:
    """Report appeal ``number`` up to ``platform`` (a code; may be left out when exactly one
    platform is active) with ``reason``: one ``escalate`` event, sent to the platform's adapter
    after commit. The desk and supervisors may (others 403); not back to the platform that sent
    it down, not twice to one platform, never a confidential report (409)."""
    if not policy.may(actor, Action.ESCALATE):
        raise PermissionDenied(
            _("Your role (%(role)s) may not do this.") % {"role": actor.get_role_display()}
        )
    with transaction.atomic():
        target = _target(platform)
        if UpstreamTransfer.objects.filter(appeal__number=number, platform=target).exists():
            raise Conflict(
                _("This appeal was sent down by %(name)s: answer it, do not escalate it back.")
                % {"name": target.name},
                code="from_this_platform",
            )
        return services.appeal_escalate(
            actor=actor, number=number, target=target.code, target_name=target.name, reason=reason
        )


def _target(code: str | None) -> UpstreamPlatform:
    active = UpstreamPlatform.objects.filter(active=True, webhook__isnull=False)
    code = (code or "").strip()
    if code:
        found = active.filter(code=code).first()
        if found is None:
            raise ValidationFailed.one(
                "platform", _("No active upstream platform coded %(code)s.") % {"code": code}
            )
        return found
    choices = list(active[:2])
    if len(choices) != 1:
        raise ValidationFailed.one(
            "platform",
            _("Name the platform: %(n)d are active.") % {"n": active.count()}
            if choices
            else _("No upstream platform is configured."),
        )
    return choices[0]
