"""API keys: `kuaiban apikey`, the admin pages, hashing, revocation and rate limiting."""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import re
import threading
import types
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.test import Client

from kuaiban.appeals.models import Appeal
from kuaiban.core import clock
from kuaiban.integrations import services
from kuaiban.integrations.models import ApiKey, RateWindow, Webhook
from kuaiban.open311 import conf
from kuaiban.org.models import User

pytestmark = pytest.mark.django_db

KEY = re.compile(r"^kbk_[A-Za-z0-9_-]{43}$")


def open311_post(key: str, **changes: str) -> Any:
    data = {
        "api_key": key,
        "service_code": "C01.02.01",
        "address_string": "人民路与建设街交叉口东北角",
        "description": "路口绿化带垃圾堆积多日无人清运，气味很大。",
        **changes,
    }
    return Client().post("/open311/v2/requests.json", data)


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("apikey", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_command_create_prints_the_key_once_and_stores_its_hash(county: Any) -> None:
    out, err = run("create", "--name", "hotline-vendor", "--channel", "hotline")
    key = out.strip()
    assert KEY.match(key), out
    assert "not shown again" in err
    api_key = ApiKey.objects.get(name="hotline-vendor")
    assert api_key.channel == "hotline" and api_key.prefix == key[4:12]
    assert api_key.digest == hashlib.sha256(key.encode()).hexdigest()
    # The key itself is stored nowhere.
    stored = " ".join(str(v) for v in ApiKey.objects.values().get().values())
    assert key not in stored and key[4:] not in stored
    listing, _ = run("list")
    assert "hotline-vendor" in listing and "hotline" in listing and key not in listing
    assert open311_post(key).status_code == 201
    assert Appeal.objects.get().channel == "hotline"


def test_command_list_shows_last_use_and_revoke_refuses_the_key(county: Any) -> None:
    key = run("create", "--name", "wechat-bot", "--channel", "wechat")[0].strip()
    line = next(x for x in run("list")[0].splitlines() if x.startswith("wechat-bot"))
    assert "active" in line and line.count(" - ") >= 1  # never used yet
    at = dt.datetime(2026, 11, 23, 9, 30, tzinfo=dt.UTC)
    with clock.frozen(at):
        assert open311_post(key).status_code == 201
    line = next(x for x in run("list")[0].splitlines() if x.startswith("wechat-bot"))
    assert "2026-11-23 17:30" in line  # last use, in local time
    out, _ = run("revoke", "wechat-bot")
    assert "revoked" in out
    refused = open311_post(key)
    assert refused.status_code == 403
    assert refused.json() == [{"code": 403, "description": "该 api_key 已被吊销。"}]
    assert "revoked" in next(x for x in run("list")[0].splitlines() if x.startswith("wechat-bot"))
    assert Appeal.objects.count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["revoke", "nobody"], "nobody"),
        (["create", "--name", "Bad Name!"], "name"),
        (["webhook", "nobody", "--url", "https://example.com/hook"], "nobody"),
    ],
)
def test_command_errors(county: Any, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=re.escape(message)):
        run(*args)


def test_command_refuses_a_duplicate_name_and_an_unknown_channel(county: Any) -> None:
    run("create", "--name", "mobile-app", "--channel", "app")
    with pytest.raises(CommandError, match="名为 mobile-app 的 API 密钥已存在"):
        run("create", "--name", "mobile-app", "--channel", "app")
    with pytest.raises(CommandError):
        run("create", "--name", "fax-gateway", "--channel", "fax")
    assert ApiKey.objects.count() == 1


def test_command_webhook_prints_its_secret(county: Any, fake_dns: Any) -> None:
    run("create", "--name", "hotline-vendor", "--channel", "hotline")
    out, _err = run(
        "webhook",
        "hotline-vendor",
        "--url",
        "https://vendor.example.com/kb",
        "--events",
        "dispatch,reply,close",
    )
    hook = ApiKey.objects.get().webhooks.get()
    assert out.strip() == hook.secret and hook.secret.startswith("whsec_")
    assert hook.events == ["dispatch", "reply", "close"] and hook.scope == "own"


# ----- admin ------------------------------------------------------------------------------------


def admin_client() -> Client:
    client = Client()
    client.force_login(User.objects.get(username="admin"))
    return client


ADD_FORM = {
    "name": "grid-handsets",
    "channel": "grid",
    "description": "网格员手持终端",
    "rate_per_minute": "120",
    "public": "on",
    "mode": "realtime",
    "webhooks-TOTAL_FORMS": "0",
    "webhooks-INITIAL_FORMS": "0",
    "webhooks-MIN_NUM_FORMS": "0",
    "webhooks-MAX_NUM_FORMS": "1000",
}


