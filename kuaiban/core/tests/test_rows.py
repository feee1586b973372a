"""``core.rows``: plain-SQL reads must give the same objects the ORM gives, and bearer-token
authentication (which is built on them) must refuse what it always refused."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import models
from django.test import Client

from kuaiban.appeals.models import Category
from kuaiban.core import clock, rows
from kuaiban.integrations.models import ApiKey
from kuaiban.integrations.services import apikey_create
from kuaiban.org.models import ApiToken, Region, User
from kuaiban.org.services import TokenRejected, token_authenticate, token_create

pytestmark = pytest.mark.django_db


def _same(a: models.Model, b: models.Model | None) -> None:
    assert b is not None
    for field in type(a)._meta.concrete_fields:
        ours, theirs = getattr(b, field.attname), getattr(a, field.attname)
        assert ours == theirs, field.name
        assert type(ours) is type(theirs), field.name  # e.g. SQLite's datetimes as text


def test_by_gives_the_orms_instances(county: Any) -> None:
    grid = Region.objects.filter(level=Region.Level.GRID).first()
    assert grid is not None
    _same(grid, rows.by(Region, "code", grid.code))
    leaf = Category.objects.filter(level=3).first()
    assert leaf is not None
    _same(leaf, rows.by(Category, "code", leaf.code))
    assert rows.by(Region, "code", "no-such-region") is None


def test_datetimes_and_nulls_round_trip(county: Any) -> None:
    key = token_create(user=User.objects.get(username="operator"))
    token = ApiToken.objects.get(digest=ApiToken.digest_of(key))
    token.last_used_at = dt.datetime(2026, 11, 23, 9, 30, 15, 123456, tzinfo=dt.UTC)
    token.save()
    _same(token, rows.by(ApiToken, "digest", token.digest))
    made = apikey_create(
        name="hotline-vendor-2", channel="hotline", description="12345 热线话务系统"
    )
    api_key = ApiKey.objects.get(pk=made.api_key.pk)
    _same(api_key, rows.by(ApiKey, "digest", api_key.digest))  # revoked_at None, bools, ints


def _status(key: str) -> int:
    client = Client()
    return client.get("/api/v1/appeals", headers={"Authorization": f"Bearer {key}"}).status_code


def test_token_authentication_grants_and_refusals(county: Any) -> None:
    handler = User.objects.get(username="handler-zjj")
    key = token_create(user=handler)
    user = token_authenticate(key)
    assert user is not None and user.pk == handler.pk
    assert user.unit is not None and user.unit.pk == handler.unit_id  # the unit came along
    assert _status(key) == 200

    assert token_authenticate(key + "x") is None
    assert _status(key + "x") == 401

    handler.is_active = False
    handler.save()
    assert token_authenticate(key) is None
    assert _status(key) == 401
    handler.is_active = True
    handler.save()

    ApiToken.objects.filter(digest=ApiToken.digest_of(key)).update(revoked_at=clock.now())
    with pytest.raises(TokenRejected):  # a revoked token says so (401 token_revoked)
        token_authenticate(key)
    assert _status(key) == 401


def test_a_user_without_unit_authenticates(county: Any) -> None:
    leader = User.objects.get(username="leader")
    assert leader.unit_id is None
    user = token_authenticate(token_create(user=leader))
    assert user is not None and user.unit is None


def test_last_use_is_recorded_at_most_once_a_minute(county: Any) -> None:
    key = token_create(user=User.objects.get(username="operator"))
    assert token_authenticate(key) is not None
    first = ApiToken.objects.get(digest=ApiToken.digest_of(key)).last_used_at
    assert first is not None
    assert token_authenticate(key) is not None
    assert ApiToken.objects.get(digest=ApiToken.digest_of(key)).last_used_at == first


def _row(model: type[models.Model], pk: Any) -> dict[str, Any]:
    return model._default_manager.filter(pk=pk).values().get()


def test_insert_writes_what_save_writes(county: Any) -> None:
    """The same appeal and event written by ``Model.save`` and by ``rows.insert`` read back
    equal (all but the keys), and ``post_save`` receivers run (the metrics dirty mark)."""
    from kuaiban.appeals.models import Appeal, AppealEvent
    from kuaiban.metrics.models import FactDirty

    operator = User.objects.get(username="operator")
    grid = Region.objects.filter(level=Region.Level.GRID).first()
    received = dt.datetime(2026, 11, 23, 8, 15, tzinfo=dt.UTC)

    def appeal(number: str) -> Appeal:
        return Appeal(
            number=number,
            channel="hotline",
            kind="complaint",
            title="小区门口夜间施工噪音扰民",
            content="建设路与人民路交叉口工地每晚十一点后仍在打桩，请尽快处理。",
            search_text="小区门口夜间施工噪音扰民",
            submitter_name="王秀英",
            submitter_phone="13912345678",
            phone_last4="5678",
            region=grid,
            received_at=received,
            created_by=operator,
        )

    def event(of: Appeal) -> AppealEvent:
        return AppealEvent(
            appeal=of,
            seq=1,
            at=received,
            actor=operator,
            actor_label=operator.label,
            action="register",
            to_status="received",
            payload={"channel": "hotline", "来源": "12345"},
            prev_hash="",
            hash="ab" * 32,
        )

    by_orm = appeal("KB-ORM-1")
    by_orm.save(force_insert=True)
    by_rows = appeal("KB-ROWS-1")
    rows.insert(by_rows)
    assert by_rows.pk is not None and not by_rows._state.adding
    ours, theirs = _row(Appeal, by_rows.pk), _row(Appeal, by_orm.pk)
    for key in ("id", "number"):
        ours.pop(key), theirs.pop(key)
    # auto_now: stamped by the field's pre_save on both paths, a moment apart
    assert abs(ours.pop("updated_at") - theirs.pop("updated_at")) < dt.timedelta(seconds=5)
    assert ours == theirs

    orm_event = event(by_orm)
    orm_event.save(force_insert=True)
    FactDirty.objects.all().delete()
    rows_event = event(by_rows)
    rows.insert(rows_event)
    assert rows_event.pk is not None
    ours, theirs = _row(AppealEvent, rows_event.pk), _row(AppealEvent, orm_event.pk)
    for key in ("id", "appeal_id"):
        ours.pop(key), theirs.pop(key)
    assert ours == theirs
    assert list(FactDirty.objects.values_list("appeal_id", flat=True)) == [by_rows.pk]
