"""Two models on the same scored pairs: metrics side by side and a paired bootstrap on each difference.

Used by ``python -m harness compare`` (original vs curated training) and ``audit-eval``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness.models.cache import ensure_trained, model_key
from harness.data.dataset import read_pairs
from harness.models.embeddings import load_model, pair_embeddings
from harness.data.files import derived_path
from harness.evaluation.metrics import CI_METRICS, cosine_scores, evaluate_scores, paired_bootstrap_diff
from harness.models.registry import get_model_spec


def _train_file(dataset, spec, train_file: str | Path | None) -> Path | None:
    if train_file and str(train_file) != "-":
        return Path(train_file)
    return derived_path(dataset, spec.train_file) if spec.train_file else None


def split_scores(dataset, name: str, frame: pd.DataFrame, train_file: str | Path | None = None) -> np.ndarray:
    """Cosine of every pair of ``frame`` under model ``name`` (trained on demand, embeddings cached)."""
    spec = get_model_spec(name)
    path = _train_file(dataset, spec, train_file) if spec.trains else None
    if path is not None and not path.is_file():
        raise FileNotFoundError(f"{name} trains on {path}, which does not exist: run expand, candidates, review and apply")
    artifact = ensure_trained(spec, dataset, train_file=path) if spec.trains else None
    return cosine_scores(*pair_embeddings(model_key(spec, dataset, path), lambda: load_model(spec, artifact), frame))


def compare_models(dataset, a: str, b: str, train_files: list[str] | None = None, eval_file: str | None = None) -> dict:
    """Metrics of ``a`` and ``b`` on one eval set, and b - a with paired 95% bootstrap intervals."""
    frame = read_pairs(eval_file) if eval_file else dataset.eval
    files = (train_files or []) + [None, None]
    labels = frame["label"].to_numpy()
    name_a, name_b = (m if f in (None, "-") else f"{m} on {Path(f).name}" for m, f in ((a, files[0]), (b, files[1])))
    if name_a == name_b:
        raise ValueError(f"compare needs two different models or train files, got {name_a} twice")
    scores = {name_a: split_scores(dataset, a, frame, files[0]), name_b: split_scores(dataset, b, frame, files[1])}
    metrics = {m: evaluate_scores(s, labels, frame["pair_type"].to_numpy(), frame["category"].to_numpy(), ci=False)
               for m, s in scores.items()}
    keep = ("cosine_spearman", "auc_roc", "compatibility_margin", "cohens_d", "best_f1")
    return {
        "eval": str(eval_file or dataset.root / "eval_pairs.jsonl"), "n": int(labels.size),
        "models": {m: {k: v[k] for k in keep} for m, v in metrics.items()},
        "a": name_a, "b": name_b,
        "difference_b_minus_a": {name: paired_bootstrap_diff(fn, scores[name_a], scores[name_b], labels)
                                 for name, fn in CI_METRICS.items()},
    }
