"""Staff pages of the enterprise domain: registry, import, 包保, visits, figures, policies, answers.

Thin: parse the form, call one service or selector, render. Meetings live in meeting_views.py,
the public pages in public_views.py.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tasks import TaskResult, TaskResultStatus

from kuaiban.appeals.forms import attach_errors
from kuaiban.appeals.models import Action
from kuaiban.appeals.policy import may as appeal_may
from kuaiban.core import jobs
from kuaiban.core.errors import DomainError, NotFound
from kuaiban.enterprise import forms as f
from kuaiban.enterprise import industries, rules, selectors, services, tasks
from kuaiban.enterprise.models import Enterprise, Size
from kuaiban.org.models import Region, User

IMPORT_SESSION_KEY = "enterprise_import_rows"
UPLOAD_MAX = 5 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _need(user: User, roles: frozenset[str]) -> None:
    if not rules.has(user, roles):
        raise DjangoPermissionDenied


# ----- registry ----------------------------------------------------------------------------------


@login_required
def enterprise_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    flt = selectors.EnterpriseFilter(
        q=request.GET.get("q", "").strip()[:100],
        industry=request.GET.get("industry", "").strip()[:1],
        size=request.GET.get("size", "") if request.GET.get("size") in Size.values else "",
        township=request.GET.get("township", "").strip()[:32],
        assigned=request.GET.get("assigned", "")
        if request.GET.get("assigned") in ("yes", "no")
        else "",
    )
    rows = list(selectors.enterprise_list(user=user, f=flt)[:300])
    return render(
        request,
        "enterprise/list.html",
        {
            "rows": rows,
            "flt": flt,
            "sees_all": rules.sees_all(user),
            "manages": rules.has(user, rules.MANAGE_REGISTRY),
            "industries": industries.rows(),
            "sizes": Size.choices,
            "townships": Region.objects.filter(level=Region.Level.TOWNSHIP),
        },
    )


@login_required
def enterprise_create(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _need(user, rules.MANAGE_REGISTRY)
    form = f.EnterpriseForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                enterprise = services.enterprise_create(
                    actor=user, data=services.EnterpriseInput(**d)
                )
            except DomainError as exc:
                attach_errors(form, exc)
                status = exc.status
            else:
                messages.success(request, _("Registered %(name)s.") % {"name": enterprise.name})
                return redirect("enterprise:detail", code=enterprise.credit_code)
        else:
            status = 400
    return render(request, "enterprise/create.html", {"form": form}, status=status)


def _detail_context(user: User, enterprise: Enterprise) -> dict[str, Any]:
    appeals = list(selectors.enterprise_appeals(user=user, enterprise=enterprise))
    full = selectors.full_contact_enterprises(user)
    contacts = list(enterprise.contacts.all())
    for c in contacts:
        c.shown_phone = selectors.contact_phone(c.phone, enterprise.pk, full)  # type: ignore[attr-defined]
    assignments = list(selectors.assignments_of(enterprise))
    return {
        "enterprise": enterprise,
        "contacts": contacts,
        "assignments": assignments,
        "roles": selectors.four_roles(assignments),
        "chains": list(enterprise.chains.select_related("leader")),
        "groups": list(enterprise.wechat_groups.all()),
        "sees_networks": rules.sees_all(user),
        "appeals": appeals,
        "readable": selectors.readable_numbers(user, appeals),
        "visits": list(selectors.visits_of(enterprise)[:20]),
        "bookings": list(
            enterprise.bookings.select_related("meeting").order_by("-meeting__date")[:20]
        ),
        "policies": list(selectors.policies_for(enterprise.industry)[:20]),
        "notices": list(selectors.notices_of(enterprise)[:20]),
        "may_assign": rules.has(user, rules.ASSIGN),
        "may_visit": services.may_visit(user, enterprise),
        "manages": rules.has(user, rules.MANAGE_REGISTRY),
        "assign_form": f.EnterpriseAssignForm(prefix="assign"),
        "contact_form": f.ContactForm(prefix="contact"),
    }


def _enterprise(user: User, code: str) -> Enterprise:
    try:
        return selectors.enterprise_get(user=user, credit_code=code)
    except NotFound:
        raise Http404 from None


@login_required
def enterprise_detail(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request)
    enterprise = _enterprise(user, code)
    return render(request, "enterprise/detail.html", _detail_context(user, enterprise))


@login_required
@require_POST
def assign(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request)
    enterprise = _enterprise(user, code)
    _need(user, rules.ASSIGN)
    form = f.EnterpriseAssignForm(request.POST, prefix="assign")
    status = 400
    if form.is_valid():
        try:
            services.assignment_create(
                actor=user,
                official=form.cleaned_data["official"],
                enterprise=enterprise.credit_code,
                duty=form.cleaned_data["duty"],
                role=form.cleaned_data["role"],
                unit=form.cleaned_data["unit"] or None,
                replace=form.cleaned_data["replace"],
            )
        except DomainError as exc:
            attach_errors(form, exc)
            status = exc.status
        else:
            messages.success(request, _("Assigned."))
            return redirect("enterprise:detail", code=enterprise.credit_code)
    context = _detail_context(user, enterprise)
    context["assign_form"] = form
    return render(request, "enterprise/detail.html", context, status=status)


@login_required
@require_POST
def contact_add(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request)
    enterprise = _enterprise(user, code)
    _need(user, rules.MANAGE_REGISTRY)
    form = f.ContactForm(request.POST, prefix="contact")
    status = 400
    if form.is_valid():
        try:
            services.contact_add(
                actor=user, credit_code=enterprise.credit_code, **form.cleaned_data
            )
        except DomainError as exc:
            attach_errors(form, exc)
            status = exc.status
        else:
            messages.success(request, _("Contact added."))
            return redirect("enterprise:detail", code=enterprise.credit_code)
    context = _detail_context(user, enterprise)
    context["contact_form"] = form
    return render(request, "enterprise/detail.html", context, status=status)


@login_required
@require_POST
def assignment_end(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    try:
        assignment = services.assignment_end(actor=user, assignment_id=pk)
    except DomainError as exc:
        if exc.status == 403:
            raise DjangoPermissionDenied from None
        if exc.status == 404:
            raise Http404 from None
        messages.error(request, str(exc.message))
        return redirect(request.POST.get("next") or "enterprise:list")
    messages.success(request, _("Assignment ended."))
    if assignment.enterprise is not None:
        return redirect("enterprise:detail", code=assignment.enterprise.credit_code)
    return redirect("projects:detail", pk=assignment.project_id)


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    rows = selectors.my_enterprises(user=user)
    appeals = [a for row in rows for a in row.open_appeals]
    return render(
        request,
        "enterprise/mine.html",
        {"rows": rows, "readable": selectors.readable_numbers(user, appeals)},
    )


# ----- visits -------------------------------------------------------------------------------


@login_required
def visit(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request)
    enterprise = _enterprise(user, code)
    if not services.may_visit(user, enterprise):
        raise DjangoPermissionDenied
    form = f.VisitForm(request.POST or None, initial={"visited_on": selectors.today()})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            problems = [
                services.ProblemInput(content=line, kind=d["kind"])
                for line in f.lines(d["problems"])
            ]
            try:
                record = services.visit_record(
                    actor=user,
                    credit_code=enterprise.credit_code,
                    data=services.VisitInput(
                        visited_on=d["visited_on"],
                        findings=d["findings"],
                        visitors=d["visitors"],
                        problems=problems,
                    ),
                )
            except DomainError as exc:
                attach_errors(form, exc)
                status = exc.status
            else:
                n = record.problems.count()
                messages.success(
                    request,
                    _("Visit recorded; %(n)d problems registered as appeals.") % {"n": n},
                )
                return redirect("enterprise:detail", code=enterprise.credit_code)
    return render(
        request, "enterprise/visit.html", {"form": form, "enterprise": enterprise}, status=status
    )


# ----- import ---------------------------------------------------------------------------------


@login_required
def import_view(request: HttpRequest) -> HttpResponse:
    """Upload → dry run with a report of every invalid row → confirm (all valid, or skip) → the
    import runs in the background (kuaiban.enterprise.tasks), its progress on this page."""
    user = _user(request)
    _need(user, rules.MANAGE_REGISTRY)
    form = f.ImportForm()
    context: dict[str, Any] = {"form": form}
    status = 200
    if request.method == "POST" and "confirm" in request.POST:
        return _import_confirm(request, user, context)
    if request.method == "POST":
        form = f.ImportForm(request.POST, request.FILES)
        context["form"] = form
        status = 400
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > UPLOAD_MAX:
                form.add_error("file", _("At most 5 MB."))
            else:
                try:
                    rows = services.read_workbook(upload)
                    report = services.enterprise_import(actor=user, rows=rows, dry_run=True)
                except DomainError as exc:
                    attach_errors(form, exc)
                    status = exc.status
                else:
                    request.session[IMPORT_SESSION_KEY] = [[n, v] for n, v in rows]
                    context["report"] = report
                    status = 200
    elif "job" in request.GET:
        job = jobs.owned(tasks.import_enterprises, request.GET["job"], owner=user.pk)
        if job is None:
            messages.error(request, _("job: no such import of yours."))
            return render(request, "enterprise/import.html", context, status=404)
        context.update(_job_context(job))
    return render(request, "enterprise/import.html", context, status=status)


def _import_confirm(request: HttpRequest, user: User, context: dict[str, Any]) -> HttpResponse:
    """Check the dry run's rows once more and queue their import; 400 while rows are invalid
    and the invalid ones are not to be skipped."""
    stored = request.session.get(IMPORT_SESSION_KEY)
    if not stored:
        messages.error(request, _("Upload the workbook again: the dry run has expired."))
        return redirect("enterprise:import")
    rows = [(int(n), v) for n, v in stored]
    skip = request.POST.get("skip_invalid") == "1"
    report = services.enterprise_import(actor=user, rows=rows, dry_run=True)
    if report.invalid and not skip:
        context["report"] = report
        return render(request, "enterprise/import.html", context, status=400)
    job = tasks.import_queue(actor=user, rows=rows, skip_invalid=skip)
    request.session.pop(IMPORT_SESSION_KEY, None)
    return redirect(f"{reverse('enterprise:import')}?job={job.id}")


def _job_context(job: TaskResult[dict[str, Any]]) -> dict[str, Any]:
    """The page's part for a queued import: its progress while it runs, then its report."""
    if jobs.running(job):
        found = jobs.progress(tasks.progress_key(job.id)) or jobs.Progress(0, 0)
        return {"job": job, "progress": found}
    outcome = job.return_value if job.status == TaskResultStatus.SUCCESSFUL else None
    if outcome is None:
        return {"job": job, "job_error": _("The import stopped on an unexpected error.")}
    if "error" in outcome:
        return {"job": job, "job_error": outcome["error"]}
    return {"job": job, "report": services.ImportReport.from_dict(outcome)}


