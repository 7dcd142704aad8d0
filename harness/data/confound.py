"""Is a benchmark what it claims to be? Two cross-validated text classifiers (character n-grams + logistic
regression), pure functions over lists of texts.

* :func:`label_predictability`: how well the label of a pair can be predicted from the texts of ONE side alone.
  A pair's label is a relation between two texts, so one side should say nothing about it. Where it does, a
  style or wording difference between the compatible and the incompatible pairs (for example one writer per
  label) is a signal a model can exploit, and every number on the set is confounded with it.
* :func:`separability`: how well two sets of texts can be told apart (new writers vs training writers). High
  means they really write differently, so a benchmark of the one measures transfer from the other.

Both return an out-of-fold ROC AUC with a bootstrap 95% interval over the out-of-fold predictions.
"""

from __future__ import annotations

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline

SEED = 42
FOLDS = 5


def classifier():
    """Character 2-5-grams within word boundaries (style: punctuation, casing, slang, emoji), TF-IDF, L2 logistic
    regression: the simple, strong baseline for authorship and style."""
    return make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True,
                                         lowercase=False),
                         LogisticRegression(C=1.0, max_iter=2000))


def _bootstrap_auc(labels: np.ndarray, scores: np.ndarray, n_resamples: int = 1000) -> tuple[float, float]:
    rng = np.random.default_rng(SEED)
    pos, neg = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    values = [roc_auc_score(labels[idx], scores[idx]) for idx in
              (np.concatenate([rng.choice(pos, pos.size), rng.choice(neg, neg.size)]) for _ in range(n_resamples))]
    lo, hi = np.quantile(values, [0.025, 0.975])
    return float(lo), float(hi)


def cross_validated_auc(texts: list[str], labels: np.ndarray, folds: int = FOLDS) -> dict:
    """Out-of-fold AUC of :func:`classifier` predicting ``labels`` from ``texts`` (stratified folds, fixed seed)."""
    labels = np.asarray(labels).astype(int)
    if len(texts) != labels.size or labels.min() == labels.max():
        raise ValueError("need one label per text and both labels present")
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    scores = cross_val_predict(classifier(), np.asarray(texts, dtype=object), labels, cv=cv, method="predict_proba")[:, 1]
    return {"auc_roc": float(roc_auc_score(labels, scores)), "ci95": _bootstrap_auc(labels, scores), "n": int(labels.size),
            "folds": folds}


def label_predictability(text_1: list[str], text_2: list[str], labels: np.ndarray) -> dict:
    """The label predicted from each side of the pair alone: ``{"text_1": {...}, "text_2": {...}, "worst": side}``."""
    out = {side: cross_validated_auc(list(texts), labels) for side, texts in (("text_1", text_1), ("text_2", text_2))}
    out["worst"] = max(("text_1", "text_2"), key=lambda side: out[side]["auc_roc"])
    return out


def separability(texts_a: list[str], texts_b: list[str], seed: int = SEED) -> dict:
    """Out-of-fold AUC of telling ``texts_a`` (label 1) from ``texts_b`` (label 0), the larger set subsampled to the
    smaller one's size so that the AUC is not a base-rate effect."""
    rng = np.random.default_rng(seed)
    a, b = list(dict.fromkeys(texts_a)), list(dict.fromkeys(texts_b))
    size = min(len(a), len(b))
    a = [a[i] for i in sorted(rng.choice(len(a), size, replace=False))]
    b = [b[i] for i in sorted(rng.choice(len(b), size, replace=False))]
    return cross_validated_auc(a + b, np.array([1] * size + [0] * size))


def benchmark_checks() -> dict:
    """The confound and style-distance checks of the project's two natural benchmarks, as one dict (the data gates in
    ``checks/data/test_unseen_writers.py`` assert on the same functions; ``results-doc --collect`` keeps this)."""
    from harness.data import natural, natural_train
    from harness.data.scored_sets import NATURAL_UNSEEN

    unseen, first = natural.gated(natural.load_unseen()), natural.gated(natural.read_raw())
    return {
        "label_from_one_side": {
            name: label_predictability(list(f["text_1"]), list(f["text_2"]), f["label"].to_numpy())
            for name, f in ((NATURAL_UNSEEN, unseen), ("natural (first benchmark, dev + test)", first))},
        "new_vs_training_writers": separability(natural.texts_of(natural.load_unseen()), natural_train.all_texts()),
    }
