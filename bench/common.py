"""Shared plumbing for the benchmarks under bench/: a lean keep-alive HTTP/1.1 client on asyncio,
latency statistics, and realistic appeal bodies.

The load generator shares the machine's cores with the server it measures, so it must cost as
little CPU as possible: a hand-written HTTP/1.1 client on asyncio streams (one persistent
connection per virtual user, request bytes prepared before the clock starts) costs a fraction of
what a general-purpose client library does per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from opencc import OpenCC
from stdnum.cn import uscc

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from kuaiban.appeals.demo_texts import (  # noqa: E402  (pure data, no Django needed)
    COMPANIES,
    DISEASES,
    ESTATES,
    GIVEN,
    INDUSTRIES,
    MOBILE_PREFIXES,
    RIVERS,
    ROADS,
    SCHOOLS,
    SHOPS,
    SURNAMES,
    TEMPLATES,
)

# ----- HTTP -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    base_path: str
    host_header: str

    @classmethod
    def parse(cls, url: str) -> Target:
        parts = urlsplit(url)
        if parts.scheme != "http":
            raise SystemExit(f"only http:// URLs are supported (got {url!r})")
        host = parts.hostname or "127.0.0.1"
        port = parts.port or 80
        return cls(host, port, parts.path.rstrip("/"), parts.netloc)


class Connection:
    """One persistent HTTP/1.1 connection. Reconnects when the server closes it."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.connects = 0

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.reader, self.writer = await asyncio.open_connection(self.target.host, self.target.port)
        self.connects += 1
        return self.reader, self.writer

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send prepared request bytes; return (status, body). Retries once on a stale socket."""
        for attempt in (1, 2):
            if self.writer is None:
                await self._open()
            assert self.reader is not None and self.writer is not None
            try:
                self.writer.write(raw)
                return await self._read()
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _read(self) -> tuple[int, bytes]:
        assert self.reader is not None
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = -1
        chunked = False
        close = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        if chunked:
            body = bytearray()
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                body += await self.reader.readexactly(size + 2)
                del body[-2:]
            data = bytes(body)
        elif length >= 0:
            data = await self.reader.readexactly(length)
        else:
            data = await self.reader.read()
            close = True
        if close:
            await self.close()
        return status, data


def build_request(
    target: Target,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: bytes = b"",
    content_type: str = "application/json",
) -> bytes:
    lines = [
        f"{method} {target.base_path}{path} HTTP/1.1",
        f"Host: {target.host_header}",
        "Accept: application/json",
        "Connection: keep-alive",
    ]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Type: {content_type}")
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


def get_json(url: str, token: str) -> Any:
    """A plain blocking GET for set-up (not measured)."""
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as response:
        return json.loads(response.read())


# ----- statistics -------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, round(p / 100 * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


# ----- the host's reference speed ---------------------------------------------------------------


def host_loop() -> float:
    """CPU seconds of a fixed pure-Python loop: the host's reference speed (lower is faster).

    Print it beside every figure: this shared VM's speed drifts within minutes."""
    c0 = time.process_time()
    s = 0
    for i in range(10**7):
        s += i
    return time.process_time() - c0


# ----- realistic appeal bodies ------------------------------------------------------------------

CHANNEL_WEIGHTS = {
    "hotline": 40,
    "mailbox": 8,
    "direct_line": 8,
    "grid": 10,
    "wechat": 5,
    "breakfast": 3,
    "petition": 5,
    "visit": 4,
    "web": 8,
    "app": 5,
    "open311": 2,
    "inspection": 2,
}
_s2t = OpenCC("s2t")


def credit_code(rng: random.Random) -> str:
    """A unified social credit code with a correct check character."""
    body = "9133" + "".join(rng.choice("0123456789") for _ in range(4))
    body += "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(9))
    return str(body + uscc.calc_check_digit(body))


def mobile(rng: random.Random) -> str:
    return rng.choice(MOBILE_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(8))


