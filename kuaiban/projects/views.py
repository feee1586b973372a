"""Pages of the livelihood projects: the public progress chart (no login) and the staff pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from kuaiban.appeals.forms import attach_errors
from kuaiban.core import uploads
from kuaiban.core.errors import DomainError, NotFound, ValidationFailed
from kuaiban.core.forms import CleanForm, FilesField
from kuaiban.core.validation import ID_MAX, check_date
from kuaiban.enterprise import rules as enterprise_rules
from kuaiban.enterprise.forms import AssignForm, unit_choices
from kuaiban.enterprise.services import assignment_create
from kuaiban.org.models import User
from kuaiban.projects import selectors, services
from kuaiban.projects.models import ProgressPhoto, Project


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _year(request: HttpRequest) -> int:
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        return selectors.today().year
    return year if 2000 <= year <= 2100 else selectors.today().year


# ----- public ---------------------------------------------------------------------------------


def public(request: HttpRequest) -> HttpResponse:
    """民生实事进度图: every project's progress and what changed recently; no login."""
    year = _year(request)
    views = selectors.board(year)
    reports = selectors.history(year)
    for v in views:
        v.history = reports.get(v.project.pk, [])
    return render(
        request,
        "projects/public.html",
        {
            "year": year,
            "years": selectors.years(),
            "views": views,
            "summary": selectors.summary(views),
            "chart": selectors.chart_data(views) if views else None,
            "history_chart": selectors.history_chart_data(views, reports) if views else None,
            "legend": selectors.legend(),
            "recent": selectors.recent_updates(year),
            "recent_days": selectors.RECENT_DAYS,
        },
    )


def photo(request: HttpRequest, pk: int) -> FileResponse:
    """A progress report's photo: public like the report (re-encoded, without metadata)."""
    found = ProgressPhoto.objects.filter(pk=pk).first() if 0 < pk <= ID_MAX else None
    if found is None:
        raise Http404
    return found.response()


# ----- staff -------------------------------------------------------------------------------------


