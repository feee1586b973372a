"""The one-page overview, the rankings, the drill-down list, Excel downloads and the import page.

Thin: parse the query, call the metrics services, render. Every view checks the role first.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.files.storage import storages
from django.db.models import Q, Subquery, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tasks import TaskResult, TaskResultStatus

from kuaiban.appeals import policy, selectors
from kuaiban.appeals.models import Channel, Status
from kuaiban.core import clock, jobs
from kuaiban.core.errors import DomainError, FieldError, PermissionDenied
from kuaiban.metrics import charts, excel, facts, importer, periods, services, tasks
from kuaiban.metrics.models import ImportBatch, Scoring
from kuaiban.metrics.overview import Overview, overview
from kuaiban.metrics.periods import Period
from kuaiban.org.models import Role, Unit, User

# The ledger page (appeals app) links to our export with this label.
EXPORT_LABEL = gettext_lazy("Export to Excel")
COUNTED = ",".join(s for s in Status.values if s not in (Status.MERGED, Status.INVALID))


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _reader(request: HttpRequest) -> User:
    user = _user(request)
    try:
        services.ensure_reader(user)
    except PermissionDenied:
        raise DjangoPermissionDenied from None
    return user


def ledger_url(scope: services.Scope, **extra: str) -> str:
    params = {**scope.ledger_params(), **extra}
    return f"{reverse('appeals:ledger')}?{urlencode(params)}"


def drill_url(scope: services.Scope, metric: str, **extra: str) -> str:
    params = {**scope.ledger_params(), "metric": metric, **extra}
    if scope.category is not None:
        params.setdefault("category", scope.category.code)
    return f"{reverse('metrics:drill')}?{urlencode(params)}"


PRESETS = (
    ("month", gettext_lazy("This month")),
    ("last_month", gettext_lazy("Last month")),
    ("7d", gettext_lazy("Last 7 days")),
    ("30d", gettext_lazy("Last 30 days")),
    ("year", gettext_lazy("This year")),
)


def _preset(name: str) -> tuple[dt.date, dt.date]:
    today = services.today()
    if name == "last_month":
        return services.month_bounds(services.previous_month(today))
    if name == "7d":
        return today - dt.timedelta(days=6), today
    if name == "30d":
        return today - dt.timedelta(days=29), today
    if name == "year":
        return today.replace(month=1, day=1), today
    return today.replace(day=1), today


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


# With no dates given, the overview shows the last 30 days: "this month" on the 2nd is two days.
DEFAULT_PRESET = "30d"


def _params(request: HttpRequest) -> dict[str, str]:
    params = {k: request.GET.get(k, "") for k in ("from", "to", "unit", "channel", "category")}
    preset = request.GET.get("period", "") or DEFAULT_PRESET
    if preset not in dict(PRESETS):
        raise DomainError(
            _("Check the highlighted fields."),
            errors=[FieldError("period", _("Unknown value %(value)r.") % {"value": preset})],
        )
    if not (params["from"] or params["to"]):
        start, end = _preset(preset)
        params["from"], params["to"] = start.isoformat(), end.isoformat()
    return params


def _default_params() -> dict[str, str]:
    start, end = _preset(DEFAULT_PRESET)
    return {"from": start.isoformat(), "to": end.isoformat()}


def _scope(request: HttpRequest) -> tuple[services.Scope, str]:
    try:
        return services.scope_from_params(_params(request)), ""
    except DomainError as exc:
        return services.scope_from_params(_default_params()), "; ".join(
            str(e.message) for e in exc.errors
        )


TILES: tuple[tuple[str, Any], ...] = (
    ("on_time_claim_rate", gettext_lazy("On-time claim rate")),
    ("on_time_reply_rate", gettext_lazy("On-time reply rate")),
    ("satisfaction_rate", gettext_lazy("Satisfaction rate")),
    ("resolution_rate", gettext_lazy("Resolution rate")),
    ("participation_rate", gettext_lazy("Participation rate")),
    ("authenticity_rate", gettext_lazy("Authenticity rate")),
    ("return_rate", gettext_lazy("Return rate")),
    ("rework_rate", gettext_lazy("Rework rate")),
    ("co_handling_rate", gettext_lazy("Co-handling on-time rate")),
    ("on_spot_rate", gettext_lazy("On-the-spot resolution rate")),
)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = _reader(request)
    scope, error = _scope(request)
    ov = overview(user=user, scope=scope)
    context = {
        "ov": ov,
        "scope": scope,
        "error": error,
        "tiles": _headline_tiles(scope, ov),
        "rates": [
            {"label": label, "value": _pct(ov.total[key]), "url": drill_url(scope, key), "id": key}
            for key, label in TILES
        ],
        "trend": _trend_figure(scope, ov),
        "tiers": _tier_figures(scope, ov),
        **_breakdowns(scope, ov),
        "overdue_url": _overdue_url(scope),
        "units": Unit.objects.filter(active=True),
        "channels": Channel.choices,
        "presets": PRESETS,
        "response_label": services.response_label(ov.scheme),
    }
    return render(request, "metrics/dashboard.html", context, status=400 if error else 200)


def _headline_tiles(scope: services.Scope, ov: Overview) -> list[dict[str, Any]]:
    """The four big numbers at the top: received, closed, overdue now, the composite score."""
    t = ov.total
    return [
        {
            "label": _("Received"),
            "value": t["received"],
            "url": ledger_url(scope, status=COUNTED),
            "id": "received",
        },
        {
            "label": _("Closed"),
            "value": t["counts"]["closed"],
            "note": _pct(t["closure_rate"]),
            "url": ledger_url(scope, status="closed"),
            "id": "closed",
        },
        {
            "label": _("Overdue now"),
            "note": _("past a deadline at this moment, whenever received"),
            "value": ov.overdue_count,
            "url": _overdue_url(scope),
            "id": "overdue",
            "bad": ov.overdue_count > 0,
        },
        {
            "label": _("Composite score"),
            "value": "—" if t["score"] is None else f"{t['score']:.1f}",
            "url": reverse("metrics:rankings"),
            "id": "score",
        },
    ]


def _trend_figure(scope: services.Scope, ov: Overview) -> str:
    """Received and closed per day; each point opens that day's appeals in the ledger."""
    days = [row["day"] for row in ov.trend]
    return charts.trend(
        [f"{d:%m-%d}" for d in days],
        [row["received"] for row in ov.trend],
        [row["closed"] for row in ov.trend],
        [ledger_url(_day(scope, d), status=COUNTED) for d in days],
        [ledger_url(_day(scope, d), status="closed") for d in days],
    )


