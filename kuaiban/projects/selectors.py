"""Reads of the livelihood projects: the year's list, each project's state, the public chart."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kuaiban.core import clock
from kuaiban.core.errors import NotFound
from kuaiban.projects.models import Milestone, ProgressUpdate, Project

RECENT_DAYS = 30

STATUS_LABELS = {
    "done": gettext_lazy("Done"),
    "delayed": gettext_lazy("Behind schedule"),
    "on_track": gettext_lazy("On track"),
    "not_started": gettext_lazy("Not started"),
}
STATUS_COLOURS = {
    "done": "#2e7d32",
    "delayed": "#c62828",
    "on_track": "#1565c0",
    "not_started": "#9e9e9e",
}


def today() -> dt.date:
    return timezone.localdate(clock.now())


@dataclass
class ProjectView:
    project: Project
    status: str
    overdue: list[Milestone]
    next_milestone: Milestone | None
    done_milestones: int
    total_milestones: int

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])


def state_of(project: Project, on: dt.date) -> ProjectView:
    milestones = list(project.milestones.all())
    overdue = [m for m in milestones if m.done_on is None and m.due < on]
    pending = [m for m in milestones if m.done_on is None]
    if project.progress >= 100:
        status = "done"
    elif overdue:
        status = "delayed"
    elif project.progress == 0:
        status = "not_started"
    else:
        status = "on_track"
    return ProjectView(
        project=project,
        status=status,
        overdue=overdue,
        next_milestone=min(pending, key=lambda m: m.due) if pending else None,
        done_milestones=len(milestones) - len(pending),
        total_milestones=len(milestones),
    )


def projects(year: int) -> QuerySet[Project]:
    return (
        Project.objects.filter(year=year)
        .select_related("owner_unit")
        .prefetch_related(Prefetch("milestones", queryset=Milestone.objects.order_by("due", "id")))
        .order_by("seq")
    )


def years() -> list[int]:
    found = sorted(set(Project.objects.values_list("year", flat=True)), reverse=True)
    return found or [today().year]


def board(year: int) -> list[ProjectView]:
    on = today()
    return [state_of(p, on) for p in projects(year)]


def project_get(project_id: int) -> ProjectView:
    project = (
        Project.objects.select_related("owner_unit")
        .prefetch_related(Prefetch("milestones", queryset=Milestone.objects.order_by("due", "id")))
        .filter(pk=project_id)
        .first()
    )
    if project is None:
        raise NotFound(_("No project #%(id)s.") % {"id": project_id})
    return state_of(project, today())


def recent_updates(year: int, *, days: int = RECENT_DAYS, limit: int = 30) -> list[ProgressUpdate]:
    since = clock.now() - dt.timedelta(days=days)
    return list(
        ProgressUpdate.objects.filter(project__year=year, at__gte=since)
        .select_related("project", "project__owner_unit", "milestone")
        .order_by("-at", "-id")[:limit]
    )


def summary(views: list[ProjectView]) -> dict[str, Any]:
    total = len(views)
    budget = sum((v.project.budget for v in views), start=0)
    return {
        "total": total,
        "done": sum(1 for v in views if v.status == "done"),
        "delayed": sum(1 for v in views if v.status == "delayed"),
        "average": round(sum(v.project.progress for v in views) / total) if total else 0,
        "budget": budget,
        "year_elapsed": _year_elapsed(),
    }


def _year_elapsed() -> int:
    on = today()
    start = dt.date(on.year, 1, 1)
    length = (dt.date(on.year + 1, 1, 1) - start).days
    return round(100 * (on - start).days / length)


def chart_json(views: list[ProjectView]) -> str:
    """A plotly figure (horizontal bars, one per project) as JSON for plotly.js."""
    import plotly.graph_objects as go

    ordered = list(reversed(views))  # plotly draws the first bar at the bottom
    labels = [f"{v.project.seq}. {v.project.name}" for v in ordered]
    fig = go.Figure(
        go.Bar(
            x=[v.project.progress for v in ordered],
            y=labels,
            orientation="h",
            marker_color=[STATUS_COLOURS[v.status] for v in ordered],
            text=[f"{v.project.progress}%" for v in ordered],
            textposition="auto",
            hovertext=[f"{v.project.owner_unit.name} · {v.status_label}" for v in ordered],
            hoverinfo="text",
        )
    )
    fig.update_layout(
        margin={"l": 8, "r": 8, "t": 8, "b": 24},
        height=max(150, 32 * len(views) + 50),
        bargap=0.3,
        xaxis={"range": [0, 100], "dtick": 25, "ticksuffix": "%", "fixedrange": True},
        yaxis={"automargin": True, "fixedrange": True},
        font={"family": "Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif", "size": 12},
        plot_bgcolor="#fff",
        paper_bgcolor="#fff",
        showlegend=False,
    )
    return str(fig.to_json())


def chart_data(views: list[ProjectView]) -> Any:
    return json.loads(chart_json(views))
