"""Who may see and do what in the enterprise domain. One place, read by services and selectors.

There is no "official" role: an official is any user with an active 包保 assignment. Leaders (and
the county desk: operators, supervisors, administrators) see every enterprise; everybody else
sees only the enterprises assigned to them.
"""

from __future__ import annotations

from django.db.models import Q

from kuaiban.org.models import Role, User

SEE_ALL = frozenset({Role.LEADER, Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})
MANAGE_REGISTRY = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})
ASSIGN = frozenset({Role.LEADER, Role.SUPERVISOR, Role.ADMIN})
# Besides the enterprise's own officials, these may record a visit to any enterprise.
VISIT_ANY = frozenset({Role.LEADER, Role.SUPERVISOR})
# The leader's office (leaders and the county desk) runs the meetings.
RUN_MEETINGS = frozenset({Role.LEADER, Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})
# Who reads enterprise contacts' phones in full: the registry desk, and (see
# selectors.full_contact_enterprises) the enterprise's own officials. Others, leaders included,
# see them masked, as in the ledger.
SEE_CONTACT_PHONES = MANAGE_REGISTRY
PUBLISH_POLICIES = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})
PROMOTE_ANSWERS = frozenset({Role.OPERATOR, Role.SUPERVISOR})
# Industry chains (产业链): the leaders' office sets them up and names their leaders.
MANAGE_CHAINS = frozenset({Role.LEADER, Role.SUPERVISOR, Role.ADMIN})
# WeChat matrix groups (微信矩阵群): the registry desk keeps them; the desk that watches the
# groups registers what is raised there.
MANAGE_GROUPS = MANAGE_REGISTRY
RUN_GROUPS = frozenset({Role.OPERATOR, Role.SUPERVISOR})
SEE_FIGURES = frozenset({Role.LEADER, Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})


def active(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def has(user: User, roles: frozenset[str]) -> bool:
    return active(user) and user.role in roles


def sees_all(user: User) -> bool:
    return has(user, SEE_ALL)


def enterprise_q(user: User) -> Q | None:
    """A filter on Enterprise for what ``user`` may read; None means nothing."""
    if not active(user):
        return None
    if user.role in SEE_ALL:
        return Q()
    return Q(assignments__official=user, assignments__ended_at__isnull=True)
