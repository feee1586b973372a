"""Meetings with enterprises through HTTP: schedule, publish, public booking (and its clear
refusals), attendance, problems as appeals, the meeting page and the figures."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from kuaiban.appeals import services as appeal_services
from kuaiban.appeals.models import Appeal, AppealEvent
from kuaiban.core import clock
from kuaiban.enterprise.models import Booking, EnterpriseAppeal, Meeting
from kuaiban.enterprise.tests.conftest import bad_check_digit, code
from kuaiban.org.models import User

pytestmark = pytest.mark.django_db


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime(2026, 5, day, hour, minute))


PLANNING = at(10, 10)  # the office schedules on 10 May
BREAKFAST = {
    "kind": "breakfast",
    "topic": "制造业企业发展座谈",
    "date": "2026-05-15",
    "start_time": "07:30",
    "end_time": "09:00",
    "place": "县政府三楼会议室",
    "hosts": ["leader"],
    "capacity": 2,
    "booking_closes_at": "2026-05-14T18:00:00+08:00",
}


def schedule(api: Any, **over: Any) -> int:
    with clock.frozen(PLANNING):
        r = api("operator").post("/meetings", {**BREAKFAST, **over})
        assert r.status == 201, r.body
        assert api("operator").post(f"/meetings/{r.body['id']}/publish").status == 200
    return int(r.body["id"])


def book_page(web: Any, meeting: int, credit_code: str, phone: str = "13905310001") -> Any:
    return web(None).post(
        f"/meetings/{meeting}/",
        {"credit_code": credit_code, "phone": phone, "contact_name": "王建军"},
    )


def test_scheduling_is_for_the_leaders_office_and_checks_its_input(api: Any) -> None:
    with clock.frozen(PLANNING):
        assert api("handler-jfj").post("/meetings", BREAKFAST).status == 403
        past = api("operator").post("/meetings", {**BREAKFAST, "date": "2026-05-09"})
        not_leader = api("operator").post("/meetings", {**BREAKFAST, "hosts": ["handler-zjj"]})
        late = api("operator").post(
            "/meetings", {**BREAKFAST, "booking_closes_at": "2026-05-15T08:00:00+08:00"}
        )
        empty = api("operator").post("/meetings", {**BREAKFAST, "capacity": 0, "topic": " "})
        bank = api("leader").post(
            "/meetings", {**BREAKFAST, "kind": "bank", "topic": "银企对接会：中小企业融资"}
        )
    assert past.status == 400 and past.body["errors"][0]["field"] == "date"
    assert not_leader.status == 400 and not_leader.body["errors"][0]["field"] == "hosts"
    assert late.status == 400 and late.body["errors"][0]["field"] == "booking_closes_at"
    assert {e["field"] for e in empty.body["errors"]} == {"capacity", "topic"}
    assert bank.status == 201 and bank.body["kind"] == "bank" and bank.body["status"] == "draft"
    assert Meeting.objects.count() == 1


def test_public_booking_with_credit_code_and_phone(web: Any, api: Any, ent: Any) -> None:
    e = ent("清河县兴业机械制造有限公司")
    meeting = schedule(api)
    public = web(None)
    with clock.frozen(at(12, 9)):
        listing = public.get("/meetings/")
        assert listing.status_code == 200
        assert "制造业企业发展座谈" in listing.content.decode()
        form = public.get(f"/meetings/{meeting}/")
        assert form.status_code == 200
        r = book_page(web, meeting, e.credit_code.lower())
    assert r.status_code == 201
    assert 'data-testid="booked"' in r.content.decode() and e.name in r.content.decode()
    # The places shown after booking count this booking (capacity 2).
    assert "<dd>1 / 2</dd>" in r.content.decode()
    booking = Booking.objects.get()
    assert booking.enterprise == e and booking.phone == "13905310001"
    assert booking.source == "public" and not booking.attended


def test_booking_needs_a_registered_contact_phone(web: Any, api: Any, ent: Any) -> None:
    e = ent("清河县兴业机械制造有限公司")
    meeting = schedule(api)
    with clock.frozen(at(12, 9)):
        # The credit code is public: with any other phone nobody books in the company's name.
        r = book_page(web, meeting, e.credit_code, phone="13905311234")
    assert r.status_code == 400
    assert "该号码不是本企业登记的联系电话" in r.content.decode()
    assert not Booking.objects.exists()


def test_bad_credit_codes_get_clear_errors(web: Any, api: Any, ent: Any) -> None:
    ent()
    meeting = schedule(api)
    with clock.frozen(at(12, 9)):
        wrong_digit = book_page(web, meeting, bad_check_digit(code(1)))
        short = book_page(web, meeting, "9133000012")
        unknown = book_page(web, meeting, code(999))
        bad_phone = book_page(web, meeting, code(1), phone="12345")
    for r in (wrong_digit, short):
        assert r.status_code == 400
        assert "统一社会信用代码" in r.content.decode()
    assert unknown.status_code == 400
    assert "未在县企业库登记" in unknown.content.decode()
    assert bad_phone.status_code == 400
    assert 'data-field="phone"' in bad_phone.content.decode()
    assert not Booking.objects.exists()


def test_double_booking_is_refused(web: Any, api: Any, ent: Any) -> None:
    e = ent()
    meeting = schedule(api)
    with clock.frozen(at(12, 9)):
        assert book_page(web, meeting, e.credit_code).status_code == 201
        again = book_page(web, meeting, e.credit_code, phone="13905310001")
        via_api = api(None).post(
            f"/meetings/{meeting}/bookings",
            {"credit_code": e.credit_code, "phone": "13905310001"},
        )
    assert again.status_code == 409
    assert "已经预约" in again.content.decode()
    assert via_api.status == 409 and via_api.body["code"] == "double_booking"
    assert Booking.objects.count() == 1


def test_over_capacity_is_refused(web: Any, api: Any, ent: Any) -> None:
    a, b, c = ent("甲企业有限公司"), ent("乙企业有限公司"), ent("丙企业有限公司")
    meeting = schedule(api)  # capacity 2
    with clock.frozen(at(12, 9)):
        assert book_page(web, meeting, a.credit_code).status_code == 201
        r = api(None).post(
            f"/meetings/{meeting}/bookings", {"credit_code": b.credit_code, "phone": "13905310001"}
        )
        assert r.status == 201, r.body
        full = book_page(web, meeting, c.credit_code)
        invited = api("operator").post(
            f"/meetings/{meeting}/invitations", {"credit_code": c.credit_code}
        )
    assert full.status_code == 409 and "名额已满" in full.content.decode()
    assert invited.status == 409 and invited.body["code"] == "full"
    assert Booking.objects.count() == 2
    # The public pages say it is full up front rather than offer a form that must fail.
    with clock.frozen(at(12, 10)):
        page = web(None).get(f"/meetings/{meeting}/").content.decode()
        listing = web(None).get("/meetings/").content.decode()
    assert 'data-testid="unavailable"' in page and "名额已满" in page
    assert 'data-testid="booking-form"' not in page
    assert 'data-testid="full"' in listing and f"/meetings/{meeting}/" not in listing


def test_booking_after_the_meeting_closed_is_refused(web: Any, api: Any, ent: Any) -> None:
    a, b = ent("甲企业有限公司"), ent("乙企业有限公司")
    meeting = schedule(api)
    # After the deadline (14 May 18:00) the page says so.
    with clock.frozen(at(14, 18, 1)):
        late = book_page(web, meeting, a.credit_code)
    assert late.status_code == 409
    assert "预约已于 2026-05-14 18:00 截止" in late.content.decode()
    # Closed by the office before the deadline: refused too, over the API as well.
    with clock.frozen(at(12, 9)):
        assert api("operator").post(f"/meetings/{meeting}/close").status == 200
        closed = api(None).post(
            f"/meetings/{meeting}/bookings", {"credit_code": b.credit_code, "phone": "13905310001"}
        )
        listed = api(None).get("/meetings/open")
    assert closed.status == 409 and closed.body["code"] == "closed"
    # It names when the office closed it, not the later deadline it had planned.
    assert "2026-05-12 09:00" in closed.body["detail"], closed.body
    assert listed.body == []
    with clock.frozen(at(12, 10)):
        page = web(None).get(f"/meetings/{meeting}/").content.decode()
    assert 'data-testid="unavailable"' in page and "预约已于 2026-05-12 09:00 截止" in page
    assert 'data-testid="booking-form"' not in page
    assert not Booking.objects.exists()


def test_meetings_are_listed_newest_first_and_refusals_are_in_chinese(api: Any) -> None:
    with clock.frozen(PLANNING):
        for day in ("2026-05-20", "2026-05-12", "2026-06-02"):
            r = api("operator").post(
                "/meetings", {**BREAKFAST, "date": day, "booking_closes_at": None}
            )
            assert r.status == 201, r.body
    listed = api("leader").get("/meetings")
    assert [m["date"] for m in listed.body] == ["2026-06-02", "2026-05-20", "2026-05-12"]
    first = listed.body[0]["id"]
    with clock.frozen(PLANNING):
        assert api("operator").post(f"/meetings/{first}/publish").status == 200
    bookings = api("handler-jfj").get(f"/meetings/{first}/bookings")
    figures = api("handler-jfj").get("/meetings/figures")
    status = api("operator").get("/meetings", status="open")
    assert bookings.status == 403 and "预约名单" in bookings.body["detail"]
    assert figures.status == 403 and "统计" in figures.body["detail"]
    assert status.status == 400 and status.body["errors"][0]["field"] == "status"
    assert "draft" in status.body["detail"] and "无法识别" in status.body["detail"]


def test_drafts_are_not_bookable(web: Any, api: Any, ent: Any) -> None:
    e = ent()
    with clock.frozen(PLANNING):
        draft = api("operator").post("/meetings", BREAKFAST).body["id"]
        assert web(None).get(f"/meetings/{draft}/").status_code == 404
        assert book_page(web, draft, e.credit_code).status_code == 404
        # Staff without the office's role do not see drafts either.
        assert api("handler-jfj").get(f"/meetings/{draft}").status == 404


def test_attendance_problems_and_the_meeting_page(web: Any, api: Any, ent: Any) -> None:
    a = ent("清河县兴业机械制造有限公司", contact=("王建军", "13905310001"))
    b = ent("瑞丰食品有限公司", contact=("李丽华", "13905310002"))
    absent = ent("鑫隆纺织有限公司")
    meeting = schedule(api, capacity=5)
    with clock.frozen(at(12, 9)):
        for e in (a, absent):
            assert book_page(web, meeting, e.credit_code).status_code == 201
        assert (
            api("operator")
            .post(f"/meetings/{meeting}/invitations", {"credit_code": b.credit_code})
            .status
            == 201
        )
        early = api("operator").post(
            f"/meetings/{meeting}/attendance", {"attended": [a.credit_code]}
        )
    assert early.status == 409  # not before it begins

    with clock.frozen(at(15, 9, 10)):
        r = api("operator").post(
            f"/meetings/{meeting}/attendance",
            {"attended": [a.credit_code, b.credit_code]},
        )
        assert r.status == 200, r.body
        assert r.body["status"] == "held" and r.body["attended"] == 2
        refused = api("operator").post(
            f"/meetings/{meeting}/problems",
            {"credit_code": absent.credit_code, "content": "没来的企业也想提问题。"},
        )
        handler = api("handler-jfj").post(
            f"/meetings/{meeting}/problems",
            {"credit_code": a.credit_code, "content": "流动资金贷款需要担保。"},
        )
        first = api("operator").post(
            f"/meetings/{meeting}/problems",
            {
                "credit_code": a.credit_code,
                "title": "流动资金贷款需要担保",
                "content": "企业需要流动资金约500万元，银行要求追加抵押物，希望协调担保。",
                "unit": "jfj",
            },
        )
        second = api("leader").post(
            f"/meetings/{meeting}/problems",
            {
                "credit_code": b.credit_code,
                "title": "冷库用电增容",
                "content": "新建冷库需要用电增容，报装两个月未接电。",
            },
        )
    assert refused.status == 400 and "未参加本次会议" in refused.body["detail"]
    assert handler.status == 403
    assert first.status == 201, first.body
    assert first.body["status"] == "dispatched" and first.body["lead_unit"]["code"] == "jfj"
    assert first.body["topic"] == "financing"
    assert second.status == 201 and second.body["status"] == "received"

    appeal = Appeal.objects.get(number=first.body["number"])
    assert appeal.channel == "breakfast" and appeal.submitter_phone == "13905310001"
    link = EnterpriseAppeal.objects.get(appeal=appeal)
    assert link.meeting_id == meeting and link.enterprise == a and link.source == "meeting"
    # The leader may not register appeals in the ledger: the system does, naming the leader.
    reg = AppealEvent.objects.get(appeal__number=second.body["number"], action="register")
    assert reg.actor is None and reg.payload["recorded_by"] == "leader"
    assert reg.payload["meeting"] == meeting

    # The lead unit claims and replies; the meeting page shows each problem's progress.
    jfj = User.objects.get(username="handler-jfj")
    with clock.frozen(at(16, 10)):
        appeal_services.appeal_claim(actor=jfj, number=appeal.number or "")
        appeal_services.appeal_reply(
            actor=jfj,
            number=appeal.number or "",
            result="resolved",
            text="已协调县融资担保公司提供担保，贷款本周放款。",
        )
    page = web("leader").get(f"/enterprise/meetings/{meeting}/").content.decode()
    assert first.body["number"] in page and second.body["number"] in page
    assert "已答复" in page and "已协调县融资担保公司提供担保" in page
    assert "已受理" in page
    detail = api("leader").get(f"/meetings/{meeting}")
    assert [p["status"] for p in detail.body["problems"]] == ["replied", "received"]

    figures = api("leader").get("/meetings/figures")
    assert figures.body == {
        "meetings": 1,
        "attendances": 2,
        "enterprises": 2,
        "problems": 2,
        "replied": 1,
        "closed": 0,
        "closed_pct": 0.0,
    }
    # The same machinery counts each kind separately.
    assert api("leader").get("/meetings/figures", kind="bank").body["meetings"] == 0


def test_meeting_pages_over_the_web(web: Any, api: Any, ent: Any) -> None:
    e = ent()
    client = web("operator")
    with clock.frozen(PLANNING):
        r = client.post(
            "/enterprise/meetings/",
            {
                "kind": "reception",
                "topic": "企业家会见日",
                "date": "2026-05-20",
                "start_time": "09:00",
                "place": "县政务服务中心二楼",
                "hosts": ["leader"],
                "capacity": "10",
            },
        )
        assert r.status_code == 302, r.content.decode()[:2000]
        meeting = Meeting.objects.get()
        assert meeting.booking_closes_at == at(20, 9)  # default: when it starts
        assert client.post(f"/enterprise/meetings/{meeting.pk}/publish/").status_code == 302
        invite = client.post(
            f"/enterprise/meetings/{meeting.pk}/invite/", {"invite-credit_code": e.credit_code}
        )
        assert invite.status_code == 302
        dup = client.post(
            f"/enterprise/meetings/{meeting.pk}/invite/", {"invite-credit_code": e.credit_code}
        )
        assert dup.status_code == 409
        outsider = web("handler-jfj").post(f"/enterprise/meetings/{meeting.pk}/close/")
        assert outsider.status_code == 403
    page = web("handler-jfj").get(f"/enterprise/meetings/{meeting.pk}/").content.decode()
    assert "企业家会见日" in page and "139****0001" in page  # phones masked for non-office staff
    listing = web("leader").get("/enterprise/meetings/?kind=reception").content.decode()
    assert "企业家会见日" in listing
