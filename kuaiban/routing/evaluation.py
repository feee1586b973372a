"""Evaluation of the category classifier: cross-validation (optionally on de-segmented,
raw-looking text, as citizens type it), held-out scores and the printed report."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold

from kuaiban.routing.classifier import TextClassifier, _tokens_of, build_pipeline, train
from kuaiban.routing.text import despace

__all__ = [
    "accuracy_at",
    "cross_validate",
    "evaluate",
    "format_report",
    "format_time_split",
    "time_split",
]


# Function words and punctuation that raw messages have and the training rows lost.
_FILLER_TEXT = (
    "的 了 是 在 我 我们 和 也 都 就 还 与 对 给 被 把 让 这 那 这个 一个 没有 可以 因为 但是 "
    "什么 他们 非常 ， 。 、 ！ ？ （ ） “ ”"
)
_FILLERS = tuple(_FILLER_TEXT.split())


def _raw_like(text: str, rng: random.Random, perturb: float) -> str:
    """A pre-segmented row as a citizen would type it: no spaces, some function words back."""
    if perturb <= 0:
        return despace(text)
    out: list[str] = []
    for token in text.split():
        out.append(token)
        if rng.random() < perturb:
            out.append(rng.choice(_FILLERS))
    return "".join(out)


def _scores(y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str]) -> dict[str, Any]:
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=list(classes), zero_division=0
    )
    return {
        "n_samples": len(y_true),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=list(classes), average="macro", zero_division=0)
        ),
        "per_class": {
            c: {
                "precision": float(p),
                "recall": float(r),
                "f1": float(f),
                "support": int(s),
            }
            for c, p, r, f, s in zip(classes, precision, recall, f1, support, strict=True)
        },
    }


def cross_validate(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    folds: int = 5,
    seed: int = 0,
    desegment: bool = True,
    perturb: float = 0.0,
    on_fold: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Stratified k-fold estimate of accuracy and macro-F1 on raw-like input.

    Each model is trained on its training folds as given; its validation fold is de-segmented
    (``desegment``) and, with ``perturb`` > 0, gets a function word or punctuation mark inserted
    after that share of its tokens, to look like raw messages.  Texts are tokenised once; each
    fold's pipeline takes the tokens (its ``tokens`` step set to ``"passthrough"``).
    ``on_fold(n)`` hears of each fold done (a training job's progress).
    """
    y = np.asarray(labels)
    rng = random.Random(seed)
    train_tokens = _tokens_of(texts)
    if desegment or perturb > 0:
        valid_tokens = _tokens_of([_raw_like(t, rng, perturb) for t in texts])
    else:
        valid_tokens = train_tokens
    predicted = np.empty(len(y), dtype=object)
    confidence = np.zeros(len(y))
    truth_proba = np.zeros(len(y))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    fold_f1: list[float] = []
    for train_idx, valid_idx in splitter.split(np.zeros(len(y)), y):
        model = build_pipeline(seed).set_params(tokens="passthrough")
        model.fit([train_tokens[i] for i in train_idx], y[train_idx])
        proba = model.predict_proba([valid_tokens[i] for i in valid_idx])
        fold_classes = np.asarray(model.classes_)
        fold_pred = fold_classes.astype(object)[proba.argmax(axis=1)]
        predicted[valid_idx] = fold_pred
        confidence[valid_idx] = proba.max(axis=1)
        truth = np.searchsorted(fold_classes, y[valid_idx])
        truth_proba[valid_idx] = proba[np.arange(len(valid_idx)), truth]
        fold_f1.append(float(f1_score(y[valid_idx], fold_pred.astype(str), average="macro")))
        if on_fold is not None:
            on_fold(len(fold_f1))
    classes = sorted(set(labels))
    result = _scores(y.tolist(), predicted.astype(str).tolist(), classes)
    result.update(
        {
            "folds": folds,
            "seed": seed,
            "desegment": desegment,
            "perturb": perturb,
            "fold_macro_f1": [round(f, 4) for f in fold_f1],
            # Calibration: a calibrated model's mean top-1 probability is close to its accuracy.
            "mean_top1_probability": float(confidence.mean()),
            "log_loss": float(-np.log(np.maximum(truth_proba, 1e-12)).mean()),
        }
    )
    return result


