# ruff: noqa: E501  (the bulk-load SQL is kept as SQL)
"""Sweep benchmark: ``kuaiban sweep`` on a PostgreSQL ledger of 1,000,000 appeals, 200,000 open.

    python bench/sweep.py                       # DATABASE_URL defaults to .../kb_deadlines
    python bench/sweep.py --appeals 200000 --open 40000
    python bench/sweep.py --reload              # drop and bulk-load the ledger again
    python bench/sweep.py --catch-up            # also time a sweep from no alerts at all

The ledger is bulk-loaded straight into PostgreSQL with ``INSERT … SELECT generate_series`` (not
through the API), with one ``register`` event per appeal: 800,000 ended appeals over the past
year and 200,000 open ones (20% waiting to be claimed, 60% in progress, 20% replied and
waiting for the return visit), spread over the demo directory's units. The running deadline of
each open appeal lies between 3 days ago and 14 days ahead, its warning moment one day before
it: at the measured moment about 18% of the open appeals are overdue and 6% due soon.

A quarter of the open appeals and 15% of the closed ones carry one or two co-unit parts (协办;
about 70,000 and 160,000 at the full size): departments or townships other than the lead, due
one day before the lead's reply deadline (so spread like the appeals'). The parts of open
appeals wait for their co-unit, are claimed or are answered (see PARTS_SQL); the closed
appeals' are answered. A part is due soon once three quarters of its time have passed, and the
sweep warns its co-unit once per level (notifications only, no event).

The alerts and the parts' warnings are first set as the sweep would have left them an hour
before the measured moment (Monday 23 November 2026, 10:00 Beijing time): the ledger of a
county whose sweeper has been down for an hour. Then it times:
  1. one sweep: every appeal whose deadline or warning moment passed in that hour gets its
     alert, one event and its notifications, and every part that became due soon or overdue
     its warning (target < 10 s);
  2. the same sweep again, which has nothing to do (target < 1 s);
  3. a sweep one minute later (what cron does every minute);
  4. with ``--catch-up``: a sweep from no alerts at all (the first sweep after installing the
     deadlines on an existing ledger: tens of thousands of changes, reported as changes/s).
Each line also shows how much of the time went to the after-commit hooks that other apps
register on every appeal event (webhooks, enterprise links, metrics), and below it the part
warnings the sweep made and how many of the notifications were theirs. Before timing, the
alerts, their events and the notifications of earlier runs are removed, and every waiting part
is armed again at its first warning moment (``warn_at``, as migration appeals 0019 backfills it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kb_deadlines")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kuaiban.settings")

NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
TARGET_SWEEP_S = 10.0
TARGET_NOOP_S = 1.0


def ensure_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


LOAD_SQL = """
CREATE TEMP TABLE b_units AS SELECT row_number() OVER (ORDER BY id) AS i, id FROM org_unit;
CREATE TEMP TABLE b_handlers AS
  SELECT u.i, min(h.id) AS id FROM b_units u JOIN org_user h ON h.unit_id = u.id GROUP BY u.i;
CREATE TEMP TABLE b_villages AS
  SELECT row_number() OVER (ORDER BY id) AS i, id FROM org_region WHERE level = 'village';
CREATE TEMP TABLE b AS
SELECT g,
  g %% %(every)s = 0 AS open,
  1 + (g * 31) %% (SELECT count(*) FROM b_units) AS unit_i,
  1 + (g * 17) %% (SELECT count(*) FROM b_villages) AS village_i,
  (ARRAY['hotline','hotline','hotline','mailbox','direct_line','grid','wechat','web','app'])[1 + (g * 7) %% 9] AS channel,
  (ARRAY['complaint','complaint','help','help','consultation','suggestion'])[1 + (g * 13) %% 6] AS kind,
  (g * 7919) %% 1000 AS r1,
  (g * 104729) %% 17000 AS r2
