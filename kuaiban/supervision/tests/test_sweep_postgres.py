"""Two sweepers at once on PostgreSQL (each thread has its own connection): every alert change
is written once, every notice stored and mailed once, and the hash chains stay intact."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.core import mail
from django.db import connection

from kuaiban.appeals import audit
from kuaiban.appeals.models import Appeal, AppealEvent
from kuaiban.org.models import User
from kuaiban.supervision.models import Notification
from kuaiban.supervision.services.sweep import SweepResult, sweep
from kuaiban.supervision.tests.conftest import Walk, at

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
APPEALS = 60


def run_two_sweepers(*, batch: int) -> list[SweepResult]:
    barrier = threading.Barrier(2)
    results: list[SweepResult] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(sweep(now=at(11, 23, 18), batch=batch))
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert len(results) == 2
    return results


def test_two_concurrent_sweepers_write_each_change_once(
    walk: Walk, people: dict[str, User]
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")
    numbers = [walk("dispatched").number for _ in range(APPEALS)]

    results = run_two_sweepers(batch=7)

    assert sum(r.red for r in results) == APPEALS
    reds = Counter(
        AppealEvent.objects.filter(action="alert_red").values_list("appeal__number", flat=True)
    )
    assert reds == Counter({n: 1 for n in numbers})
    assert set(Appeal.objects.values_list("alert", flat=True)) == {"red"}
    # Three people hear of each appeal (unit head, the other handler, the supervisor) …
    alert_notices = Notification.objects.filter(kind=Notification.Kind.ALERT_RED)
    assert alert_notices.count() == APPEALS * 3
    # … and each is mailed exactly once.
    assert not Notification.objects.filter(mail=Notification.Mail.PENDING).exists()
    mentions = Counter(n for m in mail.outbox for n in numbers if n in m.body)
    # Three red warnings, and the two handlers' notice of the dispatch (work_notices).
    assert mentions == Counter({n: 3 + 2 for n in numbers})
    assert Notification.objects.filter(kind=Notification.Kind.DISPATCHED).count() == APPEALS * 2
    assert list(audit.verify()) == []

    # A third and a fourth sweep, again at once, find nothing to do.
    events, notices = AppealEvent.objects.count(), Notification.objects.count()
    results = run_two_sweepers(batch=7)
    assert sum(r.changes for r in results) == 0
    assert (AppealEvent.objects.count(), Notification.objects.count()) == (events, notices)
