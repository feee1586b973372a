"""Checks every enterprise write shares: bounded text, gathered field errors, the role gate."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.utils.translation import gettext as _

from kuaiban.core.errors import FieldError, PermissionDenied, ValidationFailed
from kuaiban.enterprise import rules
from kuaiban.org.models import User

PERSON_MAX = 50


def text(value: str | None, field_name: str, *, required: bool, limit: int) -> str:
    out = (value or "").strip()
    if required and not out:
        raise ValidationFailed.one(field_name, _("This field is required."))
    if len(out) > limit:
        raise ValidationFailed.one(
            field_name,
            _("At most %(limit)d characters (got %(n)d).") % {"limit": limit, "n": len(out)},
        )
    return out


def collect(checks: Iterable[tuple[str, Callable[[], Any]]]) -> dict[str, Any]:
    """Run every check and gather all field errors, so a form can show each beside its field."""
    clean: dict[str, Any] = {}
    errors: list[FieldError] = []
    for name, check in checks:
        try:
            clean[name] = check()
        except ValidationFailed as exc:
            errors.extend(exc.errors)
    if errors:
        raise ValidationFailed(errors)
    return clean


def require(user: User, roles: frozenset[str]) -> None:
    if not rules.has(user, roles):
        raise PermissionDenied(
            _("Your role (%(role)s) may not do this.") % {"role": user.get_role_display()}
        )
