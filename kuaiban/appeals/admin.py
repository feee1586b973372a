"""The subject tree (事项分类) in the admin: the README promises categories are managed there.

Appeals themselves are not editable in the admin: every change of an appeal goes through its
services (one transaction, one event)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kuaiban.appeals.models import Category


class CategoryForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ("code", "name", "parent", "default_unit")

    def clean_parent(self) -> Category | None:
        parent: Category | None = self.cleaned_data.get("parent")
        node = parent
        while node is not None:
            if self.instance.pk and node.pk == self.instance.pk:
                raise forms.ValidationError(_("A category cannot sit under itself."))
            node = node.parent
        return parent


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    form = CategoryForm
    list_display = ("code", "name", "parent", "level", "default_unit")
    list_filter = ("level", "default_unit")
    search_fields = ("code", "name")
    autocomplete_fields = ("parent",)
    readonly_fields = ("level",)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # The level follows from the place in the tree, for the category and all below it.
        obj.level = obj.parent.level + 1 if obj.parent else 1
        super().save_model(request, obj, form, change)
        frontier = [obj]
        while frontier:
            children = list(Category.objects.filter(parent__in=frontier))
            for child in children:
                child.level = child.parent.level + 1 if child.parent else 1
            Category.objects.bulk_update(children, ["level"])
            frontier = children
