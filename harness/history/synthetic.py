"""Synthetic runs shaped like real ones, for the store's fault tests and ``benchmarks/history.py``.

A full run of CI's shape: five models (baseline, standard, lora and the two recommended recipes) on the reference
data's eight scored sets, with the same 34 scalar metrics per set (11 with a CI), ~90 criteria rows and the per-pair
scores of every (model, set) at the real set sizes. A model's cache key changes every ``key_every`` runs (a code or
data change); in between, its scores are the same bytes and the store keeps them once.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone

import numpy as np

from harness.data.scored_sets import (EVAL, EVAL_LEAK_FREE, NATURAL_DEV, NATURAL_TEST, NATURAL_TEST_AMBIGUOUS, NATURAL_UNSEEN,
                                      NATURAL_UNSEEN_AMBIGUOUS, VALIDATION)
from harness.history.store import CriterionRow, MetricRow, ModelRow, PairSet, RunRecord, ScoreRow

MODELS = ("baseline", "standard", "lora", "natural-mix", "stance-contrast")
#: The reference data's scored sets and their sizes (python -m harness evaluate --dataset ../shared/data/reference)
SETS = {VALIDATION: 122, EVAL: 295, EVAL_LEAK_FREE: 253, NATURAL_DEV: 223, NATURAL_TEST: 335,
        NATURAL_TEST_AMBIGUOUS: 27, NATURAL_UNSEEN: 400, NATURAL_UNSEEN_AMBIGUOUS: 100}
METRICS = ("n_compatible", "n_incompatible", "cosine_spearman", "spearman_ceiling", "auc_roc", "compatibility_margin",
           "cohens_d", "welch_t", "welch_p", "best_threshold", "best_f1", "oracle_accuracy", "oracle_precision",
           "oracle_recall", "cosine_accuracy", "cosine_precision", "cosine_recall", "cosine_f1", "cosine_mcc",
           "cosine_ap", "threshold", "accuracy_at_threshold", "dealbreaker_pairs", "dealbreakers_below_threshold",
           "dealbreaker_max_cosine", "n_queries", "recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "map@100",
           "n_queries_both_labels", "compatible_above_incompatible")
WITH_CI = ("cosine_spearman", "auc_roc", "compatibility_margin", "cohens_d", "recall@1", "recall@5", "recall@10",
           "mrr@10", "ndcg@10", "map@100", "compatible_above_incompatible")


def pairs_of(set_name: str, n: int | None = None, seed: int = 0) -> PairSet:
    n = n or SETS[set_name]
    rng = np.random.default_rng(abs(hash(set_name)) % 2**32 + seed)
    labels = (rng.random(n) < 0.5).astype(np.int64)
    labels[:2] = (0, 1)
    texts = max(4, n // 2)
    return PairSet(set_name, f"{abs(hash((set_name, n, seed))) % 16**16:016x}", labels,
                   rng.integers(0, texts, size=(n, 2)))


def scores_for(pairs: PairSet, quality: float, seed: int) -> np.ndarray:
    """Cosines whose separation grows with ``quality`` (0: noise; 1: a well fine-tuned model)."""
    rng = np.random.default_rng(seed)
    return np.clip(0.15 + 0.7 * quality * pairs.labels + rng.normal(0, 0.18, pairs.n), -1, 1)


@functools.lru_cache(maxsize=64)
def _pairs(set_name: str, n: int) -> PairSet:
    return pairs_of(set_name, n)


@functools.lru_cache(maxsize=512)
def _scores(set_name: str, n: int, quality: float, seed: int) -> np.ndarray:
    return scores_for(_pairs(set_name, n), quality, seed)


def synthetic_record(i: int, dataset: str = "reference", models=MODELS, sets: dict | None = None,
                     key_every: int = 50, start: datetime | None = None, run_id: str | None = None,
                     source: str = "pytest") -> RunRecord:
    """Run number ``i`` of a synthetic history (deterministic in ``i``)."""
    sets = SETS if sets is None else sets
    rng = np.random.default_rng(i)
    moment = (start or datetime(2026, 1, 1, tzinfo=timezone.utc)) + timedelta(hours=i)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    record = RunRecord(run_id or f"{moment.strftime('%Y%m%dT%H%M%S')}-{i:06x}", source, stamp, stamp, dataset,
                       f"/data/{dataset}", f"{i // 500:064x}", "0.1.0", f"{i // 7:040x}", bool(i % 3 == 0),
                       {"packages": {"torch": "2.13.0"}, "torch_threads": 2})
    epoch = i // key_every
    noise = rng.normal(0, 0.01, size=(len(models), len(sets), len(METRICS))).tolist()
    with_ci = [metric in WITH_CI for metric in METRICS]
    for m, model in enumerate(models):
        key = f"{model}-{epoch * 31 + m:016x}"
        quality = 0.05 if model == "baseline" else 0.8 + 0.01 * m
        record.models.append(ModelRow(model, key, None if model == "baseline" else "REVIEW", ("target missed",)))
        for s, (set_name, n) in enumerate(sets.items()):
            pairs = _pairs(set_name, n)
            record.scores.append(ScoreRow(model, key, pairs, _scores(set_name, n, quality, epoch * 1000 + m * 10 + s)))
            for k, metric in enumerate(METRICS):
                value = quality * 0.9 + noise[m][s][k]
                record.metrics.append(MetricRow(model, set_name, metric, value,
                                                (value - 0.02, value + 0.02) if with_ci[k] else None, n))
            for metric in ("auc_roc", "cosine_spearman"):
                record.criteria.append(CriterionRow(model, f"{metric}>=0.8@{set_name}", set_name, metric, "gate",
                                                    0.85, (0.83, 0.87), n, "pass"))
    return record
