"""Every page says so while the demo ledger is still loading in the background."""

from __future__ import annotations

from django.http import HttpRequest

from kuaiban.core.jobs import Progress, progress
from kuaiban.portal.demo import PROGRESS_JOB


def demo_loading(request: HttpRequest) -> dict[str, Progress]:
    found = progress(PROGRESS_JOB)
    if found is None or found.done >= found.total:
        return {}
    return {"demo_loading": found}