def evaluate(model: TextClassifier, texts: Sequence[str], labels: Sequence[str]) -> dict[str, Any]:
    """Scores of ``model`` on labelled texts (same shape as ``cross_validate``)."""
    predicted = model.predict(texts)
    classes = sorted(set(labels) | set(model.classes))
    return _scores(list(labels), predicted, classes)


def format_report(result: dict[str, Any]) -> str:
    """Accuracy, macro-F1 and a per-class table; the last line is ``macro-F1: 0.xxxx``."""
    lines = [f"samples: {result['n_samples']}"]
    if "folds" in result:
        lines.append(
            f"{result['folds']}-fold CV (seed {result['seed']}), de-segmented validation: "
            f"{'yes' if result.get('desegment') else 'no'}, perturbation: {result.get('perturb')}"
        )
    lines.append(f"accuracy: {result['accuracy']:.4f}")
    if "mean_top1_probability" in result:
        lines.append(
            f"mean top-1 probability: {result['mean_top1_probability']:.4f}, "
            f"log loss: {result['log_loss']:.4f}"
        )
    width = max([len("class")] + [len(c) for c in result["per_class"]]) + 2
    lines.append(f"{'class':<{width}}precision  recall      f1  support")
    for label, row in result["per_class"].items():
        lines.append(
            f"{label:<{width}}{row['precision']:>9.4f} {row['recall']:>7.4f} "
            f"{row['f1']:>7.4f} {row['support']:>8d}"
        )
    lines.append(f"macro-F1: {result['macro_f1']:.4f}")
    return "\n".join(lines)


def accuracy_at(
    ranked: Sequence[Sequence[str]], truth: Sequence[str], ks: Sequence[int] = (1, 3)
) -> dict[int, float]:
    """Share of texts whose true label is among the first ``k`` of its ranked labels."""
    if not truth:
        return {k: 0.0 for k in ks}
    return {k: sum(t in r[:k] for r, t in zip(ranked, truth, strict=True)) / len(truth) for k in ks}


def time_split(
    texts: Sequence[str],
    labels: Sequence[str],
    times: Sequence[Any],
    *,
    test_share: float = 0.2,
    seed: int = 0,
    min_class_samples: int = 2,
) -> dict[str, Any]:
    """Train on the older ``1 - test_share`` of the samples (by ``times``), score accuracy@1 and
    @3 on the newer rest. A test label the training part never saw counts as a miss; classes
    with fewer than ``min_class_samples`` training rows are left out of training (as
    ``model_train`` does)."""
    order = sorted(range(len(texts)), key=lambda i: times[i])
    cut = round(len(order) * (1 - test_share))
    train_idx, test_idx = order[:cut], order[cut:]
    counts = Counter(labels[i] for i in train_idx)
    kept = [i for i in train_idx if counts[labels[i]] >= min_class_samples]
    if len({labels[i] for i in kept}) < 2 or not test_idx:
        raise ValueError("a time split needs two classes in the older part and a newer part")
    model = train([texts[i] for i in kept], [labels[i] for i in kept], seed=seed)
    top = model.predict_top([texts[i] for i in test_idx], k=3)
    truth = [labels[i] for i in test_idx]
    scores = accuracy_at([[c for c, _p in row] for row in top], truth)
    return {
        "n_train": len(kept),
        "n_test": len(test_idx),
        "train_until": times[train_idx[-1]] if train_idx else None,
        "test_from": times[test_idx[0]],
        "test_until": times[test_idx[-1]],
        "classes": len(model.classes),
        "unseen_in_test": sum(1 for t in truth if t not in set(model.classes)),
        "accuracy_at_1": scores[1],
        "accuracy_at_3": scores[3],
    }


def format_time_split(result: dict[str, Any]) -> str:
    """The time-split report; the last lines are ``accuracy@1: 0.xxxx`` and ``accuracy@3: …``."""
    return "\n".join(
        [
            f"trained on {result['n_train']} appeals received until {result['train_until']}",
            f"tested on {result['n_test']} appeals received {result['test_from']} to "
            f"{result['test_until']} ({result['unseen_in_test']} of a unit unseen in training)",
            f"classes: {result['classes']}",
            f"accuracy@1: {result['accuracy_at_1']:.4f}",
            f"accuracy@3: {result['accuracy_at_3']:.4f}",
        ]
    )
