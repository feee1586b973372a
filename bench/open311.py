"""Open311 intake benchmark: POST requests.json against a running Kuaiban server.

    # against a server you started (PostgreSQL via DATABASE_URL), with a key from
    # `kuaiban apikey create --name bench --rate 1000000`:
    python bench/open311.py --url http://127.0.0.1:8100 --key kbk_… --concurrency 8

    # or let the script set everything up on PostgreSQL: migrate, the demo directory, a
    # throw-away key, `kuaiban serve` on a free port; revoked and stopped afterwards:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kb_integrations \\
        python bench/open311.py --serve --concurrency 8 --duration 20

Each virtual user keeps one HTTP/1.1 keep-alive connection and posts varied, realistic Open311
service requests (form-encoded, as the specification says): a leaf category as service_code with
its required attributes filled in, a Chinese description from the demo templates, lat/long
within the county, an address, the caller's name and mobile, and by default an
``Idempotency-Key`` (as a call-centre client should send). After a warm-up it prints requests/s
(201 answers per second of the measured window), p50/p95/p99/max latency, errors by status, and
with ``--serve`` (or ``--server-pid``) the server's and PostgreSQL's CPU per request. The target
for a 2-core machine on PostgreSQL is ``>= 300 requests/s at p95 < 50 ms``.

The load generator shares the machine's cores with the server, so it is the lean asyncio client
of bench/common.py with request bytes prepared before the clock starts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    Connection,
    CpuWatch,
    Target,
    appeal_bodies,
    percentile,
)

TARGET_RATE = 300.0
TARGET_P95_MS = 50.0
REQUEST_TIMEOUT = 30.0
ROOT = Path(__file__).resolve().parent.parent
KUAIBAN = str(Path(sys.executable).with_name("kuaiban"))
# Villages of the demo county, for the description templates, and a box around the county seat.
VILLAGES = ["南关社区", "北街社区", "东门村", "滨河社区", "光明社区", "新华村", "柳河村", "石桥村"]
LAT, LONG = (36.05, 36.25), (115.55, 115.80)


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def _attribute_value(attr: dict[str, Any], rng: random.Random) -> list[str]:
    kind = attr["datatype"]
    if kind in ("singlevaluelist", "multivaluelist"):
        return [rng.choice(attr["values"])["key"]]
    if kind == "number":
        return [str(rng.randint(10, 18))]
    if kind == "datetime":
        return ["2026-11-20T08:30:00+08:00"]
    return [f"{rng.randint(1, 28)}号楼{rng.randint(1, 4)}单元"]


def build_forms(base: str, key: str, *, count: int, seed: int) -> list[bytes]:
    """``count`` distinct form bodies (deterministic for ``seed``)."""
    rng = random.Random(seed)
    # With the key, the ~40 definitions fetched here count against its rate, not the anonymous
    # per-address one (which a few runs in a row would exhaust).
    auth = "?" + urlencode({"api_key": key})
    services = _get(f"{base}/open311/v2/services.json{auth}")
    leaves = [s["service_code"] for s in services if s["service_code"].count(".") == 2]
    codes = rng.sample(leaves, min(40, len(leaves)))
    required: dict[str, list[dict[str, Any]]] = {}
    for code in codes:
        definition = _get(f"{base}/open311/v2/services/{code}.json{auth}")
        required[code] = [a for a in definition["attributes"] if a["required"] and a["variable"]]
    regions = [
        {"code": str(i), "name": name, "level": "village", "parent": None}
        for i, name in enumerate(VILLAGES)
    ]
    texts = appeal_bodies(regions, count=count, seed=seed)
    forms = []
    for text in texts:
        code = rng.choice(codes)
        name = text["submitter"]["name"]
        fields: list[tuple[str, str]] = [
            ("api_key", key),
            ("service_code", code),
            ("lat", f"{rng.uniform(*LAT):.6f}"),
            ("long", f"{rng.uniform(*LONG):.6f}"),
            ("address_string", text["address"]),
            ("description", text["content"][:4000]),
            ("last_name", name[0]),
            ("first_name", name[1:]),
        ]
        if "phone" in text["submitter"]:
            fields.append(("phone", text["submitter"]["phone"]))
        if rng.random() < 0.3:
            fields.append(("media_url", f"https://img.example.com/{rng.randrange(10**8)}.jpg"))
        for attr in required[code]:
            for value in _attribute_value(attr, rng):
                fields.append((f"attribute[{attr['code']}]", value))
        forms.append(urlencode(fields).encode())
    return forms


def build_request(target: Target, body: bytes, idempotent: bool, rng: random.Random) -> bytes:
    lines = [
        f"POST {target.base_path}/open311/v2/requests.json HTTP/1.1",
        f"Host: {target.host_header}",
        "Accept: application/json",
        "Connection: keep-alive",
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8",
        f"Content-Length: {len(body)}",
    ]
    if idempotent:
        lines.append(f"Idempotency-Key: {uuid.UUID(int=rng.getrandbits(128), version=4)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


# ----- the load ---------------------------------------------------------------------------------


async def _user(
    target: Target,
    requests: list[bytes],
    window: tuple[float, float],
    out: dict[str, Any],
) -> None:
    measure_at, stop_at = window
    conn = Connection(target)
    clock = time.monotonic
    try:
        while True:
            sent = clock()
            if sent >= stop_at:
                return
            # One counter for all users (a fast connection must not lap the others and resend a
            # request, Idempotency-Key and all, which the server would rightly answer as a replay).
            index = out["next"]
            out["next"] += 1
            if index >= len(requests):
                out["exhausted"] = True
                return
            raw = requests[index]
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    status, body = await conn.request(raw)
                outcome = "201" if status == 201 and b"service_request_id" in body else str(status)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
                outcome, body = type(exc).__name__, str(exc).encode()
                await conn.close()
            done = clock()
            if sent < measure_at:
                out["warmup"] += 1
                continue
            out["first"] = min(out["first"], sent)
            out["last"] = max(out["last"], done)
            if outcome == "201":
                out["latencies"].append(done - sent)
            else:
                out["errors"][outcome] += 1
                if len(out["samples"]) < 3:
                    out["samples"].append(f"{outcome}: {body[:300].decode(errors='replace')}")
    finally:
        out["connects"] += conn.connects
        await conn.close()


async def _load(
    target: Target, requests: list[bytes], concurrency: int, warmup: float, duration: float
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "latencies": [],
        "errors": Counter(),
        "samples": [],
        "warmup": 0,
        "connects": 0,
        "first": float("inf"),
        "last": 0.0,
        "next": 0,
        "exhausted": False,
    }
    start = time.monotonic()
    window = (start + warmup, start + warmup + duration)
    await asyncio.gather(*(_user(target, requests, window, out) for _ in range(concurrency)))
    out["measure_at"] = window[0]
    return out


# ----- --serve: a throw-away server on PostgreSQL -----------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _kuaiban(*args: str) -> str:
    done = subprocess.run([KUAIBAN, *args], cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"kuaiban {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout.strip()


class Server:
    def __init__(self, workers: int | None, threads: int | None, background: bool) -> None:
        url = os.environ.get("DATABASE_URL", "")
        if not url.startswith(("postgres://", "postgresql://")):
            raise SystemExit("--serve needs DATABASE_URL=postgres://… (the target is PostgreSQL)")
        _kuaiban("migrate", "--no-input", "-v", "0")
        _kuaiban("demo", "--if-empty", "--appeals", "0")
        self.key_name = f"bench-{uuid.uuid4().hex[:8]}"
        self.key = _kuaiban("apikey", "create", "--name", self.key_name, "--rate", "1000000")
        self.port = _free_port()
        command = [KUAIBAN, "serve", "--port", str(self.port), "--no-access-log"]
        if threads:
            command += ["--threads", str(threads)]
        if workers:
            command += ["--workers", str(workers)]
        if not background:
            command.append("--no-background")
        log_path = Path(os.environ.get("TMPDIR", "/tmp")) / "kuaiban-bench-open311.log"
        self.log = log_path.open("w")  # closed in stop()
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(f"{self.url}/open311/v2/discovery.json")
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise SystemExit(f"the server did not start; see {self.log.name}") from None
                time.sleep(0.5)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # the server stops its web processes and workers on SIGTERM
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()
        _kuaiban("apikey", "revoke", self.key_name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running server")
    parser.add_argument("--key", default=os.environ.get("KUAIBAN_OPEN311_KEY", ""))
    parser.add_argument("--serve", action="store_true", help="start a server on DATABASE_URL")
    parser.add_argument("--workers", type=int, default=None, help="with --serve: web processes")
    parser.add_argument("--threads", type=int, default=None, help="with --serve: threads in each")
    parser.add_argument(
        "--background",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with --serve: run the background workers beside the server (default: on)",
    )
    parser.add_argument("--concurrency", type=int, default=8, help="virtual users (connections)")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds not measured")
    parser.add_argument(
        "--bodies", type=int, default=20000, help="distinct requests prepared (each sent once)"
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--no-idempotency", action="store_true", help="send no Idempotency-Key header"
    )
    parser.add_argument("--server-pid", type=int, action="append", default=[])
    parser.add_argument("--pg-database", help="count this database's PostgreSQL backends' CPU")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    server = Server(args.workers, args.threads, args.background) if args.serve else None
    try:
        url = server.url if server else args.url.rstrip("/")
        key = server.key if server else args.key
        if not key:
            parser.error("--key is required (kuaiban apikey create --name bench --rate 1000000)")
        pids = [server.process.pid] if server else args.server_pid
        pg_database = args.pg_database
        if server and not pg_database:
            pg_database = os.environ["DATABASE_URL"].rsplit("/", 1)[-1].split("?")[0]
        return _measure(args, url, key, pids, pg_database)
    finally:
        if server:
            server.stop()


def _measure(
    args: argparse.Namespace, url: str, key: str, pids: list[int], pg_database: str | None
) -> int:
    target = Target.parse(url)
    idempotent = not args.no_idempotency
    forms = build_forms(url, key, count=args.bodies, seed=args.seed)
    rng = random.Random(args.seed + 1)
    requests = [build_request(target, body, idempotent, rng) for body in forms]
    watch = CpuWatch(pids, pg_database) if pids else None
    started_cpu = time.process_time()
    out = asyncio.run(_load_with_mark(target, requests, args, watch))
    loadgen_cpu = time.process_time() - started_cpu
    window = max(out["last"] - out["first"], 1e-9) if out["last"] else 0.0
    lat = sorted(out["latencies"])
    ok = len(lat)
    errors = sum(out["errors"].values())
    rate = ok / window if window else 0.0
    p50, p95, p99 = (percentile(lat, p) * 1000 for p in (50, 95, 99))
    figures: dict[str, Any] = {
        "url": url,
        "concurrency": args.concurrency,
        "idempotency_key": idempotent,
        "window_s": round(window, 2),
        "created": ok,
        "requests_per_s": round(rate, 1),
        "p50_ms": round(p50, 1),
        "p95_ms": round(p95, 1),
        "p99_ms": round(p99, 1),
        "max_ms": round((lat[-1] if lat else 0.0) * 1000, 1),
        "errors": errors,
        "errors_by_kind": dict(out["errors"]),
        "loadgen_cpu_pct": round(100 * loadgen_cpu / (window + args.warmup), 1) if window else 0,
        "target_met": rate >= TARGET_RATE and p95 < TARGET_P95_MS and errors == 0,
    }
    cores = os.cpu_count() or 1
    if watch is not None and ok:
        used = watch.used()
        per = {k: 1000 * v / ok for k, v in used.items()}
        figures["server_cpu_ms_per_request"] = round(per["server"], 2)
        figures["postgres_cpu_ms_per_request"] = round(per["postgres"], 2)
        figures["cpu_ceiling_per_s"] = round(cores * 1000 / max(sum(per.values()), 1e-9), 1)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
        return 0 if errors == 0 else 1
    print(
        f"open311 intake: {ok} requests created in {window:.1f} s measured (after "
        f"{out['warmup']} warm-up requests), concurrency {args.concurrency}, "
        f"{'with' if idempotent else 'without'} Idempotency-Key, {out['connects']} connection(s)"
    )
    print(f"requests/s: {rate:.1f}")
    print(f"latency ms: p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}  max {figures['max_ms']:.1f}")
    if out["exhausted"]:
        print(f"note: all {len(requests)} prepared requests were sent before the time was up")
    kinds = ", ".join(f"{k}: {v}" for k, v in sorted(out["errors"].items()))
    print(f"errors: {errors}" + (f" ({kinds})" if kinds else ""))
    for sample in out["samples"]:
        print(f"  e.g. {sample}")
    print(f"load generator CPU: {figures['loadgen_cpu_pct']:.0f}% of one core")
    if "cpu_ceiling_per_s" in figures:
        print(
            f"CPU per request: server {figures['server_cpu_ms_per_request']:.2f} ms + PostgreSQL "
            f"{figures['postgres_cpu_ms_per_request']:.2f} ms → ceiling "
            f"{figures['cpu_ceiling_per_s']:.0f} requests/s on {cores} cores if nothing else ran"
        )
    verdict = "MET" if figures["target_met"] else "NOT MET"
    print(
        f"target (>= {TARGET_RATE:.0f} requests/s at p95 < {TARGET_P95_MS:.0f} ms, no errors): "
        f"{verdict}"
    )
    return 0 if errors == 0 else 1


async def _load_with_mark(
    target: Target, requests: list[bytes], args: argparse.Namespace, watch: CpuWatch | None
) -> dict[str, Any]:
    """The load, with the CPU window of server and database starting when measuring starts."""

    async def mark() -> None:
        await asyncio.sleep(args.warmup)
        if watch is not None:
            watch.mark()

    task = asyncio.create_task(mark())
    out = await _load(target, requests, args.concurrency, args.warmup, args.duration)
    await task
    return out


if __name__ == "__main__":
    raise SystemExit(main())
