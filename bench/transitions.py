"""Claim and reply benchmark: move appeals on through the HTTP API of a running Kuaiban server.

    python bench/transitions.py --url http://127.0.0.1:8100 \\
        --operator "$(kuaiban token operator)" --handler "$(kuaiban token handler-zjj)" \\
        --unit <the handler's unit code> --appeals 600 --server-pid <pid> --pg-database kb_bench

Set-up, not measured: ``--appeals`` appeals are registered (``POST /api/v1/appeals``) and
dispatched to ``--unit``. Then, measured phase by phase, the handler claims each
(``POST …/claim``) and replies to each (``POST …/reply``), ``--concurrency`` connections in a
closed loop over distinct appeals. Each phase prints requests/s, p50/p95 latency, errors and,
with ``--server-pid``/``--pg-database``, the server's and PostgreSQL's CPU per request.
Every request authenticates its bearer token, so this also measures token authentication.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    Connection,
    CpuWatch,
    Target,
    appeal_bodies,
    build_request,
    get_json,
    percentile,
)

REPLY = {"result": "resolved", "text": "已联系施工单位，夜间停止打桩作业，并向来电人反馈处理情况。"}


async def _phase(
    target: Target, requests: list[bytes], concurrency: int, expect: int
) -> tuple[list[float], Counter[str], list[bytes]]:
    """Send every request once over ``concurrency`` connections; latencies of those answered
    ``expect``, the other outcomes, and the bodies of the good answers in request order."""
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    bodies: list[bytes] = [b""] * len(requests)
    queue = iter(range(len(requests)))

    async def user() -> None:
        conn = Connection(target)
        try:
            for i in queue:
                sent = time.monotonic()
                status, body = await conn.request(requests[i])
                if status == expect:
                    latencies.append(time.monotonic() - sent)
                    bodies[i] = body
                else:
                    statuses[str(status)] += 1
        finally:
            await conn.close()

    await asyncio.gather(*(user() for _ in range(concurrency)))
    return latencies, statuses, bodies


def _post(target: Target, path: str, token: str, body: dict[str, Any]) -> bytes:
    data = json.dumps(body, ensure_ascii=False).encode()
    return build_request(target, "POST", path, token=token, body=data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--operator", required=True, help="bearer token of an operator")
    parser.add_argument("--handler", required=True, help="bearer token of a handler of --unit")
    parser.add_argument("--unit", required=True, help="the code of the handler's unit")
    parser.add_argument("--appeals", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--server-pid", type=int, action="append", default=[])
    parser.add_argument("--pg-database")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    target = Target.parse(args.url)
    regions = get_json(f"{args.url.rstrip('/')}/api/v1/regions", args.operator)
    bodies = appeal_bodies(regions, count=args.appeals, seed=args.seed)
    run = asyncio.run
    _lat, bad, created = run(
        _phase(
            target,
            [_post(target, "/api/v1/appeals", args.operator, b) for b in bodies],
            args.concurrency,
            201,
        )
    )
    numbers = [json.loads(b)["number"] for b in created if b]
    dispatch = [
        _post(target, f"/api/v1/appeals/{n}/dispatch", args.operator, {"unit": args.unit})
        for n in numbers
    ]
    _lat, bad2, dispatched = run(_phase(target, dispatch, args.concurrency, 200))
    # Some registrations are closed or hidden from the operator at once (routing's automatic
    # handling, secret appeals): move on the appeals that were dispatched.
    numbers = [n for n, b in zip(numbers, dispatched, strict=True) if b]
    if bad or len(numbers) < args.appeals // 2:
        print(f"set-up failed: register {dict(bad)}, dispatch {dict(bad2)}", file=sys.stderr)
        return 2

    figures: dict[str, Any] = {"url": args.url, "appeals": len(numbers)}
    base = "/api/v1/appeals"
    phases = {
        "claim": [_post(target, f"{base}/{n}/claim", args.handler, {}) for n in numbers],
        "reply": [_post(target, f"{base}/{n}/reply", args.handler, REPLY) for n in numbers],
    }
    for name, requests in phases.items():
        watch = CpuWatch(args.server_pid, args.pg_database) if args.server_pid else None
        if watch is not None:
            watch.mark()
        start = time.monotonic()
        latencies, statuses, _ = run(_phase(target, requests, args.concurrency, 200))
        window = time.monotonic() - start
        cpu = watch.used() if watch is not None else {}
        lat = sorted(latencies)
        ok = max(len(lat), 1)
        figures[name] = {
            "per_s": round(len(lat) / window, 1),
            "p50_ms": round(percentile(lat, 50) * 1000, 1),
            "p95_ms": round(percentile(lat, 95) * 1000, 1),
            "errors": dict(statuses),
            "server_cpu_ms": round(cpu.get("server", 0.0) / ok * 1000, 2),
            "postgres_cpu_ms": round(cpu.get("postgres", 0.0) / ok * 1000, 2),
        }
    if args.json:
        print(json.dumps(figures))
    else:
        for name in phases:
            f = figures[name]
            print(
                f"{name}: {f['per_s']}/s p50 {f['p50_ms']} ms p95 {f['p95_ms']} ms "
                f"errors {f['errors']} CPU/request server {f['server_cpu_ms']} ms "
                f"+ PostgreSQL {f['postgres_cpu_ms']} ms"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
