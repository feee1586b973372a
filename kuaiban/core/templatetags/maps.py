"""``{% map_settings as map %}``: the tile layer and opening view for ``core/_map.html``."""

from __future__ import annotations

from django import template

from kuaiban.core.maps import map_attrs

register = template.Library()


@register.simple_tag
def map_settings() -> dict[str, str]:
    return map_attrs()
