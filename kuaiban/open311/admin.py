"""Administration of the Open311 catalogue (per-category extras) and the request records."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from kuaiban.open311.models import Open311Request, Service, ServiceAttribute


class AttributeInline(admin.StackedInline):
    model = ServiceAttribute
    extra = 0
    fields = (
        ("code", "order", "datatype", "required", "variable"),
        "description",
        "datatype_description",
        "values",
    )


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("category", "default_kind", "active", "updated_at")
    list_filter = ("active", "default_kind")
    search_fields = ("category__code", "category__name", "keywords")
    raw_id_fields = ("category",)
    inlines = (AttributeInline,)


@admin.register(Open311Request)
class Open311RequestAdmin(admin.ModelAdmin):
    list_display = ("appeal", "api_key", "service_code", "requested_at", "address_string")
    list_filter = ("api_key",)
    search_fields = ("appeal__number", "token")
    readonly_fields = [f.name for f in Open311Request._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
