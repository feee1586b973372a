"""Category classifier: raw appeal text -> first-level category, top-k with probabilities.

Features (all on the canonical form of ``text.tokenize``: normalised, de-spaced, re-cut with
jieba, stop words and punctuation dropped, so pre-segmented training rows and raw messages look
alike):

* word TF-IDF (sublinear tf) of the tokens;
* character 1–3-gram TF-IDF of the tokens joined without spaces;
* word TF-IDF of the first ``head_tokens`` (15) tokens and character 1–3-gram TF-IDF (weight 0.7)
  of the first ``head_chars`` (40) characters: the title, which comes first, is the densest
  statement of the problem.

Model: a linear SVM (``LinearSVC``, balanced class weights) trained on all rows; its decision
scores become probabilities by a softmax whose temperature is fitted on 5-fold out-of-fold scores
(``SoftmaxSVC``), so ``predict_top`` returns calibrated probabilities that sum to 1 without
changing the SVM's ranking.

``cross_validate`` is the honest estimate for raw input: the validation folds are de-segmented
(tokens joined without spaces, as a citizen would type them) and optionally perturbed with
inserted function words and punctuation. See docs/routing.md for the figures.
"""

from __future__ import annotations

import csv
import platform
import random
import re
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
from scipy import sparse
from scipy.optimize import minimize_scalar
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

from kuaiban.routing.text import despace, tokenize

__all__ = [
    "MODEL_FORMAT",
    "Preprocessing",
    "SoftmaxSVC",
    "TextClassifier",
    "appeal_text",
    "cross_validate",
    "evaluate",
    "format_report",
    "load_csv",
    "train",
]

MODEL_FORMAT = 1

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
# Features
# ------------------------------------------------------------------------------------------------


def _identity(tokens: Tokens) -> Tokens:
    return tokens


class Featurizer(BaseEstimator, TransformerMixin):
    """Word, character n-gram and head-word TF-IDF of token lists, side by side."""

    def __init__(
        self,
        *,
        head_tokens: int = 15,
        head_weight: float = 1.0,
        head_chars: int = 40,
        head_char_weight: float = 0.7,
        char_ngrams: tuple[int, int] = (1, 3),
        min_df: int = 2,
        max_df: float = 0.5,
    ) -> None:
        self.head_tokens = head_tokens
        self.head_weight = head_weight
        self.head_chars = head_chars
        self.head_char_weight = head_char_weight
        self.char_ngrams = char_ngrams
        self.min_df = min_df
        self.max_df = max_df

    def _vectorizers(
        self,
    ) -> tuple[TfidfVectorizer, TfidfVectorizer, TfidfVectorizer, TfidfVectorizer]:
        common: dict[str, Any] = {"sublinear_tf": True, "dtype": np.float32}
        words = TfidfVectorizer(
            analyzer=_identity, min_df=self.min_df, max_df=self.max_df, **common
        )
        chars = TfidfVectorizer(
            analyzer="char",
            ngram_range=self.char_ngrams,
            min_df=self.min_df,
            max_df=self.max_df,
            **common,
        )
        head = TfidfVectorizer(analyzer=_identity, min_df=self.min_df, **common)
        head_chars = TfidfVectorizer(
            analyzer="char", ngram_range=(1, 3), min_df=self.min_df, **common
        )
        return words, chars, head, head_chars

    def fit(self, X: Sequence[Tokens], y: Any = None) -> Featurizer:
        self.__dict__.pop("_tables_", None)
        self.words_, self.chars_, self.head_, self.head_chars_ = self._vectorizers()
        joined = ["".join(t) for t in X]
        self.words_.fit(X)
        self.chars_.fit(joined)
        self.head_.fit([t[: self.head_tokens] for t in X])
        self.head_chars_.fit([j[: self.head_chars] for j in joined])
        return self

    def transform(self, X: Sequence[Tokens]) -> sparse.csr_matrix:
        """The fitted vectorizers' TF-IDF, computed in bulk (see ``_WordTable``, ``_CharTable``).

        Same matrix as calling the four vectorizers' ``transform`` (a test checks it), but the
        character n-grams are counted with numpy instead of one dictionary lookup per n-gram in
        Python, which was a third of the time of a prediction.  Large inputs are done
        ``_CHUNK`` rows at a time: the same rows, stacked, but the temporary arrays (several per
        character) stay small enough to be reused from the heap instead of being fresh memory
        to fault in each time, which halves the time for the bench's 10,000 messages.
        """
        if len(X) > _CHUNK:
            chunks = [self._transform(X[i : i + _CHUNK]) for i in range(0, len(X), _CHUNK)]
            return sparse.vstack(chunks, format="csr")
        return self._transform(X)

    def _transform(self, X: Sequence[Tokens]) -> sparse.csr_matrix:
        tables = self._tables()
        joined = ["".join(t) for t in X]
        blocks = [
            tables[0].transform(X),
            tables[1].transform(joined),
            self.head_weight * tables[2].transform([t[: self.head_tokens] for t in X]),
            self.head_char_weight * tables[3].transform([j[: self.head_chars] for j in joined]),
        ]
        return sparse.hstack(blocks, format="csr")

    def _tables(self) -> tuple[_WordTable, _CharTable, _WordTable, _CharTable]:
        tables: tuple[_WordTable, _CharTable, _WordTable, _CharTable] | None = self.__dict__.get(
            "_tables_"
        )
        if tables is None:
            tables = (
                _WordTable(self.words_),
                _CharTable(self.chars_),
                _WordTable(self.head_),
                _CharTable(self.head_chars_),
            )
            self.__dict__["_tables_"] = tables
        return tables

    def __getstate__(self) -> dict[str, Any]:
        # The lookup tables are derived from the vectorizers: not saved, rebuilt on first use.
        state = dict(super().__getstate__())
        state.pop("_tables_", None)
        return state


