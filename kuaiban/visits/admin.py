"""The visit desk's one settings row in the admin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from kuaiban.visits.models import DeskSettings


@admin.register(DeskSettings)
class DeskSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "self_rating_wait_hours", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not DeskSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
