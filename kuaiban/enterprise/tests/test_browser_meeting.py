"""A breakfast meeting through a real browser, in Simplified Chinese.

The leader's office schedules and publishes it; an enterprise books on the public page on a
phone (and is told clearly when it tries again); the office records attendance and two problems
raised; 经发局's handler claims one and replies; the meeting page shows each problem's progress.
The public progress chart of the livelihood projects is looked at on a phone too. Screenshots go
to ``artifacts/enterprise_meeting/``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kuaiban.appeals.models import Appeal
from kuaiban.enterprise import services
from kuaiban.enterprise.models import Booking, Meeting
from kuaiban.enterprise.tests.conftest import bad_check_digit, code
from kuaiban.org.demo import Directory
from kuaiban.org.models import User
from kuaiban.projects import services as project_services

pytestmark = pytest.mark.browser

PASSWORD = "kuaiban-demo"
PHONE_SIZE = {"width": 390, "height": 844}
DESK_SIZE = {"width": 1280, "height": 900}
FINANCING = "企业订单增加，需要流动资金约500万元，银行要求追加抵押物，希望协调担保公司担保。"
POWER = "新建冷库需要用电增容至800千伏安，向供电公司报装两个月仍未接电，影响夏季投产。"
REPLY = "已协调县融资担保公司为企业提供500万元担保，合作银行已完成授信审批，贷款本周放款。"


class Person:
    def __init__(self, browser: Any, base: str, shots: Path, **options: Any) -> None:
        self.base = base
        self.shots = shots
        self.context = browser.new_context(locale="zh-CN", **{"viewport": DESK_SIZE, **options})
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()

    def go(self, path: str) -> Any:
        self.page.goto(self.base + path)
        return self.page

    def login(self, username: str) -> None:
        page = self.go("/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("[data-testid=whoami]", state="attached")

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def people(browser: Any, live_server: Any, artifacts: Path) -> Iterator[Any]:
    shots = artifacts / "enterprise_meeting"
    shots.mkdir(parents=True, exist_ok=True)
    for old in shots.glob("*.png"):
        old.unlink()
    opened: list[Person] = []

    def person(**options: Any) -> Person:
        p = Person(browser, live_server.url, shots, **options)
        opened.append(p)
        return p

    yield person
    for p in opened:
        p.context.close()


def test_breakfast_meeting_through_the_browser(people: Any, county: Directory) -> None:
    admin = User.objects.get(username="admin")
    maker, cold = (
        services.enterprise_create(
            actor=admin,
            data=services.EnterpriseInput(
                credit_code=code(n),
                name=name,
                industry="C",
                size="above",
                township=county.townships["chengguan"].code,
                contact_name=contact,
                contact_phone=phone,
            ),
        )
        for n, name, contact, phone in (
            (11, "清河县兴业机械制造有限公司", "王建军", "13905310011"),
            (12, "瑞丰食品有限公司", "李丽华", "13905310012"),
        )
    )
    tomorrow = timezone.localdate() + dt.timedelta(days=1)

    # 1. The leader's office schedules the breakfast meeting and publishes it.
    office = people()
    office.login("operator")
    page = office.go("/enterprise/meetings/")
    form = page.locator("[data-testid=schedule-form]")
    form.locator("#id_kind").select_option("breakfast")
    form.locator("#id_topic").fill("制造业企业发展座谈")
    form.locator("#id_date").fill(tomorrow.isoformat())
    form.locator("#id_start_time").fill("07:30")
    form.locator("#id_end_time").fill("09:00")
    form.locator("#id_place").fill("县政府三楼会议室")
    form.locator("#id_hosts").select_option("leader")
    form.locator("#id_capacity").fill("12")
    office.shot("01-office-schedules")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("[data-testid=publish]")
    assert page.locator("[data-testid=meeting-status]").inner_text().strip() == "草稿"
    page.click("[data-testid=publish]")
    page.wait_for_selector("[data-testid=public-link]")
    assert page.locator("[data-testid=meeting-status]").inner_text().strip() == "预约中"
    meeting = Meeting.objects.get()

    # 2. An enterprise books on the public page, on a phone, with no login.
    public = people(viewport=PHONE_SIZE, is_mobile=True, has_touch=True)
    page = public.go("/meetings/")
    assert page.locator("[data-testid=open-meeting]").count() == 1
    assert "政企早餐会" in page.inner_text("main")
    public.shot("02-public-meetings-phone")
    page.click("[data-testid=open-meeting] a.button")
    page.fill("#id_credit_code", bad_check_digit(maker.credit_code))
    page.fill("#id_contact_name", "王建军")
    page.fill("#id_phone", "13905310011")
    page.click("[data-testid=booking-form] button[type=submit]")
    assert "统一社会信用代码" in page.locator("[data-field=credit_code]").inner_text()
    public.shot("03-public-bad-credit-code-phone")
    page.fill("#id_credit_code", maker.credit_code)
    page.click("[data-testid=booking-form] button[type=submit]")
    page.wait_for_selector("[data-testid=booked]")
    assert "预约成功" in page.inner_text("[data-testid=booked]")
    public.shot("04-public-booked-phone")
    # Booking twice is refused with a clear message.
    page = public.go(f"/meetings/{meeting.pk}/")
    page.fill("#id_credit_code", maker.credit_code)
    page.fill("#id_phone", "13905310011")
    page.click("[data-testid=booking-form] button[type=submit]")
    assert "已经预约了本次会议" in page.inner_text("main")
    public.shot("05-public-double-booking-phone")
    assert Booking.objects.count() == 1

    # The office invites a second enterprise; then the breakfast takes place. (The live server
    # runs in another thread with the real clock, so the meeting is moved to this morning.)
    services.meeting_invite(actor=admin, meeting_id=meeting.pk, credit_code=cold.credit_code)
    Meeting.objects.filter(pk=meeting.pk).update(
        date=timezone.localdate(), start_time=dt.time(0, 0), end_time=dt.time(0, 30)
    )

    # 3. The office records attendance and the two problems raised.
    page = office.go(f"/enterprise/meetings/{meeting.pk}/")
    attendance = page.locator("form[data-action=attendance]")
    attendance.get_by_label("清河县兴业机械制造有限公司").check()
    attendance.get_by_label("瑞丰食品有限公司").check()
    attendance.locator("button[type=submit]").click()
    page.wait_for_selector("form[data-action=problem]")
    assert page.locator("[data-testid=meeting-status]").inner_text().strip() == "已召开"
    problem = page.locator("form[data-action=problem]")
    problem.locator("[name=problem-credit_code]").select_option(maker.credit_code)
    problem.locator("[name=problem-title]").fill("流动资金贷款需要担保")
    problem.locator("[name=problem-content]").fill(FINANCING)
    problem.locator("[name=problem-unit]").select_option("jfj")
    problem.locator("button[type=submit]").click()
    page.wait_for_selector("[data-testid=problems] tr[data-number]")
    problem = page.locator("form[data-action=problem]")
    problem.locator("[name=problem-credit_code]").select_option(cold.credit_code)
    problem.locator("[name=problem-title]").fill("冷库用电增容未接电")
    problem.locator("[name=problem-content]").fill(POWER)
    problem.locator("[name=problem-unit]").select_option("jfj")
    problem.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=problems] tr[data-number]")).to_have_count(2)
    office.shot("06-office-attendance-and-problems")
    first, second = Appeal.objects.order_by("id")
    assert (first.channel, second.channel) == ("breakfast", "breakfast")
    assert first.status == second.status == "dispatched"

    # 4. 经发局's handler claims the first one and replies.
    handler = people()
    handler.login("handler-jfj")
    page = handler.go(f"/appeals/{first.number}/")
    page.locator("form[data-action=claim] button[type=submit]").click()
    page.wait_for_selector("form[data-action=reply]")
    reply = page.locator("form[data-action=reply]")
    reply.locator("[name=reply-result]").select_option("resolved")
    reply.locator("[name=reply-text]").fill(REPLY)
    reply.locator("button[type=submit]").click()
    page.wait_for_load_state()
    handler.shot("07-handler-replied")
    first.refresh_from_db()
    assert first.status == "replied"

    # 5. The meeting page shows each problem's progress.
    leader = people()
    leader.login("leader")
    page = leader.go(f"/enterprise/meetings/{meeting.pk}/")
    row = page.locator(f"[data-testid=problems] tr[data-number='{first.number}']")
    assert row.locator("[data-testid=problem-status]").inner_text().strip() == "已答复"
    assert "已协调县融资担保公司" in row.locator("[data-testid=problem-reply]").inner_text()
    other = page.locator(f"[data-testid=problems] tr[data-number='{second.number}']")
    assert other.locator("[data-testid=problem-status]").inner_text().strip() == "已派单"
    figures = page.locator("[data-testid=this-meeting]").inner_text()
    assert "2" in figures and "已答复" in figures
    leader.shot("08-meeting-page-progress")
    on_phone = people(viewport=PHONE_SIZE, is_mobile=True, has_touch=True)
    on_phone.login("leader")
    on_phone.go(f"/enterprise/meetings/{meeting.pk}/")
    on_phone.shot("09-meeting-page-phone")

    # 6. The public progress chart of this year's livelihood projects, on a phone.
    project = project_services.project_create(
        actor=User.objects.get(username="leader"),
        data=project_services.ProjectInput(
            year=timezone.localdate().year,
            name="城区老旧小区改造",
            owner_unit="zjj",
            target="完成12个老旧小区改造，惠及居民2860户。",
            budget="8600",
        ),
    )
    project_services.project_progress(
        actor=User.objects.get(username="handler-zjj"),
        project_id=project.pk,
        progress=65,
        note="12个小区中已有8个完成外立面改造。",
    )
    page = public.go("/projects/")
    page.wait_for_selector("#chart .main-svg")
    assert "城区老旧小区改造" in page.inner_text("main")
    public.shot("10-projects-chart-phone")
