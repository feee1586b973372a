"""Writes for the organisation domain: API tokens (create, authenticate, revoke)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kuaiban.core import clock
from kuaiban.core.errors import DomainError, NotFound, ValidationFailed
from kuaiban.org.models import ApiToken, User

TOKEN_DAYS_MAX = 3650


class TokenRejected(DomainError):
    """A bearer token that exists but no longer works (expired or revoked): 401."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message=message, code=code, status=401)


@transaction.atomic
def token_create(*, user: User, name: str = "", days: int | None = None) -> str:
    """Create a bearer token for ``user`` valid ``days`` days (default KUAIBAN_API_TOKEN_DAYS)
    and return the key (shown once, stored hashed)."""
    days = settings.KUAIBAN_API_TOKEN_DAYS if days is None else days
    if not 1 <= days <= TOKEN_DAYS_MAX:
        raise ValidationFailed.one(
            "days", _("Between 1 and %(max)d days.") % {"max": TOKEN_DAYS_MAX}
        )
    key = ApiToken.new_key()
    ApiToken.objects.create(
        user=user,
        name=name[:100],
        prefix=key[3:9],
        digest=ApiToken.digest_of(key),
        # Lifetimes are wall-clock time, not the app's clock (which tests and the demo pin).
        expires_at=timezone.now() + dt.timedelta(days=days),
    )
    return key


@transaction.atomic
def token_revoke(*, actor: User, token_id: int) -> ApiToken:
    """Revoke one of ``actor``'s own tokens; anyone else's is NotFound (administrators revoke
    any token in the admin)."""
    token = ApiToken.objects.select_for_update().filter(pk=token_id, user=actor).first()
    if token is None:
        raise NotFound(_("You have no such token."))
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        token.save(update_fields=["revoked_at"])
    return token


def token_authenticate(
    key: str, *, on_use: Callable[[ApiToken], None] | None = None
) -> User | None:
    """The user of a working token, None for an unknown one; TokenRejected (401) for an expired
    or revoked one. ``on_use(token)`` runs for a working token before its use is recorded: the
    API counts the token's requests there (RateLimited, 429, past its rate), since the rate
    mechanism belongs to ``integrations``, which builds on this app.

    The token's row is read on every request (one query with its user and unit), so a
    revocation or an expiry takes effect from the next request on, in every process."""
    try:
        token = ApiToken.objects.select_related("user__unit").get(digest=ApiToken.digest_of(key))
    except ApiToken.DoesNotExist:
        return None
    user = token.user
    if not user.is_active:
        return None
    if token.revoked_at is not None:
        raise TokenRejected(_("This token has been revoked."), code="token_revoked")
    if token.expires_at is not None and token.expires_at <= timezone.now():
        raise TokenRejected(
            _("This token expired on %(date)s; create a new one with kuaiban token.")
            % {"date": timezone.localtime(token.expires_at).strftime("%Y-%m-%d %H:%M")},
            code="token_expired",
        )
    if on_use is not None:
        on_use(token)
    now = clock.now()
    # Touch last use at most once a minute: a hot token must not write on every request.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return user