FROM generate_series(1::bigint, %(n)s::bigint) AS g;
ALTER TABLE b ADD COLUMN status text, ADD COLUMN recv timestamptz, ADD COLUMN due timestamptz;
UPDATE b SET
  status = CASE WHEN NOT open THEN (CASE WHEN r1 < 30 THEN 'invalid' WHEN r1 < 50 THEN 'merged' ELSE 'closed' END)
                WHEN (g / %(every)s) %% 10 < 2 THEN 'dispatched' WHEN (g / %(every)s) %% 10 < 8 THEN 'in_progress' ELSE 'replied' END,
  due = %(now)s::timestamptz + (r2 / 1000.0 - 3) * interval '1 day',
  recv = CASE WHEN open THEN %(now)s::timestamptz - (r1 / 1000.0 * 20 + 1) * interval '1 day'
              ELSE %(now)s::timestamptz - (30 + (g %% 33500) / 100.0) * interval '1 day' END;

INSERT INTO appeals_appeal (
  number, channel, kind, urgency, title, content, search_text, submitter_type, submitter_name,
  submitter_phone, phone_last4, region_id, address, status, lead_unit_id, handler_id,
  received_at, dispatched_at, claimed_at, replied_at, closed_at, ended_at, updated_at,
  claim_due, claim_warn_at, reply_due, reply_warn_at, visit_due, visit_warn_at,
  alert, alert_stage, last_event_hash, event_count{appeal_extra_cols})
