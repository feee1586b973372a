"""Open311's form-encoded input passes the one text cleaner: NUL refused in the specification's
error format, naming the field, before anything is written; control characters stripped."""

from __future__ import annotations

from typing import Any

import pytest

from kuaiban.appeals.models import Appeal, AppealEvent

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, int]:
    return Appeal.objects.count(), AppealEvent.objects.count()


def test_open311_refuses_nul_and_strips_control_characters(o311: Any, form: dict[str, Any]) -> None:
    before = counts()
    for fmt in ("json", "xml"):
        bad = o311.post(fmt, {**form, "description": "暖气\x00不热"})
        assert bad.status == 400
        assert "description" in bad.errors[0][1]
    assert counts() == before
    ok = o311.post(
        "json", {**form, "description": "暖气一直不热\u0001，室温只有十四度，家里有老人。"}
    )
    assert ok.status == 201, ok.raw
    number = ok.requests()[0]["service_request_id"]
    assert "\u0001" not in Appeal.objects.get(number=number).content
