"""Chinese text normalisation shared by search and routing."""

from __future__ import annotations

import functools
import unicodedata
from typing import Protocol


class _Converter(Protocol):
    def convert(self, string: str) -> str: ...


@functools.cache
def _opencc() -> _Converter:
    from opencc import OpenCC

    converter: _Converter = OpenCC("t2s")
    return converter


def to_simplified(text: str) -> str:
    """Traditional to Simplified Chinese: OpenCC's ``t2s`` (the official C++ library's binding)."""
    if not text:
        return ""
    return _opencc().convert(text)


def fold(text: str) -> str:
    """Search key: NFKC (full-width → half-width), Traditional → Simplified, lower case.

    The ledger stores this form of title and content; a query folded the same way finds text
    written in either script or width.
    """
    if not text:
        return ""
    return to_simplified(unicodedata.normalize("NFKC", text)).lower()
