"""Run the test suite on one database: ``sqlite`` or ``postgres``.

PostgreSQL comes from KUAIBAN_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/kuaiban).
Where it cannot be reached the pass is skipped with a message, except under CI (CI=true), where
it is required. Browser tests run in the SQLite pass (they exercise the UI, not the database).
"""

from __future__ import annotations

import os
import subprocess
import sys

DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/kuaiban"


def postgres_reachable(url: str) -> str | None:
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        return "psycopg is not installed"
    conninfo = url.rsplit("/", 1)[0] + "/postgres"
    try:
        with psycopg.connect(conninfo, connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


def main() -> int:
    which = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    extra = sys.argv[2:]
    env = dict(os.environ)
    ci = env.get("CI", "").lower() == "true"
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra]
    if which == "postgres":
        url = env.get("KUAIBAN_TEST_DATABASE_URL", DEFAULT_PG)
        problem = postgres_reachable(url)
        if problem:
            message = (
                f"PostgreSQL pass SKIPPED: cannot reach {url} ({problem}). To enable it, start "
                "PostgreSQL (e.g. `pg_ctlcluster 15 main start`) or set KUAIBAN_TEST_DATABASE_URL."
            )
            if ci:
                print(message.replace("SKIPPED", "FAILED (required under CI)"), file=sys.stderr)
                return 1
            print(message)
            return 0
        env["DATABASE_URL"] = url
        args += ["-m", "not browser"]
        print(f"== test suite on PostgreSQL ({url})", flush=True)
    else:
        env.pop("DATABASE_URL", None)
        print("== test suite on SQLite", flush=True)
    return subprocess.call(args, env=env)


if __name__ == "__main__":
    raise SystemExit(main())
