"""Telling the submitter, by SMS, at each public step of their appeal (filled in below)."""

from __future__ import annotations

from kuaiban.appeals.models import Appeal, AppealEvent


def on_appeal_event(appeal: Appeal, event: AppealEvent) -> None:
    """The after-commit hook (registered in apps.py)."""
    return None
