"""Serve front-end assets straight from installed Python packages (nothing is copied into git)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

# static path → (package, path inside the package)
PACKAGE_ASSETS: dict[str, tuple[str, str]] = {
    "vendor/plotly.min.js": ("plotly", "package_data/plotly.min.js"),
    # Leaflet, as django-leaflet ships it; its CSS finds the images beside it.
    **{
        f"vendor/leaflet/{name}": ("leaflet", f"static/leaflet/{name}")
        for name in (
            "leaflet.js",
            "leaflet.css",
            "images/layers.png",
            "images/layers-2x.png",
            "images/marker-icon.png",
            "images/marker-icon-2x.png",
            "images/marker-shadow.png",
        )
    },
}


def _package_file(package: str, inner: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / inner
    return path if path.exists() else None


class PackageDataFinder(BaseFinder):
    def check(self, **kwargs: Any) -> list[Any]:
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: Any) -> Any:
        if path in PACKAGE_ASSETS:
            found = _package_file(*PACKAGE_ASSETS[path])
            if found:
                return [str(found)] if find_all else str(found)
        return [] if find_all else None

    def list(self, ignore_patterns: Any) -> Iterator[tuple[str, FileSystemStorage]]:
        for static_path, (package, inner) in PACKAGE_ASSETS.items():
            found = _package_file(package, inner)
            if found is None:
                continue
            # A storage rooted at the file's folder, with a prefix so collectstatic writes it
            # under the static path we publish.
            storage = FileSystemStorage(location=str(found.parent))
            storage.prefix = str(Path(static_path).parent)  # type: ignore[attr-defined]
            yield found.name, storage
