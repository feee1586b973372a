# ruff: noqa: E501  (the bulk-load SQL is kept as SQL)
"""Forecast benchmark: the seasonal forecast and the spike check on a ledger of N appeals.

    python bench/forecast.py                       # 1,000,000 appeals; DATABASE_URL defaults to .../kb_forecast
    python bench/forecast.py --appeals 100000      # a smaller ledger
    python bench/forecast.py --reload              # drop and bulk-load the ledger again

The ledger is bulk-loaded straight into PostgreSQL with ``INSERT … SELECT generate_series``:
N appeals over the 25 months up to 20 October 2026, across the demo county's villages, units
and the category tree's leaves, winter heating (冬季采暖) five times as frequent from November to
February. Both forecast and spikes read only the metrics facts, so the facts are written the same
way, one lead row per appeal, as ``kuaiban rollup`` would write them for a registered appeal
(dimensions copied, ``received = 1``), rather than replayed from events (bench/dashboard.py
times that).

It then times, 20 runs each after one warm-up:
  * forecast (service): ``kuaiban.foresight.forecast.forecast`` for November 2026, every
    category × township, as of 20 October;
  * forecast API: ``GET /api/v1/forecast?month=2026-11`` as the leader (JSON of every row);
  * spike check: ``kuaiban.foresight.spikes.candidates`` for 20 October (what every sweep runs);
and prints p50 / p95 / max in milliseconds. Target: p95 < 1 s at 1M appeals.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kb_forecast")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kuaiban.settings")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# After the defaults above: bench.dashboard sets its own database as the default.
from bench.dashboard import ensure_database, p95, timed  # noqa: E402

TODAY = dt.date(2026, 10, 20)
MONTH = dt.date(2026, 11, 1)
START = dt.date(2024, 9, 20)  # 25 months before TODAY

LOAD_SQL = """
CREATE TEMP TABLE b_units AS SELECT row_number() OVER (ORDER BY id) AS i, id FROM org_unit;
CREATE TEMP TABLE b_villages AS
  SELECT row_number() OVER (ORDER BY id) AS i, id, parent_id AS township_id FROM org_region WHERE level = 'village';
CREATE TEMP TABLE b_cats AS
  SELECT row_number() OVER (ORDER BY c.id) AS i, c.id, p.parent_id AS top_id
  FROM appeals_category c JOIN appeals_category p ON p.id = c.parent_id WHERE c.level = 3;
CREATE TEMP TABLE b AS
SELECT g,
  %(start)s::timestamptz + ((g - 1) * %(span)s::float8 / %(n)s) * interval '1 second' AS recv,
  1 + (g * 31) %% (SELECT count(*) FROM b_units) AS unit_i,
  1 + (g * 17) %% (SELECT count(*) FROM b_villages) AS village_i,
  1 + (g * 11) %% (SELECT count(*) FROM b_cats) AS cat_i
FROM generate_series(1::bigint, %(n)s::bigint) AS g;
-- winter: a fifth of the appeals from November to February are about heating
UPDATE b SET cat_i = (SELECT i FROM b_cats c JOIN appeals_category k ON k.id = c.id WHERE k.name = '冬季采暖')
  WHERE g %% 5 = 0 AND extract(month FROM recv AT TIME ZONE 'Asia/Shanghai') IN (11, 12, 1, 2);

INSERT INTO appeals_appeal (
  number, channel, kind, urgency, title, content, search_text, submitter_type, submitter_name,
  submitter_phone, phone_last4, region_id, address, status, lead_unit_id, category_id,
  received_at, dispatched_at, updated_at, alert, alert_stage, last_event_hash, event_count{appeal_extra_cols})
