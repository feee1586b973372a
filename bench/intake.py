"""Intake benchmark: register appeals through the HTTP API of a running Kuaiban server.

    kuaiban serve --port 8100 &
    python bench/intake.py --url http://127.0.0.1:8100 --token "$(kuaiban token operator)" \\
        --concurrency 8 --duration 20

Each virtual user keeps one HTTP/1.1 keep-alive connection and posts realistic, varied appeals
(Chinese titles and contents from the demo county's templates, valid mobile numbers and credit
codes, villages and grids from ``GET /api/v1/regions``) to ``POST /api/v1/appeals`` as fast as
the server answers (a closed loop). After a warm-up it prints appeals/s (201 answers per second of
the measured window), p50/p95/p99/max latency, and the errors by status. The target for a
2-core machine with PostgreSQL is ``>= 300 appeals/s at p95 < 50 ms``.

The load generator runs on the same cores as the server, so it is kept cheap: an asyncio client
of a few lines over raw streams (no client library), request bytes prepared before the clock
starts. ``--processes`` spreads the virtual users over several processes if one is not enough.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
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

TARGET_RATE = 300.0
TARGET_P95_MS = 50.0
REQUEST_TIMEOUT = 30.0


@dataclass
class Plan:
    target: Target
    requests: list[bytes]
    concurrency: int
    start_at: float  # time.monotonic() (system-wide on Linux, so shared by the processes)
    measure_at: float
    stop_at: float | None
    quota: int | None  # measured requests for this process, or None for a duration run
    created_marker: bytes = b'"number"'  # a 201 answer counts as created if its body has this

    @classmethod
    def timed(
        cls,
        target: Target,
        requests: list[bytes],
        *,
        concurrency: int,
        warmup: float,
        duration: float,
        created_marker: bytes,
    ) -> Plan:
        """One process, starting in half a second: ``warmup`` seconds, then ``duration``
        measured."""
        start_at = time.monotonic() + 0.5
        measure_at = start_at + warmup
        return cls(
            target=target,
            requests=requests,
            concurrency=concurrency,
            start_at=start_at,
            measure_at=measure_at,
            stop_at=measure_at + duration,
            quota=None,
            created_marker=created_marker,
        )


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)  # seconds, successful measured requests
    statuses: Counter[str] = field(default_factory=Counter)  # measured non-201 outcomes
    samples: list[str] = field(default_factory=list)  # first few error bodies
    first: float = float("inf")
    last: float = 0.0
    cpu: float = 0.0  # this process's CPU seconds during the measured window
    warmup: int = 0
    connects: int = 0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _user(plan: Plan, result: Result, index: int, state: dict[str, Any]) -> None:
    conn = Connection(plan.target)
    requests = plan.requests
    n = len(requests)
    i = index
    clock = time.monotonic
    try:
        while True:
            if plan.quota is not None and state["left"] <= 0:
                return
            sent = clock()
            if plan.stop_at is not None and sent >= plan.stop_at:
                return
            measured = sent >= plan.measure_at
            if measured and plan.quota is not None:
                state["left"] -= 1
            if measured and not state["cpu_started"]:
                state["cpu_started"] = True
                state["cpu0"] = _cpu()
            raw = requests[i % n]
            i += plan.concurrency
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    status, body = await conn.request(raw)
                outcome = "201" if status == 201 and plan.created_marker in body else str(status)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
                outcome, body = type(exc).__name__, str(exc).encode()
                await conn.close()
            done = clock()
            if not measured:
                result.warmup += 1
                continue
            result.first = min(result.first, sent)
            result.last = max(result.last, done)
            if outcome == "201":
                result.latencies.append(done - sent)
            else:
                result.statuses[outcome] += 1
                if len(result.samples) < 3:
                    result.samples.append(f"{outcome}: {body[:300].decode(errors='replace')}")
    finally:
        result.connects += conn.connects
        await conn.close()


async def _run(plan: Plan) -> Result:
    result = Result()
    state: dict[str, Any] = {"left": plan.quota or 0, "cpu_started": False, "cpu0": 0.0}
    delay = plan.start_at - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
    await asyncio.gather(*(_user(plan, result, i, state) for i in range(plan.concurrency)))
    result.cpu = _cpu() - state["cpu0"] if state["cpu_started"] else 0.0
    return result


def run_plan(plan: Plan) -> Result:
    return asyncio.run(_run(plan))


def merge(results: list[Result]) -> Result:
    total = Result()
    for r in results:
        total.latencies.extend(r.latencies)
        total.statuses.update(r.statuses)
        total.samples.extend(r.samples[: 3 - len(total.samples)])
        total.first = min(total.first, r.first)
        total.last = max(total.last, r.last)
        total.cpu += r.cpu
        total.warmup += r.warmup
        total.connects += r.connects
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running server")
    parser.add_argument(
        "--token",
        default=os.environ.get("KUAIBAN_TOKEN", ""),
        help="bearer token of an operator (`kuaiban token operator`); or KUAIBAN_TOKEN",
    )
    parser.add_argument("--concurrency", type=int, default=8, help="virtual users (connections)")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds")
    parser.add_argument(
        "--requests", type=int, default=None, help="measure this many requests instead"
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds not measured")
    parser.add_argument("--processes", type=int, default=1, help="load-generator processes")
    parser.add_argument("--bodies", type=int, default=5000, help="distinct appeal bodies")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--server-pid",
        type=int,
        action="append",
        default=[],
        help="pid of `kuaiban serve` (its web processes count): report CPU per appeal (Linux)",
    )
    parser.add_argument(
        "--pg-database",
        help="with --server-pid: also count the CPU of this database's PostgreSQL backends",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("--token is required (kuaiban token operator)")
    if args.concurrency < 1 or args.processes < 1 or args.processes > args.concurrency:
        parser.error("need 1 <= processes <= concurrency")

    target = Target.parse(args.url)
    try:
        regions = get_json(f"{args.url.rstrip('/')}/api/v1/regions", args.token)
    except OSError as exc:
        print(f"cannot reach {args.url}/api/v1/regions: {exc}", file=sys.stderr)
        return 2
    bodies = appeal_bodies(regions, count=args.bodies, seed=args.seed)
    requests = [
        build_request(
            target,
            "POST",
            "/api/v1/appeals",
            token=args.token,
            body=json.dumps(b, ensure_ascii=False).encode(),
        )
        for b in bodies
    ]

    start_at = time.monotonic() + 0.5 + 0.2 * args.processes
    measure_at = start_at + args.warmup
    stop_at = None if args.requests else measure_at + args.duration
    plans = []
    for p in range(args.processes):
        share = args.concurrency // args.processes + (p < args.concurrency % args.processes)
        quota = None
        if args.requests:
            quota = args.requests // args.processes + (p < args.requests % args.processes)
        plans.append(
            Plan(
                target=target,
                requests=requests[p :: args.processes],
                concurrency=share,
                start_at=start_at,
                measure_at=measure_at,
                stop_at=stop_at,
                quota=quota,
            )
        )
    watch = CpuWatch(args.server_pid, args.pg_database) if args.server_pid else None

    def mark_at_measure() -> None:
        time.sleep(max(0.0, measure_at - time.monotonic()))
        if watch is not None:
            watch.mark()

    marker = threading.Thread(target=mark_at_measure, daemon=True)
    if watch is not None:
        marker.start()
    if args.processes == 1:
        results = [run_plan(plans[0])]
    else:
        with multiprocessing.get_context("fork").Pool(args.processes) as pool:
            results = pool.map(run_plan, plans)
    server_cpu: dict[str, float] = {}
    if watch is not None:
        marker.join()
        server_cpu = watch.used()
    total = merge(results)

    window = max(total.last - total.first, 1e-9) if total.last else 0.0
    lat = sorted(total.latencies)
    ok = len(lat)
    errors = sum(total.statuses.values())
    rate = ok / window if window else 0.0
    p50, p95, p99 = (percentile(lat, p) * 1000 for p in (50, 95, 99))
    figures = {
        "url": args.url,
        "concurrency": args.concurrency,
        "processes": args.processes,
        "window_s": round(window, 2),
        "created": ok,
        "warmup_requests": total.warmup,
        "appeals_per_s": round(rate, 1),
        "p50_ms": round(p50, 1),
        "p95_ms": round(p95, 1),
        "p99_ms": round(p99, 1),
        "max_ms": round((lat[-1] if lat else 0.0) * 1000, 1),
        "errors": errors,
        "errors_by_kind": dict(total.statuses),
        "connections_opened": total.connects,
        "loadgen_cpu_pct": round(100 * total.cpu / window, 1) if window else 0.0,
        "target_met": rate >= TARGET_RATE and p95 < TARGET_P95_MS and errors == 0,
    }
    cores = os.cpu_count() or 1
    if server_cpu and ok:
        per = {k: 1000 * v / ok for k, v in server_cpu.items()}
        figures["server_cpu_ms_per_appeal"] = round(per["server"], 2)
        figures["postgres_cpu_ms_per_appeal"] = round(per["postgres"], 2)
        figures["cpu_ceiling_per_s"] = round(cores * 1000 / max(sum(per.values()), 1e-9), 1)
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
    else:
        print(
            f"intake: {ok} appeals created in {window:.1f} s measured "
            f"(after {total.warmup} warm-up requests), concurrency {args.concurrency} "
            f"over {args.processes} process(es), {total.connects} connection(s) opened"
        )
        print(f"appeals/s: {rate:.1f}")
        print(
            f"latency ms: p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}  max {figures['max_ms']:.1f}"
        )
        kinds = ", ".join(f"{k}: {v}" for k, v in sorted(total.statuses.items()))
        print(f"errors: {errors}" + (f" ({kinds})" if kinds else ""))
        for sample in total.samples:
            print(f"  e.g. {sample}")
        print(f"load generator CPU: {figures['loadgen_cpu_pct']:.0f}% of one core")
        if "cpu_ceiling_per_s" in figures:
            print(
                f"CPU per appeal: server {figures['server_cpu_ms_per_appeal']:.2f} ms"
                + (
                    f" + PostgreSQL {figures['postgres_cpu_ms_per_appeal']:.2f} ms"
                    if args.pg_database
                    else ""
                )
                + f" → ceiling {figures['cpu_ceiling_per_s']:.0f} appeals/s on {cores} cores"
                " if nothing else ran"
            )
        verdict = "MET" if figures["target_met"] else "NOT MET"
        print(
            f"target (>= {TARGET_RATE:.0f} appeals/s at p95 < {TARGET_P95_MS:.0f} ms, "
            f"no errors): {verdict}"
        )
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
