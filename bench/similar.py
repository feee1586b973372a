"""Similar-appeal lookup in PostgreSQL at 100,000 and 1,000,000 appeals, beside the old index.

    python bench/similar.py [--sizes 100000,1000000] [--queries 500]
                            [--before DIR]   # a checkout of the commit before (the old index)

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/kb_similar (created if missing,
migrated, and emptied of appeals before each size). For each size the ledger is bulk-loaded as a
benchmark fixture: synthetic Chinese appeals from ``bench/routing.py``'s ``AppealFaker`` (the
same problem at the same place in many wordings, 5 % raw messages, ~6 % turned Traditional),
folded as registration folds them, received over the last 80 days, 2 % merged, 1 % invalid, 5 %
reports, COPY'd into ``appeals_appeal``; the search rows are filled by the migration's own
statement, the GIN index built after, then ``VACUUM ANALYZE``. The lookup is then timed for
``--queries`` new reports of problems in the ledger (``similar.search``, what every caller
uses), and the whole selector as an operator (with the role filter and the rows).

With ``--before DIR`` the old in-process index of DIR (``bench/routing.py --only similar``) is
run on the same corpus at the first size, in the same run. Before each measurement the host's
reference speed is printed: the CPU time of a fixed pure-Python loop (lower is faster).
Target: p95 < 50 ms at 1M appeals.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kb_similar")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kuaiban.settings")

from bench.routing import AppealFaker, _percentiles, _verdict, load_raw_messages  # noqa: E402


def host_loop() -> float:
    """CPU seconds of a fixed pure-Python loop: the host's reference speed (lower is faster)."""
    c0 = time.process_time()
    s = 0
    for i in range(10**7):
        s += i
    return time.process_time() - c0


def ensure_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _defaults() -> tuple[list[str], list[Any]]:
    """Not-null columns of appeals_appeal the loader does not fill, with their defaults."""
    from django.db import connection

    from kuaiban.appeals.models import Appeal

    filled = {"number", "channel", "kind", "title", "content", "search_text", "status"}
    filled |= {"received_at", "updated_at", "phone_last4", "access_code"}
    cols, vals = [], []
    for f in Appeal._meta.concrete_fields:
        if f.primary_key or f.null or f.column in filled:
            continue
        default = f.get_default()
        cols.append(f.column)
        vals.append(f.get_db_prep_save(default, connection))
    return cols, vals


def load(texts: list[str], *, seed: int) -> float:
    """Replace the ledger by ``texts`` (``title\\ncontent``); seconds taken."""
    import importlib
    import random

    from django.db import connection

    from kuaiban.core.text import fold

    migration = importlib.import_module("kuaiban.routing.migrations.0003_similar_text")

    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    extra_cols, extra_vals = _defaults()
    columns = [
        "number", "channel", "kind", "title", "content", "search_text", "status",
        "received_at", "updated_at", "phone_last4", "access_code", *extra_cols,
    ]  # fmt: skip
    with connection.cursor() as cur:
        cur.execute("SET maintenance_work_mem = '512MB'")
        cur.execute(
            "TRUNCATE routing_suggestion, routing_similartext, appeals_appealevent, "
            "appeals_appeal_co_units, appeals_appeal RESTART IDENTITY CASCADE"
        )
        cur.execute("DROP INDEX IF EXISTS routing_similartext_grams")
        cur.execute("ALTER TABLE appeals_appeal DISABLE TRIGGER routing_similartext_sync")
        sql = f"COPY appeals_appeal ({', '.join(columns)}) FROM STDIN"
        with cur.cursor.copy(sql) as copy:
            for i, text in enumerate(texts):
                title, _, content = text.partition("\n")
                title = title[:120]
                r = rng.random()
                status = "merged" if r < 0.02 else "invalid" if r < 0.03 else "received"
                kind = "report" if rng.random() < 0.05 else "complaint"
                at = now - dt.timedelta(seconds=rng.randrange(80 * 86400))
                copy.write_row(
                    [
                        f"KB-B{i:08d}", "hotline", kind, title, content or title,
                        fold(f"{title}\n{content}"), status, at, at, "0000", f"{i:010d}",
                        *extra_vals,
                    ]
                )  # fmt: skip
        copied = time.perf_counter()
        cur.execute("ALTER TABLE appeals_appeal ENABLE TRIGGER routing_similartext_sync")
        # The migration's own statements: the backfill, then the index.
        for statement in migration.FORWARD[3:5]:
            cur.execute(statement)
            print(f"similar:   {statement.split()[0]} in {time.perf_counter() - copied:.0f} s")
        print(f"similar:   COPY took {copied - t0:.0f} s", flush=True)
    with connection.cursor() as cur:
        connection.connection.autocommit = True  # VACUUM outside a transaction
        cur.execute("VACUUM ANALYZE appeals_appeal")
        cur.execute("VACUUM ANALYZE routing_similartext")
    return time.perf_counter() - t0