def test_admin_creates_a_key_shows_it_once_and_revokes_it(county: Any) -> None:
    client = admin_client()
    response = client.post("/admin/integrations/apikey/add/", ADD_FORM, follow=True)
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    key = next(m for m in (re.search(r"kbk_[A-Za-z0-9_-]{43}", s) for s in shown) if m).group(0)
    api_key = ApiKey.objects.get(name="grid-handsets")
    assert api_key.digest == ApiKey.digest_of(key) and api_key.created_by is not None
    assert open311_post(key).status_code == 201
    changelist = client.get("/admin/integrations/apikey/")
    assert changelist.status_code == 200 and "grid-handsets" in changelist.content.decode()
    assert key not in changelist.content.decode()
    response = client.post(
        "/admin/integrations/apikey/",
        {"action": "revoke", "_selected_action": [api_key.pk]},
        follow=True,
    )
    assert response.status_code == 200
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None and api_key.last_used_at is not None
    assert open311_post(key).status_code == 403


@pytest.mark.parametrize("username", ["operator", "supervisor", "handler-zjj"])
def test_admin_pages_are_for_administrators_only(county: Any, username: str) -> None:
    client = Client()
    client.force_login(User.objects.get(username=username))
    response = client.post("/admin/integrations/apikey/add/", ADD_FORM)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not ApiKey.objects.exists()


def test_admin_registers_a_webhook_with_known_events_only(county: Any, fake_dns: Any) -> None:
    api_key = services.apikey_create(name="hotline-vendor", channel="hotline").api_key
    client = admin_client()
    form = {
        "api_key": api_key.pk,
        "url": "https://hotline-vendor.example.cn/kuaiban/webhook",
        "secret": "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3",
        "events": ["reply", "dispatch"],
        "scope": "own",
        "active": "on",
    }
    page = client.get("/admin/integrations/webhook/add/").content.decode()
    assert 'type="checkbox" name="events" value="close"' in page
    response = client.post("/admin/integrations/webhook/add/", form)
    assert response.status_code == 302, response.content.decode()[:2000]
    hook = Webhook.objects.get()
    assert hook.events == ["dispatch", "reply"] and hook.wants("reply") and not hook.wants("close")
    # An unknown event and a secret that is not whsec_ + base64 are refused with the field
    # named, nothing saved.
    bad = client.post(
        "/admin/integrations/webhook/add/",
        {**form, "events": ["dispach"], "secret": "short"},
        headers={"Accept-Language": "zh-hans"},
    )
    assert bad.status_code == 200
    errors = bad.context["adminform"].form.errors
    assert "dispach" in str(errors["events"]) and "whsec_" in str(errors["secret"])
    assert Webhook.objects.count() == 1
    # None ticked: every status change.
    response = client.post(f"/admin/integrations/webhook/{hook.pk}/change/", {**form, "events": []})
    assert response.status_code == 302
    hook.refresh_from_db()
    assert hook.events == [] and hook.wants("close")


# ----- rate limiting ----------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after(county: Any) -> None:
    made = services.apikey_create(name="mobile-app", channel="app", rate_per_minute=3)
    start = dt.datetime(2026, 11, 23, 2, 0, 15, tzinfo=dt.UTC)
    with clock.frozen(start):
        assert [open311_post(made.key).status_code for _ in range(3)] == [201, 201, 201]
        limited = open311_post(made.key)
        assert limited.status_code == 429
        assert limited["Retry-After"] == "45"
        assert limited.json()[0]["code"] == 429
        xml = Client().get("/open311/v2/requests.xml", {"api_key": made.key})
        assert xml.status_code == 429 and b"<code>429</code>" in xml.content
    assert Appeal.objects.count() == 3
    with clock.frozen(start + dt.timedelta(seconds=50)):
        assert open311_post(made.key).status_code == 201  # a new minute
    # The counters live in the database, shared by every web process, and old windows go.
    assert RateWindow.objects.filter(bucket=made.api_key.scope).count() == 2


