"""What every map page needs: the tile layer and the opening view from the settings, and the
coarse point the public may see in place of an exact one."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

from django.conf import settings

# The public's grid: 0.001° is about 111 m north-south and 90–100 m east-west in China's
# latitudes. A point is moved to the nearest node of the grid, so everyone within the same
# cell of about 100 m shows at the same place, and the exact point never leaves the server.
BLUR_STEP = Decimal("0.001")


def blur(value: Decimal | float | str) -> float:
    """A coordinate snapped to the public grid."""
    return float(Decimal(str(value)).quantize(BLUR_STEP, rounding=ROUND_HALF_EVEN))


def map_attrs() -> dict[str, str]:
    """The data attributes of a map element (read by kuaiban/map.js): tiles, attribution and
    the opening view. No tiles configured: the tile URL is empty and the page says so."""
    lat, lng, zoom = settings.KUAIBAN_MAP_CENTER_PARSED
    return {
        "tiles": settings.KUAIBAN_MAP_TILES_URL,
        "attribution": settings.KUAIBAN_MAP_ATTRIBUTION,
        "subdomains": settings.KUAIBAN_MAP_SUBDOMAINS,
        "center": f"{lat},{lng}",
        "zoom": str(zoom),
    }
