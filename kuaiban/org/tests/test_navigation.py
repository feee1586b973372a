"""The context processor ``org.context_processors.navigation``: each role's menu, as pages show it.

A menu entry is not a permission (each page checks the role itself), but a link to a page the
role is refused would be a trap: these tests read the menu off a rendered page and then follow
the links that must not be there, to show they are refused too.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from kuaiban.org.models import Role, User

pytestmark = pytest.mark.django_db

NAV = re.compile(r'<nav aria-label="[^"]*">(.*?)</nav>', re.S)
LINK = re.compile(r'<a href="([^"]+)"[^>]*>([^<]+)</a>')


def menu(client: Client, path: str = "/account/tokens/") -> dict[str, str]:
    """href → label of the main menu on ``path``."""
    page = client.get(path)
    assert page.status_code == 200
    found = NAV.search(page.content.decode())
    assert found is not None
    return {href: label for href, label in LINK.findall(found.group(1))}


def signed_in(username: str) -> Client:
    client = Client(headers={"accept-language": "zh-hans"})
    client.force_login(User.objects.get(username=username))
    return client


def test_the_public_sees_submit_map_track_their_own_appeals_and_the_themes(county: Any) -> None:
    items = menu(Client(headers={"accept-language": "zh-hans"}), "/track")
    assert list(items.values()) == ["我要反映", "问题地图", "诉求查询", "我的诉求", "每月一题"]


def test_a_handler_sees_the_inbox_not_the_desks(county: Any) -> None:
    client = signed_in("handler-zjj")
    items = menu(client)
    assert items["/appeals/inbox/"] == "我的待办"
    assert "/appeals/" in items
    for refused in ("/appeals/new/", "/metrics/", "/visits/", "/admin/"):
        assert refused not in items
    # Not in the menu, and not open by typing the address either.
    assert client.get("/appeals/new/").status_code == 403
    assert client.get("/metrics/").status_code == 403
    assert client.get("/admin/").status_code == 302  # to the admin's own login


def test_an_operator_registers_but_has_no_overview(county: Any) -> None:
    client = signed_in("operator")
    items = menu(client)
    assert items["/appeals/new/"] == "登记诉求"
    assert "/appeals/inbox/" not in items and "/metrics/" not in items
    assert client.get("/metrics/").status_code == 403


def test_a_leader_sees_the_overview(county: Any) -> None:
    items = menu(signed_in("leader"))
    assert items["/metrics/"] == "数据总览"
    assert "/appeals/new/" not in items and "/admin/" not in items


def test_administration_is_for_administrators_and_staff(county: Any) -> None:
    assert menu(signed_in("admin"))["/admin/"] == "系统管理"
    # Django's staff flag opens the admin to someone without the administrator role.
    clerk = User.objects.create_user(
        "clerk", role=Role.OPERATOR, display_name="档案员 钱芳", is_staff=True
    )
    assert "/admin/" in menu(signed_in(clerk.username))
    assert "/admin/" not in menu(signed_in("supervisor"))


def test_the_menu_speaks_english_when_asked(county: Any) -> None:
    client = Client(headers={"accept-language": "en"})
    client.force_login(User.objects.get(username="handler-cgj"))
    assert menu(client)["/appeals/inbox/"] == "My inbox"
