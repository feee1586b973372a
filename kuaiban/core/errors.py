"""The project's one exception type and its shape.

Services raise :class:`DomainError` (or a subclass); the API maps it to
``{"detail": ..., "errors": [{"field": ..., "message": ...}]}`` with the status below, and the
web shows the message next to the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass
class DomainError(Exception):
    """A refused request. ``status`` is the HTTP status the API answers with."""

    message: str
    code: str = "invalid"
    status: int = 400
    errors: list[FieldError] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self.message))

    def as_dict(self) -> dict[str, Any]:
        return {
            "detail": str(self.message),
            "code": self.code,
            "errors": [{"field": e.field, "message": str(e.message)} for e in self.errors],
        }


class ValidationFailed(DomainError):
    def __init__(self, errors: list[FieldError], message: str | None = None) -> None:
        from django.utils.translation import gettext as _

        super().__init__(
            message=message or (errors[0].message if len(errors) == 1 else _("Invalid input.")),
            code="invalid",
            status=400,
            errors=errors,
        )

    @classmethod
    def one(cls, field_name: str, message: str) -> ValidationFailed:
        return cls([FieldError(field_name, message)])


class PermissionDenied(DomainError):
    def __init__(self, message: str) -> None:
        super().__init__(message=message, code="forbidden", status=403)


class NotFound(DomainError):
    def __init__(self, message: str) -> None:
        super().__init__(message=message, code="not_found", status=404)


class Conflict(DomainError):
    """The action is not allowed in the current state (or lost a race)."""

    def __init__(self, message: str, code: str = "conflict") -> None:
        super().__init__(message=message, code=code, status=409)