_CHUNK = 1000  # rows featurised at a time (see ``Featurizer.transform``)
_WHITE_SPACES_RE = re.compile(r"\s\s+")  # what scikit-learn's char analyzer collapses
_CODE_BITS = 21  # every Unicode code point fits in 21 bits, so a 3-gram fits in 63


def _tfidf(
    rows: npt.NDArray[np.int64],
    cols: npt.NDArray[np.int64],
    n_rows: int,
    vectorizer: TfidfVectorizer,
) -> sparse.csr_matrix:
    """Counts -> sublinear tf x idf -> l2-normalised rows (scikit-learn's TfidfTransformer)."""
    n_cols = len(vectorizer.vocabulary_)
    counts = sparse.csr_matrix(
        (np.ones(len(cols), dtype=np.float32), (rows, cols)),
        shape=(n_rows, n_cols),
        dtype=np.float32,
    )
    counts.sum_duplicates()
    if vectorizer.sublinear_tf:
        np.log(counts.data, counts.data)
        counts.data += 1.0
    counts.data *= vectorizer.idf_[counts.indices]
    if n_rows == 0:
        return counts
    result: sparse.csr_matrix = normalize(counts, norm=vectorizer.norm, copy=False)
    return result


class _WordTable:
    """A fitted token-list vectorizer's transform with one list comprehension for the lookups."""

    def __init__(self, vectorizer: TfidfVectorizer) -> None:
        self.vectorizer = vectorizer
        self.vocabulary: dict[str, int] = vectorizer.vocabulary_

    def transform(self, docs: Sequence[Tokens]) -> sparse.csr_matrix:
        get = self.vocabulary.get
        lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=len(docs))
        cols = np.fromiter(
            (get(t, -1) for d in docs for t in d), dtype=np.int64, count=int(lengths.sum())
        )
        rows = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
        keep = cols >= 0
        return _tfidf(rows[keep], cols[keep], len(docs), self.vectorizer)


