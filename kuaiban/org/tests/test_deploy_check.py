"""Production settings come from the environment: with DEBUG=false and KUAIBAN_HTTPS=true,
`kuaiban check --deploy` is clean; every page carries a Content-Security-Policy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

# Checks run in a fresh process, so settings.py reads this environment. The clock is pinned to
# June, when chinese-calendar knows every year deadlines may reach (its own check warns from
# November on until a new release comes out, which is not a deployment setting).
SCRIPT = """
import datetime as dt, django
django.setup()
from django.core.management import call_command
from kuaiban.core import clock
with clock.frozen(dt.datetime(2026, 6, 1, tzinfo=dt.UTC)):
    call_command("check", "--deploy", "--fail-level", "WARNING")
"""


# The test run's own: a database of its own, a key from the data dir, async-unsafe Playwright.
EXCLUDED = ("DATABASE_URL", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")


def deploy_check(tmp_path: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in EXCLUDED}
    env.update(
        DJANGO_SETTINGS_MODULE="kuaiban.settings",
        KUAIBAN_DATA_DIR=str(tmp_path),
        ALLOWED_HOSTS="kuaiban.county.gov.cn",
        **environ,
    )
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    done = deploy_check(tmp_path, DEBUG="false", KUAIBAN_HTTPS="true")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "System check identified no issues" in output


def test_check_deploy_warns_without_https(tmp_path: Path) -> None:
    done = deploy_check(tmp_path, DEBUG="false")
    output = done.stdout + done.stderr
    assert done.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in output


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy(county: Any) -> None:
    response = Client().get("/login/")
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "object-src 'none'" in policy
    assert "frame-ancestors 'none'" in policy
    script_src = next(p for p in policy.split(";") if p.strip().startswith("script-src"))
    # The site's own static scripts, and inline ones only with this response's nonce.
    assert "'self'" in script_src
    assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src
