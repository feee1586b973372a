"""``kuaiban serve`` on PostgreSQL holds at most the pool's connections, however its threads
churn: bursts of concurrent requests separated by gaps longer than Granian's idle-thread
timeout (each burst runs on new threads) never raise the count above the bound."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

POOL_MAX = 3
THREADS = 8
IDLE_TIMEOUT = 5  # Granian's minimum


def _free_port() -> int:
    for port in range(8361, 8370):  # this project's ports for test servers
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("no free port in 8361-8369")


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (urllib.error.URLError, OSError):
        return 0


def _count(app: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [app])
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def test_serve_never_holds_more_connections_than_its_pool(tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    db = connection.settings_dict
    app = f"kuaiban-web-test-{os.getpid()}"
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        KUAIBAN_DATA_DIR=str(tmp_path),
        PG_APPLICATION_NAME=app,
        PG_POOL_MAX_SIZE=str(POOL_MAX),
    )
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kuaiban.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            "1",
            "--threads",
            str(THREADS),
            "--threads-idle-timeout",
            str(IDLE_TIMEOUT),
            "--no-background",
            "--no-access-log",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/healthz"
    peak = 0
    sampling = threading.Event()

    def sample() -> None:
        nonlocal peak
        try:
            while not sampling.is_set():
                peak = max(peak, _count(app))
                time.sleep(0.05)
        finally:
            connection.close()  # this thread's own connection

    try:
        for _ in range(300):
            if _get(url) == 200:
                break
            time.sleep(0.3)
        else:
            pytest.fail("kuaiban serve did not answer")
        sampler = threading.Thread(target=sample)
        sampler.start()
        statuses: list[int] = []
        try:
            with ThreadPoolExecutor(max_workers=4 * THREADS) as pool:
                for burst in range(3):
                    if burst:
                        time.sleep(IDLE_TIMEOUT + 2)  # the server's threads retire meanwhile
                    statuses += list(pool.map(_get, [url] * 6 * THREADS))
        finally:
            sampling.set()
            sampler.join()
        assert statuses and set(statuses) == {200}
        assert 0 < peak <= POOL_MAX, peak
        assert _count(app) <= POOL_MAX
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        for _ in range(100):  # its sessions end with it
            if not _count(app):
                break
            time.sleep(0.1)
