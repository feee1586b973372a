"""Category classifier: raw appeal text -> first-level category, top-k with probabilities.

One scikit-learn ``Pipeline`` (``build_pipeline``), saved and loaded as it is:

* ``tokens``: ``text.tokenize`` of each text (normalised, de-spaced, cut by rjieba, stop words
  and punctuation dropped), so pre-segmented training rows and raw messages look alike;
* ``features``: a ``FeatureUnion`` of four ``TfidfVectorizer`` (sublinear tf): the words; the
  character 1–3-grams of the words joined without spaces; the first ``HEAD_TOKENS`` (15) words;
  and (weight 0.7) the character 1–3-grams of the first ``HEAD_CHARS`` (40) characters: the
  title, which comes first, is the densest statement of the problem;
* ``classify``: a linear SVM (``LinearSVC``, balanced class weights) trained on all rows, its
  decision scores turned into probabilities by scikit-learn's temperature scaling
  (``CalibratedClassifierCV(method="temperature", ensemble=False)``, fitted on 5-fold
  out-of-fold scores): calibrated probabilities that sum to 1, the SVM's own ranking.

``cross_validate`` is the honest estimate for raw input: the validation folds are de-segmented
(tokens joined without spaces, as a citizen would type them) and optionally perturbed with
inserted function words and punctuation. See docs/routing.md for the figures.
"""

from __future__ import annotations

import csv
import platform
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import numpy.typing as npt
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC

from kuaiban.routing.text import despace, tokenize

__all__ = [
    "MODEL_FORMAT",
    "ModelFormatError",
    "TextClassifier",
    "appeal_text",
    "build_pipeline",
    "cross_validate",
    "evaluate",
    "format_report",
    "load_csv",
    "train",
]

# Version of the saved model's layout; a file of another version is refused (retrain it).
# 1: hand-made featurizer and SoftmaxSVC; 2: one scikit-learn Pipeline.
MODEL_FORMAT = 2

MAX_CHARS = 500  # segment only the first characters of a text (speed)
HEAD_TOKENS = 15
HEAD_CHARS = 40
HEAD_CHAR_WEIGHT = 0.7

Tokens = list[str]


def appeal_text(title: str | None, content: str | None) -> str:
    """The text to classify for an appeal: title first (the head features rely on it)."""
    return "\n".join(part for part in (title, content) if part)


def load_csv(path: str | Path) -> tuple[list[str], list[str]]:
    """``text`` and ``label`` columns of a training CSV (such as appeals_train_7class.csv)."""
    with Path(path).open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return [r["text"] for r in rows], [r["label"] for r in rows]


# ------------------------------------------------------------------------------------------------
# Pipeline
# ------------------------------------------------------------------------------------------------
# Module-level functions, so that the saved pipeline refers to them by name.


def _tokens_of(texts: Sequence[str]) -> list[Tokens]:
    return [tokenize(t, max_chars=MAX_CHARS) for t in texts]


def _words(tokens: Tokens) -> Tokens:
    return tokens


def _head_words(tokens: Tokens) -> Tokens:
    return tokens[:HEAD_TOKENS]


def _joined(tokens: Tokens) -> str:
    return "".join(tokens)


def _head_joined(tokens: Tokens) -> str:
    return "".join(tokens)[:HEAD_CHARS]


def build_pipeline(seed: int = 0, *, calibration_folds: int = 5) -> Pipeline:
    """The untrained classifier: raw texts in, categories and probabilities out."""
    common: dict[str, Any] = {"sublinear_tf": True, "dtype": np.float32, "min_df": 2}
    # With ``analyzer="char"`` the vectorizer runs its own character n-gram analyzer over what
    # ``preprocessor`` makes of a document (here: its words joined).
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(analyzer=_words, max_df=0.5, **common)),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char",
                    preprocessor=_joined,
                    ngram_range=(1, 3),
                    max_df=0.5,
                    **common,
                ),
            ),
            ("head_words", TfidfVectorizer(analyzer=_head_words, **common)),
            (
                "head_chars",
                TfidfVectorizer(
                    analyzer="char", preprocessor=_head_joined, ngram_range=(1, 3), **common
                ),
            ),
        ],
        transformer_weights={"head_chars": HEAD_CHAR_WEIGHT},
    )
    svm = LinearSVC(C=1.0, class_weight="balanced", random_state=seed)
    calibrated = CalibratedClassifierCV(
        svm,
        method="temperature",
        cv=StratifiedKFold(calibration_folds, shuffle=True, random_state=seed),
        ensemble=False,
    )
    return Pipeline(
        [
            ("tokens", FunctionTransformer(_tokens_of)),
            ("features", features),
            ("classify", calibrated),
        ]
    )


# ------------------------------------------------------------------------------------------------
# Model
# ------------------------------------------------------------------------------------------------


class ModelFormatError(ValueError):
    """A model file this version cannot use (another format, or not a model at all)."""


_RETRAIN = "retrain it with `kuaiban train`"


