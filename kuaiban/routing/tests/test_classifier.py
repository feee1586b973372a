"""Category classifier (kuaiban.routing.classifier), trained on the 305-row fixture sample."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from kuaiban.routing import classifier
from kuaiban.routing.classifier import (
    TextClassifier,
    appeal_text,
    cross_validate,
    evaluate,
    format_report,
    load_csv,
    train,
)

SAMPLE = Path(__file__).parent / "fixtures" / "appeals_sample.csv"

RAW = [
    appeal_text("城关二小乱收费", "学校开学让每个学生交三百元资料费，不开收据，请教育局查处。"),
    appeal_text("化工厂排放废气", "我们村旁边的化工厂每天晚上偷排废气，气味刺鼻，河水也被污染了。"),
    appeal_text("公司拖欠工资", "公司已经三个月没发工资了，也不给我们交社保，请劳动监察大队帮忙。"),
    "請問醫療保險報銷比例是多少？住院費用太高了。",
]


@pytest.fixture(scope="module")
def sample() -> tuple[list[str], list[str]]:
    return load_csv(SAMPLE)


@pytest.fixture(scope="module")
def model(sample: tuple[list[str], list[str]]) -> TextClassifier:
    texts, labels = sample
    return train(texts, labels, seed=0)


def test_predict_top_shape_and_probabilities(model: TextClassifier) -> None:
    top = model.predict_top(RAW, k=3)
    assert len(top) == len(RAW)
    for row in top:
        assert len(row) == 3
        assert [p for _, p in row] == sorted((p for _, p in row), reverse=True)
        assert all(label in model.classes for label, _ in row)
        assert 0 < sum(p for _, p in row) <= 1.0001
    proba = model.predict_proba(RAW)
    assert proba.shape == (len(RAW), 7)
    assert np.allclose(proba.sum(axis=1), 1.0)
    assert model.predict_top([], k=3) == []


def test_obvious_raw_messages_are_routed(model: TextClassifier) -> None:
    expected = ["教育文体", "环境保护", "劳动和社会保障", "卫生计生"]
    top = model.predict_top(RAW, k=3)
    hits = sum(want in [label for label, _ in row] for want, row in zip(expected, top, strict=True))
    assert hits >= 3, top


def test_save_load_round_trip(model: TextClassifier, tmp_path: Path) -> None:
    path = tmp_path / "classifier.joblib"
    model.save(path)
    loaded = TextClassifier.load(path)
    assert loaded.classes == model.classes
    assert loaded.predict_top(RAW, k=3) == model.predict_top(RAW, k=3)
    assert np.allclose(loaded.predict_proba(RAW), model.predict_proba(RAW))
    assert loaded.metadata == model.metadata


def test_bulk_features_equal_the_vectorizers(
    model: TextClassifier, sample: tuple[list[str], list[str]]
) -> None:
    """The numpy path of ``Featurizer.transform`` gives scikit-learn's own TF-IDF matrix."""
    featurizer = model.featurizer
    texts = [
        *sample[0][:120],
        *RAW,
        "",
        "ＡＢＣ123 test 数据\n\n  重复重复重复",
        "𠀀𠀁 emoji 😀 ok",
    ]
    tokens = [model.preprocessing.tokens(t) for t in texts] + [[], ["a  b", "x"]]
    joined = ["".join(t) for t in tokens]
    expected = sparse.hstack(
        [
            featurizer.words_.transform(tokens),
            featurizer.chars_.transform(joined),
            featurizer.head_weight
            * featurizer.head_.transform([t[: featurizer.head_tokens] for t in tokens]),
            featurizer.head_char_weight
            * featurizer.head_chars_.transform([j[: featurizer.head_chars] for j in joined]),
        ],
        format="csr",
    )
    got = featurizer.transform(tokens)
    assert got.shape == expected.shape
    assert got.nnz == expected.nnz > 1000
    assert abs(got - expected).max() < 1e-6
    assert featurizer.transform([]).shape == (0, expected.shape[1])


def test_features_in_chunks_are_the_same_rows(
    model: TextClassifier, sample: tuple[list[str], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = [model.preprocessing.tokens(t) for t in sample[0][:100]]
    whole = model.featurizer.transform(tokens)
    monkeypatch.setattr(classifier, "_CHUNK", 7)
    chunked = model.featurizer.transform(tokens)
    assert chunked.shape == whole.shape
    assert np.array_equal(chunked.indptr, whole.indptr)
    assert np.array_equal(chunked.indices, whole.indices)
    assert np.array_equal(chunked.data, whole.data)


def test_code_table_finds_exactly_its_keys() -> None:
    rng = np.random.default_rng(0)
    # Keys crowded into few hash slots too (multiples of a large power of two).
    keys = np.unique(
        np.concatenate([rng.integers(0, 2**63, 5000), np.arange(1, 300) << 40, [0, 2**63 - 1]])
    ).astype(np.uint64)
    values = rng.permutation(len(keys)).astype(np.int64)
    table = classifier._CodeTable(keys, values)
    probes = np.concatenate([keys, rng.integers(0, 2**63, 5000).astype(np.uint64)])
    expected = dict(zip(keys.tolist(), values.tolist(), strict=True))
    assert table.lookup(probes).tolist() == [expected.get(k, -1) for k in probes.tolist()]
    assert classifier._CodeTable(keys[:0], values[:0]).lookup(probes[:3]).tolist() == [-1] * 3


def test_metadata(model: TextClassifier, sample: tuple[list[str], list[str]]) -> None:
    meta = model.metadata
    assert meta["n_samples"] == len(sample[0])
    assert meta["classes"] == model.classes and len(meta["classes"]) == 7
    assert sum(meta["class_counts"].values()) == len(sample[0])
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$", meta["trained_at"])
    assert {"scikit-learn", "numpy", "scipy", "jieba", "python"} <= set(meta["versions"])


def test_load_refuses_other_files(tmp_path: Path) -> None:
    import joblib

    path = tmp_path / "other.joblib"
    joblib.dump({"format": 999}, path)
    with pytest.raises(ValueError, match="not a Kuaiban routing model"):
        TextClassifier.load(path)


def test_train_checks_lengths() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        train(["a", "b"], ["x"])


def test_cross_validate_and_report(sample: tuple[list[str], list[str]]) -> None:
    texts, labels = sample
    result = cross_validate(texts, labels, folds=3, seed=0, desegment=True, perturb=0.3)
    assert result["n_samples"] == len(texts)
    assert 0.5 < result["macro_f1"] <= 1 and 0.5 < result["accuracy"] <= 1
    assert len(result["fold_macro_f1"]) == 3
    assert set(result["per_class"]) == set(labels)
    assert sum(row["support"] for row in result["per_class"].values()) == len(texts)
    report = format_report(result)
    assert report.splitlines()[-1] == f"macro-F1: {result['macro_f1']:.4f}"
    assert re.fullmatch(r"macro-F1: 0\.\d{4}", report.splitlines()[-1])
    assert "accuracy:" in report and "教育文体" in report


def test_evaluate_has_the_same_shape(model: TextClassifier) -> None:
    labels = ["教育文体", "环境保护", "劳动和社会保障", "卫生计生"]
    result = evaluate(model, RAW, labels)
    assert {"accuracy", "macro_f1", "per_class", "n_samples"} <= set(result)
    assert format_report(result).splitlines()[-1].startswith("macro-F1: ")
