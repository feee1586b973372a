from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from kuaiban.core.models import WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    """Read-only; delete the row of a worker retired for good, or /healthz keeps failing."""

    list_display = ("name", "host", "pid", "started_at", "last_beat", "errors", "last_error_at")
    readonly_fields = (
        "name",
        "host",
        "pid",
        "started_at",
        "last_beat",
        "interval",
        "errors",
        "last_error",
        "last_error_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
