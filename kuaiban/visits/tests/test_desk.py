"""The return-visit desk: its queue, who may use it, the result form and the self-rating link."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from kuaiban.appeals import services as appeals
from kuaiban.appeals.models import Appeal, AppealEvent, Status, Visit
from kuaiban.conftest import user
from kuaiban.core import clock
from kuaiban.metrics.tests.ledger import at, claim, dispatch, register, reply
from kuaiban.org.demo import Directory
from kuaiban.visits import services
from kuaiban.visits.models import SelfRatingLink

pytestmark = pytest.mark.django_db


def replied(d: Directory, day: str, unit: str = "zjj", **fields: Any) -> str:
    n = register(d, at(day, "08:40"), **fields)
    dispatch(n, at(day, "09:00"), unit)
    claim(n, at(day, "09:30"), unit)
    reply(n, at(day, "15:00"), unit)
    return n


def client(username: str | None) -> Client:
    c = Client()
    if username:
        c.force_login(user(username))
    return c


def test_queue_lists_replied_appeals_by_visit_deadline_with_full_phone(county: Directory) -> None:
    later = replied(county, "2026-06-10", submitter_phone="13900001111")
    sooner = replied(county, "2026-06-08", submitter_phone="13800002222")
    register(county, at("2026-06-08"))  # not replied: not in the queue
    r = client("visitor").get(reverse("visits:desk"))
    assert r.status_code == 200
    html = r.content.decode()
    assert html.index(sooner) < html.index(later)
    assert "13800002222" in html and "13900001111" in html
    assert [a.number for a in services.desk_queue(user=user("visitor"))] == [sooner, later]


@pytest.mark.parametrize("who", ["leader", "operator", "handler-zjj", "admin"])
def test_other_roles_may_not_use_the_desk(county: Directory, who: str) -> None:
    n = replied(county, "2026-06-08")
    assert client(who).get(reverse("visits:desk")).status_code == 403
    assert client(who).get(reverse("visits:call", args=[n])).status_code == 403
    assert client(who).post(reverse("visits:link", args=[n])).status_code == 403


def test_anonymous_is_sent_to_log_in(county: Directory) -> None:
    r = client(None).get(reverse("visits:desk"))
    assert r.status_code == 302 and "/login/" in r["Location"]


def test_a_satisfied_call_records_the_visit(county: Directory) -> None:
    n = replied(county, "2026-06-08")
    c = client("visitor")
    page = c.get(reverse("visits:call", args=[n]))
    assert page.status_code == 200
    assert "13812345678" in page.content.decode()  # the desk shows the full number
    r = c.post(
        reverse("visits:call", args=[n]),
        {"reached": "yes", "resolved": "yes", "satisfaction": "satisfied", "authentic": "yes"},
    )
    assert r.status_code == 302
    appeal = Appeal.objects.get(number=n)
    assert appeal.status == Status.VISITED
    visit = Visit.objects.get(appeal=appeal)
    assert (visit.reached, visit.resolved, visit.satisfaction, visit.authentic) == (
        True,
        True,
        "satisfied",
        True,
    )
    assert visit.visitor == user("visitor")


def test_a_reached_call_needs_every_answer(county: Directory) -> None:
    n = replied(county, "2026-06-08")
    r = client("visitor").post(reverse("visits:call", args=[n]), {"reached": "yes"})
    assert r.status_code == 400
    assert Appeal.objects.get(number=n).status == Status.REPLIED
    assert not Visit.objects.filter(appeal__number=n).exists()


def test_dissatisfied_or_untrue_goes_back_for_rework(county: Directory) -> None:
    n = replied(county, "2026-06-08")
    m = replied(county, "2026-06-08")
    c = client("supervisor")
    c.post(
        reverse("visits:call", args=[n]),
        {"reached": "yes", "resolved": "no", "satisfaction": "dissatisfied", "authentic": "yes"},
    )
    c.post(
        reverse("visits:call", args=[m]),
        {"reached": "yes", "resolved": "yes", "satisfaction": "satisfied", "authentic": "no"},
    )
    for number, cause in ((n, "dissatisfied"), (m, "untrue")):
        appeal = Appeal.objects.get(number=number)
        assert (appeal.status, appeal.rework_count) == (Status.IN_PROGRESS, 1)
        rework = AppealEvent.objects.get(appeal=appeal, action="rework")
        assert rework.payload["cause"] == cause


def test_three_unreached_days_end_the_visit_unrated(county: Directory) -> None:
    n = replied(county, "2026-06-08")
    c = client("visitor")
    for day in ("2026-06-09", "2026-06-09", "2026-06-10", "2026-06-11"):
        if Appeal.objects.get(number=n).status != Status.REPLIED:
            break
        with clock.frozen(at(day, "10:00")):
            c.post(reverse("visits:call", args=[n]), {"reached": "no", "note": "无人接听"})
    appeal = Appeal.objects.get(number=n)
    assert appeal.status == Status.VISITED
    assert appeal.visits.filter(reached=False).count() == 4  # two calls on the 9th count once
    last = appeal.events.order_by("-seq").first()
    assert last is not None and last.payload == {"reached": False, "rated": False, "attempts": 3}


def test_a_rework_starts_a_new_round_of_calls(county: Directory) -> None:
    n = replied(county, "2026-06-08")
    c = client("visitor")
    with clock.frozen(at("2026-06-09", "10:00")):
        c.post(reverse("visits:call", args=[n]), {"reached": "no", "note": "无人接听"})
    assert services.desk_queue(user=user("visitor")).get(number=n).attempts == 1
    with clock.frozen(at("2026-06-10", "10:00")):
        c.post(
            reverse("visits:call", args=[n]),
            {
                "reached": "yes",
                "resolved": "no",
                "satisfaction": "dissatisfied",
                "authentic": "yes",
            },
        )
    appeal = Appeal.objects.get(number=n)
    # Back to the unit with a new reply deadline, after the rework.
    assert appeal.status == Status.IN_PROGRESS
    assert appeal.reply_due is not None and appeal.reply_due > at("2026-06-10", "10:00")
    reply(n, at("2026-06-12", "15:00"), "zjj")
    # The new round has had no call yet; the earlier calls are listed on the call page.
    assert services.desk_queue(user=user("visitor")).get(number=n).attempts == 0
    page = c.get(reverse("visits:call", args=[n])).content.decode()
    assert "已接通 · 不满意" in page and "未接通 · 无人接听" in page


# ----- self-rating -------------------------------------------------------------------------------


def make_link(n: str, who: str = "visitor") -> str:
    r = client(who).post(reverse("visits:link", args=[n]), follow=True)
    assert r.status_code == 200
    link = SelfRatingLink.objects.get(appeal__number=n)
    return services.token_for(link)


def test_the_submitter_rates_once_through_the_link(county: Directory) -> None:
    n = replied(county, "2026-06-08")
    token = make_link(n)
    public = client(None)
    url = reverse("visits:rate", args=[token])
    page = public.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert n in html and "13812345678" not in html  # no personal data on the public page
    r = public.post(url, {"resolved": "yes", "satisfaction": "basic", "contacted": "yes"})
    assert r.status_code == 200 and 'data-testid="thanks"' in r.content.decode()
    appeal = Appeal.objects.get(number=n)
    assert appeal.status == Status.VISITED
    visit = appeal.visits.get()
    assert (visit.satisfaction, visit.resolved, visit.authentic) == ("basic", True, True)
    assert visit.visitor is not None and visit.visitor.username == services.SELF_RATING_USERNAME
    assert not visit.visitor.has_usable_password()
    # One time only.
    again = public.post(url, {"resolved": "no", "satisfaction": "dissatisfied", "contacted": "no"})
    assert again.status_code == 410
    assert appeal.visits.count() == 1
    assert public.get(url).status_code == 410


def test_a_dissatisfied_self_rating_sends_it_back(county: Directory) -> None:
    n = replied(county, "2026-06-08")
    token = make_link(n)
    client(None).post(
        reverse("visits:rate", args=[token]),
        {"resolved": "no", "satisfaction": "dissatisfied", "contacted": "no"},
    )
    assert Appeal.objects.get(number=n).status == Status.IN_PROGRESS


def test_an_incomplete_self_rating_writes_nothing(county: Directory) -> None:
    n = replied(county, "2026-06-08")
    token = make_link(n)
    r = client(None).post(reverse("visits:rate", args=[token]), {"resolved": "yes"})
    assert r.status_code == 400
    assert SelfRatingLink.objects.get(appeal__number=n).used_at is None
    assert not Visit.objects.filter(appeal__number=n).exists()


def test_a_tampered_or_foreign_token_is_refused(county: Directory) -> None:
    n = replied(county, "2026-06-08")
    token = make_link(n)
    public = client(None)
    assert public.get(reverse("visits:rate", args=[token[:-2] + "xx"])).status_code == 404
    link = SelfRatingLink.objects.get()
    forged = signing.dumps({"l": link.pk, "n": "guessed"}, salt=services.SALT)
    assert public.get(reverse("visits:rate", args=[forged])).status_code == 404
    other_salt = signing.dumps({"l": link.pk, "n": link.nonce}, salt="elsewhere")
    assert public.get(reverse("visits:rate", args=[other_salt])).status_code == 404


def test_an_expired_link_or_one_overtaken_by_a_call_is_closed(county: Directory) -> None:
    n = replied(county, "2026-06-08")
    token = make_link(n)
    url = reverse("visits:rate", args=[token])
    link = SelfRatingLink.objects.get()
    with clock.frozen(link.expires_at + dt.timedelta(minutes=1)):
        assert client(None).get(url).status_code == 410
    appeals.appeal_visit(
        actor=user("visitor"),
        number=n,
        data=appeals.VisitInput(
            reached=True, resolved=True, satisfaction="satisfied", authentic=True
        ),
    )
    r = client(None).post(url, {"resolved": "yes", "satisfaction": "satisfied", "contacted": "yes"})
    assert r.status_code == 410
    assert Visit.objects.filter(appeal__number=n).count() == 1


def test_links_are_refused_for_reports_and_unreplied_appeals(county: Directory) -> None:
    report = register(county, at("2026-06-08"), kind="report")
    sup = user("supervisor")
    with clock.frozen(at("2026-06-08", "09:00")):
        appeals.appeal_dispatch(actor=sup, number=report, unit="zjj")
    claim(report, at("2026-06-08", "09:30"), "zjj")
    reply(report, at("2026-06-08", "15:00"), "zjj")
    fresh = register(county, at("2026-06-08"))
    for n in (report, fresh):
        with pytest.raises(Exception) as info:
            services.self_rating_link_create(actor=user("supervisor"), number=n)
        assert getattr(info.value, "status", None) == 409
    assert not SelfRatingLink.objects.exists()


def test_the_desk_counts_days_not_reached_not_calls(county: Directory) -> None:
    n = replied(county, "2026-06-08")
    c = client("visitor")
    for hour in ("09:00", "11:00", "16:00"):
        with clock.frozen(at("2026-06-09", hour)):
            c.post(reverse("visits:call", args=[n]), {"reached": "no", "note": "无人接听"})
    # Three calls on one day are one day of the rule's three.
    assert services.desk_queue(user=user("visitor")).get(number=n).attempts == 1
    with clock.frozen(at("2026-06-10", "09:00")):
        c.post(reverse("visits:call", args=[n]), {"reached": "no", "note": "关机"})
    assert services.desk_queue(user=user("visitor")).get(number=n).attempts == 2
    assert Appeal.objects.get(number=n).status == Status.REPLIED
    html = c.get(reverse("visits:desk")).content.decode()
    assert "未接通天数" in html
