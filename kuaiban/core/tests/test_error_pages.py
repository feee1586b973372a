"""Issue 17: 400, 403, 404 and 500 answer in the app's own layout, in Chinese, with a way back;
the admin is titled as Kuaiban and the icon is served."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.views import defaults

from kuaiban.conftest import user
from kuaiban.org.demo import Directory

pytestmark = pytest.mark.django_db


def _in_layout(html: str, status: int) -> None:
    assert 'class="top"' in html  # the app's header
    assert f'data-status="{status}"' in html
    assert "返回首页" in html or "返回上一页" in html
    for english in ("Not Found", "Forbidden", "Server Error", "on this server"):
        assert english not in html


def test_an_unknown_page_is_404_in_chinese(county: Directory) -> None:
    c = Client()
    c.force_login(user("operator"))
    r = c.get("/no-such-page/")
    assert r.status_code == 404
    html = r.content.decode()
    _in_layout(html, 404)
    assert "页面不存在" in html
    assert "受理员 王晓丽" in html  # the signed-in user's header is there


def test_a_page_the_role_may_not_open_is_403_in_chinese(county: Directory) -> None:
    c = Client()
    c.force_login(user("leader"))
    r = c.get("/visits/")
    assert r.status_code == 403
    html = r.content.decode()
    _in_layout(html, 403)
    assert "没有权限" in html


def test_a_server_error_is_500_in_the_layout_without_a_request_context() -> None:
    # Django renders 500.html without context processors (they may be what failed).
    r = defaults.server_error(RequestFactory().get("/appeals/"))
    assert r.status_code == 500
    html = r.content.decode()
    _in_layout(html, 500)
    assert "系统出错了" in html


def test_a_bad_request_is_400_in_the_layout(county: Directory) -> None:
    request = RequestFactory().get("/")
    request.user = user("operator")
    r = defaults.bad_request(request, Exception("bad"))
    assert r.status_code == 400
    _in_layout(r.content.decode(), 400)


def test_the_admin_is_kuaibans_and_the_icon_is_served(county: Directory) -> None:
    c = Client()
    c.force_login(user("admin"))
    html = c.get("/admin/").content.decode()
    assert "快办 系统管理" in html
    assert "Django" not in html.split("<body", 1)[1].split("</header>", 1)[0]
    r = c.get("/favicon.ico")
    assert r.status_code == 302 and r["Location"].endswith(".svg")
