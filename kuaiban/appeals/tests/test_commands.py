"""The CLI: audit verify, token, demo."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from kuaiban.appeals.models import Appeal, AppealEvent, Channel, Kind, Status
from kuaiban.core.text import to_simplified
from kuaiban.org.models import ApiToken, Region, Unit, User

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command(*args, stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_audit_verify_finds_the_first_tampered_event(make_appeal: Any) -> None:
    from kuaiban.appeals import services
    from kuaiban.conftest import user

    a = make_appeal()
    b = make_appeal(content="第二件：路灯不亮。")
    services.appeal_dispatch(actor=user("operator"), number=b.number, unit="cgj")
    code, out = run("audit", "verify")
    assert code == 0 and out.startswith("OK: every appeal's event chain verifies")
    victim = AppealEvent.objects.get(appeal=b, seq=2)
    # Behind the application's back, as a rogue DBA would.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE appeals_appealevent SET note = %s WHERE id = %s", ["改写的历史", victim.pk]
        )
    code, out = run("audit", "verify")
    assert code == 1
    assert f"appeal {b.number}, event 2 (id {victim.pk})" in out
    assert a.number not in out


def test_audit_verify_catches_a_deleted_last_event(make_appeal: Any) -> None:
    appeal = make_appeal()
    from kuaiban.appeals import services
    from kuaiban.conftest import user

    services.appeal_dispatch(actor=user("operator"), number=appeal.number, unit="cgj")
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM appeals_appealevent WHERE appeal_id = %s AND seq = 2", [appeal.pk]
        )
    code, out = run("audit", "verify")
    assert code == 1 and "chain head" in out


def test_token_prints_a_working_key(county: Any) -> None:
    code, out = run("token", "operator")
    key = out.strip()
    assert code == 0 and key.startswith("kb_")
    assert ApiToken.objects.get(digest=ApiToken.digest_of(key)).user.username == "operator"
    assert key not in "".join(ApiToken.objects.values_list("digest", flat=True))


def test_demo_builds_a_county_with_a_varied_ledger(db: None) -> None:
    code, out = run("demo", "--appeals", "150", "--seed", "7")
    assert code == 0 and "Demo logins" in out
    # 150 from the ledger step; other domains add theirs (meeting and visit problems).
    assert "150 new appeals" in out
    assert Region.objects.filter(level="township").count() >= 8
    assert Region.objects.filter(level="grid").exists()
    names = set(Unit.objects.values_list("name", flat=True))
    for required in (
        "行政审批局",
        "医保局",
        "住建局",
        "城管局",
        "经发局",
        "自然资源和规划局",
        "卫健局",
        "教育局",
        "人社局",
        "生态环境分局",
        "市场监管局",
        "信访局",
    ):
        assert required in names
    assert Unit.objects.count() >= 15
    for username in (
        "admin",
        "operator",
        "supervisor",
        "leader",
        "handler-zjj",
        "handler-chengguan",
    ):
        assert User.objects.get(username=username).check_password("kuaiban-demo")
    assert Appeal.objects.count() >= 150
    assert set(Appeal.objects.values_list("status", flat=True)) >= {
        Status.RECEIVED,
        Status.DISPATCHED,
        Status.IN_PROGRESS,
        Status.CLOSED,
    }
    assert len(set(Appeal.objects.values_list("channel", flat=True))) >= 8
    assert set(Appeal.objects.values_list("kind", flat=True)) == set(Kind.values)
    assert all("lorem" not in c.lower() for c in Appeal.objects.values_list("content", flat=True))
    contents = list(Appeal.objects.values_list("content", flat=True))
    assert any(to_simplified(c) != c for c in contents), "some appeals in Traditional characters"
    assert run("audit", "verify")[0] == 0
    assert set(Channel.values) >= set(Appeal.objects.values_list("channel", flat=True))


def _ledger() -> list[tuple[str, str, str, str]]:
    return list(Appeal.objects.order_by("id").values_list("title", "status", "channel", "kind"))


class _Rollback(Exception):
    pass


def _demo_ledger(seed: str) -> list[tuple[str, str, str, str]]:
    """Run the whole demo in a savepoint, read the ledger, and roll it all back."""
    captured: list[tuple[str, str, str, str]] = []
    try:
        with transaction.atomic():
            run("demo", "--appeals", "40", "--seed", seed)
            captured = _ledger()
            raise _Rollback
    except _Rollback:
        pass
    assert not Appeal.objects.exists()
    return captured


def test_demo_is_deterministic_for_a_seed(db: None) -> None:
    first = _demo_ledger("3")
    assert len(first) >= 40
    assert _demo_ledger("3") == first
    assert _demo_ledger("4") != first


def test_demo_with_no_appeals(db: None) -> None:
    assert run("demo", "--appeals", "0")[0] == 0
    assert Unit.objects.count() >= 15 and Appeal.objects.count() == 0