def _tier_figures(scope: services.Scope, ov: Overview) -> list[dict[str, Any]]:
    """One bar chart of composite scores per tier of units, best first."""
    tiers = []
    for kind, label in services.TIERS:
        rows = sorted(
            (r for r in ov.by_unit if r.get("kind") == kind and r["score"] is not None),
            key=lambda r: -r["score"],
        )
        if not rows and kind in services.LOCAL_TIERS:
            continue  # villages and grids only once one of them has a score
        tiers.append(
            {
                "id": f"fig-tier-{kind}",
                "name": label,
                "figure": charts.bars(
                    [r["name"] for r in rows],
                    [r["score"] for r in rows],
                    [ledger_url(_with_unit(scope, r["key"]), status=COUNTED) for r in rows],
                    color=charts.BRAND,
                ),
                "empty": not rows,
            }
        )
    return tiers


def _breakdowns(scope: services.Scope, ov: Overview) -> dict[str, Any]:
    """Received by channel, category and region: the rows (each with its link) and their charts."""
    by_channel = [
        {**r, "url": ledger_url(scope, status=COUNTED, channel=r["key"] or "")}
        for r in ov.by_channel
    ]
    by_category = [
        {**r, "url": drill_url(scope, "received", category=r["key"] or "")} for r in ov.by_category
    ]
    by_region = [
        {**r, "url": ledger_url(scope, status=COUNTED, region=r["key"]) if r["key"] else ""}
        for r in ov.by_region
    ]
    return {
        "channel_fig": charts.donut(
            [r["name"] for r in by_channel],
            [r["received"] for r in by_channel],
            [r["url"] for r in by_channel],
        ),
        "category_fig": charts.bars(
            [r["name"] for r in by_category],
            [r["received"] for r in by_category],
            [r["url"] for r in by_category],
        ),
        "region_fig": charts.bars(
            [r["name"] for r in by_region],
            [r["received"] for r in by_region],
            [r["url"] for r in by_region],
            horizontal=False,
            color=charts.GREEN,
        ),
        "by_channel": by_channel,
        "by_category": by_category,
        "by_region": by_region,
    }


