from django.contrib import admin

from kuaiban.doors.models import DoorVisit, FocusList, GridHouseholds


@admin.register(GridHouseholds)
class GridHouseholdsAdmin(admin.ModelAdmin):
    list_display = ("grid", "households", "updated_at")
    search_fields = ("grid__name", "grid__code")
    autocomplete_fields = ("grid",)


@admin.register(FocusList)
class FocusListAdmin(admin.ModelAdmin):
    list_display = ("unit", "quarter", "published_by", "published_at")
    list_filter = ("quarter",)
    readonly_fields = ("unit", "quarter", "topics", "published_by", "published_at")

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(DoorVisit)
class DoorVisitAdmin(admin.ModelAdmin):
    list_display = ("grid", "quarter", "address", "nobody_home", "visited_at")
    list_filter = ("quarter", "nobody_home")
    exclude = ("phone",)

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
