from django.contrib import admin
from django.http import HttpRequest

from kuaiban.metrics.models import ImportBatch, ScoreScheme, Tier, VillageScheme


@admin.register(ScoreScheme)
class ScoreSchemeAdmin(admin.ModelAdmin):
    """One row: the composite score's weights and the star bands."""

    list_display = (
        "__str__",
        "response_metric",
        "response_weight",
        "resolution_weight",
        "satisfaction_weight",
        "updated_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not ScoreScheme.objects.exists()


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = (
        "file_name",
        "state",
        "rows",
        "valid",
        "invalid",
        "imported",
        "created_by",
        "created_at",
    )
    readonly_fields = (
        "file_name",
        "sha256",
        "state",
        "rows",
        "valid",
        "invalid",
        "duplicates",
        "imported",
        "report",
        "created_by",
    )
    exclude = ("content",)


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    """Assessment tiers (分层分档): listed members, or else every active unit of the kind."""

    list_display = ("name", "slug", "kind", "scoring", "position", "active")
    list_editable = ("position", "active")
    filter_horizontal = ("members",)


@admin.register(VillageScheme)
class VillageSchemeAdmin(admin.ModelAdmin):
    """One row: the village score's weights and the five star bands (星级村)."""

    list_display = (
        "__str__",
        "closure_weight",
        "on_time_weight",
        "satisfaction_weight",
        "authenticity_weight",
        "on_spot_weight",
        "updated_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not VillageScheme.objects.exists()
