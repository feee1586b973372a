"""Chinese text normalisation shared by search and routing."""

from __future__ import annotations

import functools
import unicodedata
from typing import Any


@functools.cache
def _t2s() -> Any:
    from opencc import OpenCC

    return OpenCC("t2s")


def to_simplified(text: str) -> str:
    return str(_t2s().convert(text))


def fold(text: str) -> str:
    """Search key: NFKC (full-width → half-width), Traditional → Simplified, lower case.

    The ledger stores this form of title and content; a query folded the same way finds text
    written in either script or width.
    """
    if not text:
        return ""
    return to_simplified(unicodedata.normalize("NFKC", text)).lower()