def _overdue_url(scope: services.Scope) -> str:
    params = {"status": "open", "alert": "red"}
    if scope.unit:
        params["unit"] = scope.unit.code
    if scope.channel:
        params["channel"] = scope.channel
    return f"{reverse('appeals:ledger')}?{urlencode(params)}"


def _day(scope: services.Scope, day: dt.date) -> services.Scope:
    return services.Scope(day, day, scope.unit, scope.channel, scope.category, scope.region)


def _with_unit(scope: services.Scope, code: str | None) -> services.Scope:
    unit = Unit.objects.filter(code=code).first() if code else None
    return services.Scope(
        scope.date_from, scope.date_to, unit, scope.channel, scope.category, scope.region
    )


# ----- rankings ----------------------------------------------------------------------------------


def _period(request: HttpRequest, default_kind: str = periods.MONTH) -> tuple[Period, str]:
    """``period=`` (2026-11, 2026-Q4, 2026) or the older ``month=``; an error message if bad."""
    today = services.today()
    try:
        return periods.period_from(request.GET.get("period"), request.GET.get("month"), today), ""
    except DomainError as exc:
        return periods.containing(today, default_kind), str(exc.message)


def _periods_nav(period: Period) -> dict[str, Any]:
    nxt = period.next()
    today = services.today()
    return {
        "previous": period.previous(),
        "next": nxt if nxt.start <= today else None,
        "shortcuts": [periods.containing(today, kind) for kind in periods.KINDS],
    }


@login_required
def rankings_page(request: HttpRequest) -> HttpResponse:
    _reader(request)
    period, error = _period(request)
    data = services.rankings(period)
    for tier in data["tiers"]:
        for r in tier["units"]:
            r.url = ledger_url(
                services.Scope(data["from"], data["to"], unit=r.unit), status=COUNTED
            )
    return render(
        request,
        "metrics/rankings.html",
        {
            "data": data,
            "period": period,
            "month": period.start,
            "error": error,
            **_periods_nav(period),
            "response_label": services.response_label(services.ScoreScheme.current()),
        },
        status=400 if error else 200,
    )


@login_required
def rankings_xlsx(request: HttpRequest) -> HttpResponse:
    _reader(request)
    period, error = _period(request)
    if error:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    data = services.rankings(period)
    return excel.response(excel.rankings_workbook(data), f"单位排名_{period.label}.xlsx")


# ----- 一图全览: every tier of one period on one page ------------------------------------------


def _behind(scope: services.Scope, tier: dict[str, Any], r: services.Ranked) -> list[Any]:
    """Links to the appeals behind a row's score: those it led, and for a village those that
    arose in its region."""
    links = [
        (
            _("Appeals it led"),
            ledger_url(services.Scope(scope.date_from, scope.date_to, unit=r.unit), status=COUNTED),
        )
    ]
    if tier["scoring"] == Scoring.VILLAGE and r.unit.region is not None:
        where = services.Scope(scope.date_from, scope.date_to, region=r.unit.region)
        links.append((_("Appeals that arose there"), ledger_url(where, status=COUNTED)))
    return links


@login_required
def assessment_page(request: HttpRequest) -> HttpResponse:
    """一图全览: every tier's ranking, stars and movement for one period, the figures behind
    each score one click away."""
    _reader(request)
    period, error = _period(request, periods.QUARTER)
    if not request.GET.get("period") and not request.GET.get("month"):
        period = periods.containing(services.today(), periods.QUARTER)
    data = services.rankings(period)
    scope = services.Scope(period.start, period.end)
    for tier in data["tiers"]:
        for r in tier["units"]:
            r.links = _behind(scope, tier, r)
        scored = [r for r in tier["units"] if r.stars]
        tier["star_counts"] = [(n, sum(1 for r in scored if r.stars == n)) for n in (5, 4, 3, 2, 1)]
        tier["scored"] = len(scored)
    return render(
        request,
        "metrics/assessment.html",
        {
            "data": data,
            "period": period,
            "error": error,
            **_periods_nav(period),
            "response_label": services.response_label(services.ScoreScheme.current()),
        },
        status=400 if error else 200,
    )


# ----- drill-down --------------------------------------------------------------------------------

