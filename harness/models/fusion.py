"""Score fusion (issue #20): ``w * cosine(bi-encoder) + (1 - w) * P(cross-encoder)``, one weight for every pair.

The weight comes from the selection sets only, by the rule that picks recipes
(:func:`harness.evaluation.leaderboard.recommend`): on a grid of ``WEIGHTS``, the weights whose validation Spearman is
within ``SPEARMAN_SLACK`` of the best, and among them the highest natural_dev AUC (ties: the higher validation
Spearman, then the larger weight). Cached as JSON by the parts' keys; ``training_info`` of the fusion is that record.
"""

from __future__ import annotations

import hashlib

import numpy as np

WEIGHTS = tuple(round(w, 2) for w in np.linspace(0.0, 1.0, 21))


def fuse(weight: float, bi_scores: np.ndarray, ce_scores: np.ndarray) -> np.ndarray:
    return weight * np.asarray(bi_scores, dtype=np.float64) + (1 - weight) * np.asarray(ce_scores, dtype=np.float64)


def fusion_key(name: str, part_keys: list[str]) -> str:
    return f"{name}-{hashlib.sha256('|'.join(part_keys).encode()).hexdigest()[:16]}"


def choose_weight(validation: tuple[np.ndarray, np.ndarray, np.ndarray], natural_dev: tuple[np.ndarray, np.ndarray, np.ndarray],
                  slack: float) -> dict:
    """``validation``/``natural_dev``: (bi-encoder scores, cross-encoder scores, labels). The weight and the grid."""
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    def auc_roc(scores, labels):
        return float(roc_auc_score(labels, scores))

    def cosine_spearman(scores, labels):
        return float(spearmanr(scores, labels).statistic)

    grid = []
    for w in WEIGHTS:
        grid.append({"weight": w, "validation_spearman": cosine_spearman(fuse(w, *validation[:2]), validation[2]),
                     "natural_dev_auc": auc_roc(fuse(w, *natural_dev[:2]), natural_dev[2])})
    best = max(g["validation_spearman"] for g in grid)
    eligible = [g for g in grid if g["validation_spearman"] >= best - slack]
    chosen = max(eligible, key=lambda g: (g["natural_dev_auc"], g["validation_spearman"], g["weight"]))
    return {"weight": chosen["weight"], "validation_spearman": chosen["validation_spearman"],
            "natural_dev_auc": chosen["natural_dev_auc"], "grid": grid,
            "rule": f"highest natural_dev AUC among the weights within {slack} of the best validation Spearman ({best:.4f})"}


def chosen_weight(ref) -> dict:
    """The fusion ``ref``'s weight on its dataset (computed once, cached by the parts' keys)."""
    from harness.data.scored_sets import (NATURAL_DEV, SPEARMAN_SLACK, VALIDATION, ScoredFrames, SetContext,
                                          require_selection)
    from harness.models.cache import cached_json

    frames = ScoredFrames(SetContext(ref.dataset))

    def compute() -> dict:
        sets = []
        for name in (VALIDATION, NATURAL_DEV):
            require_selection(name)
            frame = frames.frame(name)
            sets.append((*(p.pair_scores(frame) for p in ref.parts), frame["label"].to_numpy().astype(int)))
        record = choose_weight(sets[0], sets[1], SPEARMAN_SLACK)
        return {"model": ref.name, "kind": "fusion", "parts": [p.name for p in ref.parts],
                "description": ref.spec.description, "chosen_on": [VALIDATION, NATURAL_DEV], **record}

    return cached_json("fusion", ref.key, compute)
