"""Two people acting on the same appeal at the same moment, on PostgreSQL.

Each contender is a thread with its own database connection and its own bearer token, calling the
REST API. To make the race real rather than lucky, the test itself first holds the appeal's row
lock, waits until both requests are queued behind it inside PostgreSQL, then lets go: both
transactions start from the same committed state at the same instant. The row lock each
transition takes (``SELECT … FOR UPDATE``) must then let exactly one win; the other sees the new
status and gets 409, and exactly one event is written.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction

from kuaiban.appeals import audit, services
from kuaiban.appeals.models import Appeal, AppealEvent
from kuaiban.org.demo import Directory
from kuaiban.org.models import Role, User

pytestmark = [
    pytest.mark.postgres,
    # serialized_rollback: the flush after a transactional test must not lose the rows the data
    # migrations put in (categories, deadline limits) that later tests rely on.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

REPLY = "经现场核实，已协调供热公司更换阀门，室温恢复到二十度以上，并电话告知诉求人。"
PARTLY = "已先行更换损坏的阀门，管网改造需纳入明年计划，已向诉求人解释。"


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")


def _waiting_backends() -> int:
    """Backends of this database that are waiting for a lock right now."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(DISTINCT l.pid) FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE NOT l.granted AND a.datname = current_database()"
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def race(appeal: Appeal, calls: list[Callable[[], Any]]) -> list[Any]:
    """Run ``calls`` in threads that all reach the appeal at once; return their results."""
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []
    started = threading.Barrier(len(calls) + 1)

    def contender(index: int) -> None:
        try:
            started.wait(timeout=30)
            results[index] = calls[index]()
        except BaseException as exc:  # re-raised in the test's thread below
            errors.append(exc)
        finally:
            connection.close()  # each thread has its own connection: close it here

    threads = [threading.Thread(target=contender, args=(i,)) for i in range(len(calls))]
    with transaction.atomic():
        # Hold the row so that every contender queues behind us inside PostgreSQL.
        Appeal.objects.select_for_update().get(pk=appeal.pk)
        for t in threads:
            t.start()
        started.wait(timeout=30)
        deadline = time.monotonic() + 30
        while _waiting_backends() < len(calls):
            if time.monotonic() > deadline or errors:
                break
            time.sleep(0.02)
        queued = _waiting_backends()
    # Leaving the block commits and releases the lock: now they race.
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads), "a contender hung"
    assert queued == len(calls), f"only {queued} of {len(calls)} contenders queued on the lock"
    return results


def second_user(county: Directory, username: str, role: str, unit: str | None = None) -> User:
    return User.objects.create_user(
        username=username,
        password="kuaiban-demo-2",
        role=role,
        unit=county.units[unit] if unit else None,
        display_name=f"{username} 测试",
    )


def statuses(results: list[Any]) -> list[int]:
    return sorted(r.status for r in results)


def events_of(appeal: Appeal, action: str) -> list[AppealEvent]:
    return list(AppealEvent.objects.filter(appeal=appeal, action=action))


def assert_chain_intact() -> None:
    assert list(audit.verify()) == []


def dispatched(make_appeal: Any, county: Directory) -> Appeal:
    appeal = make_appeal()
    services.appeal_dispatch(actor=county.users["operator"], number=appeal.number, unit="zjj")
    return Appeal.objects.get(pk=appeal.pk)


def test_two_handlers_claim_at_once_one_wins(api: Any, make_appeal: Any, county: Directory) -> None:
    second_user(county, "handler-zjj-2", Role.HANDLER, "zjj")
    appeal = dispatched(make_appeal, county)
    first, second = api("handler-zjj"), api("handler-zjj-2")
    path = f"/appeals/{appeal.number}/claim"

    results = race(appeal, [lambda: first.post(path), lambda: second.post(path)])

    assert statuses(results) == [200, 409], [r.body for r in results]
    winner = next(r for r in results if r.status == 200)
    loser = next(r for r in results if r.status == 409)
    assert winner.body["status"] == "in_progress"
    assert loser.body["detail"] and isinstance(loser.body["errors"], list)
    appeal.refresh_from_db()
    claims = events_of(appeal, "claim")
    assert len(claims) == 1
    assert appeal.status == "in_progress"
    assert appeal.handler is not None and winner.body["handler"] == str(appeal.handler)
    assert claims[0].actor_id == appeal.handler_id
    assert appeal.event_count == 3  # register, dispatch, one claim
    assert_chain_intact()


def test_two_operators_dispatch_at_once_one_wins(
    api: Any, make_appeal: Any, county: Directory
) -> None:
    second_user(county, "operator-2", Role.OPERATOR)
    appeal = make_appeal()
    first, second = api("operator"), api("operator-2")
    path = f"/appeals/{appeal.number}/dispatch"

    results = race(
        appeal,
        [
            lambda: first.post(path, {"unit": "zjj", "note": "供暖问题，请住建局牵头"}),
            lambda: second.post(path, {"unit": "cgj", "note": "请城管局核实"}),
        ],
    )

    assert statuses(results) == [200, 409], [r.body for r in results]
    winner = next(r for r in results if r.status == 200)
    appeal.refresh_from_db()
    dispatches = events_of(appeal, "dispatch")
    assert len(dispatches) == 1
    assert appeal.lead_unit is not None
    assert appeal.lead_unit.code == winner.body["lead_unit"]["code"]
    assert dispatches[0].payload["unit"] == appeal.lead_unit.code
    assert appeal.event_count == 2
    assert_chain_intact()


def test_two_handlers_reply_at_once_one_wins(api: Any, make_appeal: Any, county: Directory) -> None:
    second_user(county, "handler-zjj-2", Role.HANDLER, "zjj")
    appeal = dispatched(make_appeal, county)
    services.appeal_claim(actor=county.users["handler-zjj"], number=appeal.number)
    first, second = api("handler-zjj"), api("handler-zjj-2")
    path = f"/appeals/{appeal.number}/reply"

    results = race(
        appeal,
        [
            lambda: first.post(path, {"result": "resolved", "text": REPLY}),
            lambda: second.post(path, {"result": "partly", "text": PARTLY}),
        ],
    )

    assert statuses(results) == [200, 409], [r.body for r in results]
    winner = next(r for r in results if r.status == 200)
    appeal.refresh_from_db()
    assert len(events_of(appeal, "reply")) == 1
    assert appeal.status == "replied"
    assert appeal.reply_result == winner.body["reply_result"]
    assert appeal.event_count == 4
    assert_chain_intact()
