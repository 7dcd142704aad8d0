"""Two models on the same scored pairs: metrics side by side and a paired bootstrap on each difference.

Used by ``python -m harness compare`` (original vs curated training) and ``audit-eval``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.dataset import EVAL_FILE, read_pairs
from harness.data.scored_sets import EVAL, get_scored_set
from harness.evaluation.evaluator import PairEvaluator
from harness.evaluation.metrics import CI_METRICS, paired_bootstrap_diff
from harness.models.handle import ModelRef


def split_scores(dataset, name: str, frame: pd.DataFrame, train_file: str | Path | None = None) -> np.ndarray:
    """The score of every pair of ``frame`` under model ``name`` (a cosine; a cross-encoder's probability), trained on
    demand, embeddings and pair scores cached."""
    return ModelRef.resolve(name, dataset, train_file).pair_scores(frame)


def compare_models(dataset, a: str, b: str, train_files: list[str] | None = None, eval_file: str | None = None) -> dict:
    """Metrics of ``a`` and ``b`` on one eval set, and b - a with paired 95% bootstrap intervals."""
    frame = read_pairs(eval_file) if eval_file else dataset.eval
    files = (train_files or []) + [None, None]
    labels = frame["label"].to_numpy()
    refs = [ModelRef.resolve(m, dataset, f) for m, f in ((a, files[0]), (b, files[1]))]
    name_a, name_b = (r.label for r in refs)
    if name_a == name_b:
        raise ValueError(f"compare needs two different models or train files, got {name_a} twice")
    evaluator = PairEvaluator(get_scored_set(EVAL), frame, ci=False)
    scores = {r.label: evaluator.scores(r) for r in refs}
    metrics = {m: evaluator.compute(s) for m, s in scores.items()}
    keep = ("cosine_spearman", "auc_roc", "compatibility_margin", "cohens_d", "best_f1")
    return {
        "scored_file": str(eval_file or dataset.root / EVAL_FILE), "n": int(labels.size),
        "models": {m: {k: v[k] for k in keep} for m, v in metrics.items()},
        "a": name_a, "b": name_b,
        "difference_b_minus_a": {name: paired_bootstrap_diff(fn, scores[name_a], scores[name_b], labels)
                                 for name, fn in CI_METRICS.items()},
    }
