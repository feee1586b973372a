"""Reads for the organisation domain."""

from __future__ import annotations

from django.db.models import QuerySet

from kuaiban.org.models import ApiToken, User


def tokens_of(user: User) -> QuerySet[ApiToken]:
    """``user``'s own API tokens, newest first (their keys are never stored)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")
