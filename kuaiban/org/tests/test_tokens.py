"""API tokens: a rate per token (429 with Retry-After), an expiry (401 saying so), revocation by
the owner on a page (and by administrators in the admin), and `kuaiban token --days`."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from kuaiban.core import clock
from kuaiban.org.models import ApiToken, User
from kuaiban.org.services import TokenRejected, token_authenticate, token_create

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 11, 23, 2, 0, 15, tzinfo=dt.UTC)  # 10:00:15 in the county


def user(name: str) -> User:
    return User.objects.get(username=name)


def get(key: str, path: str = "/api/v1/units", **headers: str) -> Any:
    return Client().get(path, headers={"Authorization": f"Bearer {key}", **headers})


def web(name: str) -> Client:
    client = Client(headers={"accept-language": "zh-hans"})
    client.force_login(user(name))
    return client


def test_token_over_its_rate_gets_429_with_retry_after(county: Any, settings: Any) -> None:
    settings.KUAIBAN_API_RATE_PER_MINUTE = 3
    key = token_create(user=user("operator"))
    other = token_create(user=user("supervisor"))
    with clock.frozen(START):
        assert [get(key).status_code for _ in range(3)] == [200, 200, 200]
        refused = get(key)
        assert refused.status_code == 429
        assert refused["Retry-After"] == "45"  # the minute ends at 10:01:00
        body = refused.json()
        assert body["code"] == "rate_limited" and "3" in body["detail"]
        assert get(other).status_code == 200  # the limit is per token
    with clock.frozen(START + dt.timedelta(seconds=46)):
        assert get(key).status_code == 200  # a new minute


def lifetime(token: ApiToken) -> dt.timedelta:
    assert token.expires_at is not None
    return token.expires_at - token.created_at


def test_expired_token_is_401_saying_so(county: Any) -> None:
    key = token_create(user=user("operator"), days=7)
    token = ApiToken.objects.get()
    assert abs(lifetime(token) - dt.timedelta(days=7)) < dt.timedelta(seconds=5)
    assert get(key).status_code == 200
    # Lifetimes are wall-clock time: make this one end a moment ago.
    ended = timezone.now() - dt.timedelta(minutes=1)
    ApiToken.objects.update(expires_at=ended)
    expired = get(key, **{"accept-language": "en"})
    assert expired.status_code == 401
    assert expired.json()["code"] == "token_expired"
    when = timezone.localtime(ended).strftime("%Y-%m-%d %H:%M")  # in Asia/Shanghai
    assert f"This token expired on {when}" in expired.json()["detail"]
    assert "invalid_token" in expired["WWW-Authenticate"]
    # A token made while the app's clock is pinned in the past still lives its full term.
    with clock.frozen(START - dt.timedelta(days=365)):
        key = token_create(user=user("supervisor"), days=7)
    assert get(key).status_code == 200


def test_default_lifetime_comes_from_the_setting(county: Any, settings: Any) -> None:
    settings.KUAIBAN_API_TOKEN_DAYS = 30
    token_create(user=user("operator"))
    lived = lifetime(ApiToken.objects.get())
    assert abs(lived - dt.timedelta(days=30)) < dt.timedelta(seconds=5)


def test_unknown_token_is_401(county: Any) -> None:
    response = get("kb_not-a-token")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Bearer"


def test_owner_revokes_on_the_page_and_the_token_stops_working(county: Any) -> None:
    key = token_create(user=user("operator"), name="热线对接")
    token_create(user=user("supervisor"), name="督办系统")
    assert get(key).status_code == 200
    token = ApiToken.objects.get(user__username="operator")
    page = web("operator").get("/account/tokens/")
    html = page.content.decode()
    assert page.status_code == 200 and f"kb_{token.prefix}…" in html and "热线对接" in html
    assert key not in html and token.digest not in html
    assert "督办系统" not in html  # only one's own tokens
    client = web("operator")
    done = client.post(f"/account/tokens/{token.pk}/revoke/", follow=True)
    assert done.status_code == 200 and "已吊销" in done.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    revoked = get(key)
    assert revoked.status_code == 401 and revoked.json()["code"] == "token_revoked"


def test_revoking_someone_elses_token_is_404(county: Any) -> None:
    key = token_create(user=user("supervisor"))
    theirs = ApiToken.objects.get()
    response = web("operator").post(f"/account/tokens/{theirs.pk}/revoke/")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None and get(key).status_code == 200


def test_token_page_needs_a_login_and_revoking_a_post(county: Any) -> None:
    token_create(user=user("operator"))
    token = ApiToken.objects.get()
    anonymous = Client().get("/account/tokens/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    assert Client().post(f"/account/tokens/{token.pk}/revoke/").status_code == 302
    assert web("operator").get(f"/account/tokens/{token.pk}/revoke/").status_code == 405
    token.refresh_from_db()
    assert token.revoked_at is None


def test_admin_revokes_anyones_token(county: Any) -> None:
    key = token_create(user=user("operator"))
    token = ApiToken.objects.get()
    admin = Client()
    admin.force_login(user("admin"))
    listing = admin.get("/admin/org/apitoken/")
    assert listing.status_code == 200 and token.prefix in listing.content.decode()
    response = admin.post(
        "/admin/org/apitoken/",
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    assert get(key).status_code == 401
    # Not an administrator: no admin at all.
    assert web("operator").get("/admin/org/apitoken/").status_code == 302


def test_command_prints_a_token_valid_for_days(county: Any) -> None:
    out = io.StringIO()
    call_command("token", "operator", "--days", "14", stdout=out)
    key = out.getvalue().strip()
    assert re.fullmatch(r"kb_[A-Za-z0-9_-]{43}", key)
    assert abs(lifetime(ApiToken.objects.get()) - dt.timedelta(days=14)) < dt.timedelta(seconds=5)
    assert get(key).status_code == 200
    with pytest.raises(CommandError, match="3650"):
        call_command("token", "operator", "--days", "0", stdout=io.StringIO())
    assert ApiToken.objects.count() == 1


def test_authentication_grants_and_refusals(county: Any, django_assert_num_queries: Any) -> None:
    handler = user("handler-zjj")
    key = token_create(user=handler)
    found = token_authenticate(key)
    assert found is not None and found.pk == handler.pk
    with django_assert_num_queries(0):  # the unit came with the token, in the same query
        assert found.unit is not None and found.unit.pk == handler.unit_id
    assert get(key, "/api/v1/appeals").status_code == 200

    assert token_authenticate(key + "x") is None
    assert get(key + "x").status_code == 401

    handler.is_active = False
    handler.save()
    assert token_authenticate(key) is None
    assert get(key).status_code == 401
    handler.is_active = True
    handler.save()

    ApiToken.objects.filter(digest=ApiToken.digest_of(key)).update(revoked_at=clock.now())
    with pytest.raises(TokenRejected):  # a revoked token says so (401 token_revoked)
        token_authenticate(key)
    assert get(key).json()["code"] == "token_revoked"


def test_a_user_without_unit_authenticates(county: Any) -> None:
    leader = user("leader")
    assert leader.unit_id is None
    found = token_authenticate(token_create(user=leader))
    assert found is not None and found.unit is None


def test_last_use_is_recorded_at_most_once_a_minute(county: Any) -> None:
    key = token_create(user=user("operator"))
    assert token_authenticate(key) is not None
    first = ApiToken.objects.get(digest=ApiToken.digest_of(key)).last_used_at
    assert first is not None
    assert token_authenticate(key) is not None
    assert ApiToken.objects.get(digest=ApiToken.digest_of(key)).last_used_at == first
