from __future__ import annotations

from django.contrib import admin

from kuaiban.portal.models import Entrance


@admin.register(Entrance)
class EntranceAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "channel", "active", "position")
    list_editable = ("active", "position")
