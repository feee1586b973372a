"""The livelihood projects under /api/v1/projects: public reads, staff writes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Router, Schema, Status

from kuaiban.api.schemas import ERRORS, InputSchema, RefOut
from kuaiban.org.models import User
from kuaiban.projects import selectors, services

router = Router(tags=["projects"])


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


class MilestoneIn(InputSchema):
    title: str
    due: dt.date


class ProjectIn(InputSchema):
    year: int | None = Field(None, description="Default: this year")
    name: str
    owner_unit: str = Field(..., description="Unit code")
    target: str
    budget: Decimal | None = Field(None, description="10,000 yuan")
    milestones: list[MilestoneIn] = Field(default_factory=list)


class ProgressIn(InputSchema):
    progress: int | None = Field(None, description="0–100; omit to report a milestone only")
    note: str
    milestone: int | None = Field(None, description="Id of a milestone reached")
    reason: str = Field("", description="Why the figure goes down: required when it does")


class MilestoneOut(Schema):
    id: int
    title: str
    due: dt.date
    done_on: dt.date | None
    overdue: bool


class UpdateOut(Schema):
    at: dt.datetime
    progress_from: int
    progress_to: int
    milestone: str | None
    note: str
    reason: str = ""
    photos: list[str] = Field(default_factory=list, description="URLs of the report's photos")


class ProjectOut(Schema):
    id: int
    year: int
    seq: int
    name: str
    owner_unit: RefOut
    target: str
    budget: Decimal
    progress: int
    status: str
    status_note: str
    progress_at: dt.datetime | None
    milestones: list[MilestoneOut]


class ProjectDetailOut(ProjectOut):
    updates: list[UpdateOut]


def project_out(view: selectors.ProjectView) -> dict[str, Any]:
    p = view.project
    overdue = {m.pk for m in view.overdue}
    return {
        "id": p.pk,
        "year": p.year,
        "seq": p.seq,
        "name": p.name,
        "owner_unit": RefOut(code=p.owner_unit.code, name=p.owner_unit.name),
        "target": p.target,
        "budget": p.budget,
        "progress": p.progress,
        "status": view.status,
        "status_note": p.status_note,
        "progress_at": p.progress_at,
        "milestones": [
            {
                "id": m.pk,
                "title": m.title,
                "due": m.due,
                "done_on": m.done_on,
                "overdue": m.pk in overdue,
            }
            for m in p.milestones.all()
        ],
    }


def project_detail(view: selectors.ProjectView) -> dict[str, Any]:
    out = project_out(view)
    out["updates"] = [
        {
            "at": u.at,
            "progress_from": u.progress_from,
            "progress_to": u.progress_to,
            "milestone": u.milestone.title if u.milestone else None,
            "note": u.note,
            "reason": u.reason,
            "photos": [reverse("projects:photo", args=[ph.pk]) for ph in u.photos.all()],
        }
        for u in view.project.updates.select_related("milestone").prefetch_related("photos")[:100]
    ]
    return out


@router.get(
    "/projects",
    auth=None,
    response={200: list[ProjectOut], **ERRORS},
    summary="The year's livelihood projects and their progress (public)",
)
def list_projects(request: HttpRequest, year: int | None = None) -> list[dict[str, Any]]:
    return [project_out(v) for v in selectors.board(year or selectors.today().year)]


@router.post("/projects", response={201: ProjectDetailOut, **ERRORS})
def create_project(request: HttpRequest, payload: ProjectIn) -> Status[dict[str, Any]]:
    data = payload.dict()
    data["milestones"] = [services.MilestoneInput(**m) for m in data["milestones"]]
    project = services.project_create(actor=_user(request), data=services.ProjectInput(**data))
    return Status(201, project_detail(selectors.project_get(project.pk)))


@router.get("/projects/{project_id}", auth=None, response={200: ProjectDetailOut, **ERRORS})
def get_project(request: HttpRequest, project_id: int) -> dict[str, Any]:
    return project_detail(selectors.project_get(project_id))


@router.post(
    "/projects/{project_id}/progress",
    response={200: ProjectDetailOut, **ERRORS},
    summary="Report progress (handlers of the owner unit only)",
)
def report_progress(request: HttpRequest, project_id: int, payload: ProgressIn) -> dict[str, Any]:
    services.project_progress(actor=_user(request), project_id=project_id, **payload.dict())
    return project_detail(selectors.project_get(project_id))


@router.post("/projects/{project_id}/milestones", response={201: ProjectDetailOut, **ERRORS})
def add_milestone(
    request: HttpRequest, project_id: int, payload: MilestoneIn
) -> Status[dict[str, Any]]:
    services.milestone_add(
        actor=_user(request), project_id=project_id, data=services.MilestoneInput(**payload.dict())
    )
    return Status(201, project_detail(selectors.project_get(project_id)))
