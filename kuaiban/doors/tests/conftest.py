from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from kuaiban.core import clock
from kuaiban.doors.tests.common import NOW


@pytest.fixture
def now() -> Iterator[dt.datetime]:
    """The county's clock at ``NOW`` (the fourth quarter of 2026)."""
    with clock.frozen(NOW):
        yield NOW
