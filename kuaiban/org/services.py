"""Writes for the organisation domain."""

from __future__ import annotations

import functools

from django.db import transaction

from kuaiban.core import clock, rows
from kuaiban.org.models import ApiToken, Unit, User


@transaction.atomic
def token_create(*, user: User, name: str = "") -> str:
    """Create a bearer token for ``user`` and return the key (shown once, stored hashed)."""
    key = ApiToken.new_key()
    ApiToken.objects.create(user=user, name=name, prefix=key[3:9], digest=ApiToken.digest_of(key))
    return key


@functools.cache
def _token_sql() -> str:
    # Token, user and unit in one statement (every API request runs it): see core/rows.py.
    return (
        f"SELECT {rows.columns(ApiToken, 't')}, {rows.columns(User, 'u')}, "
        f"{rows.columns(Unit, 'n')} FROM {rows.table(ApiToken)} t "
        f"JOIN {rows.table(User)} u ON u.id = t.user_id "
        f"LEFT JOIN {rows.table(Unit)} n ON n.id = u.unit_id "
        "WHERE t.digest = %s AND t.revoked_at IS NULL"
    )


def token_authenticate(key: str) -> User | None:
    row = rows.fetch(_token_sql(), [ApiToken.digest_of(key)])
    if row is None:
        return None
    token, at = rows.build(ApiToken, row)
    user, at = rows.build(User, row, at)
    unit, _end = rows.build(Unit, row, at)
    assert token is not None and user is not None
    user.unit = unit
    if not user.is_active:
        return None
    now = clock.now()
    # Touch last use at most once a minute: a hot token must not write on every request.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return user
