"""Writes for the organisation domain."""

from __future__ import annotations

from django.db import transaction

from kuaiban.core import clock
from kuaiban.org.models import ApiToken, User


@transaction.atomic
def token_create(*, user: User, name: str = "") -> str:
    """Create a bearer token for ``user`` and return the key (shown once, stored hashed)."""
    key = ApiToken.new_key()
    ApiToken.objects.create(user=user, name=name, prefix=key[3:9], digest=ApiToken.digest_of(key))
    return key


def token_authenticate(key: str) -> User | None:
    try:
        token = ApiToken.objects.select_related("user", "user__unit").get(
            digest=ApiToken.digest_of(key), revoked_at__isnull=True
        )
    except ApiToken.DoesNotExist:
        return None
    if not token.user.is_active:
        return None
    now = clock.now()
    # Touch last use at most once a minute: a hot token must not write on every request.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
