"""Enterprise API: the registry, its Excel import, 包保 assignments and visits (走访)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, File, Query, Schema, Status
from ninja.files import UploadedFile

from kuaiban.api.schemas import ERRORS, InputSchema, QuerySchema, RefOut
from kuaiban.core.errors import PermissionDenied
from kuaiban.enterprise import industries, rules, selectors, services
from kuaiban.enterprise.api.common import (
    BaobaoRoleT,
    EnterpriseAppealOut,
    EnterpriseDetailOut,
    EnterpriseIn,
    EnterpriseOut,
    EnterprisePage,
    IndustryOut,
    ProblemIn,
    SizeT,
    appeal_line,
    enterprise_out,
    ref,
    router,
    user_of,
    with_related,
)
from kuaiban.enterprise.models import (
    Assignment,
    Enterprise,
    EnterpriseVisit,
)

# ----- registry ---------------------------------------------------------------------------------


@router.get("/industries", response=list[IndustryOut], summary="GB/T 4754-2017 sections A–T")
def list_industries(request: HttpRequest) -> list[dict[str, str]]:
    return [{"code": i.code, "name": i.name} for i in industries.rows()]


class EnterpriseParams(QuerySchema):
    q: str | None = None
    industry: str | None = None
    size: SizeT | None = None
    township: str | None = Field(None, description="Township region code")
    assigned: Literal["yes", "no"] | None = None
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0)


@router.get(
    "/enterprises",
    response={200: EnterprisePage, **ERRORS},
    summary="Enterprises you may see (leaders: all; officials: those assigned to them)",
)
def list_enterprises(request: HttpRequest, params: Query[EnterpriseParams]) -> dict[str, Any]:
    f = selectors.EnterpriseFilter(
        q=params.q or "",
        industry=params.industry or "",
        size=params.size or "",
        township=params.township or "",
        assigned=params.assigned or "",
    )
    user = user_of(request)
    qs = selectors.enterprise_list(user=user, f=f)
    rows = with_related(qs)[params.offset : params.offset + params.limit]
    full = selectors.full_contact_enterprises(user)
    return {"items": [enterprise_out(e, full) for e in rows], "total": qs.count()}


@router.post("/enterprises", response={201: EnterpriseOut, **ERRORS}, summary="Register one")
def create_enterprise(request: HttpRequest, payload: EnterpriseIn) -> Status[dict[str, Any]]:
    enterprise = services.enterprise_create(
        actor=user_of(request), data=services.EnterpriseInput(**payload.dict())
    )
    return Status(201, enterprise_out(with_related(Enterprise.objects).get(pk=enterprise.pk)))


class ImportOut(Schema):
    dry_run: bool
    written: bool
    total: int
    create: int
    update: int
    unchanged: int
    invalid: int
    rows: list[dict[str, Any]]


@router.post(
    "/enterprises/import",
    response={200: ImportOut, **ERRORS},
    summary="Import an Excel workbook (dry run by default; every invalid row reported)",
)
def import_enterprises(
    request: HttpRequest,
    file: File[UploadedFile],
    dry_run: bool = True,
    skip_invalid: bool = False,
) -> dict[str, Any]:
    user = user_of(request)
    if not rules.has(user, rules.MANAGE_REGISTRY):
        raise PermissionDenied(_("Your role may not import enterprises."))
    rows = services.read_workbook(file)
    report = services.enterprise_import(
        actor=user, rows=rows, dry_run=dry_run, skip_invalid=skip_invalid
    )
    return report.as_dict()


@router.get("/enterprises/{credit_code}", response={200: EnterpriseDetailOut, **ERRORS})
def get_enterprise(request: HttpRequest, credit_code: str) -> dict[str, Any]:
    user = user_of(request)
    enterprise = selectors.enterprise_get(user=user, credit_code=credit_code)
    out = enterprise_out(
        with_related(Enterprise.objects).get(pk=enterprise.pk),
        selectors.full_contact_enterprises(user),
    )
    out["appeals"] = [
        appeal_line(a) for a in selectors.enterprise_appeals(user=user, enterprise=enterprise)
    ]
    return out


@router.put("/enterprises/{credit_code}", response={200: EnterpriseOut, **ERRORS})
def update_enterprise(
    request: HttpRequest, credit_code: str, payload: EnterpriseIn
) -> dict[str, Any]:
    enterprise = services.enterprise_update(
        actor=user_of(request),
        credit_code=credit_code.strip().upper(),
        data=services.EnterpriseInput(**payload.dict()),
    )
    return enterprise_out(with_related(Enterprise.objects).get(pk=enterprise.pk))


# ----- assignments ----------------------------------------------------------------------------


class AssignmentIn(InputSchema):
    official: str = Field(..., description="Username of the leader or official")
    enterprise: str | None = Field(None, description="Credit code")
    project: int | None = Field(None, description="Livelihood project id")
    duty: str = Field("", max_length=100)
    role: BaobaoRoleT | None = Field(
        None,
        description="四包 role on an enterprise: leader 县级领导包解难题, "
        "approval 审批部门包办手续, responsible 责任单位包抓进度, service 业务骨干包联服务",
    )
    unit: str | None = Field(
        None, max_length=32, description="Unit code for approval/responsible (default: own unit)"
    )
    replace: bool = Field(False, description="Hand the role over from its current holder")


class AssignmentOut(Schema):
    id: int
    official: str
    official_name: str
    enterprise: str | None
    enterprise_name: str | None
    project: int | None
    duty: str
    role: str
    role_label: str
    unit: RefOut | None
    assigned_at: dt.datetime
    ended_at: dt.datetime | None


def assignment_out(a: Assignment) -> dict[str, Any]:
    return {
        "id": a.pk,
        "official": a.official.username,
        "official_name": a.official.label,
        "enterprise": a.enterprise.credit_code if a.enterprise else None,
        "enterprise_name": a.enterprise.name if a.enterprise else None,
        "project": a.project_id,
        "duty": a.duty,
        "role": a.role,
        "role_label": a.get_role_display() if a.role else "",
        "unit": ref(a.unit),
        "assigned_at": a.assigned_at,
        "ended_at": a.ended_at,
    }


class AssignmentParams(QuerySchema):
    official: str | None = None
    enterprise: str | None = None
    project: int | None = None
    role: BaobaoRoleT | None = None
    active: bool = True


@router.get("/assignments", response={200: list[AssignmentOut], **ERRORS})
def list_assignments(request: HttpRequest, params: Query[AssignmentParams]) -> list[dict[str, Any]]:
    user = user_of(request)
    qs = Assignment.objects.select_related("official", "enterprise", "unit")
    if not rules.sees_all(user):
        qs = qs.filter(official=user)  # an official sees their own assignments only
    if params.official:
        qs = qs.filter(official__username=params.official)
    if params.enterprise:
        qs = qs.filter(enterprise__credit_code=params.enterprise.strip().upper())
    if params.project:
        qs = qs.filter(project_id=params.project)
    if params.role:
        qs = qs.filter(role=params.role)
    if params.active:
        qs = qs.filter(ended_at__isnull=True)
    return [assignment_out(a) for a in qs[:1000]]


@router.post("/assignments", response={201: AssignmentOut, **ERRORS})
def create_assignment(request: HttpRequest, payload: AssignmentIn) -> Status[dict[str, Any]]:
    a = services.assignment_create(actor=user_of(request), **payload.dict())
    return Status(201, assignment_out(a))


@router.post("/assignments/{assignment_id}/end", response={200: AssignmentOut, **ERRORS})
def end_assignment(request: HttpRequest, assignment_id: int) -> dict[str, Any]:
    return assignment_out(
        services.assignment_end(actor=user_of(request), assignment_id=assignment_id)
    )


# ----- visits ----------------------------------------------------------------------------------


class EnterpriseVisitIn(InputSchema):
    credit_code: str
    visited_on: dt.date
    findings: str
    visitors: list[str] = Field(default_factory=list, description="Usernames besides you")
    problems: list[ProblemIn] = Field(default_factory=list)


class VisitOut(Schema):
    id: int
    enterprise: str
    visited_on: dt.date
    findings: str
    visitors: list[str]
    recorded_by: str
    appeals: list[EnterpriseAppealOut]


def visit_out(v: EnterpriseVisit) -> dict[str, Any]:
    return {
        "id": v.pk,
        "enterprise": v.enterprise.credit_code,
        "visited_on": v.visited_on,
        "findings": v.findings,
        "visitors": sorted(u.username for u in v.visitors.all()),
        "recorded_by": v.recorded_by.username,
        "appeals": [
            appeal_line(link.appeal)
            for link in v.problems.select_related("appeal", "appeal__lead_unit").order_by(
                "appeal_id"
            )
        ],
    }


@router.get("/enterprise-visits", response={200: list[VisitOut], **ERRORS})
def list_visits(
    request: HttpRequest, enterprise: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    user = user_of(request)
    qs = EnterpriseVisit.objects.filter(
        enterprise__in=selectors.visible_enterprises(user)
    ).select_related("enterprise", "recorded_by")
    if enterprise:
        qs = qs.filter(enterprise__credit_code=enterprise.strip().upper())
    return [visit_out(v) for v in qs.order_by("-visited_on", "-id")[: max(1, min(limit, 500))]]


@router.post(
    "/enterprise-visits",
    response={201: VisitOut, **ERRORS},
    summary="Record a visit (走访); each problem becomes an appeal with channel visit",
)
def create_visit(request: HttpRequest, payload: EnterpriseVisitIn) -> Status[dict[str, Any]]:
    visit = services.visit_record(
        actor=user_of(request),
        credit_code=payload.credit_code.strip().upper(),
        data=services.VisitInput(
            visited_on=payload.visited_on,
            findings=payload.findings,
            visitors=payload.visitors,
            problems=[services.ProblemInput(**p.dict()) for p in payload.problems],
        ),
    )
    return Status(201, visit_out(visit))
