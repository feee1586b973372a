"""Kuaiban's intake beside a peer's: django-helpdesk's ticket API, same server, database and load.

    .venv/bin/python bench/peer.py [--rounds 3] [--duration 12] [--before ../kb-before]

Set-up, not measured (the first run needs PyPI; later runs reuse what it made):

- **django-helpdesk** from PyPI into a virtualenv of its own (``<data dir>/peer/helpdesk-venv``),
  with the same Django, Granian and psycopg versions as Kuaiban's. A minimal project is generated
  in a temporary directory (settings, urls, a bearer-token authentication class): PostgreSQL
  database ``kb_peer_helpdesk`` with the same connection settings as Kuaiban's (a psycopg pool of
  1-4 per process, health checks, server-side binding with prepared statements), one queue, one
  staff user with a DRF token, e-mail to the dummy backend and no submitter address (so it sends
  nothing: this favours the peer). Its API is ``POST /api/tickets/`` (``TicketSerializer``, which
  validates with ``TicketForm`` and saves the ticket and its first follow-up).
- **Kuaiban** from this checkout (and with ``--before DIR`` a second one, e.g. a worktree of the
  commit before a change, with its own ``.venv`` if it has one): database ``kb_peer_kuaiban``
  (``kb_peer_kuaiban_before``), ``migrate``, ``demo --appeals 0``, an operator's token.

Both are served by Granian with the same settings (WSGI, ``--workers`` processes × ``--threads``
blocking threads, no access log), on ports 8120-8122. The load generator runs in a process of
its own: ``--concurrency`` keep-alive connections in a closed loop (``bench/intake.py``'s), the
request bytes prepared before the clock starts. The bodies are the same realistic Chinese
appeals for both (``bench/common.py``: the demo county's templates, ~6 % Traditional characters,
valid mobiles and credit codes); for helpdesk, title and content become the ticket's title and
description, with the address and the submitter's name and phone appended to the description.

Rounds alternate the order (A B, B A, ...), so the host's drift hits every side. Each window
takes the host's reference speed first (``bench.common.host_loop``), then measures, after a
warm-up: created records per second, p50/p95 latency, and CPU per created record of the
server's processes and of that database's PostgreSQL backends (from /proc), where "created" is
counted in the database (rows at the start of the window and at its end), checked against the
201 answers. At the end: medians per side and the ratios of CPU per record.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import venv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import CpuWatch, Target, appeal_bodies, build_request, host_loop, percentile
from bench.intake import Plan, merge, run_plan

REPO = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("PEER_PG_URL", "postgres://postgres@127.0.0.1:5432")
TARGET_RATIO = 4.0  # issue 13: intake at least 4x django-helpdesk per CPU

# ----- the peer: a generated django-helpdesk project ----------------------------------------

HELPDESK_SETTINGS = """\
SECRET_KEY = "peer-bench-only-not-a-secret"
# django-helpdesk 2.6 turns on teams mode by default, which needs pinax-teams installed.
HELPDESK_TEAMS_MODE_ENABLED = False
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "helpdesk",
]
SITE_ID = 1
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "peerdesk.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
WSGI_APPLICATION = "peerdesk.wsgi.application"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": %(name)r,
        "USER": %(user)r,
        "HOST": %(host)r,
        "PORT": %(port)r,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": True,
        # The same as Kuaiban's production settings (kuaiban/settings.py).
        "OPTIONS": {
            "application_name": "peerdesk",
            "pool": {"min_size": 1, "max_size": 4, "timeout": 10.0},
            "server_side_binding": True,
            "prepare_threshold": 5,
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LANGUAGE_CODE = "zh-hans"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
MEDIA_ROOT = %(media)r
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["peerdesk.auth.BearerTokenAuthentication"],
}
LOGGING = {"version": 1, "disable_existing_loggers": False}
"""

HELPDESK_FILES = {
    "peerdesk/__init__.py": "",
    "peerdesk/auth.py": (
        "from rest_framework.authentication import TokenAuthentication\n\n\n"
        "class BearerTokenAuthentication(TokenAuthentication):\n"
        "    # DRF's documented way to take 'Authorization: Bearer <key>' (as Kuaiban does).\n"
        '    keyword = "Bearer"\n'
    ),
    "peerdesk/urls.py": (
        "from django.urls import include, path\n\n"
        'urlpatterns = [path("", include("helpdesk.urls"))]\n'
    ),
    "peerdesk/wsgi.py": (
        "import os\n\nfrom django.core.wsgi import get_wsgi_application\n\n"
        'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerdesk.settings")\n'
        "application = get_wsgi_application()\n"
    ),
}

# Run by the helpdesk virtualenv's Python after `migrate`: one queue, one staff user, a token.
HELPDESK_SEED = """\
import django, json
django.setup()
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from helpdesk.models import Queue
queue = Queue.objects.create(title="县12345热线", slug="hotline", allow_public_submission=False)
user = get_user_model().objects.create_user(
    "operator", "", "peer-bench-password", is_staff=True, is_superuser=True
)
token = Token.objects.create(user=user)
print(json.dumps({"queue": queue.pk, "token": token.key}))
"""


def _pg(database: str = "postgres") -> psycopg.Connection[Any]:
    return psycopg.connect(f"{PG_URL}/{database}", autocommit=True)


def recreate_database(name: str) -> None:
    with _pg() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def helpdesk_venv(root: Path) -> Path:
    """The virtualenv with django-helpdesk and Kuaiban's Django/Granian/psycopg versions."""
    pins = [
        "django-helpdesk",
        *(f"{p}=={importlib.metadata.version(p)}" for p in ("Django", "granian", "psycopg")),
        f"psycopg-binary=={importlib.metadata.version('psycopg')}",
        f"psycopg-pool=={importlib.metadata.version('psycopg-pool')}",
    ]
    marker = root / "installed.json"
    if marker.exists() and json.loads(marker.read_text())["pins"] == pins:
        return root / "bin" / "python"
    print(f"installing {' '.join(pins)} into {root} (PyPI) ...", flush=True)
    shutil.rmtree(root, ignore_errors=True)
    venv.create(root, with_pip=True)
    python = root / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", *pins], check=True)
    freeze = subprocess.run(
        [python, "-m", "pip", "freeze"], capture_output=True, text=True, check=True
    ).stdout
    marker.write_text(json.dumps({"pins": pins, "freeze": freeze.split()}))
    return python


