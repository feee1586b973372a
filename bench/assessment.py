"""Assessment benchmark: the quarter's rankings of every tier (分层分档, 星级村) at N appeals.

    python bench/assessment.py                     # 1,000,000 appeals, DATABASE_URL .../kb_metrics
    python bench/assessment.py --appeals 100000    # a smaller ledger
    python bench/assessment.py --reload            # bulk-load the ledger again

The ledger is the one of ``bench/dashboard.py`` (same bulk SQL, same database by default, so
either bench reuses what the other loaded): twelve months to 2026-06-30 across every unit of the
demo county (departments, townships, villages, grids), the appeals spread over its villages.

It times, after one warm-up, on 2026-Q2 (the ledger's last quarter, with 2026-Q1 for the change):
  * all tiers: ``kuaiban.metrics.services.rankings(period)`` — every tier, one call;
  * each tier alone: ``rankings(period, tier)``;
  * the API: ``GET /api/v1/rankings?period=2026-Q2&tier=village`` as the leader;
  * the 一图全览 page: ``GET /metrics/assessment/?period=2026-Q2``;
and prints p50 / p95 / max in milliseconds with the host's reference speed. Target at 1M
appeals: p95 < 1 s for every line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kb_metrics")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kuaiban.settings")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from bench.common import host_loop  # noqa: E402
from bench.dashboard import ensure_database, load, p95, timed  # noqa: E402

PERIOD = "2026-Q2"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--appeals", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reload", action="store_true", help="bulk-load the ledger again")
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        print("bench/assessment.py measures PostgreSQL: set DATABASE_URL=postgres://…")
        return 2
    ensure_database(url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from kuaiban.appeals.models import Appeal
    from kuaiban.core import clock
    from kuaiban.metrics import periods, services
    from kuaiban.metrics.models import AppealFact
    from kuaiban.org.demo import build_directory
    from kuaiban.org.models import User
    from kuaiban.org.services import token_create

    call_command("migrate", verbosity=0)
    build_directory()
    complete = Appeal.objects.filter(event_count=0).count() == 0
    if args.reload or Appeal.objects.count() != args.appeals or not complete:
        print(f"loading {args.appeals:,} appeals and their events (bulk SQL)…", flush=True)
        started = time.monotonic()
        load(args.appeals)
        print(f"  loaded in {time.monotonic() - started:.0f}s", flush=True)
        AppealFact.objects.all().delete()
    if not AppealFact.objects.exists():
        print("rebuilding the metrics facts (kuaiban rollup --rebuild)…", flush=True)
        started = time.monotonic()
        call_command("rollup", "--rebuild", verbosity=0)
        print(f"  rebuilt in {time.monotonic() - started:.0f}s", flush=True)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE metrics_appealfact")

    period = periods.parse_period(PERIOD)
    assert period is not None
    leader = User.objects.get(username="leader")
    client = Client(SERVER_NAME="localhost")
    client.force_login(leader)
    in_period = AppealFact.objects.filter(
        day__gte=period.start, day__lte=period.end, lead=True
    ).count()
    tiers = [t.slug for t in services.assessment_tiers()]
    print(
        f"ledger: {Appeal.objects.count():,} appeals, {AppealFact.objects.count():,} fact rows; "
        f"{in_period:,} counted appeals received in {PERIOD}; tiers: {', '.join(tiers)}"
    )
    print(f"host reference loop: {host_loop():.2f} s CPU (lower is faster)")

    bearer = {"Authorization": f"Bearer {token_create(user=leader)}"}

    def get(path: str, **params: str) -> None:
        headers = bearer if path.startswith("/api/") else {}
        response = client.get(path, params, headers=headers)
        assert response.status_code == 200, response.status_code

    now = dt.datetime(2026, 7, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with clock.frozen(now):
        results = {"all tiers (service)": timed(lambda: services.rankings(period), args.runs)}
        for slug in tiers:
            results[f"tier {slug} (service)"] = timed(
                lambda slug=slug: services.rankings(period, slug), args.runs
            )
        results["GET /api/v1/rankings (village)"] = timed(
            lambda: get("/api/v1/rankings", period=PERIOD, tier="village"), args.runs
        )
        results["GET /metrics/assessment/"] = timed(
            lambda: get("/metrics/assessment/", period=PERIOD), args.runs
        )
    print(f"{'':38} {'p50':>8} {'p95':>8} {'max':>8}   ({args.runs} runs, ms)")
    for name, samples in results.items():
        print(
            f"{name:38} {statistics.median(samples):8.1f} {p95(samples):8.1f} {max(samples):8.1f}"
        )
    worst = max(p95(s) for s in results.values())
    print(f"target p95 < 1000 ms at 1M appeals: {'met' if worst < 1000 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
