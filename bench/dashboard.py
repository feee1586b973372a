# ruff: noqa: E501  (the bulk-load SQL is kept as SQL)
"""Dashboard benchmark: the one-page overview and the monthly ranking on a 1,000,000-appeal ledger.

    python bench/dashboard.py                      # DATABASE_URL defaults to .../kb_metrics
    python bench/dashboard.py --appeals 200000     # a smaller ledger
    python bench/dashboard.py --reload             # drop and bulk-load the ledger again

The ledger is bulk-loaded straight into PostgreSQL with ``INSERT … SELECT generate_series`` (not
through the API): twelve months of appeals across the demo county's 25 units, 12 channels, the
category tree and the townships' villages, with their events (register, dispatch, return,
claim, reply, visit attempts, visit, close; extensions on some) and plausible on-time flags and
ratings. The metrics facts are then rebuilt with ``kuaiban rollup --rebuild`` (timed).

It then times, 20 runs each after one warm-up, on the last month of the ledger:
  * overview: ``kuaiban.metrics.overview.overview`` — every figure of the dashboard;
  * dashboard page: ``GET /metrics/`` as the leader (the overview plus plotly figures, HTML);
  * ranking: ``kuaiban.metrics.services.rankings`` — both tiers, with last month's change;
and prints p50 / p95 / max in milliseconds. Target: p95 < 500 ms for overview and ranking.
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
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kb_metrics")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kuaiban.settings")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

END = dt.date(2026, 6, 30)  # the ledger's last day; the measured month is June 2026
MONTH = dt.date(2026, 6, 1)


def ensure_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


LOAD_SQL = """
CREATE TEMP TABLE b_units AS SELECT row_number() OVER (ORDER BY id) AS i, id, code FROM org_unit;
CREATE TEMP TABLE b_villages AS
  SELECT row_number() OVER (ORDER BY id) AS i, id FROM org_region WHERE level = 'village';
CREATE TEMP TABLE b_cats AS
  SELECT row_number() OVER (ORDER BY id) AS i, id FROM appeals_category WHERE level = 2;
CREATE TEMP TABLE b AS
SELECT g,
  %(start)s::timestamptz + ((g - 1) * %(span)s::float8 / %(n)s) * interval '1 second' AS recv,
  (ARRAY['hotline','hotline','hotline','hotline','mailbox','direct_line','grid','grid','wechat',
         'breakfast','petition','visit','web','web','app','open311','inspection'])[1 + (g * 7) %% 17] AS channel,
  (ARRAY['complaint','complaint','help','help','consultation','suggestion'])[1 + (g * 13) %% 6] AS kind,
  1 + (g * 31) %% (SELECT count(*) FROM b_units) AS unit_i,
  1 + (g * 37) %% (SELECT count(*) FROM b_units) AS other_i,
  1 + (g * 17) %% (SELECT count(*) FROM b_villages) AS village_i,
  1 + (g * 11) %% (SELECT count(*) FROM b_cats) AS cat_i,
  (g * 7919) %% 1000 AS r1,
  (g * 104729) %% 1000 AS r2
FROM generate_series(1::bigint, %(n)s::bigint) AS g;
ALTER TABLE b ADD COLUMN status text;
UPDATE b SET status = CASE
  WHEN r1 < 20 THEN 'invalid' WHEN r1 < 40 THEN 'merged' WHEN r1 < 60 THEN 'dispatched'
  WHEN r1 < 100 THEN 'in_progress' WHEN r1 < 150 THEN 'replied' WHEN r1 < 170 THEN 'visited'
  ELSE 'closed' END;
-- recent appeals are less far along
UPDATE b SET status = 'dispatched' WHERE recv > %(end)s::timestamptz - interval '2 days'
  AND status IN ('closed', 'visited', 'replied', 'in_progress');

INSERT INTO appeals_appeal (
  number, channel, kind, urgency, title, content, search_text, submitter_type, submitter_name,
  submitter_phone, submitter_id_number, enterprise_name, credit_code, phone_last4, region_id,
  address, status, lead_unit_id, reply_result, reply_text, invalid_reason, return_count,
  rework_count, received_at, dispatched_at, claimed_at, replied_at, visited_at, closed_at,
  ended_at, updated_at, claim_due, reply_due, visit_due, alert, last_event_hash, event_count,
  category_id{appeal_extra_cols})
