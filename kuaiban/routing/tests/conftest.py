"""Fixtures of the routing integration tests: a data directory of their own, small models trained
once per session from the committed fixture CSV, and a ledger of closed appeals."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kuaiban.appeals.models import Appeal, Category, Status
from kuaiban.core import clock
from kuaiban.core.text import fold
from kuaiban.org.demo import Directory
from kuaiban.routing import services
from kuaiban.routing.classifier import load_csv, train
from kuaiban.routing.models import ModelVersion

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE = FIXTURES / "appeals_sample.csv"
# The lead unit of each first-level category in the demo county (for a unit-model fixture).
_numbers = itertools.count(1)
UNIT_OF = {
    "城乡建设": "zjj",
    "教育文体": "jyj",
    "环境保护": "sthj",
    "劳动和社会保障": "rsj",
    "卫生计生": "wjj",
    "交通运输": "jtj",
    "商贸旅游": "scjg",
}


def labelled(group: str) -> list[str]:
    """Texts of one group of the hand-labelled hot-issue fixture ('' : the unrelated ones)."""
    with (FIXTURES / "hot_issues_labelled.csv").open(encoding="utf-8") as fh:
        return [r["text"] for r in csv.DictReader(fh) if r["group"] == group]


@pytest.fixture
def routing_env(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """A data directory of the test's own and no model or index left over in memory."""
    settings.DATA_DIR = tmp_path
    settings.KUAIBAN_ROUTING_RECHECK_SECONDS = 0.0
    services.reset_caches()
    yield tmp_path
    services.reset_caches()


@pytest.fixture(scope="session")
def unit_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample with each category's lead unit as the label (generated, not committed)."""
    texts, labels = load_csv(SAMPLE)
    path = tmp_path_factory.mktemp("units") / "units.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["内容", "单位"])
        for text, label in zip(texts, labels, strict=True):
            writer.writerow([text, UNIT_OF[label]])
    return path


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, unit_csv: Path) -> dict[str, Path]:
    """A category and a lead-unit model file, trained once per test session."""
    folder = tmp_path_factory.mktemp("trained")
    out = {}
    for target, (texts, labels) in {
        "category": load_csv(SAMPLE),
        "unit": services.read_labelled_csv(unit_csv, text_col="内容", label_col="单位"),
    }.items():
        path = folder / f"{target}.joblib"
        train(texts, labels, seed=0).save(path)
        out[target] = path
    return out


@pytest.fixture
def active_models(routing_env: Path, trained: dict[str, Path], county: Directory) -> dict[str, Any]:
    """Both session models registered as active versions in this test's database."""
    folder = routing_env / "models"
    folder.mkdir(parents=True, exist_ok=True)
    rows = {}
    for target, source in trained.items():
        name = f"{target}-test.joblib"
        shutil.copy(source, folder / name)
        rows[target] = ModelVersion.objects.create(
            version=f"{target}-test",
            target=target,
            path=name,
            checksum=services._sha256(folder / name),
            trained_at=clock.now(),
            size=(folder / name).stat().st_size,
            n_samples=305,
        )
        services.model_activate(version=rows[target].version)
    return rows


@pytest.fixture
def closed_ledger(county: Directory) -> Any:
    """Closed appeals written straight to the table (a factory: the walk through every
    transition is tested in the appeals app)."""
    tops = {c.name: c for c in Category.objects.filter(level=1)}

    def make(rows: list[tuple[str, str, str]], *, days_ago: int = 10) -> list[Appeal]:
        now = clock.now()
        made = []
        for i, (text, category, unit) in enumerate(rows):
            at = now - dt.timedelta(days=days_ago, minutes=i)
            made.append(
                Appeal.objects.create(
                    channel="hotline",
                    kind="complaint",
                    title=text[:20],
                    content=text,
                    search_text=fold(f"{text[:20]}\n{text}"),
                    category=tops[category],
                    lead_unit=county.units[unit],
                    region=county.villages[i % len(county.villages)],
                    status=Status.CLOSED,
                    received_at=at,
                    closed_at=at + dt.timedelta(days=3),
                    number=f"KBT-{next(_numbers):06d}",
                )
            )
        return made

    return make


def sample_rows(start: int = 0, n: int = 120) -> list[tuple[str, str, str]]:
    """Every other row of the sample from ``start`` with the words joined back into running
    text, as (text, category, unit) for ``closed_ledger``."""
    texts, labels = load_csv(SAMPLE)
    pairs = list(zip(texts, labels, strict=True))[start::2][:n]
    return [("".join(text.split())[:300], label, UNIT_OF[label]) for text, label in pairs]


@pytest.fixture
def background(closed_ledger: Any) -> list[Appeal]:
    """120 unrelated appeals of 20 days ago: the ledger around the cases under test, so that
    n-gram weights are realistic."""
    return closed_ledger(sample_rows(), days_ago=20)  # type: ignore[no-any-return]
