"""Routing pages and htmx partials: the intake panel, register-and-dispatch / merge, the appeal
page's panel with its one-click merge, hot issues and the override counts; the event hook."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse

from kuaiban.appeals.models import Appeal, AppealEvent
from kuaiban.org.demo import Directory
from kuaiban.routing import selectors
from kuaiban.routing.models import Suggestion
from kuaiban.routing.tests.conftest import labelled, sample_rows

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("routing_env")]

WATER = labelled("water")


def client(username: str, language: str = "en") -> Client:
    c = Client(headers={"accept-language": language})
    c.login(request=HttpRequest(), username=username, password="kuaiban-demo")
    return c


def form(**overrides: str) -> dict[str, str]:
    data = {
        "channel": "hotline",
        "kind": "complaint",
        "urgency": "normal",
        "title": "桃源镇自来水发黄",
        "content": WATER[3],
        "submitter_type": "citizen",
        "submitter_name": "赵桂兰",
        "submitter_phone": "13907311234",
    }
    data.update(overrides)
    return data


def test_register_page_carries_the_htmx_panel(county: Directory) -> None:
    html = client("operator").get(reverse("appeals:register")).content.decode()
    assert f'hx-post="{reverse("routing:intake")}"' in html
    assert "keyup changed delay:500ms from:#id_content" in html
    assert 'name="routing_dispatch"' in html and "住建局" in html


def test_intake_panel_suggests_and_lists_similar_appeals(
    active_models: Any, make_appeal: Any, county: Directory, background: Any
) -> None:
    master = make_appeal(title="", content=WATER[0])
    r = client("operator").post(
        reverse("routing:intake"),
        {
            "title": "",
            "content": "城关二小开学收三百元资料费，不开收据，请教育局查处",
            "region": "",
        },
        headers={"HX-Request": "true"},
    )
    html = r.content.decode()
    assert r.status_code == 200 and 'data-testid="suggest-category"' in html
    assert "教育文体" in html and 'data-code="jyj"' in html and "教育局" in html
    # The same panel lists similar appeals with a register-and-merge button for open ones.
    r = client("operator").post(
        reverse("routing:intake"), {"content": WATER[3], "region": county.villages[0].code}
    )
    html = r.content.decode()
    assert master.number in html and "same region" in html
    assert f'data-testid="register-merge" data-number="{master.number}"' not in html  # order
    assert f'data-number="{master.number}" data-testid="register-merge"' in html
    # Empty text: a hint, no work.
    r = client("operator").post(reverse("routing:intake"), {"content": "  "})
    assert r.status_code == 200 and "suggest-category" not in r.content.decode()


def test_intake_panel_denials(county: Directory) -> None:
    assert (
        client("handler-zjj").post(reverse("routing:intake"), {"content": "x"}).status_code == 403
    )
    assert client("leader").post(reverse("routing:intake"), {"content": "x"}).status_code == 403
    r = Client().post(reverse("routing:intake"), {"content": "x"})
    assert r.status_code == 302 and "/login/" in r["Location"]


def test_register_and_dispatch_in_one_step(county: Directory) -> None:
    r = client("operator").post(
        reverse("routing:register"), form(go="dispatch", routing_dispatch="swj")
    )
    appeal = Appeal.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("appeals:detail", args=[appeal.number])
    assert appeal.status == "dispatched" and appeal.lead_unit.code == "swj"
    assert list(appeal.events.values_list("action", flat=True)) == ["register", "dispatch"]


def test_register_and_dispatch_refusals_write_nothing(county: Directory) -> None:
    r = client("operator").post(reverse("routing:register"), form(go="dispatch"))
    assert r.status_code == 400 and "Choose the unit to dispatch to." in r.content.decode()
    r = client("operator").post(
        reverse("routing:register"), form(go="dispatch", routing_dispatch="nope")
    )
    assert r.status_code == 400 and "nope" in r.content.decode()
    r = client("operator").post(
        reverse("routing:register"), form(content="", go="dispatch", routing_dispatch="swj")
    )
    assert r.status_code == 400
    assert not Appeal.objects.exists()
    assert client("handler-swj").post(reverse("routing:register"), form()).status_code == 403


def test_register_and_merge_into_a_similar_open_appeal(make_appeal: Any, county: Directory) -> None:
    master = make_appeal(title="", content=WATER[0])
    r = client("operator").post(reverse("routing:register"), form(routing_merge=master.number))
    assert r.status_code == 302 and r["Location"] == reverse("appeals:detail", args=[master.number])
    new = Appeal.objects.exclude(pk=master.pk).get()
    assert new.status == "merged" and new.merged_into == master
    assert list(new.events.values_list("action", flat=True)) == ["register", "merge"]
    assert master.events.filter(action="merged_in", payload__appeal=new.number).exists()


def test_register_and_merge_into_a_closed_appeal_registers_nothing(
    make_appeal: Any, closed_ledger: Any, county: Directory
) -> None:
    [closed] = closed_ledger([(WATER[0], "城乡建设", "swj")])
    r = client("operator").post(reverse("routing:register"), form(routing_merge=closed.number))
    assert r.status_code == 400 and "already finished" in r.content.decode()
    assert Appeal.objects.count() == 1


def test_appeal_panel_and_one_click_merge(
    active_models: Any, make_appeal: Any, county: Directory, background: Any
) -> None:
    master = make_appeal(title="桃源镇自来水发黄", content=WATER[0])
    new = make_appeal(title="", content=WATER[3])
    operator = client("operator")
    html = operator.get(reverse("routing:appeal", args=[new.number])).content.decode()
    assert master.number in html and 'data-testid="merge"' in html
    assert 'data-testid="suggest-unit"' in html  # received: the dispatch form can be filled
    detail = operator.get(reverse("appeals:detail", args=[new.number])).content.decode()
    assert f'hx-get="{reverse("routing:appeal", args=[new.number])}"' in detail

    r = operator.post(reverse("routing:merge", args=[new.number]), {"into": master.number})
    assert r.status_code == 302
    new.refresh_from_db()
    assert new.status == "merged" and new.merged_into_id == master.pk
    merge = new.events.get(action="merge")
    assert merge.payload == {"into": master.number} and merge.actor.username == "operator"
    assert master.events.get(action="merged_in").payload == {"appeal": new.number}
    # The submitter, tracking the merged appeal, is shown the master and its progress.
    track = Client(headers={"accept-language": "en"}).get(
        "/track/", {"number": new.number, "phone_last4": "5678"}
    )
    page = track.content.decode()
    assert track.status_code == 200, page
    assert f"Your appeal was merged into {master.number}" in page
    # Merged: no merge buttons any more; the master no longer lists it (merged are left out).
    html = operator.get(reverse("routing:appeal", args=[new.number])).content.decode()
    assert 'data-testid="merge"' not in html
    html = operator.get(reverse("routing:appeal", args=[master.number])).content.decode()
    assert new.number not in html


def test_merge_denials(make_appeal: Any, county: Directory, background: Any) -> None:
    master = make_appeal(title="", content=WATER[0])
    new = make_appeal(title="", content=WATER[3])
    # Leaders see both appeals but may not merge: no button, and a refused POST.
    html = client("leader").get(reverse("routing:appeal", args=[new.number])).content.decode()
    assert master.number in html and 'data-testid="merge"' not in html
    r = client("leader").post(
        reverse("routing:merge", args=[new.number]), {"into": master.number}, follow=True
    )
    assert "may not do this" in r.content.decode()
    # A handler of another unit does not see the appeal at all.
    assert (
        client("handler-zjj").get(reverse("routing:appeal", args=[new.number])).status_code == 404
    )
    r = client("handler-zjj").post(reverse("routing:merge", args=[new.number]), {"into": "x"})
    assert r.status_code == 404
    # Merging into itself is refused by the service.
    r = client("operator").post(
        reverse("routing:merge", args=[new.number]), {"into": new.number}, follow=True
    )
    assert "cannot be merged into itself" in r.content.decode()
    assert Appeal.objects.filter(status="merged").count() == 0
    assert not AppealEvent.objects.filter(action__in=["merge", "merged_in"]).exists()


def test_hot_page(make_appeal: Any, closed_ledger: Any, county: Directory) -> None:
    closed_ledger(sample_rows(), days_ago=1)
    for text in WATER:
        make_appeal(title="", content=text)
    r = client("operator").get(reverse("routing:hot"))
    html = r.content.decode()
    assert r.status_code == 200 and 'data-testid="issue"' in html
    assert "自来水" in html and "城关镇" in html
    assert client("handler-zjj").get(reverse("routing:hot")).status_code == 403
    r = client("operator").get(reverse("routing:hot"), {"from": "2026-11-20", "to": "2026-11-01"})
    assert r.status_code == 400 and "start on or before its end" in r.content.decode()
    assert client("operator").get(reverse("routing:hot"), {"from": "x"}).status_code == 400


def test_overrides_page(county: Directory) -> None:
    r = client("leader").get(reverse("routing:overrides"))
    assert r.status_code == 200 and 'data-testid="overrides"' in r.content.decode()
    assert client("handler-zjj").get(reverse("routing:overrides")).status_code == 403


def test_hook_records_the_suggestion_and_the_override(
    active_models: Any,
    make_appeal: Any,
    county: Directory,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from kuaiban.appeals import services as appeals

    with django_capture_on_commit_callbacks(execute=True):
        appeal = make_appeal(title="城关二小乱收费", content="学校收取资料费三百元，不开收据。")
    suggestion = Suggestion.objects.get(appeal=appeal)
    assert suggestion.top_unit.code == "jyj" and suggestion.overridden is None
    assert suggestion.units[0][0] == "jyj" and suggestion.categories[0][0] == "教育文体"
    assert suggestion.unit_model.version == "unit-test"
    with django_capture_on_commit_callbacks(execute=True):
        appeals.appeal_dispatch(actor=county.users["operator"], number=appeal.number, unit="xinhua")
    suggestion.refresh_from_db()
    assert suggestion.dispatched_unit.code == "xinhua" and suggestion.overridden is True
    # A later re-dispatch does not change what the first dispatch decided.
    with django_capture_on_commit_callbacks(execute=True):
        appeals.appeal_return(
            actor=county.users["handler-xinhua"],
            number=appeal.number,
            reason="不属于本镇职责，请改派教育局。",
        )
        appeals.appeal_dispatch(actor=county.users["operator"], number=appeal.number, unit="jyj")
    suggestion.refresh_from_db()
    assert suggestion.dispatched_unit.code == "xinhua" and suggestion.overridden is True


def test_a_new_appeal_is_found_by_the_next_query_without_any_hook(
    make_appeal: Any, county: Directory, closed_ledger: Any, background: Any
) -> None:
    operator = county.users["operator"]
    # Registered through the service; no after-commit callback runs in this test, so what
    # finds it is the database itself (the trigger's row, or the scan on SQLite).
    mine = make_appeal(title="", content=WATER[0])
    found = [s.appeal.pk for s in selectors.similar_appeals(user=operator, text=WATER[3])]
    assert found[0] == mine.pk
    # Older than 90 days: not offered.
    [old] = closed_ledger([(WATER[1], "城乡建设", "swj")], days_ago=100)
    found = [s.appeal.pk for s in selectors.similar_appeals(user=operator, text=WATER[1])]
    assert old.pk not in found and mine.pk in found


def test_a_repeated_caller_joins_an_open_appeal_instead_of_filing_it_again(
    make_appeal: Any, county: Directory
) -> None:
    master = make_appeal(title="", content=WATER[0])
    r = client("operator").post(
        reverse("routing:register"), form(routing_merge=master.number, go="support")
    )
    assert r.status_code == 302 and r["Location"] == reverse("appeals:detail", args=[master.number])
    master.refresh_from_db()
    assert Appeal.objects.count() == 1 and master.supporter_count == 1
    assert list(master.supporters.values_list("phone", flat=True)) == ["13907311234"]
    again = client("operator").post(
        reverse("routing:register"), form(routing_merge=master.number, go="support")
    )
    assert again.status_code == 409 and master.supporters.count() == 1
    nophone = client("operator").post(
        reverse("routing:register"),
        form(routing_merge=master.number, go="support", submitter_phone=""),
    )
    assert nophone.status_code == 400 and Appeal.objects.count() == 1
    assert (
        client("handler-swj")
        .post(reverse("routing:register"), form(routing_merge=master.number, go="support"))
        .status_code
        == 403
    )
    anonymous = Client().post(
        reverse("routing:register"), form(routing_merge=master.number, go="support")
    )
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]
    assert master.supporters.count() == 1