SELECT
  'KB' || to_char(recv AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || '-' || lpad(g::text, 7, '0'),
  'hotline', 'complaint', 'normal', '小区暖气不热', '阳光花园小区5号楼暖气一直不热，室温只有十四度。',
  '小区暖气不热', 'citizen', '王建华', '138' || lpad((g %% 100000000)::text, 8, '0'),
  lpad((g %% 10000)::text, 4, '0'), v.id, '', 'closed', u.id, c.id,
  recv, recv + interval '1 hour', recv + interval '5 days', 'none', '', '', 1{appeal_extra_vals}
FROM b JOIN b_units u ON u.i = b.unit_i JOIN b_villages v ON v.i = b.village_i
  JOIN b_cats c ON c.i = b.cat_i
ORDER BY g;

INSERT INTO metrics_appealfact (
  appeal_id, unit_id, lead, seq, day, channel, kind, category_id, category_top_id, region_id,
  township_id, dispatches, claimed_on_time, returns, received, closed, replied, replied_on_time,
  extensions, reworked, visited, rated, satisfied, resolved, authentic, on_spot, overdue,
  parts_answered, parts_answered_on_time)
SELECT a.id, a.lead_unit_id, true, 1, (a.received_at AT TIME ZONE 'Asia/Shanghai')::date,
  a.channel, a.kind, a.category_id, c.top_id, a.region_id, v.township_id,
  1, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0
FROM appeals_appeal a JOIN b_villages v ON v.id = a.region_id JOIN b_cats c ON c.id = a.category_id
"""


def _extra(model: Any, sql: str, table: str) -> tuple[str, str, dict[str, Any]]:
    """Not-null columns this script does not fill (added by later migrations): their defaults."""
    from django.db import connection

    head = sql.split(f"INSERT INTO {table} (", 1)[1].split(")", 1)[0]
    named = {c.split("{")[0].strip() for c in head.split(",")}
    cols, vals, params = "", "", {}
    for f in model._meta.concrete_fields:
        if f.primary_key or f.null or f.column in named or f.get_default() is None:
            continue
        key = f"extra_{len(params)}"
        cols += f", {connection.ops.quote_name(f.column)}"
        vals += f", %({key})s"
        params[key] = f.get_db_prep_save(f.get_default(), connection)
    return cols, vals, params


def load(n: int) -> None:
    from django.db import connection

    from kuaiban.appeals.models import Appeal

    start = dt.datetime.combine(START, dt.time(0, 0)).isoformat() + "+08:00"
    span = (TODAY - START).days * 86400 + 15 * 3600  # up to 15:00 on TODAY
    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE metrics_appealfact, metrics_factdirty, appeals_appealevent, "
            "appeals_appeal RESTART IDENTITY CASCADE"
        )
        cols, vals, params = _extra(Appeal, LOAD_SQL, "appeals_appeal")
        values = {"n": n, "start": start, "span": span, **params}
        for statement in LOAD_SQL.split(";\n"):
            if not statement.strip():
                continue
            sql = statement.replace("{appeal_extra_cols}", cols).replace(
                "{appeal_extra_vals}", vals
            )
            cur.execute(sql, values)
        cur.execute("ANALYZE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--appeals", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reload", action="store_true", help="bulk-load the ledger again")
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        print("bench/forecast.py measures PostgreSQL: set DATABASE_URL=postgres://…")
        return 2
    ensure_database(url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from kuaiban.appeals.models import Appeal
    from kuaiban.core import clock
    from kuaiban.foresight import forecast, spikes
    from kuaiban.metrics.models import AppealFact
    from kuaiban.org.demo import build_directory
    from kuaiban.org.models import User
    from kuaiban.org.services import token_create

    call_command("migrate", verbosity=0)
    build_directory()
    if args.reload or Appeal.objects.count() != args.appeals:
        print(f"loading {args.appeals:,} appeals and their facts (bulk SQL)…", flush=True)
        started = time.monotonic()
        load(args.appeals)
        print(f"  loaded in {time.monotonic() - started:.0f}s", flush=True)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE metrics_appealfact")
    leader = User.objects.get(username="leader")
    client = Client(SERVER_NAME="localhost")
    headers = {"Authorization": f"Bearer {token_create(user=leader)}"}
    result = forecast.forecast(MONTH, today=TODAY)
    print(
        f"ledger: {Appeal.objects.count():,} appeals, {AppealFact.objects.count():,} fact rows; "
        f"forecast rows: {len(result.rows):,}, rising: {len(result.watch)} shown"
    )
    if result.watch:
        top = result.watch[0]
        print(
            f"  top of the watch list: {top.category} in {top.township}: expected "
            f"{top.expected} (last year {top.last_year}, the month before {top.previous_expected})"
        )

    def api() -> None:
        response = client.get("/api/v1/forecast", {"month": "2026-11"}, headers=headers)
        assert response.status_code == 200, response.status_code

    now = dt.datetime(2026, 10, 20, 15, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with clock.frozen(now):
        results = {
            "forecast (service)": timed(lambda: forecast.forecast(MONTH, today=TODAY), args.runs),
            "forecast API (GET /api/v1/forecast)": timed(api, args.runs),
            "spike check (candidates)": timed(lambda: spikes.candidates(TODAY), args.runs),
        }
    print(f"{'':38} {'p50':>8} {'p95':>8} {'max':>8}   ({args.runs} runs, ms)")
    for name, samples in results.items():
        print(
            f"{name:38} {statistics.median(samples):8.1f} {p95(samples):8.1f} {max(samples):8.1f}"
        )
    worst = max(p95(s) for s in results.values())
    print(f"target p95 < 1000 ms: {'met' if worst < 1000 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