@login_required
def import_progress(request: HttpRequest, job: str) -> HttpResponse:
    """The progress bar of a background import (polled by htmx); once it has ended, the whole
    page reloads to show the outcome. Another user's import is unknown here (404)."""
    user = _user(request)
    _need(user, rules.MANAGE_REGISTRY)
    found = jobs.owned(tasks.import_enterprises, job, owner=user.pk)
    if found is None:
        raise Http404
    if not jobs.running(found):
        return jobs.ended()
    return render(request, "enterprise/_import_progress.html", _job_context(found))


@login_required
def import_template(request: HttpRequest) -> HttpResponse:
    """The import's workbook: the column names and one example row, in Chinese."""
    user = _user(request)
    _need(user, rules.MANAGE_REGISTRY)
    response = HttpResponse(services.import_template(), content_type=XLSX)
    response["Content-Disposition"] = "attachment; filename*=UTF-8''" + quote("企业导入模板.xlsx")
    return response


# ----- figures and the enterprise desk -------------------------------------------------------


@login_required
def figures(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _need(user, rules.SEE_FIGURES)
    return render(
        request,
        "enterprise/figures.html",
        {
            "coverage": selectors.coverage(),
            "appeals": selectors.appeal_figures(),
            "meetings": selectors.meeting_figures(),
        },
    )


@login_required
def desk(request: HttpRequest) -> HttpResponse:
    """Enterprise appeals waiting at the desk, each with published answers that may fit."""
    user = _user(request)
    if not appeal_may(user, Action.REGISTER):
        raise DjangoPermissionDenied
    return render(request, "enterprise/desk.html", {"rows": selectors.enterprise_desk(user=user)})


# ----- policies and answers -----------------------------------------------------------------


@login_required
def policies(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = f.PolicyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        _need(user, rules.PUBLISH_POLICIES)
        status = 400
        if form.is_valid():
            try:
                item = services.policy_publish(
                    actor=user, data=services.PolicyInput(**form.cleaned_data)
                )
            except DomainError as exc:
                attach_errors(form, exc)
                status = exc.status
            else:
                messages.success(request, _("Published %(title)s.") % {"title": item.title})
                return redirect("enterprise:policies")
    industry = industries.row(request.GET.get("industry", "")[:1])
    return render(
        request,
        "enterprise/policies.html",
        {
            "policies": selectors.policies_for(industry),
            "industry": industry,
            "industries": industries.rows(),
            "form": form if rules.has(user, rules.PUBLISH_POLICIES) else None,
        },
        status=status,
    )


@login_required
def answers(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = f.PromoteForm(request.POST or None, initial={"number": request.GET.get("number", "")})
    status = 200
    if request.method == "POST":
        _need(user, rules.PROMOTE_ANSWERS)
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            try:
                answer = services.answer_promote(
                    actor=user,
                    number=d["number"],
                    industry=d["industry"] or None,
                    title=d["title"] or None,
                    text=d["text"] or None,
                )
            except DomainError as exc:
                attach_errors(form, exc)
                status = exc.status
            else:
                messages.success(
                    request,
                    _("Published to %(industry)s: %(n)d enterprises told.")
                    % {"industry": answer.industry.name, "n": answer.notices.count()},
                )
                return redirect("enterprise:answer", pk=answer.pk)
    return render(
        request,
        "enterprise/answers.html",
        {
            "answers": selectors.answers()[:200],
            "form": form if rules.has(user, rules.PROMOTE_ANSWERS) else None,
        },
        status=status,
    )


@login_required
def answer(request: HttpRequest, pk: int) -> HttpResponse:
    _user(request)
    try:
        item = selectors.answer_get(pk)
    except NotFound:
        raise Http404 from None
    return render(
        request,
        "enterprise/answer.html",
        {
            "answer": item,
            "notices": item.notices.select_related("enterprise").order_by("enterprise__name"),
        },
    )
