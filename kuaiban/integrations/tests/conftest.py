"""A real HTTP receiver for webhook tests: http.server in a thread on 127.0.0.1, verifying each
delivery's Standard Webhooks signature with the ``standardwebhooks`` package, the way an
integrating system would."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils.datastructures import CaseInsensitiveMapping
from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool
    answered: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers 503 to the first ``fail_first`` correctly signed deliveries, then 200."""

    secret: str = ""
    fail_first: int = 0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/kuaiban/webhook"

    def verify(self, body: bytes, headers: dict[str, str]) -> bool:
        try:
            Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError:
            return False
        return True

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        with self.lock:
            ok = self.verify(body, headers)
            good_so_far = sum(1 for r in self.received if r.signature_ok)
            if not ok:
                status, text = 401, b"bad signature"
            elif good_so_far < self.fail_first:
                status, text = 503, "系统维护中，请稍后重试".encode()
            else:
                status, text = 200, b'{"ok":true}'
            self.received.append(Received(headers, body, ok, status))
            return status, text

    @property
    def delivered(self) -> list[Received]:
        return [r for r in self.received if r.answered == 200]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            headers = CaseInsensitiveMapping(dict(self.headers.items()))  # as HTTP says
            status, text = receiver.handle(headers, body)  # type: ignore[arg-type]
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rx = Receiver()
    rx.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(rx))
    thread = threading.Thread(target=rx.server.serve_forever, daemon=True)
    thread.start()
    yield rx
    rx.server.shutdown()
    rx.server.server_close()


@pytest.fixture
def reference_data(transactional_db: None) -> None:
    """The category tree and the Open311 default attributes, which the migrations load but a
    flush between other apps' transactional tests may have removed (idempotent)."""
    import importlib

    from django.apps import apps

    from kuaiban.appeals.categories import load_default_tree
    from kuaiban.appeals.models import Category

    load_default_tree(Category)
    defaults = importlib.import_module("kuaiban.open311.migrations.0002_default_attributes")
    defaults.forwards(apps, None)


# Names the tests use, resolved without the network (there is none in tests): a public address
# for the vendor, private and loopback ones for the hosts webhooks must refuse.
FAKE_DNS = {
    "vendor.example.com": ["93.184.215.14"],
    "hotline-vendor.example.cn": ["120.52.51.17"],
    "intranet.example.cn": ["10.20.30.40"],
    "rebinding.example.cn": ["120.52.51.18"],
    "both.example.cn": ["120.52.51.19", "192.168.1.10"],
}


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Resolve FAKE_DNS names (and literal addresses) in kuaiban.integrations.addresses only;
    change the dict to make a name resolve elsewhere (DNS rebinding)."""
    import socket

    from kuaiban.integrations import addresses

    table = {k: list(v) for k, v in FAKE_DNS.items()}

    def resolve(host: str, port: int) -> list[tuple[Any, ...]]:
        found = table.get(host) or [host.strip("[]")]
        out = []
        for address in found:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            out.append((family, socket.SOCK_STREAM, 6, "", (address, port)))
        return out

    monkeypatch.setattr(addresses, "_resolve", resolve)
    return table
