"""``{% masked appeal text %}``: free text of an appeal as the reader may see it.

The pages' one way to print an appeal's title, content, address, notes and reply: the phone and
ID numbers in it are masked (kuaiban.core.masking.mask_text) unless the reader sees full numbers
(policy.sees_full_numbers), exactly as the API does.
"""

from __future__ import annotations

from typing import Any

from django import template

from kuaiban.appeals import policy
from kuaiban.appeals.models import Appeal
from kuaiban.org.models import User

register = template.Library()


@register.simple_tag(takes_context=True)
def masked(context: template.Context, appeal: Appeal | None, text: Any) -> str:
    value = "" if text is None else str(text)
    if not value:
        return value
    if appeal is None:
        return policy.NumberMask(full=False)(value)
    request = context.get("request")
    user = getattr(request, "user", None) or context.get("user")
    if not isinstance(user, User):  # the public (the self-rating page): always masked
        return policy.number_mask_public(appeal)(value)
    memo: dict[int, policy.NumberMask] = context.render_context.setdefault(  # type: ignore[assignment]
        "kb_masks",
        {},  # type: ignore[arg-type]
    )
    mask = memo.get(appeal.pk)
    if mask is None:
        mask = memo[appeal.pk] = policy.number_mask(user, appeal)
    return mask(value)
