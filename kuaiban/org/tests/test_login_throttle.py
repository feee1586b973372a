"""Logins are throttled by django-axes: after five wrong passwords for one username from one
address that pair is locked out (the right password too) on /login/ and /admin/login/ alike."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def attempt(client: Client, path: str, username: str, password: str) -> Any:
    return client.post(path, {"username": username, "password": password, "next": "/"})


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_sixth_wrong_login_is_locked_and_then_the_right_one_too(
    county: Any, settings: Any, path: str
) -> None:
    client = Client(headers={"accept-language": "zh-hans"})
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        wrong = attempt(client, path, "operator", "123456")
        assert wrong.status_code == 200 and not logged_in(client)
    locked = attempt(client, path, "operator", "password")  # the fifth failure locks
    again = attempt(client, path, "operator", "qwerty")  # the sixth is refused outright
    for response in (locked, again):
        page = response.content.decode()
        assert response.status_code == 429
        assert "登录失败次数过多" in page and "15 分钟" in page
        assert 'data-testid="lockout"' in page and "<header" in page  # in the app's layout
    right = attempt(client, path, "operator", settings.KUAIBAN_DEMO_PASSWORD)
    assert right.status_code == 429 and not logged_in(client)


def test_lockout_is_per_username_and_address(county: Any, settings: Any) -> None:
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(attacker, "/login/", "operator", "wrong-password")
    assert (
        attempt(attacker, "/login/", "operator", settings.KUAIBAN_DEMO_PASSWORD).status_code == 429
    )
    # The same address may still log in as someone else,
    other_user = attempt(attacker, "/login/", "supervisor", settings.KUAIBAN_DEMO_PASSWORD)
    assert other_user.status_code == 302 and logged_in(attacker)
    # and the operator from her own desk is not locked out by the attacker.
    desk = Client(REMOTE_ADDR="10.0.8.21")
    assert attempt(
        desk, "/login/", "operator", settings.KUAIBAN_DEMO_PASSWORD
    ).status_code == 302 and logged_in(desk)


def test_right_password_before_the_limit_resets_the_count(county: Any, settings: Any) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "/login/", "operator", "wrong-password")
    assert attempt(client, "/login/", "operator", settings.KUAIBAN_DEMO_PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "/login/", "operator", "wrong-password").status_code == 200
    assert attempt(client, "/login/", "operator", settings.KUAIBAN_DEMO_PASSWORD).status_code == 302


def test_lockout_page_speaks_english_too(county: Any, settings: Any) -> None:
    client = Client(headers={"accept-language": "en"})
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "/login/", "leader", "wrong-password")
    page = attempt(client, "/login/", "leader", settings.KUAIBAN_DEMO_PASSWORD).content.decode()
    assert "Too many failed logins" in page and "15 minutes" in page


@pytest.mark.parametrize("path", ["/login/", "/admin/login/"])
def test_an_over_long_username_is_refused_beside_its_field_and_records_nothing(
    county: Any, path: str
) -> None:
    from axes.models import AccessAttempt

    client = Client(headers={"accept-language": "zh-hans"})
    response = attempt(client, path, "张" * 300, "password")
    page = response.content.decode()
    assert response.status_code == 200 and not logged_in(client)
    assert "150" in page and "300" in page  # Django's own length message, naming both counts
    assert not AccessAttempt.objects.exists()  # nobody was asked to authenticate that name
    # A name at the limit is an ordinary wrong login, counted as one.
    assert attempt(client, path, "张" * 150, "password").status_code == 200
    assert AccessAttempt.objects.count() == 1
