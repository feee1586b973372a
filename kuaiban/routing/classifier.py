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
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC

from kuaiban.routing.text import tokenize

__all__ = [
    "MODEL_FORMAT",
    "ModelFormatError",
    "TextClassifier",
    "appeal_text",
    "build_pipeline",
    "fit_confidence",
    "load_csv",
    "train",
    "unit_text",
]

# Version of the saved model's layout; a file of another version is refused (retrain it).
# 1: hand-made featurizer and SoftmaxSVC; 2: one scikit-learn Pipeline.
MODEL_FORMAT = 2

MAX_CHARS = 500  # segment only the first characters of a text (speed)
HEAD_TOKENS = 15
HEAD_CHARS = 40
HEAD_CHAR_WEIGHT = 0.7
CONFIDENCE_FOLDS = 3
NONSENSE_SHARE = 0.2
FRAGMENT_CHARS = (4, 20)  # the length of a held-out piece (see ``_fragments``)

Tokens = list[str]


def appeal_text(title: str | None, content: str | None) -> str:
    """The text to classify for an appeal: title first (the head features rely on it)."""
    return "\n".join(part for part in (title, content) if part)


def unit_text(
    title: str | None,
    content: str | None,
    *,
    category: str | None = None,
    township: str | None = None,
) -> str:
    """The lead-unit model's input: the first-level category and the township (when known) in
    front of ``appeal_text``, so that text, category and region all shape the suggestion (the
    head features weigh the start of a text most)."""
    context = " ".join(p for p in (category, township) if p)
    return "\n".join(p for p in (context, appeal_text(title, content)) if p)


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
    # P(the top class is right | the SVM's top score, margin and lift), fitted on out-of-fold scores
    # (see ``fit_confidence``); None for a model saved without one.
    confidence: LogisticRegression | None = None

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.pipeline.classes_]

    def predict_proba(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Class probabilities, columns in ``classes`` order.

        The temperature-scaled probabilities, with the top one capped by the held-out
        probability that the top class is right (``confidence``) and the others scaled with it:
        a text far from everything the model saw (测试电话号码过长) has low SVM scores for every
        class and gets a low probability, even where one class wins the softmax by far."""
        if not texts:
            return np.zeros((0, len(self.classes)))
        features = self.pipeline[:-1].transform(list(texts))
        calibrated = self.pipeline[-1]
        proba = np.asarray(calibrated.predict_proba(features), dtype=np.float64)
        if self.confidence is None:
            return proba
        svm = calibrated.calibrated_classifiers_[0].estimator
        inputs = _score_features(svm.decision_function(features), svm.intercept_)
        # A model saved before the lift was an input reads the first two columns.
        right = self.confidence.predict_proba(inputs[:, : self.confidence.n_features_in_])[:, 1]
        right[np.asarray(features.getnnz(axis=1)) == 0] = 0.0  # no word the model knows
        top = proba.max(axis=1)
        factor = np.minimum(1.0, right / np.maximum(top, 1e-12))
        return proba * factor[:, None]

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
        payload = {
            "format": MODEL_FORMAT,
            "pipeline": self.pipeline,
            "metadata": self.metadata,
            "confidence": self.confidence,
        }
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
        confidence = payload.get("confidence")
        if confidence is not None and not isinstance(confidence, LogisticRegression):
            raise ModelFormatError(f"{path}: not a Kuaiban routing model")
        return cls(pipeline, payload.get("metadata") or {}, confidence)


def _score_features(
    scores: npt.NDArray[Any], intercept: npt.NDArray[Any]
) -> npt.NDArray[np.float64]:
    """The confidence model's input: the SVM's best score, its margin over the second, and the
    lift: how far the text's words moved the scores from the intercepts, where a text the
    model has no words for (请尽快处理, 你好) stays whatever the majority class is."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1:  # two classes: one signed score
        best = np.abs(scores)
        return np.column_stack([best, 2 * best, np.abs(scores - float(np.ravel(intercept)[0]))])
    ordered = -np.sort(-scores, axis=1)
    lift = (scores - np.ravel(intercept)[None, :]).max(axis=1)
    return np.column_stack([ordered[:, 0], ordered[:, 0] - ordered[:, 1], lift])


def _nonsense(texts: Sequence[str], n: int, seed: int) -> list[str]:
    """``n`` texts no category fits: the characters of randomly chosen texts, shuffled (the
    words are gone, the characters stay: the shape of junk such as 测试电话号码过长)."""
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(texts), size=min(n, len(texts)), replace=False)
    out = []
    for i in picked.tolist():
        chars = list(texts[i][:HEAD_CHARS])
        rng.shuffle(chars)
        out.append("".join(chars))
    return out


