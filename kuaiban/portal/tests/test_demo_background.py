"""`kuaiban demo --background` (what `make run` does): the directory at once, the ledger by the
worker, and a banner on every page until it is in."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.test import Client

from kuaiban.appeals.models import Appeal, Status
from kuaiban.open311.selectors import forget_version
from kuaiban.org.models import Unit, User
from kuaiban.routing.models import ModelVersion


@pytest.fixture
def no_progress() -> Iterator[None]:
    """The progress cache is files in the data directory: nothing left for other tests."""
    caches["progress"].clear()
    yield
    caches["progress"].clear()


# The worker (django_tasks_db's db_worker) closes and opens its connections between tasks, as
# it must in production: this test commits for real.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_ledger_loads_in_the_background_with_a_banner_meanwhile(no_progress: None) -> None:
    # The tables were just emptied and refilled (transaction=True): Open311's per-process
    # catalogue must ask for its version again rather than trust the last second's answer.
    forget_version()
    out = io.StringIO()
    call_command("demo", "--background", "--appeals", "40", "--seed", "11", stdout=out)
    assert "loading in the background" in out.getvalue()
    # The directory is there, and people can log in: the ledger is not, yet.
    assert Unit.objects.filter(kind="department").count() > 10
    assert Appeal.objects.count() == 0
    c = Client()
    c.force_login(User.objects.get(username="supervisor"))
    page = c.get("/appeals/").content.decode()
    assert 'data-testid="demo-loading"' in page and "演示台账正在后台加载（0%）" in page

    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", stdout=io.StringIO())

    # The 40 invented appeals (numbered first) walked through the services, then the
    # enterprises' problems and the rest (too few closed appeals to train routing models on).
    # (The day's number sequence may have run on in earlier tests that committed.)
    numbers = sorted(int(n[-6:]) for n in Appeal.objects.values_list("number", flat=True))
    assert numbers[:40] == list(range(numbers[0], numbers[0] + 40)) and len(numbers) > 40
    statuses = set(Appeal.objects.values_list("status", flat=True))
    assert Status.CLOSED in statuses and len(statuses) >= 3
    assert not ModelVersion.objects.exists()
    page = c.get("/appeals/").content.decode()
    assert 'data-testid="demo-loading"' not in page


@pytest.mark.django_db
def test_a_second_demo_leaves_a_county_alone() -> None:
    call_command("demo", "--appeals", "0", stdout=io.StringIO())
    out = io.StringIO()
    call_command("demo", "--if-empty", "--background", stdout=out)
    assert "already has a county" in out.getvalue()
    assert Appeal.objects.count() == 0
