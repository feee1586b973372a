"""敲门行动 pages: the grid's visits and the visit form on a phone, coverage, focus lists; and
who is refused each."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from kuaiban.appeals.models import Appeal
from kuaiban.appeals.tests.test_views import client_for, field_errors, html
from kuaiban.doors.models import DoorVisit, FocusList
from kuaiban.doors.tests.common import (
    LAMP,
    QUARTER,
    TOWN_TOPICS,
    grid_unit,
    quarter_of_chengguan,
    village_handler,
    worker,
)
from kuaiban.org.demo import Directory
from kuaiban.org.tests.test_navigation import menu, signed_in

pytestmark = pytest.mark.django_db


def test_the_visit_form_records_a_visit_and_opens_its_appeal(
    county: Directory, now: dt.datetime
) -> None:
    quarter_of_chengguan(county)
    code = grid_unit(county, 1).code
    client = client_for(worker(county, 1))
    assert client.get("/doors/").url == f"/doors/grids/{code}/"
    page = html(client.get(f"/doors/grids/{code}/visit/"))
    assert TOWN_TOPICS[0] in page and 'name="answer_1"' in page and 'name="problem_3"' in page
    r = client.post(
        f"/doors/grids/{code}/visit/",
        {
            "address": "南关社区9号楼302",
            "met": "户主赵大爷",
            "phone": "13607316666",
            "answer_2": "老伴腿脚不便，希望有人帮忙买药",
            "problem_2": LAMP,
            "kind_1": "help",
            "kind_2": "help",
            "kind_3": "help",
        },
    )
    assert r.status_code == 302, html(r)[:600]
    visit = DoorVisit.objects.get(address="南关社区9号楼302")
    appeal = visit.appeals.get()
    assert appeal.channel == "visit" and appeal.lead_unit == grid_unit(county, 1)
    assert visit.answers == [
        {"unit": "chengguan", "topic": TOWN_TOPICS[1], "answer": "老伴腿脚不便，希望有人帮忙买药"}
    ]
    page = html(client.get(f"/doors/grids/{code}/"))
    assert "南关社区9号楼302" in page and appeal.number in page and "13607316666" in page


def test_a_bad_visit_is_shown_beside_its_field(county: Directory, now: dt.datetime) -> None:
    code = grid_unit(county, 0).code
    r = client_for(worker(county, 0)).post(
        f"/doors/grids/{code}/visit/",
        {
            "address": "南关社区9号楼302",
            "met": "住户",
            "phone": "12345",
            "kind_1": "help",
            "kind_2": "help",
            "kind_3": "help",
        },
    )
    assert r.status_code == 400
    assert field_errors(html(r), "phone") == ["不是有效的中国大陆电话号码。"]
    assert DoorVisit.objects.count() == 0 and Appeal.objects.count() == 0


def test_another_grid_and_other_roles_are_refused(county: Directory, now: dt.datetime) -> None:
    code = grid_unit(county, 0).code
    sibling = client_for(worker(county, 1))
    assert sibling.get(f"/doors/grids/{code}/visit/").status_code == 403
    r = sibling.post(
        f"/doors/grids/{code}/visit/",
        {
            "address": "南关社区9号楼302",
            "met": "住户",
            "kind_1": "help",
            "kind_2": "help",
            "kind_3": "help",
        },
    )
    assert r.status_code == 403 and DoorVisit.objects.count() == 0
    assert sibling.get(f"/doors/grids/{code}/").status_code == 403
    for username in ("handler-chengguan", "supervisor"):
        assert client_for(username).get(f"/doors/grids/{code}/visit/").status_code == 403
    for username in ("handler-zjj", "operator", worker(county, 0)):
        assert client_for(username).get("/doors/coverage/").status_code == 403
    for username in ("handler-zjj", "supervisor", worker(county, 0)):
        assert client_for(username).get("/doors/focus/").status_code == 403


def test_the_coverage_page(county: Directory, now: dt.datetime) -> None:
    quarter_of_chengguan(county)
    page = html(client_for("handler-chengguan").get("/doors/coverage/", {"quarter": QUARTER}))
    total = re.search(r'data-testid="coverage-total">(.*?)</p>', page, re.S)
    assert total and " ".join(total.group(1).split()) == (
        "已走访户数 5 / 300 · 2% · 反映问题户数 2 · 登记诉求 3"
    )
    assert f'data-code="{county.grids[0].code}"' in page
    assert f'data-code="{county.grids[6].code}"' not in page  # 东城街道 is not theirs
    masked = html(client_for("handler-chengguan").get(f"/doors/grids/{grid_unit(county, 0).code}/"))
    assert "139****1234" in masked and "13907311234" not in masked
    r = client_for("leader").get("/doors/coverage/", {"quarter": "2026-Q9"})
    assert r.status_code == 400


def test_a_village_publishes_its_focus_list(county: Directory, now: dt.datetime) -> None:
    client = client_for(village_handler(county, 0))
    r = client.post("/doors/focus/", {"quarter": QUARTER, "topics": "小区停车\n\n电动车充电\n"})
    assert r.status_code == 302, html(r)[:600]
    assert FocusList.objects.get().topics == ["小区停车", "电动车充电"]
    r = client.post("/doors/focus/", {"quarter": "2026-Q2", "topics": "小区停车"})
    assert r.status_code == 400 and field_errors(html(r), "quarter")


def test_the_menu_offers_the_pages_to_whom_they_are_for(county: Directory) -> None:
    town = menu(signed_in("handler-chengguan"))
    assert town["/doors/coverage/"] == "走访覆盖率" and town["/doors/focus/"] == "重点清单"
    village = menu(signed_in(village_handler(county, 0)))
    assert "/doors/coverage/" in village and "/doors/focus/" in village
    department = menu(signed_in("handler-zjj"))
    assert "/doors/coverage/" not in department and "/doors/focus/" not in department
    assert menu(signed_in("leader"))["/doors/coverage/"] == "走访覆盖率"
    assert menu(signed_in(worker(county, 0)), "/grid/")["/doors/"] == "敲门行动"


def test_coverage_on_the_overview_and_in_the_rankings(county: Directory, now: dt.datetime) -> None:
    quarter_of_chengguan(county)
    board = " ".join(html(client_for("leader").get("/metrics/")).split())
    card = re.search(r'data-testid="door-coverage">(.*?)</section>', board)
    assert card, "the overview shows the quarter's door-visit coverage"
    assert "敲门行动走访覆盖率（2026-Q4）" in card.group(1)
    # County: 6 households met (grid 6 has no household count) of the 300 counted: 2.0%.
    assert "本季度已入户走访 6 户，共 300 户 · <strong>2.0%</strong>" in card.group(1)
    town = county.townships["chengguan"].code
    row = f'<tr data-code="{town}"><td>城关镇</td><td>5 / 300</td><td>1.7%</td></tr>'
    assert row in card.group(1)
    ranks = html(client_for("leader").get("/metrics/rankings/", {"period": "2026-11"}))
    village = f"v{county.villages[0].code}"  # 南关社区: grids 0 and 1, 5 of 200
    assert f'data-testid="door-{village}">2.5%</td>' in ranks
    assert 'data-testid="door-chengguan">1.7%</td>' in ranks
    assert 'data-testid="door-zjj"' not in ranks  # departments have no households
    # Whoever may not read the county's coverage sees no card (a township handler has no
    # overview at all; the coverage page is theirs).
    assert client_for("handler-chengguan").get("/metrics/").status_code == 403