def helpdesk_project(python: Path, project: Path, database: str) -> dict[str, Any]:
    """Generate the project in ``project``, create and migrate its database; queue and token."""
    pg = psycopg.conninfo.conninfo_to_dict(f"{PG_URL}/{database}")
    values = {
        "name": database,
        "user": pg.get("user", "postgres"),
        "host": pg.get("host", "127.0.0.1"),
        "port": str(pg.get("port", "5432")),
        "media": str(project / "media"),
    }
    files = {**HELPDESK_FILES, "peerdesk/settings.py": HELPDESK_SETTINGS % values}
    for rel, text in files.items():
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(text, encoding="utf-8")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "peerdesk.settings", "PYTHONPATH": str(project)}
    recreate_database(database)
    subprocess.run([python, "-m", "django", "migrate", "-v", "0"], cwd=project, env=env, check=True)
    out = subprocess.run(
        [python, "-c", HELPDESK_SEED],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return {"env": env, **json.loads(out.strip().splitlines()[-1])}


# ----- the sides --------------------------------------------------------------------------------


@dataclass
class Side:
    name: str
    port: int
    database: str
    table: str  # the rows counted as created records
    created_marker: bytes
    command: list[str]
    cwd: Path
    env: dict[str, str]
    token: str = ""
    proc: subprocess.Popen[bytes] | None = None
    requests: list[bytes] = field(default_factory=list)
    rows: list[dict[str, float]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, log: Path, args: argparse.Namespace) -> None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", self.port)) == 0:
                raise SystemExit(f"port {self.port} is taken: stop what listens there first")
        self.proc = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} server exited; see {log}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.3)
        raise SystemExit(f"{self.name} server did not listen on {self.port}; see {log}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)  # its own session: the server and its web processes
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)

    def count(self, conn: psycopg.Connection[Any]) -> int:
        row = conn.execute(f"SELECT count(*) FROM {self.table}").fetchone()
        assert row is not None
        return int(row[0])


