"""Shared test fixtures: the demo county's directory, API clients per user, appeal factory,
and a headless Debian chromium for browser tests."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from kuaiban.appeals import services
from kuaiban.appeals.models import Appeal
from kuaiban.core import jobs
from kuaiban.org.demo import Directory, build_directory
from kuaiban.org.models import User
from kuaiban.org.services import token_create

CHROMIUM = os.environ.get("KUAIBAN_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(
    os.environ.get("KUAIBAN_ARTIFACTS", Path(__file__).resolve().parent.parent / "artifacts")
)
IN_CI = os.environ.get("CI", "").lower() == "true"
# Playwright's sync API runs an event loop in the test thread; Django's ORM calls from tests
# are still synchronous and safe there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_rate_allowances_between_tests() -> Iterator[None]:
    # Rolled-back tests reuse key ids: hits admitted on credit, and key rows read before,
    # must not carry over.
    from django.core.cache import caches

    from kuaiban.integrations.services import rate_allowances_reset

    rate_allowances_reset()
    caches["default"].clear()
    yield
    rate_allowances_reset()
    caches["default"].clear()


@pytest.fixture(autouse=True)
def attachments_dir(settings: Any, tmp_path: Path) -> Path:
    """Each test's appeal files in a folder of its own (the storage the settings name)."""
    folder = tmp_path / "attachments"
    settings.STORAGES = {
        **settings.STORAGES,
        "attachments": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": folder, "base_url": None},
        },
    }
    return folder


def stored_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture
def county(db: None) -> Directory:
    return build_directory()


def user(username: str) -> User:
    return User.objects.select_related("unit").get(username=username)


@dataclass
class ApiResponse:
    status: int
    body: Any
    headers: dict[str, str]


class ApiClient:
    """Talks to /api/v1 with a bearer token, as other systems do."""

    def __init__(self, username: str | None) -> None:
        self.client = Client()
        self.headers: dict[str, str] = {}
        if username:
            key = token_create(user=User.objects.get(username=username))
            self.headers["Authorization"] = f"Bearer {key}"

    def _wrap(self, response: Any) -> ApiResponse:
        body: Any = None
        if response.content:
            try:
                body = json.loads(response.content)
            except ValueError:
                body = response.content.decode()
        return ApiResponse(response.status_code, body, dict(response.headers))

    def get(self, path: str, **params: Any) -> ApiResponse:
        return self._wrap(self.client.get(f"/api/v1{path}", params, headers=self.headers))

    def post(
        self, path: str, body: Any = None, *, headers: dict[str, str] | None = None
    ) -> ApiResponse:
        return self._wrap(
            self.client.post(
                f"/api/v1{path}",
                data=json.dumps(body if body is not None else {}),
                content_type="application/json",
                headers={**self.headers, **(headers or {})},
            )
        )


@pytest.fixture
def api(county: Directory) -> Any:
    cache: dict[str | None, ApiClient] = {}

    def as_user(username: str | None) -> ApiClient:
        if username not in cache:
            cache[username] = ApiClient(username)
        return cache[username]

    return as_user


HEATING = "阳光花园小区5号楼暖气一直不热，室温只有十四度，家里有老人，希望尽快维修。"


@pytest.fixture
def make_appeal(county: Directory) -> Any:
    def make(**overrides: Any) -> Appeal:
        actor = overrides.pop("actor", None) or user("operator")
        fields: dict[str, Any] = {
            "channel": "hotline",
            "kind": "complaint",
            "title": "小区暖气不热",
            "content": HEATING,
            "submitter_name": "王建华",
            "submitter_phone": "13812345678",
            "region": county.villages[0].code,
        }
        fields.update(overrides)
        return services.appeal_register(actor=actor, data=services.AppealInput(**fields))

    return make


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        message = (
            f"browser tests need Debian's chromium at {CHROMIUM}: "
            "`apt-get install chromium fonts-wqy-microhei` to enable them"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is a test dependency: `make test` installs it")
    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def has_chromium() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


@contextmanager
def progress_seen() -> Iterator[list[tuple[int, int]]]:
    """Every progress report a background job makes inside the block, as its page reads it
    back (``(done, total)``), none dropped by the twice-a-second limit."""
    seen: list[tuple[int, int]] = []
    original = jobs.Reporter.__call__

    def spy(self: jobs.Reporter, done: int, total: int) -> None:
        original(self, done, total)
        found = jobs.progress(self.job)
        assert found is not None
        seen.append((found.done, found.total))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(jobs, "EVERY_SECONDS", 0.0)
        mp.setattr(jobs.Reporter, "__call__", spy)
        yield seen