def test_anonymous_reads_are_limited_per_address(county: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(conf, "ANONYMOUS_RATE", 2)
    with clock.frozen(dt.datetime(2026, 11, 23, 2, 0, 0, tzinfo=dt.UTC)):
        codes = [
            Client(REMOTE_ADDR="10.0.0.7").get("/open311/v2/services.json").status_code
            for _ in range(3)
        ]
        other = Client(REMOTE_ADDR="10.0.0.8").get("/open311/v2/services.json")
    assert codes == [200, 200, 429] and other.status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.usefixtures("reference_data")
def test_rate_limit_holds_across_connections(county: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    made = services.apikey_create(name="mobile-app", channel="app", rate_per_minute=5)
    barrier = threading.Barrier(10)
    outcomes: list[int] = []

    def hit() -> None:
        try:
            barrier.wait()
            services.rate_limit_hit(bucket=made.api_key.scope, limit=5)
            outcomes.append(200)
        except services.RateLimited:
            outcomes.append(429)
        finally:
            connections.close_all()

    with clock.frozen(dt.datetime(2026, 11, 23, 2, 0, 0, tzinfo=dt.UTC)):
        # Each thread gets its own copy of the context, so the frozen clock holds there too.
        threads = [
            threading.Thread(target=contextvars.copy_context().run, args=(hit,)) for _ in range(10)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(outcomes) == [200] * 5 + [429] * 5
    # Every hit was counted and committed, each in its own transaction.
    assert RateWindow.objects.get(bucket=made.api_key.scope).hits == 10


def test_large_limits_write_the_counter_every_few_requests(county: Any) -> None:
    """A key allowed 1,000 a minute is counted in steps of 10 (1 %), and one process still
    refuses the 1,001st request exactly."""
    made = services.apikey_create(name="hotline-vendor-2", channel="hotline", rate_per_minute=1000)
    bucket = made.api_key.scope
    with clock.frozen(dt.datetime(2026, 11, 23, 2, 0, 5, tzinfo=dt.UTC)):
        for _ in range(25):
            services.rate_limit_hit(bucket=bucket, limit=1000)
        assert RateWindow.objects.get(bucket=bucket).hits == 20  # written at the 10th and 20th
        for _ in range(975):
            services.rate_limit_hit(bucket=bucket, limit=1000)
        with pytest.raises(services.RateLimited):
            services.rate_limit_hit(bucket=bucket, limit=1000)
        assert RateWindow.objects.get(bucket=bucket).hits == 1001
    with clock.frozen(dt.datetime(2026, 11, 23, 2, 1, 5, tzinfo=dt.UTC)):
        services.rate_limit_hit(bucket=bucket, limit=1000)  # a new minute starts afresh
    # ... on credit again: its first hit writes nothing yet (only the old minute's row exists).
    assert list(RateWindow.objects.filter(bucket=bucket).values_list("hits", flat=True)) == [1001]


def test_small_limits_stay_exact(county: Any) -> None:
    made = services.apikey_create(name="grid-handsets-2", channel="grid", rate_per_minute=150)
    bucket = made.api_key.scope
    with clock.frozen(dt.datetime(2026, 11, 23, 3, 0, 5, tzinfo=dt.UTC)):
        for i in range(1, 6):
            services.rate_limit_hit(bucket=bucket, limit=150)
            assert RateWindow.objects.get(bucket=bucket).hits == i


def test_a_revocation_elsewhere_takes_effect_within_the_key_cache_time(
    county: Any, monkeypatch: Any
) -> None:
    # Another web process revokes the key (an UPDATE, no signal) and the cache is this
    # process's own: this process learns of it no later than KEY_CACHE_SECONDS after it last
    # read the key's row (the cache entry's timeout).
    from django.core.cache.backends import base, locmem

    key = services.apikey_create(name="call-centre", channel="hotline").key
    now = [1_000_000.0]
    fake = types.SimpleNamespace(time=lambda: now[0])
    monkeypatch.setattr(base, "time", fake)  # where an entry's expiry is computed
    monkeypatch.setattr(locmem, "time", fake)  # where it is checked
    assert open311_post(key).status_code == 201
    ApiKey.objects.filter(name="call-centre").update(revoked_at=clock.now())  # no signal here
    assert open311_post(key).status_code == 201  # still the row read a moment ago
    now[0] += services.KEY_CACHE_SECONDS
    refused = open311_post(key)
    assert refused.status_code == 403
    assert refused.json() == [{"code": 403, "description": "该 api_key 已被吊销。"}]
    assert Appeal.objects.count() == 2


def test_a_revocation_here_takes_effect_at_once(county: Any) -> None:
    # Revoked by the command's service or by the admin's bulk action (an UPDATE): the key
    # remembered a moment ago is forgotten, the very next request is refused.
    key = services.apikey_create(name="call-centre", channel="hotline").key
    assert open311_post(key).status_code == 201
    services.apikey_revoke(name="call-centre")
    assert open311_post(key).status_code == 403

    other = services.apikey_create(name="grid-app", channel="grid")
    assert open311_post(other.key).status_code == 201
    answer = admin_client().post(
        "/admin/integrations/apikey/",
        {"action": "revoke", "_selected_action": [other.api_key.pk]},
    )
    assert answer.status_code == 302
    assert ApiKey.objects.get(pk=other.api_key.pk).revoked_at is not None
    assert open311_post(other.key).status_code == 403
    assert Appeal.objects.count() == 2


def test_each_request_gets_its_own_copy_of_a_remembered_key(county: Any) -> None:
    key = services.apikey_create(name="mobile-app", channel="app").key
    first = services.apikey_authenticate(key)
    first.rate_per_minute = 1
    second = services.apikey_authenticate(key)
    assert second is not first and second.rate_per_minute == 600
    with pytest.raises(services.PermissionDenied):
        services.apikey_authenticate(key[:-1] + ("A" if key[-1] != "A" else "B"))
