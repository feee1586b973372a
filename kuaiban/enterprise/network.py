"""Role-scoped reads of the enterprise networks: industry chains (产业链) and the WeChat matrix
groups (微信矩阵群). Writes are in ``services.chains`` and ``services.groups``."""

from __future__ import annotations

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from kuaiban.appeals import policy as appeal_policy
from kuaiban.appeals.models import OPEN_STATUSES, Appeal
from kuaiban.core.errors import NotFound, PermissionDenied
from kuaiban.enterprise import rules
from kuaiban.enterprise.models import (
    Assignment,
    BaobaoRole,
    Enterprise,
    EnterpriseGroup,
    GroupAnswer,
    IndustryChain,
)
from kuaiban.org.models import User


def _need_overview(user: User) -> None:
    if not rules.sees_all(user):
        raise PermissionDenied(
            _("Industry chains and WeChat groups are for the county's leaders and desk.")
        )


def chains(*, user: User) -> QuerySet[IndustryChain]:
    """Every chain with its counts, for those who see every enterprise (leaders and the desk)."""
    _need_overview(user)
    return IndustryChain.objects.select_related("leader").annotate(
        enterprise_count=Count("enterprises", distinct=True),
        project_count=Count("projects", distinct=True),
    )


def chain_get(*, user: User, chain_id: int) -> IndustryChain:
    _need_overview(user)
    leaders = Assignment.objects.filter(
        ended_at__isnull=True, role=BaobaoRole.LEADER
    ).select_related("official")
    chain = (
        IndustryChain.objects.select_related("leader")
        .prefetch_related(
            Prefetch(
                "enterprises",
                queryset=Enterprise.objects.select_related("industry", "township").prefetch_related(
                    Prefetch("assignments", queryset=leaders, to_attr="leader_seats")
                ),
            ),
            "projects__owner_unit",
        )
        .filter(pk=chain_id)
        .first()
    )
    if chain is None:
        raise NotFound(_("No industry chain #%(id)s.") % {"id": chain_id})
    return chain


def open_appeals_of(*, user: User, enterprises: list[Enterprise]) -> QuerySet[Appeal]:
    """The open appeals of these enterprises that ``user`` may read (by credit code or link)."""
    visible = appeal_policy.visible_q(user)
    if visible is None or not enterprises:
        return Appeal.objects.none()
    codes = [e.credit_code for e in enterprises]
    return (
        Appeal.objects.filter(visible, status__in=OPEN_STATUSES)
        .filter(Q(credit_code__in=codes) | Q(enterprise_link__enterprise__in=enterprises))
        .select_related("lead_unit", "enterprise_link")
        .distinct()
        .order_by("-received_at", "-id")
    )


def groups(*, user: User) -> QuerySet[EnterpriseGroup]:
    _need_overview(user)
    return EnterpriseGroup.objects.select_related("industry").annotate(
        member_count=Count("members", distinct=True)
    )


def group_get(*, user: User, group_id: int) -> EnterpriseGroup:
    _need_overview(user)
    group = (
        EnterpriseGroup.objects.select_related("industry")
        .prefetch_related("members__contacts")
        .filter(pk=group_id)
        .first()
    )
    if group is None:
        raise NotFound(_("No WeChat group #%(id)s.") % {"id": group_id})
    return group


def group_appeals(*, user: User, group: EnterpriseGroup) -> QuerySet[Appeal]:
    """The appeals raised in ``group`` that ``user`` may read, newest first."""
    visible = appeal_policy.visible_q(user)
    if visible is None:
        return Appeal.objects.none()
    return (
        Appeal.objects.filter(visible, enterprise_link__group=group)
        .select_related("lead_unit", "enterprise_link__enterprise")
        .order_by("-received_at", "-id")
    )


def group_answers(group: EnterpriseGroup) -> QuerySet[GroupAnswer]:
    return group.answers.select_related("appeal", "posted_by")