# metric → (which fact rows make its denominator, which column makes its numerator)
DRILL: dict[str, tuple[Q, str | None]] = {
    "received": (Q(lead=True), None),
    "on_time_claim_rate": (Q(dispatches__gt=0), "claimed_on_time"),
    "return_rate": (Q(dispatches__gt=0), "returns"),
    "closure_rate": (Q(lead=True), "closed"),
    "on_time_reply_rate": (Q(lead=True), "replied_on_time"),
    "participation_rate": (Q(lead=True, visited=1), "rated"),
    "satisfaction_rate": (Q(lead=True, rated=1), "satisfied"),
    "resolution_rate": (Q(lead=True, rated=1), "resolved"),
    "authenticity_rate": (Q(lead=True, rated=1), "authentic"),
    "rework_rate": (Q(lead=True, replied=1), "reworked"),
    "co_handling_rate": (
        Q(parts_answered=1) | Q(part_due_open__isnull=False),
        "parts_answered_on_time",
    ),
    "on_spot_rate": (Q(lead=True, replied=1), "on_spot"),
}
DRILL_LABELS = dict(TILES) | {"received": gettext_lazy("Received")}


@login_required
def drill(request: HttpRequest) -> HttpResponse:
    """The appeals behind a number of the overview: a rate's denominator, numerator marked."""
    user = _reader(request)
    scope, error = _scope(request)
    metric = request.GET.get("metric", "received")
    if metric not in DRILL:
        metric, error = "received", _("Unknown metric.")
    where, numerator = DRILL[metric]
    facts.catch_up()
    rows_q = services.fact_rows(scope).filter(where)
    if metric == "on_time_reply_rate":
        rows_q = rows_q.filter(Q(replied=1) | Q(reply_due_open__lt=clock.now()))
    if metric == "co_handling_rate":
        rows_q = rows_q.filter(Q(parts_answered=1) | Q(part_due_open__lt=clock.now()))
    qs = selectors.visible_appeals(user).filter(pk__in=Subquery(rows_q.values("appeal_id")))
    try:
        rows, next_cursor = selectors.page(
            qs.select_related("lead_unit", "region", "category").order_by("-received_at", "-id"),
            cursor=request.GET.get("cursor"),
            size=50,
        )
    except DomainError as exc:
        rows, next_cursor, error = [], None, str(exc.message)
    marks: dict[int, bool] = {}
    if numerator:
        for appeal_id, value in (
            rows_q.filter(appeal_id__in=[a.pk for a in rows])
            .values("appeal_id")
            .annotate(v=Sum(numerator))
            .values_list("appeal_id", "v")
        ):
            marks[appeal_id] = bool(value)
    for a in rows:
        a.mark = marks.get(a.pk)  # type: ignore[attr-defined]
    params = request.GET.copy()
    params.pop("cursor", None)
    return render(
        request,
        "metrics/drill.html",
        {
            "rows": rows,
            "next_cursor": next_cursor,
            "query": params.urlencode(),
            "scope": scope,
            "metric": metric,
            "label": DRILL_LABELS[metric],
            "numerator": numerator,
            "total": qs.count(),
            "error": error,
        },
        status=400 if error else 200,
    )


# ----- Excel of the ledger -----------------------------------------------------------------------


@login_required
def ledger_xlsx(request: HttpRequest) -> HttpResponse:
    """The ledger page's current filter as .xlsx, with what this user may read; more than
    ``KUAIBAN_EXPORT_BACKGROUND_ROWS`` appeals are built in the background (:func:`export_page`)."""
    user = _user(request)
    if policy.visible_q(user) is None:
        raise DjangoPermissionDenied
    try:
        flt = selectors.LedgerFilter.from_params(request.GET)
    except DomainError as exc:  # each field named with why, in the app's layout
        return render(
            request, "400.html", {"errors": exc.errors, "message": exc.message}, status=400
        )
    qs = selectors.ledger(user=user, f=flt)
    stamp = clock.now().astimezone(dt.timezone(dt.timedelta(hours=8)))
    filename = f"诉求台账_{stamp:%Y%m%d_%H%M}.xlsx"
    if qs.count() > settings.KUAIBAN_EXPORT_BACKGROUND_ROWS:
        job = tasks.export_queue(actor=user, query=request.GET.urlencode(), filename=filename)
        return redirect("metrics:export", job=job.id)
    return excel.response(excel.ledger_workbook(qs, user), filename)


def _export(request: HttpRequest, job: str) -> TaskResult[dict[str, Any]]:
    """A background export of this user's (404 for anyone else's, or an unknown id)."""
    user = _user(request)
    if policy.visible_q(user) is None:
        raise DjangoPermissionDenied
    found = jobs.owned(tasks.export_ledger, job, owner=user.pk)
    if found is None:
        raise Http404(_("job: no such export of yours."))
    return found


