"""Reads for integrations."""

from __future__ import annotations

from django.db.models import QuerySet

from kuaiban.integrations.models import ApiKey, Delivery


def apikey_list() -> QuerySet[ApiKey]:
    """Every key, active ones first, with its last use."""
    return ApiKey.objects.order_by("revoked_at", "name")


def deliveries_for(*, webhook_id: int) -> QuerySet[Delivery]:
    return Delivery.objects.filter(webhook_id=webhook_id).prefetch_related("attempt_log")
