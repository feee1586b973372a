"""No English left in the Chinese UI: every role's pages, crawled from its menu two links deep,
scanned for English words in what a person reads (text, placeholders, titles, labels)."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlparse

import pytest
from django.core.management import call_command
from django.test import Client

from kuaiban.org.models import Role, User

# Words that are Chinese UI all the same: product and standard names, units, formats.
ALLOWED = {
    "api", "excel", "xlsx", "csv", "sms", "open311", "json", "http", "https", "www", "url",
    "html", "webhook", "webhooks", "token", "ok", "id", "pdf", "png", "jpg", "jpeg", "mb",
    "kuaiban", "wechat", "bearer", "leaflet", "openstreetmap", "contributors", "osm", "plotly",
    "kbk", "gcj", "wgs", "km", "utc",
}  # fmt: skip
WORD = re.compile(r"(?<![A-Za-z0-9_./@-])[A-Za-z][a-z]+(?:\s+[A-Za-z][a-z]+)*(?![A-Za-z0-9_/@-])")
HIDDEN = ("script", "style", "template", "noscript", "code", "kbd", "pre")
SKIP = ("/admin/", "/logout", "/i18n/", "/api/", "/static/", "/media/", "format=xlsx", "/export")


class _Reader(HTMLParser):
    """The text a person reads, and the page's same-site links."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.links: list[str] = []
        self._hidden = 0
        self._hiding: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        # Hidden from a reader, or marked as another language (the language menu's "English").
        # Code samples are literal (an HTTP header, a command line).
        if tag in HIDDEN or (a.get("lang") or "zh")[:2] != "zh":
            self._hidden += 1
            self._hiding.append(tag)
        for name in ("placeholder", "title", "aria-label", "alt"):
            if a.get(name):
                self.text.append(str(a[name]))
        if tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))

    def handle_endtag(self, tag: str) -> None:
        if self._hiding and self._hiding[-1] == tag:
            self._hiding.pop()
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.text.append(data)


def english(text: str) -> list[str]:
    found = []
    for match in WORD.finditer(text):
        words = [w for w in match.group().split() if w.lower() not in ALLOWED]
        if words:
            found.append(" ".join(words))
    return found


def crawl(client: Client, start: list[str], limit: int = 60) -> tuple[dict[str, list[str]], int]:
    seen: set[str] = set()
    queue = [(url, 0) for url in start]
    problems: dict[str, list[str]] = {}
    while queue and len(seen) < limit:
        url, depth = queue.pop(0)
        url = urldefrag(url)[0]
        if url in seen or any(s in url for s in SKIP):
            continue
        seen.add(url)
        r = client.get(url, follow=True)
        if r.status_code != 200 or "text/html" not in r.get("Content-Type", ""):
            continue
        reader = _Reader()
        reader.feed(r.content.decode())
        words = english(" ".join(reader.text))
        if words:
            problems[url] = sorted(set(words))
        if depth < 2:
            for href in reader.links:
                parsed = urlparse(href)
                if not parsed.netloc and href.startswith("/"):
                    queue.append((href, depth + 1))
    return problems, len(seen)


ROLES = [
    "admin", "operator", "supervisor", "leader", "visitor", "handler-zjj", "handler-chengguan",
]  # fmt: skip


def test_the_scan_finds_english() -> None:
    assert english("创建人 Created by: 张三") == ["Created by"]
    assert english("demo ledger: 30 closed appeals") == ["demo ledger", "closed appeals"]
    assert english("导出 Excel · API 文档 · KB20261201-000001 · 12345热线") == []


@pytest.mark.django_db
def test_no_english_on_any_page_of_any_role() -> None:
    call_command("demo", "--appeals", "30", "--seed", "5", stdout=io.StringIO())
    people: dict[str, User | None] = {who: User.objects.get(username=who) for who in ROLES}
    people["grid"] = User.objects.filter(role=Role.GRID_WORKER).order_by("username").first()
    people["village"] = User.objects.filter(unit__kind="village").order_by("username").first()
    people["public"] = None
    problems, pages = {}, 0
    for who, person in people.items():
        c = Client()
        if person is not None:
            c.force_login(person)
        found, seen = crawl(c, ["/"])
        pages += seen
        problems.update({f"{who} {url}": words for url, words in found.items()})
    assert pages > 200  # the crawl reached the pages, not only the home page
    by_word: dict[str, list[str]] = {}
    for where, words in problems.items():
        for word in words:
            by_word.setdefault(word, []).append(where)
    assert {w: (len(p), p[0]) for w, p in sorted(by_word.items())} == {}
