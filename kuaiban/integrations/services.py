"""Writes for integrations: API keys, rate limiting, idempotent intake and intake records.

Webhooks (registration, enqueueing and delivery) live in :mod:`kuaiban.integrations.webhooks`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.core.cache import caches
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from kuaiban.appeals.models import Appeal, Channel
from kuaiban.appeals.services import appeal_id_next_sql
from kuaiban.core import clock
from kuaiban.core.errors import (
    Conflict,
    DomainError,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from kuaiban.integrations.models import (
    NAME_VALIDATOR,
    ApiKey,
    IdempotencyKey,
    Intake,
    RateWindow,
)
from kuaiban.org.models import User

WINDOW_SECONDS = 60
# A key allowed many requests a minute need not write its counter on every one (one hot row that
# every request of the key updates): each web process may admit up to this share of the limit
# (at most ALLOWANCE_MAX requests) before it writes them to the counter in one statement. Over
# admission is bounded by processes x allowance (1 % of the limit per process); limits below
# 200 a minute stay exact, and one process never admits past the limit.
ALLOWANCE_SHARE = 0.01
ALLOWANCE_MAX = 50
LAST_USED_EVERY = dt.timedelta(seconds=60)
# Every Open311 request authenticates its key: a process reads a key's row at most once a second.
KEY_CACHE_SECONDS = 1
IDEMPOTENCY_KEY_MAX = 255


class RateLimited(DomainError):
    """Too many requests in this window; ``retry_after`` is in whole seconds (at least 1)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message=message, code="rate_limited", status=429)
        self.retry_after = retry_after


# ----- API keys ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewKey:
    api_key: ApiKey
    key: str


@transaction.atomic
def apikey_create(
    *,
    name: str,
    channel: str = Channel.OPEN311,
    description: str = "",
    rate_per_minute: int = 600,
    public: bool = True,
    mode: str = ApiKey.Mode.REALTIME,
    created_by: User | None = None,
) -> NewKey:
    """Create a key for an integrating system; the returned key is the only copy there is."""
    name = (name or "").strip()
    errors = []
    try:
        NAME_VALIDATOR(name)
    except DjangoValidationError as exc:
        errors.append(("name", str(exc.messages[0])))
    if channel not in Channel.values:
        errors.append(
            (
                "channel",
                _("Unknown channel %(value)r; one of: %(allowed)s.")
                % {"value": channel, "allowed": ", ".join(Channel.values)},
            )
        )
    if not 1 <= rate_per_minute <= 1_000_000:
        errors.append(("rate_per_minute", _("Between 1 and 1000000.")))
    if mode not in ApiKey.Mode.values:
        errors.append(("mode", _("One of: realtime, batch.")))
    if errors:
        raise ValidationFailed([FieldError(f, m) for f, m in errors])
    if ApiKey.objects.filter(name=name).exists():
        raise Conflict(_("An API key named %(name)s exists already.") % {"name": name})
    key = ApiKey.new_key()
    api_key = ApiKey.objects.create(
        name=name,
        channel=channel,
        description=description[:200],
        prefix=key[len("kbk_") : len("kbk_") + 8],
        digest=ApiKey.digest_of(key),
        rate_per_minute=rate_per_minute,
        public=public,
        mode=mode,
        created_by=created_by,
    )
    return NewKey(api_key, key)


def apikey_assign_secret(api_key: ApiKey) -> str:
    """Give an unsaved key (from the admin form) its secret; returns the key to show once."""
    key = ApiKey.new_key()
    api_key.prefix = key[len("kbk_") : len("kbk_") + 8]
    api_key.digest = ApiKey.digest_of(key)
    return key


def apikey_revoke(*, name: str) -> ApiKey:
    """Revoke the key named ``name``; it is refused from the next request on (its save drops the
    remembered row, see apikey_forget)."""
    api_key = ApiKey.objects.filter(name=name).first()
    if api_key is None:
        raise NotFound(_("No API key named %(name)s.") % {"name": name})
    if api_key.revoked_at is None:
        api_key.revoked_at = clock.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def _key_cache_key(digest: str) -> str:
    return f"kuaiban:apikey:{digest}"


def apikey_forget(*, instance: ApiKey | None = None, digests: Iterable[str] = (), **_: Any) -> None:
    """Drop remembered key rows: ``instance``'s (a post_save/post_delete receiver) and those of
    ``digests`` (a queryset update, which sends no signals). With a shared cache (CACHE_URL) every
    process sees the change at once; with the default per-process cache, this process does and
    the others within KEY_CACHE_SECONDS."""
    keys = [_key_cache_key(d) for d in digests]
    if instance is not None:
        keys.append(_key_cache_key(instance.digest))
    if keys:
        caches["default"].delete_many(keys)