class _CharTable:
    """A fitted character 1–3-gram vectorizer's transform, vectorised with numpy.

    Each n-gram becomes one integer (its code points, 21 bits each; a longer n-gram is always a
    larger number than a shorter one, as no code point is 0), looked up in an open-addressing
    hash table of the vocabulary's integers (``_CodeTable``).
    """

    def __init__(self, vectorizer: TfidfVectorizer) -> None:
        if vectorizer.analyzer != "char" or vectorizer.ngram_range[0] != 1:
            raise ValueError("only character n-grams from 1 up are supported")
        self.vectorizer = vectorizer
        self.max_n = int(vectorizer.ngram_range[1])
        if self.max_n > 3:
            raise ValueError("character n-grams longer than 3 do not fit in 63 bits")
        terms = list(vectorizer.vocabulary_.items())
        codes = np.fromiter((self._code(t) for t, _ in terms), dtype=np.uint64, count=len(terms))
        columns = np.fromiter((c for _, c in terms), dtype=np.int64, count=len(terms))
        self.table = _CodeTable(codes, columns)

    @staticmethod
    def _code(term: str) -> int:
        code = 0
        for ch in term:
            code = (code << _CODE_BITS) | ord(ch)
        return code

    def transform(self, docs: Sequence[str]) -> sparse.csr_matrix:
        lower = self.vectorizer.lowercase
        prepared = [_WHITE_SPACES_RE.sub(" ", d.lower() if lower else d) for d in docs]
        lengths = np.fromiter((len(d) for d in prepared), dtype=np.int64, count=len(prepared))
        chars = np.frombuffer("".join(prepared).encode("utf-32-le"), dtype=np.uint32).astype(
            np.uint64
        )
        doc_of = np.repeat(np.arange(len(prepared), dtype=np.int64), lengths)
        # Position of each character in its document, and how many characters follow it there.
        starts = np.cumsum(lengths) - lengths
        left = np.repeat(starts + lengths, lengths) - np.arange(len(chars)) - 1
        all_rows = [doc_of]
        all_codes = [chars]
        gram = chars
        for n in range(2, self.max_n + 1):
            gram = (gram[:-1] << np.uint64(_CODE_BITS)) | chars[n - 1 :]
            valid = left[: len(gram)] >= n - 1
            all_rows.append(doc_of[: len(gram)][valid])
            all_codes.append(gram[valid])
        codes = np.concatenate(all_codes)
        rows = np.concatenate(all_rows)
        columns = self.table.lookup(codes)
        found = columns >= 0
        return _tfidf(rows[found], columns[found], len(prepared), self.vectorizer)


