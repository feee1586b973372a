"""Reads of the livelihood projects: the year's list, each project's state, the public chart."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
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
    # The project's progress reports, oldest first, where a page shows them (history()).
    history: list[ProgressUpdate] = field(default_factory=list)

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[self.status])


def milestone_band(done: int, total: int) -> tuple[int, int]:
    """The progress figures (lowest, highest) that agree with ``done`` of ``total`` milestones
    reached: each milestone stands for an equal share of the work, so with k of n reached the
    figure is at least 100·k/n and below the next milestone's 100·(k+1)/n; 100 % means every
    milestone is reached. A project without milestones may stand anywhere."""
    if total <= 0:
        return 0, 100
    if done >= total:
        return 100, 100
    return round(100 * done / total), round(100 * (done + 1) / total) - 1


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


def _font() -> dict[str, Any]:
    return {"family": "Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif", "size": 12}


def chart_json(views: list[ProjectView]) -> str:
    """A plotly figure (horizontal bars, one per project) as JSON for plotly.js: one trace per
    status, so the legend says what each colour means."""
    import plotly.graph_objects as go

    ordered = list(reversed(views))  # plotly draws the first bar at the bottom
    fig = go.Figure()
    for status, label in STATUS_LABELS.items():
        shown = [v for v in ordered if v.status == status]
        if not shown:
            continue
        fig.add_trace(
            go.Bar(
                name=str(label),
                x=[v.project.progress for v in shown],
                y=[f"{v.project.seq}. {v.project.name}" for v in shown],
                orientation="h",
                marker_color=STATUS_COLOURS[status],
                text=[f"{v.project.progress}%" for v in shown],
                textposition="auto",
                hovertext=[f"{v.project.owner_unit.name} · {v.status_label}" for v in shown],
                hoverinfo="text",
            )
        )
    fig.update_layout(
        margin={"l": 8, "r": 8, "t": 8, "b": 24},
        height=max(190, 32 * len(views) + 90),
        bargap=0.3,
        barmode="overlay",  # one bar per row: each project is in one trace only
        xaxis={"range": [0, 100], "dtick": 25, "ticksuffix": "%", "fixedrange": True},
        yaxis={
            "automargin": True,
            "fixedrange": True,
            "categoryorder": "array",
            "categoryarray": [f"{v.project.seq}. {v.project.name}" for v in ordered],
        },
        font=_font(),
        plot_bgcolor="#fff",
        paper_bgcolor="#fff",
        showlegend=True,
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
    )
    return str(fig.to_json())


def chart_data(views: list[ProjectView]) -> Any:
    return json.loads(chart_json(views))


def legend() -> list[tuple[str, str, str]]:
    """(status, label, colour) of every status, in the order the chart's legend lists them."""
    return [(key, str(label), STATUS_COLOURS[key]) for key, label in STATUS_LABELS.items()]


def history(year: int) -> dict[int, list[ProgressUpdate]]:
    """Every progress report of the year's projects, oldest first, by project (one query, and
    one for the photos)."""
    out: dict[int, list[ProgressUpdate]] = {}
    for u in (
        ProgressUpdate.objects.filter(project__year=year)
        .select_related("milestone")
        .prefetch_related("photos")
        .order_by("at", "id")
    ):
        out.setdefault(u.project_id, []).append(u)
    return out


def history_chart_data(views: list[ProjectView], reports: dict[int, list[ProgressUpdate]]) -> Any:
    """Each project's progress over the year, one step line per project (a point per report,
    starting at 0 % when the project was listed; a milestone reached is a diamond)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for v in views:
        p = v.project
        points = [(timezone.localtime(p.created_at), 0, "")]
        points += [
            (timezone.localtime(u.at), u.progress_to, u.milestone.title if u.milestone else "")
            for u in reports.get(p.pk, [])
        ]
        fig.add_trace(
            go.Scatter(
                name=f"{p.seq}. {p.name}",
                x=[at.isoformat() for at, _v, _m in points],
                y=[value for _a, value, _m in points],
                mode="lines+markers",
                line={"shape": "hv", "width": 2},
                marker={"symbol": ["diamond" if m else "circle" for _a, _v, m in points]},
                hovertext=[
                    f"{p.name} {value}%" + (f" · ✓ {m}" if m else "") for _a, value, m in points
                ],
                hoverinfo="text",
            )
        )
    fig.update_layout(
        margin={"l": 8, "r": 8, "t": 8, "b": 24},
        height=420,
        xaxis={"fixedrange": True},
        yaxis={"range": [0, 105], "dtick": 25, "ticksuffix": "%", "fixedrange": True},
        font=_font(),
        plot_bgcolor="#fff",
        paper_bgcolor="#fff",
        showlegend=True,
        legend={"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0},
    )
    return json.loads(str(fig.to_json()))