def apikey_authenticate(key: str | None) -> ApiKey:
    """The active key for ``key`` or PermissionDenied; records its last use (once a minute).

    A key's row is read at most once every KEY_CACHE_SECONDS through Django's cache (unknown
    digests are not remembered, so guessing cannot fill it); every caller gets its own copy.
    """
    if not key:
        raise PermissionDenied(_("An api_key is required."))
    digest = ApiKey.digest_of(key)
    cache = caches["default"]
    api_key: ApiKey | None = cache.get(_key_cache_key(digest))
    if api_key is None:
        try:
            api_key = ApiKey.objects.get(digest=digest)
        except ApiKey.DoesNotExist:
            raise PermissionDenied(_("Invalid api_key.")) from None
        cache.set(_key_cache_key(digest), api_key, KEY_CACHE_SECONDS)
    if api_key.revoked_at is not None:
        raise PermissionDenied(_("This api_key has been revoked."))
    now = clock.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_EVERY:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
        cache.set(_key_cache_key(digest), api_key, KEY_CACHE_SECONDS)
    return api_key


# ----- rate limiting ----------------------------------------------------------------------------


class _Allowances:
    """This process's admitted-but-unwritten hits per bucket: (minute, pending, last known)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_bucket: dict[str, tuple[int, int, int]] = {}

    def take(self, bucket: str, minute: int, limit: int, allowance: int) -> int:
        """0 if this hit is admitted on credit, else how many hits to write now (this one too)."""
        with self.lock:
            then, pending, known = self.by_bucket.get(bucket, (minute, 0, 0))
            if then != minute:  # a new minute: the old one's unwritten hits no longer matter
                pending, known = 0, 0
            if pending + 1 < allowance and known + pending + 1 <= limit:
                self.by_bucket[bucket] = (minute, pending + 1, known)
                return 0
            self.by_bucket[bucket] = (minute, 0, known)
            return pending + 1

    def written(self, bucket: str, minute: int, hits: int) -> None:
        with self.lock:
            then, pending, known = self.by_bucket.get(bucket, (minute, 0, 0))
            if then == minute:
                self.by_bucket[bucket] = (minute, pending, max(known, hits))

    def reset(self) -> None:
        with self.lock:
            self.by_bucket.clear()


_allowances = _Allowances()


def rate_limit_hit(*, bucket: str, limit: int) -> None:
    """Count one request for ``bucket`` in the current minute; RateLimited beyond ``limit``.

    The counters are rows (one per bucket and minute) shared by all web processes, written with
    one atomic upsert (PostgreSQL and SQLite both speak ``ON CONFLICT … RETURNING``) committed on
    its own; see ALLOWANCE_SHARE for keys with large limits.
    """
    now = clock.now().timestamp()
    minute = int(now // WINDOW_SECONDS)
    allowance = min(ALLOWANCE_MAX, int(limit * ALLOWANCE_SHARE))
    add = _allowances.take(bucket, minute, limit, allowance) if allowance >= 2 else 1
    if add == 0:
        return
    hits = _count(bucket, minute, add)
    _allowances.written(bucket, minute, hits)
    if hits == add:
        # A new window: forget this bucket's old ones (keeps the table tiny).
        RateWindow.objects.filter(bucket=bucket, minute__lt=minute - 1).delete()
    if hits > limit:
        retry_after = max(1, math.ceil((minute + 1) * WINDOW_SECONDS - now))
        raise RateLimited(
            _("Rate limit of %(limit)d requests per minute exceeded; retry in %(s)d s.")
            % {"limit": limit, "s": retry_after},
            retry_after,
        )


def _count(bucket: str, minute: int, add: int) -> int:
    """Add ``add`` hits to the bucket's counter for ``minute``; the new total."""
    table = RateWindow._meta.db_table
    upsert = (
        f"INSERT INTO {table} (bucket, minute, hits) {{values}} "
        f"ON CONFLICT (bucket, minute) DO UPDATE SET hits = {table}.hits + EXCLUDED.hits "
        "RETURNING hits"
    )
    if not connection.in_atomic_block and connection.vendor == "postgresql":
        # One statement, its own transaction (autocommit), which commits without waiting for a
        # WAL flush: a count lost in a crash costs nothing. set_config(..., true) applies to
        # this statement's transaction only. (BEGIN; SET LOCAL; INSERT; COMMIT was 4 round trips
        # on every Open311 request.)
        sql = upsert.format(
            values="SELECT %s, %s, %s FROM (SELECT set_config('synchronous_commit', 'off', true)) s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [bucket, minute, add])
            return int(cursor.fetchone()[0])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(upsert.format(values="VALUES (%s, %s, %s)"), [bucket, minute, add])
        return int(cursor.fetchone()[0])


def rate_allowances_reset() -> None:
    """Forget this process's unwritten hits (tests)."""
    _allowances.reset()


def rate_windows_prune(*, older_than_minutes: int = 10) -> int:
    minute = int(clock.now().timestamp() // WINDOW_SECONDS) - older_than_minutes
    deleted, _kinds = RateWindow.objects.filter(minute__lt=minute).delete()
    return deleted


# ----- idempotency ------------------------------------------------------------------------------


def fingerprint(data: Any) -> str:
    """SHA-256 of a canonical JSON of ``data``: equal for equal bodies, whatever their layout."""
    canonical = json.dumps(
        data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def clean_idempotency_key(value: str) -> str:
    key = value.strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX or not all(33 <= ord(c) <= 126 for c in key):
        raise ValidationFailed.one(
            "Idempotency-Key",
            _("1 to %(max)d visible ASCII characters, e.g. a UUID.") % {"max": IDEMPOTENCY_KEY_MAX},
        )
    return key


def idempotent_register(
    *, scope: str, key: str, fingerprint_: str, register: Callable[[int | None], Appeal]
) -> tuple[Appeal, bool]:
    """Register once per (scope, key): returns (appeal, created).

    The idempotency row is inserted first, in the same transaction as the appeal. A concurrent
    request with the same key waits on the unique index until the first commits (PostgreSQL's
    ON CONFLICT) or for the write lock (SQLite), then finds the row and answers with the same
    appeal. A
    request whose body differs is refused with 409. If registration fails, the whole transaction
    rolls back and the key stays free for a corrected retry.

    ``register(appeal_id)`` registers the appeal inside this transaction. On PostgreSQL the
    appeal's id is drawn from its sequence by the statement that writes the key (the appeal's
    foreign key is checked at commit), so the key's row is written once and in one round trip;
    a replay leaves a gap in the sequence, as a rollback does.
    """
    key = clean_idempotency_key(key)
    table = IdempotencyKey._meta.db_table
    next_id = appeal_id_next_sql() or "NULL"  # SQLite: set once the appeal has its id
    with transaction.atomic():
        with connection.cursor() as cursor:
            # ON CONFLICT waits for a concurrent inserter of the same key to finish, then
            # inserts nothing (it committed) or inserts (it rolled back).
            cursor.execute(
                f"INSERT INTO {table} (scope, key, fingerprint, created_at, appeal_id) "
                f"VALUES (%s, %s, %s, %s, {next_id}) ON CONFLICT (scope, key) DO NOTHING "
                "RETURNING id, appeal_id",
                [
                    scope,
                    key,
                    fingerprint_,
                    connection.ops.adapt_datetimefield_value(clock.now()),
                ],
            )
            inserted = cursor.fetchone()
        if inserted is None:
            existing = (
                IdempotencyKey.objects.select_related("appeal").filter(scope=scope, key=key).first()
            )
            if existing is None or existing.appeal is None:  # pragma: no cover - vanished row
                raise Conflict(
                    _("A request with this Idempotency-Key is in progress; retry."),
                    code="idempotency_in_progress",
                )
            if existing.fingerprint != fingerprint_:
                raise Conflict(
                    _("This Idempotency-Key was used with a different request body."),
                    code="idempotency_mismatch",
                )
            return existing.appeal, False
        appeal_id = inserted[1]
        appeal = register(appeal_id)
        if appeal_id is None:  # SQLite: the appeal's id is known now
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET appeal_id = %s WHERE id = %s", [appeal.pk, inserted[0]]
                )
        return appeal, True


def idempotency_prune(*, older_than_days: int = 30) -> int:
    cutoff = clock.now() - dt.timedelta(days=older_than_days)
    deleted, _kinds = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# ----- intake -----------------------------------------------------------------------------------


def intake_record(*, appeal: Appeal, api_key: ApiKey, source: str) -> Intake:
    """Remember which key brought ``appeal`` in (call inside the registering transaction)."""
    return Intake.objects.create(appeal=appeal, api_key=api_key, source=source)
