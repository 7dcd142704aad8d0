"""One evaluator for every scored set, shaped like sentence-transformers' evaluators.

``PairEvaluator(scored_set, frame, threshold)(model)`` returns a flat ``{f"{set}_{metric}": float}`` dict and
names its ``primary_metric``; :meth:`PairEvaluator.compute` gives the nested metrics (per-group breakdowns,
bootstrap intervals) that criteria, charts and the report read. Metrics that need a field the set lacks
(``pair_type``, ``category``, ``bucket``) are simply absent. A model is anything with ``pair_embeddings(frame)``
(:class:`~harness.models.handle.ModelRef`) or ``encode(texts)`` (a SentenceTransformer, an exported encoder).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.data.scored_sets import ScoredSet
from harness.evaluation.metrics import GROUP_FIELDS, cosine_scores, evaluate_scores


def flatten(prefix: str, nested: dict) -> dict[str, float]:
    """Scalars of a nested metrics dict under composed keys: ``eval_auc_roc``, ``eval_ci95_auc_roc_low``, ..."""
    flat: dict[str, float] = {}
    for key, value in nested.items():
        name = f"{prefix}_{key}"
        if isinstance(value, dict):
            flat.update(flatten(name, value))
        elif isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
            flat[f"{name}_low"], flat[f"{name}_high"] = float(value[0]), float(value[1])
        elif isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
            flat[name] = float(value)
    return flat


class PairEvaluator:
    def __init__(self, scored_set: ScoredSet, frame: pd.DataFrame, threshold: float | None = None, ci: bool = True):
        missing = [c for c in ("text_1", "text_2", "label") if c not in frame]
        if missing:
            raise ValueError(f"scored set {scored_set.name}: rows lack {missing}")
        if frame["label"].nunique() < 2:
            raise ValueError(f"scored set {scored_set.name}: needs both labels, has {sorted(frame['label'].unique())}")
        self.scored_set, self.frame, self.threshold, self.ci = scored_set, frame, threshold, ci
        self.labels = frame["label"].to_numpy().astype(int)

    @property
    def primary_metric(self) -> str:
        return f"{self.scored_set.name}_{self.scored_set.primary_metric}"

    def scores(self, model) -> np.ndarray:
        if hasattr(model, "pair_scores"):
            return model.pair_scores(self.frame)
        from harness.models.embeddings import encode

        texts = list(dict.fromkeys(list(self.frame["text_1"]) + list(self.frame["text_2"])))
        vectors = encode(model, texts)
        index = {t: i for i, t in enumerate(texts)}
        return cosine_scores(vectors[[index[t] for t in self.frame["text_1"]]], vectors[[index[t] for t in self.frame["text_2"]]])

    def compute(self, scores: np.ndarray) -> dict:
        groups = {g: self.frame[g].to_numpy() for g in GROUP_FIELDS if g in self.scored_set.group_by and g in self.frame}
        return evaluate_scores(scores, self.labels, groups, ci=self.ci, threshold=self.threshold)

    def __call__(self, model) -> dict[str, float]:
        return flatten(self.scored_set.name, self.compute(self.scores(model)))
