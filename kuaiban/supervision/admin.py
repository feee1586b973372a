"""Read-mostly admin views of the supervision records (changes go through the services)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from kuaiban.supervision.models import Extension, Notification, OrderEvent, SupervisionOrder


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Extension)
class ExtensionAdmin(ReadOnlyAdmin):
    list_display = ("appeal", "unit", "status", "current_due", "proposed_due", "requested_at")
    list_filter = ("status", "unit")
    search_fields = ("appeal__number", "reason")
    raw_id_fields = ("appeal",)


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    can_delete = False
    fields = ("seq", "at", "actor_label", "action", "note")
    readonly_fields = fields


@admin.register(SupervisionOrder)
class SupervisionOrderAdmin(ReadOnlyAdmin):
    list_display = ("number", "unit", "level", "status", "due_at", "overdue_at", "issued_at")
    list_filter = ("status", "level", "unit")
    search_fields = ("number", "text", "appeal__number")
    raw_id_fields = ("appeal",)
    inlines = (OrderEventInline,)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("recipient", "kind", "created_at", "read_at", "mail")
    list_filter = ("kind", "mail")
    search_fields = ("recipient__username", "key")
    raw_id_fields = ("recipient", "appeal", "order")
