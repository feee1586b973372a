"""Similar-appeal index (kuaiban.routing.similar)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from kuaiban.routing import similar
from kuaiban.routing.similar import SimilarIndex, gram_batch

FIXTURES = Path(__file__).parent / "fixtures"

# A new report of the 幸福里 garbage problem, worded differently from every fixture row.
PARAPHRASE = "幸福里小区的垃圾十多天没人来拉，堆在楼下发臭，环卫所能不能派车清运一下？"


def _fixture_items() -> list[tuple[int, str, dict[str, str]]]:
    with (FIXTURES / "hot_issues_labelled.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [(int(r["id"]), r["text"], {"group": r["group"]}) for r in rows]


def _background() -> list[tuple[str, str, dict[str, str]]]:
    with (FIXTURES / "appeals_sample.csv").open(encoding="utf-8") as fh:
        return [(f"bg{i}", r["text"], {"group": ""}) for i, r in enumerate(csv.DictReader(fh))]


@pytest.fixture(scope="module")
def index() -> SimilarIndex:
    return SimilarIndex.build(_background() + _fixture_items())


def _group_of(key: object) -> str:
    groups = {k: meta["group"] for k, _, meta in _fixture_items()}
    return groups.get(key, "") if isinstance(key, int) else ""


def test_gram_codes_are_exact_uni_and_bigrams() -> None:
    batch = gram_batch(["垃圾垃圾", "", "水"])
    decoded = {
        (
            int(d),
            chr(int(c)) if c < 1 << 21 else chr(int(c) >> 21) + chr(int(c) & (1 << 21) - 1),
        ): int(t)
        for d, c, t in zip(batch.doc, batch.code, batch.tf, strict=True)
    }
    assert decoded == {(0, "垃"): 2, (0, "圾"): 2, (0, "垃圾"): 2, (0, "圾垃"): 1, (2, "水"): 1}


def test_finds_the_paraphrase(index: SimilarIndex) -> None:
    found = index.query(PARAPHRASE, k=5)
    assert found, "no similar appeal found"
    assert {_group_of(key) for key, _ in found[:3]} == {"garbage"}
    scores = [score for _, score in found]
    assert scores == sorted(scores, reverse=True)
    assert 0 < scores[-1] <= scores[0] <= 1.0001


def test_each_labelled_paraphrase_finds_its_group(index: SimilarIndex) -> None:
    items = _fixture_items()
    groups = {key: meta["group"] for key, _, meta in items}
    hits = total = 0
    for key, text, meta in items:
        if not meta["group"]:
            continue
        found = index.query(text, k=3, exclude=key)
        total += 1
        hits += bool(found) and groups.get(found[0][0]) == meta["group"]
    assert hits / total >= 0.9


def test_an_identical_text_scores_one(index: SimilarIndex) -> None:
    key, text, _ = _fixture_items()[10]
    found_key, score = index.query(text, k=1)[0]
    assert found_key == key
    assert score == pytest.approx(1.0, abs=1e-4)


def test_exclude_filter_and_min_score(index: SimilarIndex) -> None:
    found = index.query(PARAPHRASE, k=10, exclude=4)
    assert 4 not in [key for key, _ in found]
    only_water = index.query(PARAPHRASE, k=10, filter=lambda key, meta: meta["group"] == "water")
    assert all(_group_of(key) == "water" for key, _ in only_water)
    assert index.query(PARAPHRASE, k=10, min_score=1.01) == []
    assert index.query("，。！", k=10) == []


def test_remove_and_replace() -> None:
    idx = SimilarIndex.build(_fixture_items())
    before = [key for key, _ in idx.query(PARAPHRASE, k=10)]
    assert 4 in before
    assert idx.remove(4) is True
    assert idx.remove(4) is False
    assert 4 not in idx
    assert 4 not in [key for key, _ in idx.query(PARAPHRASE, k=10)]
    # Re-using a key replaces the appeal (here with an unrelated text).
    idx.add(1, "县人民医院挂号太难了，专家号根本挂不上。", {"group": ""})
    assert 1 not in [key for key, _ in idx.query(PARAPHRASE, k=10)]
    assert idx.query("人民医院专家号挂号难", k=1)[0][0] == 1
    assert len(idx) == len(_fixture_items()) - 1
    idx.compact()
    assert 1 in [key for key, _ in idx.query("人民医院挂号难，专家号挂不上", k=3)]


def test_incremental_adds_match_a_bulk_build(monkeypatch: pytest.MonkeyPatch) -> None:
    # A tiny buffer forces many merges of the postings along the way.
    monkeypatch.setattr(similar._Postings, "buffer_limit", 64)
    items = _background()[:120] + _fixture_items()
    grown = SimilarIndex()
    for key, text, meta in items:
        grown.add(key, text, meta)
    grown_hits = [key for key, _ in grown.query(PARAPHRASE, k=3)]
    assert {_group_of(key) for key in grown_hits} == {"garbage"}


def test_pickle_round_trip(index: SimilarIndex, tmp_path: Path) -> None:
    path = tmp_path / "similar.pickle"
    index.save(path)
    loaded = SimilarIndex.load(path)
    assert len(loaded) == len(index)
    assert loaded.query(PARAPHRASE, k=5) == index.query(PARAPHRASE, k=5)
    assert loaded.meta(4) == {"group": "garbage"}
    loaded.add("new", PARAPHRASE)
    assert loaded.query(PARAPHRASE, k=1)[0][0] == "new"


def test_memory_accounting(index: SimilarIndex) -> None:
    size = index.nbytes()
    assert isinstance(size, int)
    assert 0 < size < 64 * 2**20  # the 4-Mi-bucket DF table dominates a small index