def _export_context(found: TaskResult[dict[str, Any]]) -> dict[str, Any]:
    if jobs.running(found):
        key = tasks.export_progress_key(found.id)
        return {"job": found, "progress": jobs.progress(key) or jobs.Progress(0, 0)}
    ok = found.status == TaskResultStatus.SUCCESSFUL and found.return_value is not None
    return {"job": found, "outcome": found.return_value if ok else None}


@login_required
def export_page(request: HttpRequest, job: str) -> HttpResponse:
    """A large export's progress while the worker builds it, then its download link."""
    found = _export(request, job)
    return render(request, "metrics/export.html", _export_context(found))


@login_required
def export_progress(request: HttpRequest, job: str) -> HttpResponse:
    """The bar, polled by htmx; once the export has ended, the page reloads to offer the file."""
    found = _export(request, job)
    if not jobs.running(found):
        return jobs.ended()
    return render(request, "metrics/_export_progress.html", _export_context(found))


@login_required
def export_download(request: HttpRequest, job: str) -> HttpResponse:
    """The workbook of a finished background export, to the user who asked for it only."""
    outcome = _export_context(_export(request, job)).get("outcome")
    if not outcome:
        raise Http404(_("job: this export has no file (yet)."))
    storage = storages["exports"]
    try:
        handle = storage.open(outcome["file"])
    except FileNotFoundError:
        raise Http404(_("job: this export's file is gone; export again.")) from None
    with handle:
        return excel.response(handle.read(), outcome["filename"])


# ----- import ------------------------------------------------------------------------------------


def _batch_pk(value: str | None) -> int | None:
    """The batch number of the form or the query; None when it is not a number."""
    try:
        return int(value or "")
    except ValueError:
        return None


def _admin(request: HttpRequest) -> User:
    user = _user(request)
    if user.role != Role.ADMIN:
        raise DjangoPermissionDenied
    return user


@login_required
def import_page(request: HttpRequest) -> HttpResponse:
    """Administrators upload a historical ledger: checked at once, imported in the background
    on confirmation (kuaiban.metrics.tasks), with its progress on this page."""
    user = _admin(request)
    batch: ImportBatch | None = None
    status = 200
    if request.method == "POST" and request.POST.get("batch"):
        pk = _batch_pk(request.POST["batch"])
        batch = ImportBatch.objects.filter(pk=pk, created_by=user).first() if pk else None
        if batch is None:
            return redirect("metrics:import")
        try:
            tasks.import_queue(
                batch=batch, actor=user, skip_invalid=request.POST.get("skip_invalid") == "on"
            )
        except DomainError as exc:
            messages.error(request, exc.message)
            status = exc.status
        else:
            return redirect(f"{reverse('metrics:import')}?batch={batch.pk}")
    elif request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose an .xlsx or .csv file."))
            status = 400
        else:
            try:
                batch = importer.check_upload(
                    name=upload.name or "upload", content=upload.read(), actor=user
                )
            except DomainError as exc:
                messages.error(request, exc.message)
                status = exc.status
    elif request.GET.get("batch"):
        pk = _batch_pk(request.GET["batch"])
        batch = ImportBatch.objects.filter(pk=pk).first() if pk else None
        if batch is None:
            messages.error(request, _("batch: no such import."))
            status = 400
    return render(
        request,
        "metrics/import.html",
        {
            "batch": batch,
            "progress": _progress(batch),
            "columns": importer.COLUMNS,
            "recent": ImportBatch.objects.all()[:10],
        },
        status=status,
    )


def _progress(batch: ImportBatch | None) -> jobs.Progress | None:
    if batch is None or batch.state != ImportBatch.State.QUEUED:
        return None
    return jobs.progress(tasks.progress_key(batch)) or jobs.Progress(0, 0)


@login_required
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar of a background import (polled by htmx); once it has ended, the whole
    page reloads to show the outcome."""
    _admin(request)
    batch = ImportBatch.objects.filter(pk=pk).first()
    if batch is None:
        raise Http404
    if batch.state != ImportBatch.State.QUEUED:
        return jobs.ended()
    return render(
        request,
        "metrics/_import_progress.html",
        {"batch": batch, "progress": _progress(batch)},
    )


@login_required
def import_template(request: HttpRequest) -> HttpResponse:
    """The ledger import's template: its columns, one example row, what each column takes."""
    _admin(request)
    return excel.response(excel.import_template(), "台账导入模板.xlsx")
