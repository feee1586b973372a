"""Categories are managed in the admin (README): add one under a parent, refuse a cycle."""

from __future__ import annotations

import pytest
from django.test import Client

from kuaiban.appeals.models import Category
from kuaiban.conftest import user
from kuaiban.org.demo import Directory

pytestmark = pytest.mark.django_db


def admin_client() -> Client:
    c = Client()
    c.force_login(user("admin"))
    return c


def test_an_administrator_adds_a_subcategory_and_its_level_follows(county: Directory) -> None:
    parent = Category.objects.filter(parent__isnull=True).first()
    assert parent is not None
    r = admin_client().post(
        "/admin/appeals/category/add/",
        {"code": "heat-pipe", "name": "供暖管网漏水", "parent": parent.pk, "default_unit": ""},
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    made = Category.objects.get(code="heat-pipe")
    assert made.parent == parent and made.level == parent.level + 1
    listing = admin_client().get("/admin/appeals/category/", {"q": "供暖管网"}).content.decode()
    assert "供暖管网漏水" in listing


def test_a_category_cannot_move_under_its_own_child(county: Directory) -> None:
    top = Category.objects.create(code="t-top", name="测试大类")
    child = Category.objects.create(code="t-child", name="测试小类", parent=top, level=2)
    r = admin_client().post(
        f"/admin/appeals/category/{top.pk}/change/",
        {"code": "t-top", "name": "测试大类", "parent": child.pk, "default_unit": ""},
    )
    assert r.status_code == 200
    assert "不能" in r.content.decode()
    top.refresh_from_db()
    assert top.parent is None


def test_other_roles_cannot_manage_categories(county: Directory) -> None:
    c = Client()
    c.force_login(user("supervisor"))
    r = c.get("/admin/appeals/category/")
    assert r.status_code == 302 and "/admin/login/" in r["Location"]
