"""敲门行动 pages: the grid's visits and the visit form (phone, grid workers), coverage and the
focus lists (township and village handlers, supervisors, leaders)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from kuaiban.core.errors import DomainError, NotFound, PermissionDenied, ValidationFailed
from kuaiban.doors import rules, selectors, services
from kuaiban.doors.forms import FocusListForm, VisitForm
from kuaiban.doors.models import FocusList
from kuaiban.org.models import Role, Unit, User


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _refused(exc: DomainError) -> Exception:
    if isinstance(exc, NotFound):
        return Http404(str(exc.message))
    return DjangoPermissionDenied(str(exc.message))


def _quarter(request: HttpRequest) -> tuple[str, str]:
    """(quarter, error): the ``quarter`` query parameter checked, else the current one."""
    try:
        return services.clean_quarter(request.GET.get("quarter")), ""
    except ValidationFailed as exc:
        return services.current_quarter(), str(exc.message)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if user.role == Role.GRID_WORKER and user.unit is not None:
        return redirect("doors:grid", code=user.unit.code)
    return redirect("doors:coverage")


@login_required
def grid_page(request: HttpRequest, code: str) -> HttpResponse:
    quarter, error = _quarter(request)
    try:
        page = selectors.grid_visits(user=_user(request), grid_code=code, quarter=quarter)
    except (PermissionDenied, NotFound) as exc:
        raise _refused(exc) from None
    return render(
        request,
        "doors/grid.html",
        {"page": page, "quarter_error": error},
        status=400 if error else 200,
    )


@login_required
def visit_new(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request)
    grid = Unit.objects.select_related("region__parent").filter(code=code).first()
    if grid is None or grid.kind != Unit.Kind.GRID:
        raise Http404(_("No such grid."))
    try:
        rules.grid_of_worker(user, grid)
    except PermissionDenied as exc:
        raise _refused(exc) from None
    topics = services.topics_for(grid, services.current_quarter())
    form = VisitForm(request.POST or None, topics=topics)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                visit = services.door_visit_record(actor=user, data=form.visit_input(grid.code))
            except DomainError as exc:
                status = exc.status
                for err in exc.errors or [None]:  # type: ignore[list-item]
                    name = form.field_of(err.field) if err else None
                    form.add_error(name, str(err.message if err else exc.message))
            else:
                numbers = "、".join(str(a) for a in visit.appeals.all())
                messages.success(
                    request,
                    _("Visit recorded; appeals opened: %(numbers)s.") % {"numbers": numbers}
                    if numbers
                    else _("Visit recorded."),
                )
                return redirect("doors:grid", code=grid.code)
        else:
            status = 400
    return render(
        request, "doors/visit.html", {"form": form, "grid": grid, "topics": topics}, status=status
    )


@login_required
def coverage_page(request: HttpRequest) -> HttpResponse:
    quarter, error = _quarter(request)
    try:
        result = selectors.coverage(user=_user(request), quarter=quarter)
    except PermissionDenied as exc:
        raise _refused(exc) from None
    return render(
        request,
        "doors/coverage.html",
        {"result": result, "quarter_error": error},
        status=400 if error else 200,
    )


@login_required
def focus_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if user.role == Role.ADMIN:
        units = list(
            Unit.objects.filter(kind__in=rules.PUBLISHING_KINDS, active=True)
            .order_by("kind", "code")
            .values_list("code", "name")
        )
        own: Unit | None = None
    else:
        try:
            own = rules.publisher_unit(user, None)
        except PermissionDenied as exc:
            raise _refused(exc) from None
        units = []
    form = FocusListForm(
        request.POST or None, units=units, initial={"quarter": services.current_quarter()}
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                focus = services.focus_list_publish(
                    actor=user,
                    quarter=form.cleaned_data["quarter"],
                    topics=form.topic_lines(),
                    unit=form.cleaned_data.get("unit") or None,
                )
            except DomainError as exc:
                status = exc.status
                for err in exc.errors or [None]:  # type: ignore[list-item]
                    field = err.field.split(".")[0] if err else None
                    form.add_error(
                        field if field in form.fields else None,
                        str(err.message if err else exc.message),
                    )
            else:
                messages.success(
                    request,
                    _("Focus list of %(unit)s for %(quarter)s published.")
                    % {"unit": focus.unit, "quarter": focus.quarter},
                )
                return redirect("doors:focus")
        else:
            status = 400
    lists = FocusList.objects.select_related("unit").order_by("-quarter", "unit__code")
    if own is not None:
        lists = lists.filter(unit=own)
    return render(
        request,
        "doors/focus.html",
        {"form": form, "lists": lists[:50], "own": own},
        status=status,
    )
