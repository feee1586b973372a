"""Settings never write into the package: the development secret key lives in the data dir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import kuaiban

PACKAGE = Path(kuaiban.__file__).resolve().parent


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if "__pycache__" not in p.parts and p.is_file()}


def _import_settings(cwd: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "KUAIBAN_DATA_DIR")}
    env.pop("DATABASE_URL", None)
    env.update(extra)
    return subprocess.run(
        [sys.executable, "-c", "import kuaiban.settings as s; print(s.DATA_DIR)"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


def test_secret_key_is_generated_into_the_data_dir_and_nothing_into_the_package(
    tmp_path: Path,
) -> None:
    before = _files(PACKAGE)
    data = tmp_path / "data"
    # From inside the package, as `make messages` runs makemessages.
    out = _import_settings(PACKAGE, KUAIBAN_DATA_DIR=str(data))
    key = data / "secret_key"
    assert out.stdout.strip() == str(data.resolve())
    assert key.exists() and len(key.read_text().strip()) >= 50
    assert key.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert _files(PACKAGE) == before
    assert not (PACKAGE / "data").exists()
    # The same key on the next start (sessions survive restarts).
    first = key.read_text()
    _import_settings(PACKAGE, KUAIBAN_DATA_DIR=str(data))
    assert key.read_text() == first


def test_started_inside_the_package_without_a_data_dir_writes_beside_it() -> None:
    before = _files(PACKAGE)
    out = _import_settings(PACKAGE)
    data_dir = Path(out.stdout.strip())
    assert not data_dir.is_relative_to(PACKAGE)
    assert data_dir == PACKAGE.parent / "data"
    assert _files(PACKAGE) == before


def test_a_set_secret_key_writes_no_key_file(tmp_path: Path) -> None:
    _import_settings(tmp_path, KUAIBAN_DATA_DIR=str(tmp_path / "d"), SECRET_KEY="x" * 50)
    assert not (tmp_path / "d" / "secret_key").exists()


def test_the_package_ships_no_secret() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "kuaiban/data"],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    if tracked.returncode == 0:
        assert tracked.stdout.strip() == ""
    assert not (PACKAGE / "data" / "secret_key").exists()