def _sizes(cur: Any) -> str:
    cur.execute(
        "SELECT pg_size_pretty(pg_table_size('routing_similartext')), "
        "pg_size_pretty(pg_relation_size('routing_similartext_grams'))"
    )
    table, index = cur.fetchone()
    return f"search table {table}, GIN index {index}"


def measure(label: str, queries: list[str], fn: Any) -> None:
    for text in queries[:20]:
        fn(text)  # warm-up
    loop = host_loop()
    times, cpu, hits = [], [], 0
    for text in queries:
        t0, c0 = time.perf_counter(), time.process_time()
        found = fn(text)
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        hits += bool(found)
    p50, p95, p99 = _percentiles(times)
    c50, c95, _ = _percentiles(cpu)
    print(
        f"{label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms, p99 {p99:.1f} ms wall; this process's "
        f"CPU p50 {c50:.1f} ms, p95 {c95:.1f} ms ({len(queries)} queries, {hits} with a match; "
        f"host loop {loop:.2f} s, load {os.getloadavg()[0]:.1f}) (target p95 < 50 ms) "
        f"{_verdict(p95 < 50)}",
        flush=True,
    )


def run_size(raw: list[str], size: int, n_queries: int) -> None:
    from django.db import connection

    from kuaiban.org.models import Role, User
    from kuaiban.routing import selectors, similar

    faker = AppealFaker(raw, seed=1)
    t0 = time.perf_counter()
    texts = list(faker.stream(size))
    made = time.perf_counter() - t0
    took = load(texts, seed=size)
    similar.reset()
    with connection.cursor() as cur:
        print(
            f"similar: {size:,} appeals written in {made:.0f} s, loaded, indexed and analysed "
            f"in {took:.0f} s; {_sizes(cur)}",
            flush=True,
        )
    probe = AppealFaker(raw, seed=2)
    n_events = max(1, size // 3)
    queries = [probe.appeal(probe.event(n_events)) for _ in range(n_queries)]
    measure(f"similar: lookup over {size:,} appeals", queries, lambda t: similar.search(t))
    operator, _ = User.objects.get_or_create(
        username="bench-operator", defaults={"role": Role.OPERATOR, "display_name": "话务员"}
    )
    measure(
        f"similar: selector as operator over {size:,} appeals",
        queries,
        lambda t: selectors.similar_appeals(user=operator, text=t),
    )


def run_before(before: Path, data_dir: Path, size: int, n_queries: int) -> None:
    python = before / ".venv" / "bin" / "python"
    if not python.exists():
        python = Path(sys.executable)
    print(f"before ({before}): old in-process index, host loop {host_loop():.2f} s", flush=True)
    cmd = [str(python), str(before / "bench" / "routing.py"), "--only", "similar"]
    cmd += ["--index-size", str(size), "--queries", str(n_queries), "--data-dir", str(data_dir)]
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(before)
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    for line in result.stdout.splitlines():
        if line.startswith("similar:"):
            print(f"before {line}", flush=True)
    if result.returncode:
        print(f"before: failed ({result.returncode}): {result.stderr[-2000:]}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--before", type=Path, default=None)
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]

    ensure_database(os.environ["DATABASE_URL"])
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    raw = load_raw_messages(args.data_dir)
    for at, size in enumerate(sizes):
        run_size(raw, size, args.queries)
        if at == 0 and args.before is not None:
            run_before(args.before, args.data_dir, size, args.queries)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
