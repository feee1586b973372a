"""Chinese text normalisation shared by search and routing."""

from __future__ import annotations

import functools
import re
import unicodedata
from pathlib import Path
from typing import Protocol


class _Converter(Protocol):
    def convert(self, string: str) -> str: ...


@functools.cache
def _opencc() -> _Converter:
    from opencc import OpenCC

    converter: _Converter = OpenCC("t2s")
    return converter


@functools.cache
def _traditional_re() -> re.Pattern[str]:
    """Finds a character of ``_traditional_chars`` in the Basic Multilingual Plane.

    A character class is scanned in C (``frozenset.intersection`` makes a string object of each
    character: 4x slower), but only for BMP characters: with the few beyond it in the class,
    ``re`` falls back to testing them one by one (50x slower).  ``_has_traditional`` checks
    those separately.
    """
    bmp = sorted(c for c in _traditional_chars() if ord(c) <= 0xFFFF)
    return re.compile("[" + "".join(map(re.escape, bmp)) + "]")


_ASTRAL_RE = re.compile("[\U00010000-\U0010ffff]")


def _has_traditional(text: str) -> bool:
    if _traditional_re().search(text) is not None:
        return True
    return _ASTRAL_RE.search(text) is not None and not _traditional_chars().isdisjoint(text)


@functools.cache
def _traditional_chars() -> frozenset[str]:
    """Characters whose presence means t2s may change the text.

    The pure-Python OpenCC is slow (~2,600 messages/s); almost every appeal is already Simplified,
    so we only call it when the text holds a character that its dictionaries would convert.
    """
    import opencc

    folder = Path(opencc.__file__).parent / "dictionary"
    chars: set[str] = set()
    for line in (folder / "TSCharacters.txt").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("\t")
        if key and value.split(" ")[0] != key:
            chars.add(key)
    for line in (folder / "TSPhrases.txt").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("\t")
        target = value.split(" ")[0]
        # A phrase that changes although none of its characters does on its own (回覆 -> 回复):
        # the characters that change in it must trigger conversion too.
        if key and target != key and not chars.intersection(key):
            if len(target) == len(key):
                chars.update(k for k, v in zip(key, target, strict=True) if k != v)
            else:
                chars.update(key)
    return frozenset(chars)


def to_simplified(text: str) -> str:
    """Traditional to Simplified Chinese (OpenCC ``t2s``), skipped when nothing would change.

    OpenCC's ``convert`` cuts the text at punctuation and whitespace and converts each piece on
    its own; a piece without a character of ``_traditional_chars`` comes out unchanged, so only
    the pieces that have one are converted (OpenCC's own per-piece conversion, ``_convert``):
    the same result for a fraction of the time (a test compares them).
    """
    if not _has_traditional(text):
        return text
    converter = _opencc()
    split = getattr(converter, "split_chars_re", None)
    convert_piece = getattr(converter, "_convert", None)
    chain = getattr(converter, "_dict_chain_data", None)
    if split is None or convert_piece is None or chain is None:  # another OpenCC version
        return converter.convert(text)
    parts: list[str] = split.split(text)
    for i in range(0, len(parts), 2):  # even: text between separators (odd: the separators)
        if _has_traditional(parts[i]):
            parts[i] = convert_piece(parts[i], chain)
    return "".join(parts)


def fold(text: str) -> str:
    """Search key: NFKC (full-width → half-width), Traditional → Simplified, lower case.

    The ledger stores this form of title and content; a query folded the same way finds text
    written in either script or width.
    """
    if not text:
        return ""
    return to_simplified(unicodedata.normalize("NFKC", text)).lower()
