"""The shipped limits table for every test that builds the county: another app's transactional
test may have flushed the data the migration wrote."""

from __future__ import annotations

import pytest

from kuaiban.deadlines.services import ensure_defaults
from kuaiban.org.demo import Directory


@pytest.fixture
def county(county: Directory) -> Directory:
    ensure_defaults()
    return county
