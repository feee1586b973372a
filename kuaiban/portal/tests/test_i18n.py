"""Languages: Simplified Chinese by default, English on request, for pages and API errors alike;
and the project catalogue (kuaiban/locale) complete and compiled."""

from __future__ import annotations

import gettext
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from kuaiban.org.demo import Directory

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"


@pytest.fixture(autouse=True)
def _back_to_default_language() -> Iterator[None]:
    # A request in English activates English for this thread; don't leak it into other tests.
    yield
    translation.deactivate()


def lang_of(response: Any) -> str:
    match = re.search(r'<html lang="([^"]+)"', response.content.decode())
    assert match
    return match.group(1)


def test_pages_are_in_simplified_chinese_by_default() -> None:
    response = Client().get("/track")
    assert lang_of(response) == "zh-hans"
    page = response.content.decode()
    assert "诉求查询" in page and "查询码（或联系电话后四位）" in page
    assert "Track an appeal" not in page


def test_accept_language_en_gives_english() -> None:
    response = Client(headers={"Accept-Language": "en"}).get("/track")
    assert lang_of(response) == "en"
    page = response.content.decode()
    assert "Track an appeal" in page and "Access code (or last four digits of your phone)" in page


def test_language_switcher_sets_the_language_for_later_pages(county: Directory) -> None:
    client = Client()
    client.force_login(county.users["operator"])
    page = client.get("/appeals/new/").content.decode()
    # The switcher posts to Django's set_language view and offers both languages by their own name.
    assert 'action="/i18n/setlang/"' in page
    assert ">简体中文</option>" in page and ">English</option>" in page
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/appeals/new/"})
    assert response.status_code == 302 and response["Location"] == "/appeals/new/"
    page = client.get("/appeals/new/").content.decode()
    assert "Register an appeal" in page and "12345 hotline" in page
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/appeals/new/"})
    page = client.get("/appeals/new/").content.decode()
    assert "登记诉求" in page and "12345热线" in page and "书记县长信箱" in page


BAD_APPEAL = {
    "channel": "hotline",
    "kind": "complaint",
    "content": "",
    "submitter": {"name": "王建华", "phone": "1381234"},
}


def test_api_errors_are_chinese_by_default(api: Any) -> None:
    r = api("operator").post("/appeals", BAD_APPEAL)
    assert r.status == 400
    messages = {e["field"]: e["message"] for e in r.body["errors"]}
    assert messages == {
        "content": "此项为必填项。",
        "submitter.phone": "不是有效的中国大陆电话号码。",
    }
    assert r.body["detail"] == "输入有误。"


def test_api_errors_are_english_on_request(api: Any) -> None:
    r = api("operator").post("/appeals", BAD_APPEAL, headers={"Accept-Language": "en"})
    assert r.status == 400
    messages = {e["field"]: e["message"] for e in r.body["errors"]}
    assert messages == {
        "content": "This field is required.",
        "submitter.phone": "Not a valid mainland China phone number.",
    }
    assert r.body["detail"] == "Invalid input."


def test_api_conflict_message_names_action_and_status_in_chinese(api: Any) -> None:
    number = api("operator").post(
        "/appeals", {**BAD_APPEAL, "content": "路灯不亮", "submitter": {}}
    )
    assert number.status == 201, number.body
    r = api("supervisor").post(f"/appeals/{number.body['number']}/close", {})
    assert r.status == 409
    assert r.body["detail"] == "诉求当前状态为“已受理”，不能进行“已办结”。"


def test_catalogue_is_complete_without_fuzzy_entries() -> None:
    po = CATALOGUE / "django.po"
    assert "#, fuzzy" not in po.read_text(encoding="utf-8").split("\n\n")[0], "fuzzy header"
    stats = subprocess.run(
        ["msgfmt", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True,
        text=True,
        check=True,
        env={"LC_ALL": "C"},
    ).stderr
    # e.g. "260 translated messages." — no "fuzzy translations", no "untranslated messages".
    assert re.fullmatch(r"\d+ translated messages\.\s*", stats), stats
    assert int(stats.split()[0]) > 200
    # The words of the loop, as a county's staff know them.
    zh = gettext.GNUTranslations((CATALOGUE / "django.mo").open("rb"))
    for source, word in {
        "12345 hotline": "12345热线",
        "Leaders' mailbox": "书记县长信箱",
        "Secretary direct line": "书记直通车",
        "Inspection": "暗访督查",
        "Report (confidential)": "举报",
        "Received": "已受理",
        "Dispatched": "已派单",
        "Closed": "已办结",
        "Merged": "已并单",
        "lead unit": "主办单位",
        "co-handling units": "协办单位",
        "This field is required.": "此项为必填项。",
    }.items():
        assert zh.gettext(source) == word, source


def test_compiled_catalogue_matches_the_po(tmp_path: Path) -> None:
    fresh = tmp_path / "django.mo"
    subprocess.run(
        ["msgfmt", "--check-format", "-o", str(fresh), str(CATALOGUE / "django.po")], check=True
    )
    committed = gettext.GNUTranslations((CATALOGUE / "django.mo").open("rb"))
    rebuilt = gettext.GNUTranslations(fresh.open("rb"))
    assert committed._catalog == rebuilt._catalog, "run compilemessages after editing django.po"  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_the_public_home_links_every_public_service(client: Any) -> None:
    page = client.get("/").content.decode()
    links = page.split('data-testid="home-links"', 1)[1]
    for href, label in [
        ("/submit/", "我要反映"),
        ("/track/", "诉求查询"),
        ("/mine/", "我的诉求"),
        ("/projects/", "民生实事"),
        ("/meetings/", "政企早餐会"),
        ("/meetings/policies/", "惠企政策"),
        ("/stars/", "星级村"),
        ("/themes/", "每月一题"),
    ]:
        assert f'href="{href}"' in links and label in links, href