def _fragments(texts: Sequence[str], seed: int) -> list[str]:
    """One short piece of each text: a window of ``FRAGMENT_CHARS`` characters at a random
    place. An operator types "路口井盖丢失", not a templated paragraph: the held-out pieces
    show the confidence model what the scores of short, real input look like, and how often
    the top class is right there (often, when the piece carries the problem's words; seldom,
    when it is 请尽快处理)."""
    rng = np.random.default_rng(seed)
    low, high = FRAGMENT_CHARS
    out = []
    for text in texts:
        size = int(rng.integers(low, high + 1))
        start = int(rng.integers(0, max(1, len(text) - size + 1)))
        out.append(text[start : start + size])
    return out


def fit_confidence(
    model: TextClassifier, texts: Sequence[str], labels: Sequence[str], *, seed: int = 0
) -> LogisticRegression | None:
    """Calibrate the top suggestion on held-out data: a logistic regression from the SVM's
    (best score, margin, lift: ``_score_features``) to "the top class is right", fitted on what
    ``CONFIDENCE_FOLDS`` folds of the same SVM (over the fitted features) say of the texts each
    fold held out:

    * the held-out texts themselves, right or wrong as their labels say;
    * a short piece of each (``_fragments``), right or wrong by the same label: without them a
      ledger of templated texts, whose held-out answers are all right at high scores, would
      call a short real text such as 小区暖气不热 unsure;
    * ``NONSENSE_SHARE`` as many nonsense texts (``_nonsense``), always wrong: without them
      such a model would call anything certain.

    None when a class is too small for the folds."""
    y = np.asarray(labels)
    if min(Counter(labels).values()) < CONFIDENCE_FOLDS:
        return None
    transform = model.pipeline[:-1].transform
    features = transform(list(texts))
    pieces = transform(_fragments(texts, seed))
    junk = transform(_nonsense(texts, max(1, int(len(texts) * NONSENSE_SHARE)), seed))
    svm = model.pipeline[-1].calibrated_classifiers_[0].estimator
    classes = np.asarray(model.pipeline.classes_)
    inputs: list[npt.NDArray[np.float64]] = []
    right: list[npt.NDArray[np.bool_]] = []
    folds = StratifiedKFold(CONFIDENCE_FOLDS, shuffle=True, random_state=seed)
    junk_folds = np.arange(junk.shape[0]) % CONFIDENCE_FOLDS
    for fold, (train_rows, held_rows) in enumerate(folds.split(features, y)):
        fitted = clone(svm).fit(features[train_rows], y[train_rows])
        for held, truth in (
            (features[held_rows], y[held_rows]),
            (pieces[held_rows], y[held_rows]),
            (junk[junk_folds == fold], None),
        ):
            if held.shape[0] == 0:  # fewer nonsense texts than folds
                continue
            scores = fitted.decision_function(held)
            inputs.append(_score_features(scores, fitted.intercept_))
            if truth is None:
                right.append(np.zeros(held.shape[0], dtype=bool))
                continue
            best = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
            right.append(classes[best] == truth)
    outcome = np.concatenate(right)
    if outcome.all() or not outcome.any():
        return None
    return LogisticRegression().fit(np.vstack(inputs), outcome)


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
    model.confidence = fit_confidence(model, texts, labels, seed=seed)
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
        "confidence": (
            f"logistic regression of {CONFIDENCE_FOLDS}-fold out-of-fold (best score, margin, "
            f"lift) of the held-out texts, a {FRAGMENT_CHARS[0]}-{FRAGMENT_CHARS[1]}-character "
            f"piece of each, and {NONSENSE_SHARE:.0%} shuffled-character nonsense texts as wrong"
            if model.confidence is not None
            else None
        ),
        "cv": _summary(cv) if cv else None,
        "versions": _versions(),
    }
    return model


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
