"""Category classifier (kuaiban.routing.classifier), trained on the 305-row fixture sample."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from kuaiban.routing import classifier
from kuaiban.routing.classifier import (
    ModelFormatError,
    TextClassifier,
    appeal_text,
    load_csv,
    train,
)
from kuaiban.routing.evaluation import cross_validate, evaluate, format_report

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
    # The calibrated softmax sums to 1; the confidence cap may leave some mass to "none of
    # these" (an unsure text), never add any.
    assert np.allclose(np.asarray(model.pipeline.predict_proba(RAW)).sum(axis=1), 1.0)
    assert (proba.sum(axis=1) <= 1 + 1e-9).all() and (proba.sum(axis=1) > 0).all()
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


def test_the_model_is_a_plain_scikit_learn_pipeline(model: TextClassifier) -> None:
    """Temperature scaling keeps the SVM's ranking: top-1 is the SVM's own argmax."""
    pipeline = model.pipeline
    assert isinstance(pipeline, Pipeline)
    assert [name for name, _ in pipeline.steps] == ["tokens", "features", "classify"]
    assert isinstance(pipeline.named_steps["features"], FeatureUnion)
    calibrated = pipeline.named_steps["classify"]
    assert isinstance(calibrated, CalibratedClassifierCV)
    assert calibrated.method == "temperature" and len(calibrated.calibrated_classifiers_) == 1
    svm = calibrated.calibrated_classifiers_[0].estimator
    assert isinstance(svm, LinearSVC)
    features = pipeline[:-1].transform(RAW)
    assert features.shape[0] == len(RAW) and features.shape[1] > 1000
    scores = svm.decision_function(features)
    assert model.predict(RAW) == [model.classes[i] for i in scores.argmax(axis=1)]
    assert not np.allclose(model.predict_proba(RAW).max(axis=1), 1.0)


def test_a_model_of_the_old_format_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A format-1 file (hand-made SoftmaxSVC, gone) is refused with the way out: retrain."""
    import joblib

    class SoftmaxSVC:  # stands in for the class the old files refer to
        pass

    SoftmaxSVC.__module__ = classifier.__name__
    SoftmaxSVC.__qualname__ = "SoftmaxSVC"
    path = tmp_path / "category-old.joblib"
    with monkeypatch.context() as patched:
        patched.setattr(classifier, "SoftmaxSVC", SoftmaxSVC, raising=False)
        joblib.dump({"format": 1, "estimator": SoftmaxSVC(), "metadata": {}}, path)
    with pytest.raises(ModelFormatError, match=r"older format.*retrain it with `kuaiban train`"):
        TextClassifier.load(path)
    joblib.dump({"format": 1, "metadata": {}}, path)
    with pytest.raises(ModelFormatError, match=r"format 1, .*reads format 2; retrain it"):
        TextClassifier.load(path)


def test_metadata(model: TextClassifier, sample: tuple[list[str], list[str]]) -> None:
    meta = model.metadata
    assert meta["n_samples"] == len(sample[0])
    assert meta["classes"] == model.classes and len(meta["classes"]) == 7
    assert sum(meta["class_counts"].values()) == len(sample[0])
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$", meta["trained_at"])
    assert {"scikit-learn", "numpy", "scipy", "rjieba", "opencc", "python"} <= set(meta["versions"])
    assert meta["format"] == classifier.MODEL_FORMAT


def test_load_refuses_other_files(tmp_path: Path) -> None:
    import joblib

    path = tmp_path / "other.joblib"
    joblib.dump({"format": 999}, path)
    with pytest.raises(ValueError, match=r"format 999, .*retrain it with `kuaiban train`"):
        TextClassifier.load(path)
    joblib.dump([1, 2, 3], path)
    with pytest.raises(ValueError, match="not a Kuaiban routing model"):
        TextClassifier.load(path)
    path.write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="retrain it"):
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