SELECT
  'KB' || to_char(recv AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || '-' || lpad(g::text, 7, '0'),
  channel, kind, 'normal', '小区路灯不亮', '小区门口路灯已经坏了两个星期，晚上出行不便，请尽快维修。',
  '小区路灯不亮', 'citizen', '王建华', '138' || lpad((g %% 100000000)::text, 8, '0'), '', '', '',
  lpad((g %% 10000)::text, 4, '0'), v.id, '', status,
  CASE WHEN status IN ('invalid', 'merged') THEN NULL ELSE u.id END,
  CASE WHEN status IN ('replied','visited','closed') THEN 'resolved' ELSE '' END,
  '', '', CASE WHEN g %% 33 = 0 THEN 1 ELSE 0 END, 0,
  recv, recv + interval '1 hour', recv + interval '3 hours',
  CASE WHEN status IN ('replied','visited','closed') THEN recv + interval '3 days' END,
  CASE WHEN status IN ('visited','closed') THEN recv + interval '4 days' END,
  CASE WHEN status = 'closed' THEN recv + interval '5 days' END,
  CASE WHEN status IN ('closed','merged','invalid') THEN recv + interval '5 days' END,
  recv + interval '5 days', recv + interval '8 hours', recv + interval '10 days',
  CASE WHEN status IN ('replied') THEN recv + interval '6 days' END,
  CASE WHEN status IN ('dispatched','in_progress') AND recv < %(end)s::timestamptz - interval '10 days'
       THEN 'red' ELSE 'none' END,
  '', 0, c.id{appeal_extra_vals}
FROM b JOIN b_units u ON u.i = b.unit_i JOIN b_villages v ON v.i = b.village_i
  JOIN b_cats c ON c.i = b.cat_i
ORDER BY g;

CREATE TEMP TABLE ba AS
SELECT a.id, a.status, a.received_at AS recv, b.r1, b.r2, b.g, u.code AS unit, o.code AS other
FROM appeals_appeal a JOIN b ON a.number = 'KB' || to_char(b.recv AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || '-' || lpad(b.g::text, 7, '0')
JOIN b_units u ON u.i = b.unit_i JOIN b_units o ON o.i = b.other_i;
ALTER TABLE ba ADD COLUMN off int;
UPDATE ba SET off = CASE WHEN g %% 33 = 0 AND status NOT IN ('invalid','merged') THEN 2 ELSE 0 END;

INSERT INTO appeals_appealevent (appeal_id, seq, at, actor_label, action, from_status, to_status, note, payload, prev_hash, hash{event_extra_cols})
SELECT id, 1, recv, 'bench', 'register', '', 'received', '', '{"channel": "hotline"}', '', ''{event_extra_vals} FROM ba;
INSERT INTO appeals_appealevent (appeal_id, seq, at, actor_label, action, from_status, to_status, note, payload, prev_hash, hash{event_extra_cols})
SELECT id, 2, recv + interval '10 minutes', 'bench', CASE WHEN status = 'invalid' THEN 'invalidate' WHEN status = 'merged' THEN 'merge' ELSE 'dispatch' END,
  'received', CASE WHEN status IN ('invalid','merged') THEN status ELSE 'dispatched' END, '',
  jsonb_build_object('unit', CASE WHEN off = 2 THEN other ELSE unit END), '', ''{event_extra_vals} FROM ba;
INSERT INTO appeals_appealevent (appeal_id, seq, at, actor_label, action, from_status, to_status, note, payload, prev_hash, hash{event_extra_cols})
SELECT id, 3, recv + interval '30 minutes', 'bench', 'return', 'dispatched', 'received', '属地事项',
  jsonb_build_object('unit', other, 'returns', 1), '', ''{event_extra_vals} FROM ba WHERE off = 2;
INSERT INTO appeals_appealevent (appeal_id, seq, at, actor_label, action, from_status, to_status, note, payload, prev_hash, hash{event_extra_cols})
SELECT id, 4, recv + interval '1 hour', 'bench', 'dispatch', 'received', 'dispatched', '',
  jsonb_build_object('unit', unit), '', ''{event_extra_vals} FROM ba WHERE off = 2;
INSERT INTO appeals_appealevent (appeal_id, seq, at, actor_label, action, from_status, to_status, note, payload, prev_hash, hash{event_extra_cols})
SELECT id, 3 + off, recv + interval '3 hours', 'bench', 'claim', 'dispatched', 'in_progress', '',
  jsonb_build_object('on_time', r2 < 930), '', ''{event_extra_vals} FROM ba
WHERE status IN ('in_progress','replied','visited','closed');
INSERT INTO appeals_appealevent (appeal_id, seq, at, actor_label, action, from_status, to_status, note, payload, prev_hash, hash{event_extra_cols})
SELECT id, 4 + off, recv + interval '2 days', 'bench', 'extension_approved', '', '', '',
  jsonb_build_object('reply_due', to_char(recv + interval '20 days', 'YYYY-MM-DD"T"HH24:MI:SS')), '', ''{event_extra_vals}
FROM ba WHERE status IN ('replied','visited','closed') AND r2 %% 50 = 7;
INSERT INTO appeals_appealevent (appeal_id, seq, at, actor_label, action, from_status, to_status, note, payload, prev_hash, hash{event_extra_cols})
SELECT id, 5 + off, recv + interval '3 days', 'bench', 'reply', 'in_progress', 'replied', '已处理',
  jsonb_build_object('result', 'resolved', 'on_time', r1 %% 100 < 91), '', ''{event_extra_vals}
FROM ba WHERE status IN ('replied','visited','closed');
INSERT INTO appeals_appealevent (appeal_id, seq, at, actor_label, action, from_status, to_status, note, payload, prev_hash, hash{event_extra_cols})
SELECT id, 6 + off, recv + interval '4 days', 'bench', 'visit', 'replied', 'visited', '',
  CASE WHEN r2 %% 20 = 3 THEN '{"reached": false, "rated": false, "attempts": 3}'::jsonb
  ELSE jsonb_build_object('reached', true, 'rated', true, 'resolved', r2 %% 10 < 8,
    'satisfaction', CASE WHEN r2 %% 25 < 18 THEN 'satisfied' WHEN r2 %% 25 < 23 THEN 'basic' ELSE 'dissatisfied' END,
    'authentic', r2 %% 30 <> 0) END, '', ''{event_extra_vals}
FROM ba WHERE status IN ('visited','closed');
INSERT INTO appeals_appealevent (appeal_id, seq, at, actor_label, action, from_status, to_status, note, payload, prev_hash, hash{event_extra_cols})
SELECT id, 7 + off, recv + interval '5 days', 'bench', 'close', 'visited', 'closed', '', '{}', '', ''{event_extra_vals}
FROM ba WHERE status = 'closed';
UPDATE appeals_appeal a SET event_count = e.n FROM
  (SELECT appeal_id, max(seq) AS n FROM appeals_appealevent GROUP BY appeal_id) e
WHERE e.appeal_id = a.id;
"""


def _extra(model: Any, sql: str, table: str) -> tuple[str, str, list[Any]]:
    """Not-null columns this script does not fill (added by later migrations): their defaults."""
    from django.db import connection

    head = sql.split(f"INSERT INTO {table} (", 1)[1].split(")", 1)[0]
    named = {c.split("{")[0].strip() for c in head.split(",")}
    cols, vals, params = "", "", []
    for f in model._meta.concrete_fields:
        if f.primary_key or f.null or f.column in named or f.get_default() is None:
            continue
        cols += f", {connection.ops.quote_name(f.column)}"
        vals += ", %s"
        params.append(f.get_db_prep_save(f.get_default(), connection))
    return cols, vals, params


def load(n: int) -> None:
    from django.db import connection

    from kuaiban.appeals.models import Appeal, AppealEvent

    start = dt.datetime.combine(END - dt.timedelta(days=364), dt.time(0, 0)).isoformat() + "+08:00"
    end = dt.datetime.combine(END, dt.time(23, 59)).isoformat() + "+08:00"
    span = 365 * 86400 - 120
    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE metrics_appealfact, metrics_factdirty, appeals_visit, appeals_appealevent, "
            "appeals_appeal_co_units, appeals_appeal RESTART IDENTITY CASCADE"
        )
        a_cols, a_vals, a_params = _extra(Appeal, LOAD_SQL, "appeals_appeal")
        e_cols, e_vals, e_params = _extra(AppealEvent, LOAD_SQL, "appeals_appealevent")
        values = {"start": start, "end": end, "span": span, "n": n}
        for statement in LOAD_SQL.split(";\n"):
            if not statement.strip():
                continue
            params: list[Any] = []
            if "{appeal_extra_cols}" in statement:
                params = a_params
            elif "{event_extra_cols}" in statement:
                params = e_params
            sql = (
                statement.replace("{appeal_extra_cols}", a_cols)
                .replace("{appeal_extra_vals}", a_vals)
                .replace("{event_extra_cols}", e_cols)
                .replace("{event_extra_vals}", e_vals)
            )
            if params:
                # positional extras after the named ones: inline the named values instead
                for key, value in values.items():
                    sql = sql.replace(f"%({key})s", f"'{value}'")
                cur.execute(sql, params)
            else:
                cur.execute(sql, values)
        cur.execute("ANALYZE")


def timed(fn: Any, runs: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--appeals", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reload", action="store_true", help="bulk-load the ledger again")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the metrics facts")
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        print("bench/dashboard.py measures PostgreSQL: set DATABASE_URL=postgres://…")
        return 2
    ensure_database(url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from kuaiban.appeals.models import Appeal
    from kuaiban.core import clock
    from kuaiban.metrics import overview, services
    from kuaiban.metrics.models import AppealFact
    from kuaiban.org.demo import build_directory
    from kuaiban.org.models import User

    call_command("migrate", verbosity=0)
    build_directory()
    have = Appeal.objects.count()
    complete = Appeal.objects.filter(event_count=0).count() == 0
    if args.reload or have != args.appeals or not complete:
        print(f"loading {args.appeals:,} appeals and their events (bulk SQL)…", flush=True)
        started = time.monotonic()
        load(args.appeals)
        print(f"  loaded in {time.monotonic() - started:.0f}s", flush=True)
        AppealFact.objects.all().delete()
    if args.rebuild or not AppealFact.objects.exists():
        print("rebuilding the metrics facts (kuaiban rollup --rebuild)…", flush=True)
        started = time.monotonic()
        call_command("rollup", "--rebuild", verbosity=0)
        print(f"  rebuilt in {time.monotonic() - started:.0f}s", flush=True)
    # What autovacuum does after a bulk change: keeps index-only scans index-only.
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE metrics_appealfact")
    leader = User.objects.get(username="leader")
    frm, to = services.month_bounds(MONTH)
    scope = services.Scope(frm, to)
    now = dt.datetime(2026, 7, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    client = Client(SERVER_NAME="localhost")
    client.force_login(leader)
    in_month = AppealFact.objects.filter(day__gte=frm, day__lte=to, lead=True).count()
    print(
        f"ledger: {Appeal.objects.count():,} appeals, {AppealFact.objects.count():,} fact rows; "
        f"{in_month:,} counted appeals received in {MONTH:%Y-%m}"
    )

    def page() -> None:
        response = client.get("/metrics/", {"from": frm.isoformat(), "to": to.isoformat()})
        assert response.status_code == 200, response.status_code

    with clock.frozen(now):
        results = {
            "overview (service)": timed(
                lambda: overview.overview(user=leader, scope=scope), args.runs
            ),
            "dashboard page (GET /metrics/)": timed(page, args.runs),
            "ranking (service)": timed(lambda: services.rankings(MONTH), args.runs),
            "rankings API (GET /api/v1/rankings)": [],
        }
        results.pop("rankings API (GET /api/v1/rankings)")
    print(f"{'':38} {'p50':>8} {'p95':>8} {'max':>8}   ({args.runs} runs, ms)")
    for name, samples in results.items():
        print(
            f"{name:38} {statistics.median(samples):8.1f} {p95(samples):8.1f} {max(samples):8.1f}"
        )
    worst = max(p95(results["overview (service)"]), p95(results["ranking (service)"]))
    print(f"target p95 < 500 ms: {'met' if worst < 500 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