class ProjectForm(CleanForm):
    year = forms.IntegerField(label=gettext_lazy("year"))
    name = forms.CharField(label=gettext_lazy("name"), max_length=300)
    owner_unit = forms.ChoiceField(label=gettext_lazy("owner unit"))
    budget = forms.DecimalField(
        label=gettext_lazy("budget (10,000 yuan)"), required=False, max_digits=14
    )
    target = forms.CharField(label=gettext_lazy("target"), widget=forms.Textarea(attrs={"rows": 3}))
    milestones = forms.CharField(
        label=gettext_lazy("milestones, one per line: 2026-06-30 Title"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner_unit"].choices = [("", "—"), *unit_choices()]  # type: ignore[attr-defined]

    def clean_milestones(self) -> list[services.MilestoneInput]:
        out = []
        for number, line in enumerate((self.cleaned_data["milestones"] or "").splitlines(), 1):
            if not line.strip():
                continue
            day, _sep, title = line.strip().partition(" ")
            try:
                due = check_date(dt.date.fromisoformat(day), "milestones")
            except (ValueError, ValidationFailed):
                raise forms.ValidationError(
                    _("Line %(n)d: start with a date like 2026-06-30, then the title.")
                    % {"n": number}
                ) from None
            out.append(services.MilestoneInput(title=title.strip(), due=due))
        return out


class ProgressForm(CleanForm):
    progress = forms.IntegerField(label=gettext_lazy("progress (%)"), min_value=0, max_value=100)
    milestone = forms.TypedChoiceField(
        label=gettext_lazy("milestone reached"), required=False, coerce=int, empty_value=None
    )
    note = forms.CharField(
        label=gettext_lazy("what changed"), widget=forms.Textarea(attrs={"rows": 2})
    )
    # Not required here: the service asks for it when the figure goes down, naming the field.
    reason = forms.CharField(
        label=gettext_lazy("reason (required when the figure goes down)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    photos = FilesField(
        label=gettext_lazy("photos"),
        accept="image/*",
        help_text=gettext_lazy("Optional: up to 9 photos of the work (JPEG, PNG, WebP)."),
    )

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["milestone"].choices = [("", "—")] + [  # type: ignore[attr-defined]
            (m.pk, f"{m.due:%m-%d} {m.title}")
            for m in project.milestones.all()
            if m.done_on is None
        ]


class MilestoneForm(CleanForm):
    title = forms.CharField(label=gettext_lazy("milestone"), max_length=300)
    due = forms.DateField(label=gettext_lazy("due"), widget=forms.DateInput(attrs={"type": "date"}))


@login_required
def admin(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    year = _year(request)
    manages = services.may_manage(user)
    form = ProjectForm(request.POST or None, initial={"year": year})
    status = 200
    if request.method == "POST":
        if not manages:
            raise DjangoPermissionDenied
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            try:
                project = services.project_create(
                    actor=user,
                    data=services.ProjectInput(
                        year=d["year"],
                        name=d["name"],
                        owner_unit=d["owner_unit"],
                        target=d["target"],
                        budget=d["budget"],
                        milestones=d["milestones"],
                    ),
                )
            except DomainError as exc:
                attach_errors(form, exc)
                status = exc.status
            else:
                messages.success(request, _("Added %(name)s.") % {"name": project.name})
                return redirect("projects:detail", pk=project.pk)
    views = selectors.board(year)
    return render(
        request,
        "projects/admin.html",
        {
            "year": year,
            "years": selectors.years(),
            "views": views,
            "summary": selectors.summary(views),
            "form": form if manages else None,
        },
        status=status,
    )


def _detail_context(user: User, view: selectors.ProjectView, **overrides: Any) -> dict[str, Any]:
    project = view.project
    context: dict[str, Any] = {
        "view": view,
        "project": project,
        "updates": project.updates.select_related("actor", "milestone").prefetch_related("photos")[
            :50
        ],
        "assignments": project.assignments.filter(ended_at__isnull=True).select_related("official"),
        "may_report": services.may_report(user, project),
        "manages": services.may_manage(user),
        "may_assign": enterprise_rules.has(user, enterprise_rules.ASSIGN),
        "progress_form": ProgressForm(
            project=project, prefix="progress", initial={"progress": project.progress}
        ),
        "milestone_form": MilestoneForm(prefix="milestone"),
        "assign_form": AssignForm(prefix="assign"),
    }
    context.update(overrides)
    return context


def _view(pk: int) -> selectors.ProjectView:
    try:
        return selectors.project_get(pk)
    except NotFound:
        raise Http404 from None


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    return render(request, "projects/detail.html", _detail_context(user, _view(pk)))


@login_required
@require_POST
def act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    user = _user(request)
    view = _view(pk)
    project = view.project
    form: forms.Form
    try:
        if action == "progress":
            form = ProgressForm(request.POST, request.FILES, project=project, prefix="progress")
            key = "progress_form"
            if form.is_valid():
                data = dict(form.cleaned_data)
                photos = uploads.prepare_all(
                    data.pop("photos"), field="photos", limit=services.PHOTOS_MAX, images_only=True
                )
                services.project_progress(actor=user, project_id=project.pk, photos=photos, **data)
                done = _("Progress updated.")
        elif action == "milestone":
            form = MilestoneForm(request.POST, prefix="milestone")
            key = "milestone_form"
            if form.is_valid():
                services.milestone_add(
                    actor=user,
                    project_id=project.pk,
                    data=services.MilestoneInput(**form.cleaned_data),
                )
                done = _("Milestone added.")
        elif action == "assign":
            form = AssignForm(request.POST, prefix="assign")
            key = "assign_form"
            if form.is_valid():
                assignment_create(
                    actor=user,
                    official=form.cleaned_data["official"],
                    project=project.pk,
                    duty=form.cleaned_data["duty"],
                )
                done = _("Assigned.")
        else:
            raise Http404
    except DomainError as exc:
        if exc.status == 403:
            raise DjangoPermissionDenied from None
        attach_errors(form, exc)
        status = exc.status
    else:
        if form.is_valid():
            messages.success(request, done)
            return redirect("projects:detail", pk=project.pk)
        status = 400
    context = _detail_context(user, _view(pk), **{key: form})
    return render(request, "projects/detail.html", context, status=status)