def kuaiban_side(name: str, checkout: Path, python: Path, port: int, data: Path, args: Any) -> Side:
    database = "kb_peer_kuaiban" + ("_before" if name.endswith("before") else "")
    env = {
        **os.environ,
        "DATABASE_URL": f"{PG_URL}/{database}",
        "KUAIBAN_DATA_DIR": str(data / f"kuaiban-{database}"),
        "KUAIBAN_API_RATE_PER_MINUTE": "10000000",
        "PYTHONPATH": str(checkout),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    Path(env["KUAIBAN_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    cli = [str(python), "-m", "kuaiban.cli"]
    recreate_database(database)
    for step in (["migrate", "-v", "0"], ["demo", "--appeals", "0"]):
        subprocess.run(cli + step, cwd=checkout, env=env, check=True, stdout=subprocess.DEVNULL)
    token = subprocess.run(
        [*cli, "token", "operator", "--name", "peer-bench"],
        cwd=checkout,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    command = [
        *cli,
        "serve",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        "--no-access-log",
        "--no-background",
    ]
    side = Side(name, port, database, "appeals_appeal", b'"number"', command, checkout, env, token)
    return side


def helpdesk_side(python: Path, project: Path, port: int, args: Any) -> tuple[Side, int]:
    seeded = helpdesk_project(python, project, "kb_peer_helpdesk")
    command = [
        str(python.parent / "granian"),
        "--interface",
        "wsgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
        "--blocking-threads",
        str(args.threads),
        "--blocking-threads-idle-timeout",
        "30",
        "--no-ws",
        "peerdesk.wsgi:application",
    ]
    side = Side(
        "helpdesk",
        port,
        "kb_peer_helpdesk",
        "helpdesk_ticket",
        b'"id"',
        command,
        project,
        seeded["env"],
        seeded["token"],
    )
    return side, int(seeded["queue"])


def regions(url: str, token: str) -> list[dict[str, Any]]:
    req = urllib.request.Request(
        f"{url}/api/v1/regions", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(req, timeout=30) as response:
        return list(json.loads(response.read()))


def ticket_body(appeal: dict[str, Any], queue: int) -> dict[str, Any]:
    """The same appeal as a helpdesk ticket: what the ticket has no field for goes into the
    description, as a helpdesk operator would type it."""
    sub = appeal["submitter"]
    contact = "，".join(x for x in (sub.get("name"), sub.get("phone")) if x)
    description = f"{appeal['content']}\n地址：{appeal['address']}\n联系人：{contact}"
    priority = {"normal": 3, "urgent": 2, "emergency": 1}[appeal["urgency"]]
    return {
        "queue": queue,
        "title": appeal["title"],
        "description": description,
        "priority": priority,
    }


def smoke(side: Side, raw: bytes) -> None:
    """One request outside the clock: fail early and clearly if a side does not create."""
    head, _, body = raw.partition(b"\r\n\r\n")
    path = head.split(b" ")[1].decode()
    req = urllib.request.Request(
        f"{side.url}{path}",
        data=body,
        method="POST",
        headers={"Authorization": f"Bearer {side.token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as response:
            if response.status != 201:
                raise SystemExit(f"{side.name}: {response.status} {response.read()[:300]!r}")
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"{side.name}: {exc.code} {exc.read()[:500]!r}") from None


# ----- one measured window ----------------------------------------------------------------------


def window(side: Side, args: argparse.Namespace, offset: int) -> dict[str, float]:
    target = Target.parse(side.url)
    n = len(side.requests)
    requests = [side.requests[(offset + i) % n] for i in range(n)]
    loop = host_loop()
    plan = Plan.timed(
        target,
        requests,
        concurrency=args.concurrency,
        warmup=args.warmup,
        duration=args.duration,
        created_marker=side.created_marker,
    )
    measure_at = plan.measure_at
    assert side.proc is not None
    watch = CpuWatch([side.proc.pid], side.database)
    counter = _pg(side.database)
    rows: dict[str, int] = {}

    def mark() -> None:
        time.sleep(max(0.0, measure_at - time.monotonic()))
        watch.mark()
        rows["start"] = side.count(counter)

    marker = threading.Thread(target=mark, daemon=True)
    marker.start()
    # The load generator in a process of its own (not sharing this one's GIL with the sampler).
    with multiprocessing.get_context("fork").Pool(1) as pool:
        result = merge([pool.apply(run_plan, (plan,))])
    marker.join()
    cpu = watch.used()
    rows["end"] = side.count(counter)
    counter.close()
    created = rows["end"] - rows["start"]
    lat = sorted(result.latencies)
    span = max(result.last - result.first, 1e-9)
    errors = sum(result.statuses.values())
    if errors:
        print(f"  {side.name}: {errors} errors {dict(result.statuses)} e.g. {result.samples[:1]}")
    figures = {
        "loop": loop,
        "rate": len(lat) / span,
        "p50": percentile(lat, 50) * 1000,
        "p95": percentile(lat, 95) * 1000,
        "answers": len(lat),
        "created": created,
        "errors": errors,
        "concurrency": args.concurrency,
        "server_ms": 1000 * cpu["server"] / max(created, 1),
        "pg_ms": 1000 * cpu["postgres"] / max(created, 1),
    }
    figures["total_ms"] = figures["server_ms"] + figures["pg_ms"]
    side.rows.append(figures)
    return figures


# ----- main -------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=12.0, help="measured seconds a window")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds a window")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4, help="web processes (both servers)")
    parser.add_argument("--threads", type=int, default=2, help="threads a process (both)")
    parser.add_argument("--bodies", type=int, default=4000, help="distinct request bodies")
    parser.add_argument("--port", type=int, default=8120, help="first of three ports")
    parser.add_argument("--before", type=Path, help="a second Kuaiban checkout (commit before)")
    parser.add_argument("--before-python", type=Path)
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("KUAIBAN_DATA_DIR", REPO / "data")) / "peer",
        help="the helpdesk virtualenv and the server logs (default: $KUAIBAN_DATA_DIR/peer)",
    )
    args = parser.parse_args(argv)
    data: Path = args.data_dir.resolve()
    data.mkdir(parents=True, exist_ok=True)

    hd_python = helpdesk_venv(data / "helpdesk-venv")
    project = Path(tempfile.mkdtemp(prefix="peerdesk-"))
    sides: list[Side] = []
    try:
        print("setting up the databases ...", flush=True)
        helpdesk, queue = helpdesk_side(hd_python, project, args.port, args)
        sides.append(helpdesk)
        sides.append(kuaiban_side("kuaiban", REPO, Path(sys.executable), args.port + 1, data, args))
        if args.before:
            before = args.before.resolve()
            python = args.before_python or before / ".venv" / "bin" / "python"
            if not python.exists():
                python = Path(sys.executable)
            sides.insert(1, kuaiban_side("kb-before", before, python, args.port + 2, data, args))
        for side in sides:
            side.start(data / f"{side.name}.log", args)
        appeals = appeal_bodies(regions(sides[-1].url, sides[-1].token), count=args.bodies, seed=13)
        for side in sides:
            target = Target.parse(side.url)
            if side is helpdesk:
                bodies = [ticket_body(a, queue) for a in appeals]
                path = "/api/tickets/"
            else:
                bodies, path = appeals, "/api/v1/appeals"
            side.requests = [
                build_request(
                    target,
                    "POST",
                    path,
                    token=side.token,
                    body=json.dumps(b, ensure_ascii=False).encode(),
                )
                for b in bodies
            ]
            smoke(side, side.requests[0])
        _report_versions(hd_python, sides, args)
        print(
            f"{'round':>5} {'side':>9} {'host loop s':>11} {'records/s':>9} {'p50 ms':>7} "
            f"{'p95 ms':>7} {'created':>7} {'201s':>6} {'server ms':>9} {'PG ms':>6} {'CPU ms':>7}"
        )
        for r in range(1, args.rounds + 1):
            for side in sides if r % 2 else sides[::-1]:
                f = window(side, args, offset=r * 997)
                print(
                    f"{r:>5} {side.name:>9} {f['loop']:>11.2f} {f['rate']:>9.1f} "
                    f"{f['p50']:>7.1f} {f['p95']:>7.1f} {f['created']:>7} {f['answers']:>6} "
                    f"{f['server_ms']:>9.2f} {f['pg_ms']:>6.2f} {f['total_ms']:>7.2f}",
                    flush=True,
                )
        return _summary(sides)
    finally:
        for side in sides:
            side.stop()
        shutil.rmtree(project, ignore_errors=True)


def _report_versions(hd_python: Path, sides: list[Side], args: argparse.Namespace) -> None:
    out = subprocess.run(
        [
            hd_python,
            "-c",
            "import django, helpdesk, importlib.metadata as m; "
            "print(m.version('django-helpdesk'), django.get_version())",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    print(
        f"django-helpdesk {out[0]} on Django {out[1]}; Kuaiban on Django "
        f"{importlib.metadata.version('Django')}; both Granian "
        f"{importlib.metadata.version('granian')} WSGI, {args.workers} processes x "
        f"{args.threads} threads, PostgreSQL pool 1-4 per process; load: "
        f"{args.concurrency} connections, closed loop, {args.warmup:.0f} s warm-up + "
        f"{args.duration:.0f} s a window; {os.cpu_count()} cores"
    )
    for side in sides:
        commit = subprocess.run(
            ["git", "-C", str(side.cwd), "log", "-1", "--format=%h %s"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()[:70]
        print(f"  {side.name}: {side.url} {commit if side.name != 'helpdesk' else ''}")


def _summary(sides: list[Side]) -> int:
    def med(side: Side, key: str) -> float:
        return statistics.median(row[key] for row in side.rows)

    print("\nmedians over the rounds (CPU per record created, counted in the database):")
    loops = [row["loop"] for s in sides for row in s.rows]
    for side in sides:
        print(
            f"  {side.name:>9}: {med(side, 'rate'):7.1f} records/s, p95 {med(side, 'p95'):6.1f} "
            f"ms, CPU {med(side, 'server_ms'):6.2f} ms server + {med(side, 'pg_ms'):5.2f} ms "
            f"PostgreSQL = {med(side, 'total_ms'):6.2f} ms a record"
        )
    peer = sides[0]
    status = 0
    for side in sides[1:]:
        server = med(peer, "server_ms") / med(side, "server_ms")
        total = med(peer, "total_ms") / med(side, "total_ms")
        met = server >= TARGET_RATIO
        status |= 0 if met else 1
        print(
            f"  {side.name} vs helpdesk: {server:.1f}x less server CPU a record "
            f"({total:.1f}x with PostgreSQL); target >= {TARGET_RATIO:.0f}x: "
            + ("MET" if met else "NOT MET")
        )
    mismatched = [
        (s.name, int(row["created"]), int(row["answers"]))
        for s in sides
        for row in s.rows
        if abs(row["created"] - row["answers"]) > row["concurrency"] + row["errors"]
    ]
    if mismatched:
        print(f"  rows created vs 201 answers differ beyond the requests in flight: {mismatched}")
    print(f"  host loop {min(loops):.2f}-{max(loops):.2f} s over the run (lower is faster)")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
