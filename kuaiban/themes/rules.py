"""Who may do what with monthly themes (read by services and selectors alike)."""

from __future__ import annotations

from kuaiban.org.models import Role, User

# Create and close a theme; review any link.
MANAGERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
# Read every theme (the hotline's staff and the county's leaders).
READ_ALL = frozenset({Role.SUPERVISOR, Role.ADMIN, Role.LEADER, Role.OPERATOR, Role.VISITOR})


def manages(user: User) -> bool:
    return bool(user.is_active and (user.role in MANAGERS or user.is_superuser))


def leads(user: User, lead_unit_id: int) -> bool:
    """A handler of the theme's lead unit."""
    return bool(user.is_active and user.role == Role.HANDLER and user.unit_id == lead_unit_id)


def reads_all(user: User) -> bool:
    return bool(user.is_active and (user.role in READ_ALL or user.is_superuser))
