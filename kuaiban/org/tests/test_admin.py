"""People and units in ``org.admin``: only administrators manage them; a move between units takes
effect on the person's next request, their API token included; a handler needs a unit."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from kuaiban.appeals import services
from kuaiban.org.models import Role, Unit, User
from kuaiban.org.services import token_create

pytestmark = pytest.mark.django_db


def admin_client(lang: str = "zh-hans") -> Client:
    client = Client(headers={"accept-language": lang})
    client.force_login(User.objects.get(username="admin"))
    return client


def change_form(person: User, **changes: Any) -> dict[str, Any]:
    """What the admin's change page posts for ``person``, with ``changes``."""
    data: dict[str, Any] = {
        "username": person.username,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "is_active": "on",
        "date_joined_0": person.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": person.date_joined.strftime("%H:%M:%S"),
        "display_name": person.display_name,
        "role": person.role,
        "unit": person.unit_id or "",
        "phone": person.phone,
    }
    if person.is_unit_head:
        data["is_unit_head"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def dispatched(make_appeal: Any, unit: str, title: str) -> str:
    appeal = make_appeal(title=title)
    operator = User.objects.get(username="operator")
    services.appeal_dispatch(actor=operator, number=appeal.number, unit=unit)
    return str(appeal.number)


def test_a_handler_moved_to_another_unit_sees_its_appeals_from_the_next_request(
    api: Any, make_appeal: Any
) -> None:
    housing = dispatched(make_appeal, "zjj", "小区电梯停运")
    streets = dispatched(make_appeal, "cgj", "占道经营")
    zhang = User.objects.get(username="handler-zjj")
    key = token_create(user=zhang, name="住建局对接")
    headers = {"Authorization": f"Bearer {key}"}

    def listed() -> list[str]:
        response = Client().get("/api/v1/appeals", headers=headers)
        assert response.status_code == 200
        return [a["number"] for a in response.json()["items"]]

    assert listed() == [housing]
    assert Client().get(f"/api/v1/appeals/{streets}", headers=headers).status_code == 404

    cgj = Unit.objects.get(code="cgj")
    moved = admin_client().post(
        f"/admin/org/user/{zhang.pk}/change/", change_form(zhang, unit=cgj.pk)
    )
    assert moved.status_code == 302, moved.content.decode()[:2000]
    zhang.refresh_from_db()
    assert zhang.unit == cgj

    assert listed() == [streets]  # the same token, the new unit
    assert Client().get(f"/api/v1/appeals/{housing}", headers=headers).status_code == 404


def test_a_handler_cannot_be_left_without_a_unit(county: Any) -> None:
    li = User.objects.get(username="handler-cgj")
    response = admin_client("en").post(f"/admin/org/user/{li.pk}/change/", change_form(li, unit=""))
    assert response.status_code == 200  # the form again, not a 500
    assert "handler_has_unit" in response.content.decode()
    li.refresh_from_db()
    assert li.unit is not None and li.unit.name == "城管局"


def test_only_administrators_manage_people_and_units(county: Any) -> None:
    zhang = User.objects.get(username="handler-zjj")
    supervisor = Client()
    supervisor.force_login(User.objects.get(username="supervisor"))
    for path in ("/admin/org/user/", f"/admin/org/user/{zhang.pk}/change/", "/admin/org/unit/"):
        refused = supervisor.get(path)
        assert refused.status_code == 302 and refused["Location"].startswith("/admin/login/")
    # Staff without permissions reach the admin's front page but no one's record.
    clerk = User.objects.create_user("clerk", role=Role.OPERATOR, is_staff=True)
    staff = Client()
    staff.force_login(clerk)
    assert staff.get("/admin/").status_code == 200
    assert staff.get("/admin/org/user/").status_code == 403
    attempt = staff.post(
        f"/admin/org/user/{zhang.pk}/change/", change_form(zhang, role=Role.ADMIN, unit="")
    )
    assert attempt.status_code == 403
    zhang.refresh_from_db()
    assert zhang.role == Role.HANDLER and zhang.unit is not None and zhang.unit.name == "住建局"


def test_the_administrator_sees_units_with_chinese_names(county: Any) -> None:
    page = admin_client().get("/admin/org/unit/?kind=township")
    html = page.content.decode()
    assert page.status_code == 200
    assert "城关镇" in html and "柳河镇" in html and "住建局" not in html
