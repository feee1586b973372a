"""``kuaiban serve``: the real server process, its background workers, and its shutdown."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads child processes from /proc (Linux)"
)


def _children(pid: int) -> dict[int, str]:
    """Direct children of ``pid`` that run a kuaiban command other than the web processes
    (forked from the server, so with its command line): pid → the command's name."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = next(int(line.split()[1]) for line in status.splitlines() if line[:5] == "PPid:")
        if ppid == pid and b"kuaiban.cli" in argv:
            command = argv[argv.index(b"kuaiban.cli") + 1].decode()
            if command != "serve":
                found[int(entry.name)] = command
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in state  # a zombie has exited already


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(predicate: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.3)
    return False


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def _serve(data_dir: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``kuaiban serve`` on a free port, answering; killed afterwards if still running."""
    # Its own SQLite database in a scratch data directory, whatever the suite runs on.
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["KUAIBAN_DATA_DIR"] = str(data_dir)
    kuaiban = [sys.executable, "-m", "kuaiban.cli"]
    subprocess.run([*kuaiban, "migrate", "-v", "0"], env=env, check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen(
        [*kuaiban, "serve", "--port", str(port), "--workers", "1", "--threads", "2", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert _wait(lambda: _answers(f"http://127.0.0.1:{port}/track/"), 90), "no answer"
        yield server
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_serve_runs_the_background_workers_and_stops_them(tmp_path: Path) -> None:
    with _serve(tmp_path) as server:
        workers: dict[int, str] = {}

        def all_started() -> bool:
            workers.update(_children(server.pid))
            return len(workers) == 6

        assert _wait(all_started, 30), workers
        assert sorted(workers.values()) == [
            "db_worker",
            "rollup",
            "routing_worker",
            "sms",
            "sweep",
            "webhooks",
        ]

        server.send_signal(signal.SIGINT)  # Ctrl-C in the terminal of `make run`
        assert server.wait(timeout=60) == 0
        assert not [pid for pid in workers if _alive(pid)], "workers outlived the server"


def test_serve_without_background_starts_no_workers(tmp_path: Path) -> None:
    with _serve(tmp_path, "--no-background") as server:
        time.sleep(2)  # the workers would have been started before the server answered
        assert _children(server.pid) == {}


def _all_children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("PPid:") and int(line.split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def test_nothing_outlives_a_killed_server(tmp_path: Path) -> None:
    """SIGKILL gives the server no chance to stop anything: its web processes and background
    workers must still go (they would keep the port and the loops running)."""
    with _serve(tmp_path) as server:
        children: list[int] = []

        def forked() -> bool:
            children[:] = _all_children(server.pid)
            return len(children) >= 5  # one web process and four background workers

        assert _wait(forked, 30), children
        server.kill()
        server.wait()
        assert _wait(lambda: not [pid for pid in children if _alive(pid)], 30), [
            pid for pid in children if _alive(pid)
        ]