SELECT
  'KB' || to_char(recv AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') || '-' || lpad(g::text, 7, '0'),
  channel, kind, 'normal', '小区路灯不亮', '小区门口路灯已经坏了两个星期，晚上出行不便，请尽快维修。',
  '小区路灯不亮', 'citizen', '王建华', '138' || lpad((g %% 100000000)::text, 8, '0'),
  lpad((g %% 10000)::text, 4, '0'), v.id, '', status,
  CASE WHEN status IN ('invalid', 'merged') THEN NULL ELSE u.id END,
  CASE WHEN status IN ('in_progress', 'replied', 'closed') THEN h.id END,
  recv, recv + interval '1 hour',
  CASE WHEN status IN ('in_progress', 'replied', 'closed') THEN recv + interval '3 hours' END,
  CASE WHEN status IN ('replied', 'closed') THEN recv + interval '3 days' END,
  CASE WHEN status = 'closed' THEN recv + interval '6 days' END,
  CASE WHEN status IN ('closed', 'merged', 'invalid') THEN recv + interval '6 days' END,
  recv + interval '1 hour',
  CASE WHEN status = 'dispatched' THEN due ELSE recv + interval '8 hours' END,
  CASE WHEN status = 'dispatched' THEN due - interval '1 day' ELSE recv + interval '6 hours' END,
  CASE WHEN status = 'in_progress' THEN due WHEN status = 'dispatched' THEN due + interval '5 days' ELSE recv + interval '10 days' END,
  CASE WHEN status = 'in_progress' THEN due - interval '1 day' WHEN status = 'dispatched' THEN due + interval '4 days' ELSE recv + interval '9 days' END,
  CASE WHEN status = 'replied' THEN due WHEN status = 'closed' THEN recv + interval '5 days' END,
  CASE WHEN status = 'replied' THEN due - interval '1 day' WHEN status = 'closed' THEN recv + interval '4 days' END,
  'none', '', '', 1{appeal_extra_vals}
FROM b JOIN b_units u ON u.i = b.unit_i JOIN b_villages v ON v.i = b.village_i
  LEFT JOIN b_handlers h ON h.i = b.unit_i
ORDER BY g;

INSERT INTO appeals_appealevent (appeal_id, seq, at, actor_label, action, from_status, to_status, note, payload, prev_hash, hash{event_extra_cols})
SELECT id, 1, received_at, 'bench', 'register', '', 'received', '', jsonb_build_object('channel', channel), '', ''{event_extra_vals}
FROM appeals_appeal;
"""

# Co-unit parts (协办): 25% of the open appeals and 15% of the closed ones, 40% of those with two
# co-units: departments or townships (the units with handlers to claim a part) other than the
# lead, picked by a hash of the appeal id. Created at dispatch and due one day before the lead's
# reply, as deadlines.assist_due has them, and listed as the appeal's co-units. Parts of an
# appeal waiting to be claimed mostly wait for their co-unit too (80%, the rest claimed); in
# progress: 25% waiting, 40% claimed, 35% answered; replied and closed: answered. The hashes
# keep these choices apart from the appeals' own spread (which follows the appeal id).
PARTS_SQL = """
CREATE TEMP TABLE b_co AS
  SELECT u.id, min(h.id) AS handler FROM org_unit u JOIN org_user h ON h.unit_id = u.id AND h.role = 'handler'
  WHERE u.kind IN ('department', 'township') GROUP BY u.id;
CREATE TEMP TABLE b_parts AS
SELECT a.id AS appeal_id, a.status AS appeal_status, a.dispatched_at AS created, a.reply_due,
  c.id AS unit_id, c.handler, c.k, (hashtext(a.id::text || ':' || c.k)::bigint & 2147483647) %% 100 AS r
FROM appeals_appeal a
  CROSS JOIN LATERAL (SELECT hashtext(a.id::text)::bigint & 2147483647 AS h) x
  CROSS JOIN LATERAL (
    SELECT co.id, co.handler, row_number() OVER () AS k FROM (
      SELECT id, handler FROM b_co WHERE id <> a.lead_unit_id
      ORDER BY hashtext(a.id::text || '/' || id) LIMIT (CASE WHEN (x.h / 100) %% 10 < 4 THEN 2 ELSE 1 END)
    ) co
  ) c
WHERE a.status IN ('dispatched', 'in_progress', 'replied', 'closed')
  AND x.h %% 100 < (CASE WHEN a.status = 'closed' THEN 15 ELSE 25 END);
ALTER TABLE b_parts ADD COLUMN status text;
UPDATE b_parts SET status = CASE
  WHEN appeal_status = 'dispatched' THEN (CASE WHEN r < 80 THEN 'open' ELSE 'claimed' END)
  WHEN appeal_status = 'in_progress' THEN (CASE WHEN r < 25 THEN 'open' WHEN r < 65 THEN 'claimed' ELSE 'answered' END)
  ELSE 'answered' END;

INSERT INTO appeals_assistpart (
  appeal_id, unit_id, status, created_at, due, claimed_by_id, claimed_at, text, result,
  answered_by_id, answered_at{part_extra_cols})
SELECT appeal_id, unit_id, status, created,
  CASE WHEN reply_due - interval '1 day' > created THEN reply_due - interval '1 day' ELSE reply_due END,
  CASE WHEN status <> 'open' THEN handler END,
  CASE WHEN status <> 'open' THEN created + interval '2 hours' END,
  CASE WHEN status = 'answered' THEN '已派人到现场核实，本单位负责的路段路灯已更换。' ELSE '' END,
  CASE WHEN status = 'answered' THEN 'resolved' ELSE '' END,
  CASE WHEN status = 'answered' THEN handler END,
  CASE WHEN status = 'answered' THEN created + interval '20 hours' END{part_extra_vals}
FROM b_parts ORDER BY appeal_id, k;

INSERT INTO appeals_appeal_co_units (appeal_id, unit_id)
SELECT appeal_id, unit_id FROM b_parts ORDER BY appeal_id, k;
"""


def _extra(model: Any, sql: str, table: str, prefix: str) -> tuple[str, str, dict[str, Any]]:
    """Not-null columns this script does not fill (added by later migrations): their defaults."""
    from django.db import connection

    head = sql.split(f"INSERT INTO {table} (", 1)[1].split(")", 1)[0]
    named = {c.split("{")[0].strip() for c in head.split(",")}
    cols, vals, params = "", "", {}
    for f in model._meta.concrete_fields:
        if f.primary_key or f.null or f.column in named or f.get_default() is None:
            continue
        key = f"{prefix}_extra_{len(params)}"
        cols += f", {connection.ops.quote_name(f.column)}"
        vals += f", %({key})s"
        params[key] = f.get_db_prep_save(f.get_default(), connection)
    return cols, vals, params


def load(n: int, open_count: int) -> None:
    from django.db import connection

    from kuaiban.appeals.models import Appeal, AppealEvent, AssistPart

    every = max(1, n // open_count)
    values: dict[str, Any] = {"n": n, "every": every, "now": NOW.isoformat()}
    script = LOAD_SQL + PARTS_SQL
    for model, table, prefix in (
        (Appeal, "appeals_appeal", "appeal"),
        (AppealEvent, "appeals_appealevent", "event"),
        (AssistPart, "appeals_assistpart", "part"),
    ):
        cols, vals, params = _extra(model, script, table, prefix)
        values.update(params)
        script = script.replace(f"{{{prefix}_extra_cols}}", cols)
        script = script.replace(f"{{{prefix}_extra_vals}}", vals)
    with connection.cursor() as cur:
        cur.execute("TRUNCATE appeals_appeal RESTART IDENTITY CASCADE")
        for statement in script.split(";\n"):
            if statement.strip():
                cur.execute(statement, values)
        cur.execute("ANALYZE")


REARM_PARTS_SQL = """
UPDATE appeals_assistpart SET warned = '', warned_due = NULL, warn_at = CASE
  WHEN status = 'summoned' THEN GREATEST(created_at + (report_due - created_at) * 0.75, report_due - interval '30 days')
  WHEN status IN ('open', 'claimed') THEN GREATEST(created_at + (due - created_at) * 0.75, due - interval '30 days')
  END
WHERE warn_at IS NOT NULL OR warned <> '' OR status IN ('summoned', 'open', 'claimed')
"""


def reset() -> None:
    """Forget the alerts of an earlier run: markers, their events and the notifications."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("TRUNCATE supervision_notification, supervision_orderevent")
        # The metrics' to-do list of appeals whose facts need refreshing (filled by the events of
        # an earlier run): without this the hooks would be timed working off that backlog.
        cur.execute("SELECT to_regclass('metrics_factdirty') IS NOT NULL")
        if cur.fetchone()[0]:
            cur.execute("TRUNCATE metrics_factdirty")
        cur.execute(
            "DELETE FROM appeals_appealevent WHERE action IN ('alert_yellow', 'alert_red', 'alert_clear')"
        )
        cur.execute(
            "UPDATE appeals_appeal SET alert = 'none', alert_stage = '', alert_due = NULL, "
            "event_count = 1, last_event_hash = '' WHERE alert <> 'none' OR event_count <> 1"
        )
        # The parts' warnings of an earlier run (or none, after a bulk load): every waiting part
        # back to its first warning moment, as the appeals migration 0019 sets it.
        cur.execute(REARM_PARTS_SQL)
        cur.execute("VACUUM ANALYZE appeals_appeal")
        cur.execute("VACUUM ANALYZE appeals_appealevent")
        cur.execute("VACUUM ANALYZE appeals_assistpart")


PRIME_SQL = """
UPDATE appeals_appeal a SET alert = s.level, alert_stage = s.stage, alert_due = s.due
FROM (
  SELECT id, stage, due,
    CASE WHEN due <= %(at)s::timestamptz THEN 'red' WHEN warn <= %(at)s::timestamptz THEN 'yellow' ELSE 'none' END AS level
  FROM (
    SELECT id,
      CASE status WHEN 'dispatched' THEN 'claim' WHEN 'in_progress' THEN 'reply' ELSE 'visit' END AS stage,
      CASE status WHEN 'dispatched' THEN claim_due WHEN 'in_progress' THEN reply_due ELSE visit_due END AS due,
      CASE status WHEN 'dispatched' THEN claim_warn_at WHEN 'in_progress' THEN reply_warn_at ELSE visit_warn_at END AS warn
    FROM appeals_appeal WHERE status IN ('dispatched', 'in_progress', 'replied')
  ) x
) s
WHERE a.id = s.id AND s.level <> 'none'
"""


def prime(at: dt.datetime) -> int:
    """Set the alerts the sweep would have set at ``at`` (without their events)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(PRIME_SQL, {"at": at.isoformat()})
        count = cur.rowcount
        cur.execute("VACUUM ANALYZE appeals_appeal")
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--appeals", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=200_000)
    parser.add_argument("--reload", action="store_true")
    parser.add_argument(
        "--catch-up", action="store_true", help="also time a sweep starting from no alerts"
    )
    args = parser.parse_args()
    ensure_database(os.environ["DATABASE_URL"])

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from kuaiban.appeals.models import OPEN_STATUSES, PART_PENDING, Appeal, AppealEvent, AssistPart
    from kuaiban.org.demo import build_directory
    from kuaiban.supervision.models import Notification
    from kuaiban.supervision.services.sweep import part_notices, sweep

    call_command("migrate", verbosity=0)
    build_directory()
    have = Appeal.objects.count()
    if args.reload or have != args.appeals:
        started = time.monotonic()
        load(args.appeals, args.open)
        print(f"loaded {args.appeals:,} appeals in {time.monotonic() - started:.0f}s")
    connection.close()
    reset()
    open_now = Appeal.objects.filter(status__in=["dispatched", "in_progress", "replied"]).count()
    print(
        f"ledger: {Appeal.objects.count():,} appeals, {open_now:,} open; sweep at {NOW:%Y-%m-%d %H:%M %z}"
    )

    # Time the other apps' after-commit hooks (webhooks, enterprise links, metrics facts) that
    # run once per appeal event, to show how much of a sweep is theirs.
    from kuaiban.appeals import services as appeal_services

    in_hooks = [0.0]
    per_hook: dict[str, float] = {}

    def timed_hook(hook: Any) -> Any:
        name = f"{hook.__module__}.{hook.__name__}"

        def run(appeal_id: int, event_id: int) -> None:
            started = time.perf_counter()
            hook(appeal_id, event_id)
            spent = time.perf_counter() - started
            in_hooks[0] += spent
            per_hook[name] = per_hook.get(name, 0.0) + spent

        return run

    appeal_services._event_hooks[:] = [timed_hook(h) for h in appeal_services._event_hooks]

    def part_notes() -> int:
        return Notification.objects.filter(key__startswith="part:").count()

    def timed(label: str, moment: dt.datetime) -> float:
        events, notices = AppealEvent.objects.count(), Notification.objects.count()
        parts_before = part_notes()
        in_hooks[0] = 0.0
        per_hook.clear()
        started = time.monotonic()
        result = sweep(now=moment)
        seconds = time.monotonic() - started
        written = AppealEvent.objects.count() - events
        print(
            f"{label:<26} {seconds:7.2f} s  {result.yellow:>6,} yellow {result.red:>6,} red "
            f"{result.cleared:>4,} cleared  {written:>6,} events "
            f"{Notification.objects.count() - notices:>6,} notifications  "
            f"({in_hooks[0]:.2f} s in {len(appeal_services._event_hooks)} after-commit hooks)"
        )
        print(
            f"{'':<26} co-unit parts: {result.parts_warned:,} part warnings, "
            f"{part_notes() - parts_before:,} of the notifications"
        )
        if in_hooks[0] >= 0.5:
            print("    hooks: " + ", ".join(f"{k} {v:.2f} s" for k, v in per_hook.items()))
        return seconds

    # Process start-up, not sweep work: the URLconf (imported by the first reverse()) and the
    # first query plans. A --loop worker pays them once; cron pays them with Django's start-up.
    from django.urls import reverse

    reverse("appeals:ledger")
    sweep(now=NOW - dt.timedelta(days=30))

    primed = prime(NOW - dt.timedelta(hours=1))
    print(f"alerts as of one hour before: {primed:,} appeals yellow or red")
    # The parts' warnings are notifications only (keyed once per part, level and deadline): the
    # ones the sweep had sent an hour before, by the sweep's own step, untimed.
    parts_primed = part_notices(now=NOW - dt.timedelta(hours=1))
    live = AssistPart.objects.filter(status__in=PART_PENDING, appeal__status__in=OPEN_STATUSES)
    print(
        f"co-unit parts: {AssistPart.objects.count():,} ({live.count():,} waiting or claimed on "
        f"open appeals); {parts_primed:,} part warnings as of one hour before"
    )
    first = timed("one sweep (an hour behind)", NOW)
    noop = timed("same sweep again (no-op)", NOW)
    minute = timed("one minute later", NOW + dt.timedelta(minutes=1))
    ok = first < TARGET_SWEEP_S and noop < TARGET_NOOP_S and minute < TARGET_SWEEP_S
    if args.catch_up:
        connection.close()
        reset()
        seconds = timed("catch-up from no alerts", NOW)
        changes = AppealEvent.objects.filter(action__startswith="alert_").count()
        print(f"catch-up: {changes / seconds:,.0f} changes/s")
        timed("same sweep again (no-op)", NOW)
    print(
        f"targets: one sweep < {TARGET_SWEEP_S:.0f} s, nothing to do < {TARGET_NOOP_S:.0f} s: "
        + ("met" if ok else "NOT met")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