def appeal_bodies(regions: list[dict[str, Any]], *, count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` varied appeal bodies for ``POST /api/v1/appeals``, deterministic for ``seed``.

    ``regions`` is the flattened tree from ``GET /api/v1/regions``; bodies are placed in its
    villages and grids. Every phone is a valid mainland mobile and every credit code checks.
    """
    rng = random.Random(seed)
    by_code = {r["code"]: r for r in regions}
    villages = [r for r in regions if r["level"] == "village"] or regions
    grids: dict[str, list[dict[str, Any]]] = {}
    for r in regions:
        if r["level"] == "grid" and r.get("parent"):
            grids.setdefault(r["parent"], []).append(r)
    channels = list(CHANNEL_WEIGHTS)
    weights = list(CHANNEL_WEIGHTS.values())
    now = dt.datetime.now(dt.UTC)
    bodies = []
    for _ in range(count):
        template = rng.choice(TEMPLATES)
        village = rng.choice(villages)
        township = by_code.get(village.get("parent") or "", {}).get("name", "")
        road, road2 = rng.sample(ROADS, 2)
        values = {
            "estate": rng.choice(ESTATES),
            "building": rng.randint(1, 28),
            "temp": rng.randint(11, 16),
            "n": rng.randint(2, 6),
            "month": rng.randint(3, 10),
            "price": rng.choice(["0.3", "0.5", "22", "24.5"]),
            "road": road,
            "road2": road2,
            "village": village["name"],
            "township": township,
            "company": rng.choice(COMPANIES),
            "people": rng.randint(5, 40),
            "amount": rng.choice([3800, 12000, 26500, 48000, 86000, 150000]),
            "age": rng.randint(6, 58),
            "old": rng.randint(80, 96),
            "disease": rng.choice(DISEASES),
            "school": rng.choice(SCHOOLS),
            "shop": rng.choice(SHOPS),
            "river": rng.choice(RIVERS),
            "industry": rng.choice(INDUSTRIES),
        }
        title = template.title.format(**values)
        content = template.content.format(**values)
        if rng.random() < 0.06:
            title, content = _s2t.convert(title), _s2t.convert(content)
        kind = rng.choice(template.kinds)
        channel = rng.choices(channels, weights)[0]
        enterprise = template.enterprise or (kind == "complaint" and rng.random() < 0.05)
        submitter: dict[str, Any] = {
            "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
            "type": "enterprise" if enterprise else "citizen",
        }
        if rng.random() < 0.97:
            submitter["phone"] = mobile(rng)
        if enterprise:
            submitter["enterprise_name"] = rng.choice(COMPANIES)
            submitter["credit_code"] = credit_code(rng)
        region = rng.choice([village, *grids.get(village["code"], [])])
        body: dict[str, Any] = {
            "channel": channel,
            "kind": kind,
            "urgency": rng.choices(["normal", "urgent", "emergency"], [90, 8, 2])[0],
            "title": title,
            "content": content,
            "submitter": submitter,
            "region": region["code"],
            "address": f"{village['name']}{rng.randint(1, 99)}号",
            "occurred_at": (now - dt.timedelta(days=rng.randint(0, 20))).isoformat(),
        }
        if channel == "petition" and rng.random() < 0.4:
            body["group_size"] = rng.randint(3, 30)
        bodies.append(body)
    return bodies


# ----- CPU accounting ---------------------------------------------------------------------------

PG_AUX = (b"walwriter", b"wal writer", b"background writer", b"checkpointer")


def _proc_table() -> dict[int, tuple[int, float, bytes]]:
    """pid → (parent pid, CPU seconds used, command line) for every process we can read."""
    tick = os.sysconf("SC_CLK_TCK")
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ")
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2 :].split()
        table[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick, cmd)
    return table


def cpu_snapshot(roots: Sequence[int], pg_database: str | None) -> dict[int, tuple[str, float]]:
    """pid → ("server" | "postgres", CPU seconds used so far) for the process trees under
    ``roots`` (the server) and for the PostgreSQL backends of ``pg_database`` plus PostgreSQL's
    WAL writer, background writer and checkpointer. Linux only; reads /proc."""
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found: dict[int, tuple[str, float]] = {}
    stack = [r for r in roots if r in table]
    while stack:
        pid = stack.pop()
        found[pid] = ("server", table[pid][1])
        stack.extend(children.get(pid, []))
    if pg_database:
        needle = f" {pg_database} ".encode()
        for pid, (_, used, cmd) in table.items():
            if cmd.startswith(b"postgres:") and (needle in cmd or any(a in cmd for a in PG_AUX)):
                found[pid] = ("postgres", used)
    return found


def cpu_used(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    """CPU seconds per group between two snapshots (processes that ended in between are lost)."""
    used = {"server": 0.0, "postgres": 0.0}
    for pid, (group, seconds) in after.items():
        used[group] += seconds - before.get(pid, (group, 0.0))[1]
    return used


class CpuWatch:
    """Server and PostgreSQL CPU over the measured window, sampled every ``every`` seconds.

    Two snapshots miss processes that end in between, and PostgreSQL backends do end: Django
    closes a connection older than CONN_MAX_AGE (60 s) after its request, and a new backend
    takes over. Sampling keeps each process's last reading, so one that ends counts up to its
    last sample (at most ``every`` seconds of its work are lost). ``mark()`` starts the window;
    ``used()`` stops sampling and returns CPU seconds per group since the mark.
    """

    def __init__(self, roots: Sequence[int], pg_database: str | None, every: float = 0.5):
        self.roots, self.pg_database, self.every = list(roots), pg_database, every
        self.seen: dict[int, tuple[str, float]] = {}
        self.base: dict[int, tuple[str, float]] | None = None
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self._sample()
        self.thread.start()

    def _sample(self) -> None:
        found = cpu_snapshot(self.roots, self.pg_database)
        with self.lock:
            self.seen.update(found)

    def _run(self) -> None:
        while not self.stopped.wait(self.every):
            self._sample()

    def mark(self) -> None:
        self._sample()
        with self.lock:
            self.base = dict(self.seen)

    def used(self) -> dict[str, float]:
        self.stopped.set()
        self.thread.join()
        self._sample()
        with self.lock:
            return cpu_used(self.base or {}, self.seen)