class _CodeTable:
    """Distinct non-negative integers below 2**63 -> columns, looked up in bulk.

    Open addressing with linear probing in a power-of-two table at most a third full, so that a
    lookup takes one or two random reads (a binary search over the sorted vocabulary took ~19,
    and was a third of the featurisation).
    """

    _EMPTY = np.uint64(2**64 - 1)  # no key: every code is below 2**63
    _MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: the top bits are mixed

    def __init__(self, keys: npt.NDArray[np.uint64], values: npt.NDArray[np.int64]) -> None:
        bits = max(4, int(3 * len(keys)).bit_length())
        self.shift = np.uint64(64 - bits)
        self.mask = np.int64((1 << bits) - 1)
        self.keys = np.full(1 << bits, self._EMPTY, dtype=np.uint64)
        self.values = np.full(1 << bits, -1, dtype=np.int64)
        slot = self._slots(keys)
        pending = np.arange(len(keys))
        while len(pending):
            # Each pending key tries its next slot; of those that want the same free slot, the
            # first takes it and the others probe on (as a one-by-one insertion would).
            want = slot[pending]
            free = self.keys[want] == self._EMPTY
            chosen, first = np.unique(want[free], return_index=True)
            placed = pending[free][first]
            self.keys[chosen] = keys[placed]
            self.values[chosen] = values[placed]
            done = np.zeros(len(keys), dtype=bool)
            done[placed] = True
            pending = pending[~done[pending]]
            slot[pending] = (slot[pending] + 1) & self.mask

    def _slots(self, keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        return ((keys * self._MULTIPLIER) >> self.shift).astype(np.int64)

    def lookup(self, keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        """The value of each key, -1 where it is not in the table."""
        out = np.full(len(keys), -1, dtype=np.int64)
        slot = self._slots(keys)
        todo = np.arange(len(keys))
        while len(todo):
            stored = self.keys[slot]
            hit = stored == keys
            out[todo[hit]] = self.values[slot[hit]]
            # Go on probing where the slot holds another key; an empty slot ends the search.
            again = ~hit & (stored != self._EMPTY)
            todo, keys = todo[again], keys[again]
            slot = (slot[again] + 1) & self.mask
        return out


@dataclass(frozen=True)
class Preprocessing:
    """How texts become tokens; stored with the model so training and prediction agree."""

    max_chars: int | None = 500  # segment only the first characters (speed)
    hmm: bool = True  # jieba's HMM for unknown words (slower)

    def tokens(self, text: str) -> Tokens:
        return tokenize(text, hmm=self.hmm, max_chars=self.max_chars)


DEFAULT_PREPROCESSING = Preprocessing()


class SoftmaxSVC(BaseEstimator, ClassifierMixin):
    """A linear SVM whose scores become probabilities by a temperature-scaled softmax.

    The temperature is fitted (minimum log loss) on out-of-fold decision scores, so the
    probabilities are calibrated while the ranking, and so the top-1 accuracy, stays the SVM's
    own. (One-vs-rest sigmoid calibration re-ranks classes and lost ~0.002 macro-F1 in CV.)
    """

    def __init__(
        self,
        *,
        C: float = 1.0,
        class_weight: str | None = "balanced",
        folds: int = 5,
        random_state: int = 0,
    ) -> None:
        self.C = C
        self.class_weight = class_weight
        self.folds = folds
        self.random_state = random_state

    def _svm(self) -> LinearSVC:
        return LinearSVC(C=self.C, class_weight=self.class_weight, random_state=self.random_state)

    def fit(self, X: sparse.csr_matrix, y: npt.ArrayLike) -> SoftmaxSVC:
        labels = np.asarray(y)
        self.svm_ = self._svm().fit(X, labels)
        self.classes_ = self.svm_.classes_
        splitter = StratifiedKFold(self.folds, shuffle=True, random_state=self.random_state)
        scores = cross_val_predict(self._svm(), X, labels, cv=splitter, method="decision_function")
        truth = np.searchsorted(self.classes_, labels)

        def log_loss(log_t: float) -> float:
            logits = scores / np.exp(log_t)
            logits -= logits.max(axis=1, keepdims=True)
            log_norm = np.log(np.exp(logits).sum(axis=1))
            return float((log_norm - logits[np.arange(len(truth)), truth]).mean())

        best = minimize_scalar(log_loss, bounds=(-6.0, 3.0), method="bounded")
        self.temperature_ = float(np.exp(best.x))
        return self

    def decision_function(self, X: sparse.csr_matrix) -> npt.NDArray[np.float64]:
        return np.asarray(self.svm_.decision_function(X), dtype=np.float64)

    def predict_proba(self, X: sparse.csr_matrix) -> npt.NDArray[np.float64]:
        logits = self.decision_function(X) / self.temperature_
        logits -= logits.max(axis=1, keepdims=True)
        odds = np.exp(logits)
        proba: npt.NDArray[np.float64] = odds / odds.sum(axis=1, keepdims=True)
        return proba

    def predict(self, X: sparse.csr_matrix) -> npt.NDArray[Any]:
        return np.asarray(self.classes_[self.decision_function(X).argmax(axis=1)])


def _estimator(seed: int) -> SoftmaxSVC:
    return SoftmaxSVC(C=1.0, class_weight="balanced", folds=5, random_state=seed)


# ------------------------------------------------------------------------------------------------
# Model
# ------------------------------------------------------------------------------------------------


@dataclass
class TextClassifier:
    """A trained classifier and its metadata (see ``train``)."""

    featurizer: Featurizer
    estimator: SoftmaxSVC
    metadata: dict[str, Any] = field(default_factory=dict)
    preprocessing: Preprocessing = DEFAULT_PREPROCESSING

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.estimator.classes_]

    def _proba(self, tokens: Sequence[Tokens]) -> npt.NDArray[np.float64]:
        if not tokens:
            return np.zeros((0, len(self.classes)))
        return np.asarray(self.estimator.predict_proba(self.featurizer.transform(tokens)))

    def predict_proba(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """Class probabilities, columns in ``classes`` order."""
        return self._proba([self.preprocessing.tokens(t) for t in texts])

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
            "featurizer": self.featurizer,
            "estimator": self.estimator,
            "metadata": self.metadata,
            "preprocessing": self.preprocessing,
        }
        joblib.dump(payload, tmp, compress=3)
        tmp.replace(target)

    @classmethod
    def load(cls, path: str | Path) -> TextClassifier:
        """Load a model written by ``save`` (joblib unpickles: only load files you wrote)."""
        payload = joblib.load(Path(path))
        if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
            raise ValueError(f"{path}: not a Kuaiban routing model (format {MODEL_FORMAT})")
        return cls(
            payload["featurizer"],
            payload["estimator"],
            payload["metadata"],
            payload["preprocessing"],
        )


def _versions() -> dict[str, str]:
    import jieba
    import scipy
    import sklearn

    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "jieba": str(getattr(jieba, "__version__", "unknown")),
        "joblib": joblib.__version__,
    }


