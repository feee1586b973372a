"""An action that committed answers with the state it wrote, never 404.

The race: a handler claims an appeal; in the moment between the claim's commit and its answer, a
colleague of the same unit returns it, so the claimer can no longer see it. The claim happened
(its event is in the chain) and must answer 200 with what it wrote. Made deterministic by
wrapping the service: the colleague's return runs right after the claim commits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from kuaiban.appeals import services
from kuaiban.appeals.models import Appeal, AppealEvent, Status
from kuaiban.conftest import user
from kuaiban.org.demo import Directory
from kuaiban.org.models import Role, User

RETURN_REASON = "该路段属于交通局管辖，不属于住建局职责，申请退回重新派单。"
REPLY = "经现场核实，已协调供热公司更换阀门，室温恢复到二十度以上，并电话告知诉求人。"


def colleague(county: Directory) -> User:
    return User.objects.create_user(
        username="handler-zjj-2",
        password="kuaiban-demo-2",
        role=Role.HANDLER,
        unit=county.units["zjj"],
        display_name="住建局 赵敏",
    )


def dispatched(make_appeal: Any, county: Directory) -> Appeal:
    appeal = make_appeal()
    services.appeal_dispatch(actor=county.users["operator"], number=appeal.number, unit="zjj")
    return Appeal.objects.get(pk=appeal.pk)


def overtaken(monkeypatch: pytest.MonkeyPatch, name: str, then: Callable[[str], object]) -> None:
    """Make ``services.<name>`` run ``then(number)`` right after it commits."""
    real = getattr(services, name)

    def wrapped(**kwargs: Any) -> Appeal:
        written = real(**kwargs)
        then(kwargs["number"])
        return written

    monkeypatch.setattr(services, name, wrapped)


@pytest.mark.django_db
def test_a_claim_overtaken_by_a_return_answers_200_with_what_it_wrote(
    api: Any, make_appeal: Any, county: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = colleague(county)
    appeal = dispatched(make_appeal, county)
    overtaken(
        monkeypatch,
        "appeal_claim",
        lambda n: services.appeal_return(actor=other, number=n, reason=RETURN_REASON),
    )

    r = api("handler-zjj").post(f"/appeals/{appeal.number}/claim")

    assert r.status == 200, r.body
    assert r.body["status"] == "in_progress"
    assert r.body["handler"] == str(user("handler-zjj"))
    assert [e["action"] for e in r.body["events"]] == ["register", "dispatch", "claim"]
    # Both committed: the claim, then the colleague's return.
    appeal.refresh_from_db()
    assert appeal.status == Status.RECEIVED and appeal.lead_unit is None
    assert list(appeal.events.values_list("action", flat=True).order_by("seq")) == [
        "register",
        "dispatch",
        "claim",
        "return",
    ]
    # And a fresh read by the claimer is the 404 it should be: the appeal left the unit.
    assert api("handler-zjj").get(f"/appeals/{appeal.number}").status == 404


@pytest.mark.django_db
def test_a_reply_overtaken_answers_with_its_own_state(
    api: Any, make_appeal: Any, county: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    appeal = dispatched(make_appeal, county)
    services.appeal_claim(actor=county.users["handler-zjj"], number=appeal.number)
    # The supervisor's visit lands right after the reply: the answer still shows the reply.
    overtaken(
        monkeypatch,
        "appeal_reply",
        lambda n: services.appeal_visit(
            actor=county.users["supervisor"],
            number=n,
            data=services.VisitInput(
                reached=True, resolved=True, satisfaction="satisfied", authentic=True
            ),
        ),
    )
    r = api("handler-zjj").post(
        f"/appeals/{appeal.number}/reply", {"result": "resolved", "text": REPLY}
    )
    assert r.status == 200, r.body
    assert r.body["status"] == "replied" and r.body["reply_text"] == REPLY
    assert r.body["events"][-1]["action"] == "reply"


@pytest.mark.django_db
def test_a_return_answers_200_though_the_unit_no_longer_holds_it(
    api: Any, make_appeal: Any, county: Directory
) -> None:
    appeal = dispatched(make_appeal, county)
    r = api("handler-zjj").post(f"/appeals/{appeal.number}/return", {"reason": RETURN_REASON})
    assert r.status == 200, r.body
    assert r.body["status"] == "received" and r.body["lead_unit"] is None
    assert r.body["events"][-1]["action"] == "return"
    assert r.body["events"][-1]["note"] == RETURN_REASON


@pytest.mark.django_db
def test_the_web_claim_overtaken_goes_to_the_inbox_with_a_message(
    make_appeal: Any, county: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = colleague(county)
    appeal = dispatched(make_appeal, county)
    overtaken(
        monkeypatch,
        "appeal_claim",
        lambda n: services.appeal_return(actor=other, number=n, reason=RETURN_REASON),
    )
    client = Client()
    client.force_login(user("handler-zjj"))
    response = client.post(f"/appeals/{appeal.number}/claim/", {})
    assert response.status_code == 302 and response["Location"] == "/appeals/inbox/"
    page = client.get("/appeals/inbox/")
    assert page.status_code == 200
    text = page.content.decode()
    assert appeal.number in text and "已不在您手中" in text
    assert AppealEvent.objects.filter(appeal=appeal, action="claim").exists()


@pytest.mark.django_db
def test_the_web_claim_that_lost_the_race_goes_to_the_inbox_not_a_404(
    make_appeal: Any, county: Directory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The colleague's return commits between the page and the claim's lock: nothing was
    written, the claimer lands on the inbox with why, and the appeal's page is not shown."""
    other = colleague(county)
    appeal = dispatched(make_appeal, county)
    real = services.appeal_claim

    def late_claim(**kwargs: Any) -> Appeal:
        services.appeal_return(actor=other, number=kwargs["number"], reason=RETURN_REASON)
        return real(**kwargs)

    monkeypatch.setattr(services, "appeal_claim", late_claim)
    client = Client()
    client.force_login(user("handler-zjj"))
    response = client.post(f"/appeals/{appeal.number}/claim/", {}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [("/appeals/inbox/", 302)]
    text = response.content.decode()
    assert "阳光花园" not in text  # the appeal's content is not on the page
    assert not AppealEvent.objects.filter(appeal=appeal, action="claim").exists()


# ----- the real race on PostgreSQL ------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("rounds", [6])
def test_claim_racing_a_return_never_answers_404_after_committing(
    api: Any, make_appeal: Any, county: Directory, rounds: int
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")
    from kuaiban.appeals.tests.test_concurrency import assert_chain_intact, race

    colleague(county)
    claimer, returner = api("handler-zjj"), api("handler-zjj-2")
    for _ in range(rounds):
        appeal = dispatched(make_appeal, county)
        n = appeal.number
        claimed, returned = race(
            appeal,
            [
                lambda n=n: claimer.post(f"/appeals/{n}/claim"),
                lambda n=n: returner.post(f"/appeals/{n}/return", {"reason": RETURN_REASON}),
            ],
        )
        claim_written = AppealEvent.objects.filter(appeal=appeal, action="claim").exists()
        return_written = AppealEvent.objects.filter(appeal=appeal, action="return").exists()
        assert return_written and returned.status == 200, returned.body
        if claim_written:
            assert claimed.status == 200, claimed.body
            assert claimed.body["status"] == "in_progress"
            assert claimed.body["events"][-1]["action"] == "claim"
        else:
            # The return came first: the claim wrote nothing and may say the appeal is gone.
            assert claimed.status in (404, 409), claimed.body
    assert_chain_intact()
