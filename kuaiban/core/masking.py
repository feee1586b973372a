"""The one masking function for personal data in free text.

Used wherever a reader may not see full phone and ID numbers: public pages and answers
(tracking, Open311), webhooks, and the API, pages and exports for roles that see masked numbers.

Contact fields are never output at all; this masks what people type into free text: the
submitter's own name, phone, email and ID number wherever they occur, and anything shaped like a
phone number, an ID number or an email address.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Seven or more digits, possibly split by spaces or hyphens (phones, ID numbers, bank cards),
# optionally ending in the X of an ID number.
_LONG_NUMBER = re.compile(r"(?<![\dA-Za-z])\+?\d(?:[\d -]{5,}\d)[Xx]?(?![\dA-Za-z])")


def _mask(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(c.isdigit() for c in text)
    return "*" * len(text) if digits >= 7 else text


def mask_text(text: str, known: Iterable[str] = ()) -> str:
    """``text`` with the ``known`` personal values and number/email shapes masked by ``*``."""
    if not text:
        return text
    for value in sorted(
        {v.strip() for v in known if v and len(v.strip()) >= 2}, key=len, reverse=True
    ):
        text = text.replace(value, "*" * len(value))
    text = _EMAIL.sub(lambda m: "*" * len(m.group(0)), text)
    return _LONG_NUMBER.sub(_mask, text)
