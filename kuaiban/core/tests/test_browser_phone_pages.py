"""Every role's pages on a 390 px phone and a 1366 px desktop (issue 17): nothing scrolls
sideways and every navigation item is on screen.

The ledger is small but real: appeals registered, dispatched, replied (so the visit desk and the
overview's overdue list have rows) through the services. Screenshots go to
``artifacts/phone_pages/``; look at them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kuaiban.appeals import services
from kuaiban.conftest import user
from kuaiban.org.demo import Directory

pytestmark = pytest.mark.browser

PASSWORD = "kuaiban-demo"
ROLES = ["operator", "handler-zjj", "handler-chengguan", "supervisor", "leader", "visitor", "admin"]
SIZES = [(390, 844), (1366, 900)]
TEXTS = [
    ("小区暖气不热", "阳光花园小区5号楼暖气一直不热，室温只有十四度，家里有老人。"),
    ("路灯不亮", "龙泉村主干道路灯连续一周不亮，夜间出行不安全。"),
    ("道路坑洼", "滨河大道路面坑洼积水严重，电动车经过容易摔倒，请尽快修补。"),
]


@pytest.fixture
def ledger(county: Directory) -> None:
    op, handler = user("operator"), user("handler-zjj")
    for i, (title, content) in enumerate(TEXTS):
        a = services.appeal_register(
            actor=op,
            data=services.AppealInput(
                channel="hotline",
                kind="complaint",
                title=title,
                content=content,
                submitter_name="王建华",
                submitter_phone=f"1381234567{i}",
                region=county.villages[i].code,
            ),
        )
        services.appeal_dispatch(actor=op, number=a.number or "", unit="zjj")
        if i:
            services.appeal_claim(actor=handler, number=a.number or "")
        if i == 2:
            services.appeal_reply(
                actor=handler,
                number=a.number or "",
                result="resolved",
                text="已安排施工队修补路面。",
            )


def test_every_roles_pages_fit_the_screen(
    browser: Any, live_server: Any, ledger: None, artifacts: Path, county: Directory
) -> None:
    shots = artifacts / "phone_pages"
    shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    # Every role: the desk's, a village committee's handler, a grid worker, and the public.
    people = [
        *ROLES,
        f"handler-v{county.villages[0].code}",
        f"grid-{county.grids[0].code}",
        "",
    ]
    for username in people:
        for width, height in SIZES:
            context = browser.new_context(
                locale="zh-CN", viewport={"width": width, "height": height}
            )
            page = context.new_page()
            if username:
                page.goto(live_server.url + "/login/")
                page.fill("input[name=username]", username)
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_selector("[data-testid=whoami]", state="attached")
                selector = "header nav a"
            else:  # the public: the home page's links (tracking, submitting, projects …)
                page.goto(live_server.url + "/")
                selector = "header nav a, main a[href^='/']"
            hrefs = list(
                dict.fromkeys(
                    page.eval_on_selector_all(
                        selector, "els => els.map(e => e.getAttribute('href'))"
                    )
                )
            )
            if not username:
                hrefs.insert(0, "/")  # the public home page itself
            assert hrefs, username
            for href in hrefs:
                if href.startswith("/admin/"):
                    continue
                page.goto(live_server.url + href)
                page.wait_for_load_state()
                where = f"{username or 'public'} {href} @{width}px"
                scroll = page.evaluate("document.documentElement.scrollWidth")
                if scroll > width:
                    problems.append(f"{where}: {scroll} px wide")
                # Every navigation item is on the screen, not hidden off its right edge.
                for box in page.eval_on_selector_all(
                    "header nav a",
                    "els => els.map(e => { const r = e.getBoundingClientRect();"
                    " return [e.textContent, r.right]; })",
                ):
                    if box[1] > width:
                        problems.append(f"{where}: nav item {box[0]} off screen")
                slug = href.strip("/").replace("/", "_") or "home"
                name = f"{username or 'public'}-{slug}-{width}.png"
                page.screenshot(path=str(shots / name), full_page=False)
            context.close()
    assert not problems, "\n".join(problems)