def _fit(
    tokens: Sequence[Tokens], labels: Sequence[str], seed: int, prep: Preprocessing
) -> TextClassifier:
    featurizer = Featurizer()
    features = featurizer.fit_transform(tokens)
    estimator = _estimator(seed).fit(features, np.asarray(labels))
    return TextClassifier(featurizer, estimator, preprocessing=prep)


def train(
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    seed: int = 0,
    cv: dict[str, Any] | None = None,
    preprocessing: Preprocessing = DEFAULT_PREPROCESSING,
) -> TextClassifier:
    """Train on texts (raw or pre-segmented) and labels.

    ``cv`` (a ``cross_validate`` result) is stored in the metadata when given.
    """
    if len(texts) != len(labels):
        raise ValueError("texts and labels differ in length")
    started = time.perf_counter()
    prep = preprocessing
    model = _fit([prep.tokens(t) for t in texts], labels, seed, prep)
    counts = dict(sorted(Counter(labels).items()))
    model.metadata = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "train_seconds": round(time.perf_counter() - started, 1),
        "n_samples": len(texts),
        "classes": model.classes,
        "class_counts": counts,
        "seed": seed,
        "preprocessing": {"max_chars": prep.max_chars, "hmm": prep.hmm},
        "features": "word + char 1-3 + head-15-word + head-40-char(1-3) tf-idf",
        "estimator": "LinearSVC(C=1, balanced) + softmax, temperature fitted on 5-fold scores",
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
    preprocessing: Preprocessing = DEFAULT_PREPROCESSING,
) -> dict[str, Any]:
    """Stratified k-fold estimate of accuracy and macro-F1 on raw-like input.

    Each model is trained on its training folds as given; its validation fold is de-segmented
    (``desegment``) and, with ``perturb`` > 0, gets a function word or punctuation mark inserted
    after that share of its tokens, to look like raw messages.
    """
    y = np.asarray(labels)
    rng = random.Random(seed)
    prep = preprocessing
    train_tokens = [prep.tokens(t) for t in texts]
    if desegment or perturb > 0:
        valid_tokens = [prep.tokens(_raw_like(t, rng, perturb)) for t in texts]
    else:
        valid_tokens = train_tokens
    predicted = np.empty(len(y), dtype=object)
    confidence = np.zeros(len(y))
    truth_proba = np.zeros(len(y))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    fold_f1: list[float] = []
    for train_idx, valid_idx in splitter.split(np.zeros(len(y)), y):
        model = _fit([train_tokens[i] for i in train_idx], y[train_idx].tolist(), seed, prep)
        proba = model._proba([valid_tokens[i] for i in valid_idx])
        fold_pred = np.asarray(model.classes, dtype=object)[proba.argmax(axis=1)]
        predicted[valid_idx] = fold_pred
        confidence[valid_idx] = proba.max(axis=1)
        truth = np.searchsorted(np.asarray(model.classes), y[valid_idx])
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
