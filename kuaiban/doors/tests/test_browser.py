"""Through a real browser: a grid worker on a 390 px phone reports a problem with a photo and
whistles two departments in; their handlers report (报到) and assist; the grid, which leads,
consolidates the parts into its reply; the return visit and the close end it. Then the door
visit page and the coverage page, on a phone and on a desk. Nothing the grid worker opens
scrolls sideways. Screenshots go to ``artifacts/doors/`` and ``/tmp/doors_shots/``."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from kuaiban.appeals.models import Appeal, PartStatus, Status
from kuaiban.conftest import user
from kuaiban.doors.models import DoorVisit, GridHouseholds
from kuaiban.doors.services import current_quarter, focus_list_publish
from kuaiban.org.demo import Directory

pytestmark = pytest.mark.browser

PASSWORD = "kuaiban-demo"
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1366, "height": 900}
SHOTS = Path("/tmp/doors_shots")
FOUND = "南关社区3号楼北侧雨水井盖破损塌陷，旁边就是幼儿园门口，孩子上下学很危险。"


def png() -> bytes:
    """A small photo of the spot, made now (no file in the repository)."""
    image = Image.new("RGB", (96, 64), (180, 140, 90))
    for x in range(20, 76):
        for y in range(18, 46):
            image.putpixel((x, y), (60, 60, 60))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


class Person:
    def __init__(self, browser: Any, base: str, username: str, viewport: dict[str, int]) -> None:
        phone = viewport["width"] < 600
        self.base = base
        self.context = browser.new_context(
            locale="zh-CN", viewport=viewport, is_mobile=phone, has_touch=phone
        )
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.page.goto(base + "/login/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_selector("[data-testid=whoami]", state="attached")

    def go(self, path: str) -> Any:
        self.page.goto(self.base + path)
        return self.page

    def act(self, action: str, fill: dict[str, str] | None = None) -> None:
        form = self.page.locator(f"form[data-action={action}]")
        for name, value in (fill or {}).items():
            field = form.locator(f"[name='{action}-{name}']")
            if field.evaluate("e => e.tagName") == "SELECT":
                field.select_option(value)
            else:
                field.fill(value)
        with self.page.expect_navigation():
            form.locator("button[type=submit]").click()

    def status(self) -> str:
        return str(self.page.locator("[data-testid=status]").inner_text()).strip()

    def fits(self, width: int = PHONE["width"]) -> None:
        scroll = self.page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{self.page.url} is {scroll}px wide"

    def shot(self, folder: Path, name: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@pytest.fixture
def people(browser: Any, live_server: Any) -> Iterator[Any]:
    opened: list[Person] = []

    def person(username: str, viewport: dict[str, int] = DESK) -> Person:
        p = Person(browser, live_server.url, username, viewport)
        opened.append(p)
        return p

    yield person
    for p in opened:
        p.context.close()


def test_a_grid_worker_whistles_and_the_departments_answer_with_it(
    people: Any, county: Directory, artifacts: Path, tmp_path: Path
) -> None:
    shots = artifacts / "doors"
    picture = tmp_path / "井盖.png"
    picture.write_bytes(png())
    grid = people(f"grid-{county.grids[0].code}", PHONE)
    page = grid.page
    page.wait_for_selector("[data-testid=grid-led]")
    grid.fits()
    page.click("[data-testid=grid-report-link]")
    page.wait_for_selector("[data-testid=grid-report]")
    page.select_option("select[name=kind]", "help")
    page.fill("input[name=title]", "雨水井盖破损")
    page.fill("textarea[name=content]", FOUND)
    page.fill("input[name=address]", "南关社区3号楼北侧")
    page.set_input_files("input[name=attachments]", str(picture))
    grid.fits()
    grid.shot(shots, "01-grid-report-390")
    page.click("[data-testid=grid-report] button[type=submit]")
    page.wait_for_selector("form[data-action=whistle]")
    grid.fits()
    appeal = Appeal.objects.get()
    number = appeal.number
    assert appeal.channel == "grid" and appeal.attachments.get().is_image

    # 吹哨: 住建局 and 城管局 are called in.
    whistle = page.locator("form[data-action=whistle]")
    whistle.locator("details > summary").click()
    whistle.get_by_label("住建局").check()
    whistle.get_by_label("城管局").check()
    whistle.locator("[name='whistle-note']").fill(
        "井盖塌陷在幼儿园门口，请住建局和城管局到场处置。"
    )
    grid.fits()
    with page.expect_navigation():
        whistle.locator("button[type=submit]").click()
    grid.fits()
    grid.shot(shots, "02-grid-whistled-390")
    parts = {p.unit.code: p.status for p in Appeal.objects.get().parts.select_related("unit")}
    assert parts == {"zjj": PartStatus.SUMMONED, "cgj": PartStatus.SUMMONED}

    # 部门报到, then each answers its part.
    answers = {
        "zjj": "住建局已安排施工队更换球墨铸铁井盖，并对周边路面进行修补。",
        "cgj": "城管局已在井盖周边设置围挡和警示标志，施工期间安排专人值守。",
    }
    for code, text in answers.items():
        dept = people(f"handler-{code}")
        dept.go(f"/appeals/{number}/")
        dept.act("report")
        dept.act("assist", {"result": "resolved", "text": text})
        assert text in dept.page.locator("[data-testid=parts]").inner_text()
        dept.shot(shots, f"03-{code}-assisted")

    # The grid leads: it claims and consolidates the parts into its reply.
    grid.go(f"/appeals/{number}/")
    grid.fits()
    grid.act("claim")
    assert grid.status() == "办理中"
    grid.fits()
    reply = "住建局已更换井盖并修补路面，城管局设置围挡并专人值守，隐患已消除。"
    grid.act("reply", {"result": "resolved", "text": reply})
    assert grid.status() == "已答复"
    grid.fits()
    grid.shot(shots, "04-grid-replied-390")

    # The return visit, then the close.
    supervisor = people("supervisor")
    supervisor.go(f"/appeals/{number}/")
    supervisor.act(
        "visit",
        {"reached": "yes", "resolved": "yes", "satisfaction": "satisfied", "authentic": "yes"},
    )
    assert supervisor.status() == "已回访"
    supervisor.act("close", {"note": "群众满意，井盖已更换，予以办结"})
    assert supervisor.status() == "已办结"
    supervisor.shot(shots, "05-supervisor-closed")
    closed = Appeal.objects.get()
    assert closed.status == Status.CLOSED and not closed.resolved_on_spot
    assert closed.reply_text == reply
    actions = list(closed.events.order_by("seq").values_list("action", flat=True))
    assert actions == [
        "register",
        "dispatch",
        "whistle",
        "report",
        "assist",
        "report",
        "assist",
        "claim",
        "reply",
        "visit",
        "close",
    ]


def test_the_visit_page_and_the_coverage_page_on_a_phone_and_a_desk(
    people: Any, county: Directory
) -> None:
    focus_list_publish(
        actor=user("handler-chengguan"),
        quarter=current_quarter(),
        topics=["冬季取暖和燃气使用是否安全", "家中老人近况与困难"],
    )
    GridHouseholds.objects.create(grid=county.units[f"g{county.grids[0].code}"], households=120)
    code = f"g{county.grids[0].code}"
    grid = people(f"grid-{county.grids[0].code}", PHONE)
    page = grid.go("/doors/")
    page.wait_for_selector("[data-testid=visits]")
    grid.fits()
    page.click("[data-testid=visit-link]")
    page.wait_for_selector("[data-testid=door-visit]")
    page.fill("input[name=address]", "南关社区3号楼1单元101")
    page.fill("input[name=met]", "户主王秀兰")
    page.fill("input[name=phone]", "13907311234")
    page.fill("input[name=answer_1]", "燃气灶有熄火保护，安全")
    page.fill(
        "textarea[name=problem_1]", "楼道灯坏了一个多月，晚上老人上下楼看不见，希望尽快修好。"
    )
    grid.fits()
    grid.shot(SHOTS, "visit-390")
    with page.expect_navigation():
        page.click("[data-testid=door-visit] button[type=submit]")
    page.wait_for_selector("[data-testid=visits]")
    grid.fits()
    grid.shot(SHOTS, "grid-visits-390")
    visit = DoorVisit.objects.get()
    assert visit.appeals.get().channel == "visit"
    desk_grid = people(f"grid-{county.grids[0].code}", DESK)
    desk_grid.go(f"/doors/grids/{code}/visit/")
    desk_grid.shot(SHOTS, "visit-1366")
    for viewport, name in ((PHONE, "coverage-390"), (DESK, "coverage-1366")):
        town = people("handler-chengguan", viewport)
        town.go("/doors/coverage/")
        town.page.wait_for_selector("[data-testid=coverage]")
        total = town.page.locator("[data-testid=coverage-total]").inner_text()
        assert "已走访户数 1 / 120" in total
        town.fits(viewport["width"])
        town.shot(SHOTS, name)