@dataclass
class TextClassifier:
    """A trained pipeline (see ``build_pipeline``) and its metadata (see ``train``)."""

    pipeline: Pipeline
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_]

    def predict_proba(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Class probabilities, columns in ``classes`` order."""
        if not texts:
            return np.zeros((0, len(self.classes)))
        return np.asarray(self.pipeline.predict_proba(list(texts)), dtype=np.float64)

    def predict(self, texts: Sequence[str]) -> list[str]:
        classes = self.classes
        return [classes[i] for i in self.predict_proba(texts).argmax(axis=1).tolist()]

    def predict_top(self, texts: Sequence[str], k: int = 3) -> list[list[tuple[str, float]]]:
        """For each text, the ``k`` most probable categories as (label, probability), best first."""
        proba = self.predict_proba(texts)
        classes = self.classes
        out: list[list[tuple[str, float]]] = []
        for row in proba:
            best = np.argsort(-row, kind="stable")[:k]
            out.append([(classes[i], round(float(row[i]), 4)) for i in best.tolist()])
        return out

    def save(self, path: str | Path) -> None:
        """Write the model with joblib (to a temporary name first, then renamed)."""
        target = Path(path)
        tmp = target.with_name(target.name + ".tmp")
        payload = {"format": MODEL_FORMAT, "pipeline": self.pipeline, "metadata": self.metadata}
        joblib.dump(payload, tmp, compress=3)
        tmp.replace(target)

    @classmethod
    def load(cls, path: str | Path) -> TextClassifier:
        """Load a model written by ``save`` (joblib unpickles: only load files you wrote).

        A file of an older format is refused with ``ModelFormatError`` telling to retrain.
        """
        try:
            payload = joblib.load(Path(path))
        except (AttributeError, ImportError) as exc:
            # Format 1 refers to classes that no longer exist (SoftmaxSVC, Featurizer).
            raise ModelFormatError(
                f"{path}: a model of an older format than {MODEL_FORMAT} ({exc}); {_RETRAIN}"
            ) from None
        except Exception as exc:  # whatever else unpickling raises on a damaged file
            raise ModelFormatError(
                f"{path}: not a readable Kuaiban routing model ({type(exc).__name__}); {_RETRAIN}"
            ) from None
        if not isinstance(payload, dict) or "format" not in payload:
            raise ModelFormatError(f"{path}: not a Kuaiban routing model")
        if payload["format"] != MODEL_FORMAT:
            raise ModelFormatError(
                f"{path}: a model of format {payload['format']!r}, this version reads format "
                f"{MODEL_FORMAT}; {_RETRAIN}"
            )
        pipeline = payload.get("pipeline")
        if not isinstance(pipeline, Pipeline):
            raise ModelFormatError(f"{path}: not a Kuaiban routing model")
        return cls(pipeline, payload.get("metadata") or {})


def _versions() -> dict[str, str]:
    import importlib.metadata

    import scipy
    import sklearn

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "rjieba": importlib.metadata.version("rjieba"),
        "opencc": importlib.metadata.version("opencc"),
        "joblib": joblib.__version__,
    }


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    seed: int = 0,
    cv: dict[str, Any] | None = None,
) -> TextClassifier:
    """Train on texts (raw or pre-segmented) and labels.

    ``cv`` (a ``cross_validate`` result) is stored in the metadata when given.
    """
    if len(texts) != len(labels):
        raise ValueError("texts and labels differ in length")
    started = time.perf_counter()
    model = TextClassifier(build_pipeline(seed).fit(list(texts), np.asarray(labels)))
    counts = dict(sorted(Counter(labels).items()))
    model.metadata = {
        "format": MODEL_FORMAT,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "train_seconds": round(time.perf_counter() - started, 1),
        "n_samples": len(texts),
        "classes": model.classes,
        "class_counts": counts,
        "seed": seed,
        "preprocessing": {"max_chars": MAX_CHARS, "hmm": True},
        "features": "word + char 1-3 + head-15-word + head-40-char(1-3) tf-idf",
        "estimator": "LinearSVC(C=1, balanced), temperature scaling on 5-fold scores",
        "cv": _summary(cv) if cv else None,
        "versions": _versions(),
    }
    return model


# ------------------------------------------------------------------------------------------------
# Evaluation
# ------------------------------------------------------------------------------------------------

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
) -> dict[str, Any]:
    """Stratified k-fold estimate of accuracy and macro-F1 on raw-like input.

    Each model is trained on its training folds as given; its validation fold is de-segmented
    (``desegment``) and, with ``perturb`` > 0, gets a function word or punctuation mark inserted
    after that share of its tokens, to look like raw messages.  Texts are tokenised once; each
    fold's pipeline takes the tokens (its ``tokens`` step set to ``"passthrough"``).
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


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "accuracy",
        "macro_f1",
        "folds",
        "seed",
        "desegment",
        "perturb",
        "fold_macro_f1",
        "mean_top1_probability",
        "log_loss",
    )
    return {k: result[k] for k in keys if k in result}


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
