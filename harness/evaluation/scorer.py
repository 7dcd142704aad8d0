"""Scoring: models x scored sets -> cosine scores, metrics with bootstrap CIs, projections, behavioural cases.

Everything expensive is cached by content: models by artifact key, embeddings by model key + texts, metrics (with
their bootstrap intervals) and UMAP projections by model key + scored-set rows + :data:`METRICS_VERSION`, so a warm
run recomputes nothing. A model that cannot run raises ``ModelUnavailable`` once and is remembered
(:meth:`Scorer.failure`); the other models go on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from harness import __version__, progress
from harness.data.dataset import Dataset, dumps_pairs
from harness.data.scored_sets import EVAL, ScoredFrames, SetContext, get_scored_set, the_set
from harness.evaluation import behavioural
from harness.evaluation.evaluator import PairEvaluator
from harness.evaluation.metrics import (auc_roc, cluster_purity, difference_ci, hdbscan_clusters,
                                        pair_vectors, threshold_sweep, umap_projection)
from harness.evaluation.ranking import matryoshka_curve, order_metrics, ranking_metrics, rerank_metrics
from harness.models.cache import cached_array, cached_json
from harness.models.handle import ModelRef, ModelUnavailable
from harness.paths import DEFAULT_DATASET

#: Bump whenever a metric's definition changes: it is part of every metrics cache key.
METRICS_VERSION = 5  # 3: ranking metrics, Matryoshka curve, transfer-threshold decisions; 4: AUC per writer/family, set gaps;
# 5: CIs for the decisions at the fitted threshold (accuracy, precision, recall, F1, MCC) and AP

#: Metrics a cross-encoder or a fusion has no value for (issue #20), and why: the report says so, never a pass
NOT_APPLICABLE = {
    "compatibility_margin": "the PRD's margin is a difference of mean cosines between two embeddings; this model scores "
                            "the pair jointly (a probability), so a margin of it is not the PRD's quantity",
    "cohens_d": "Cohen's d on cosines of two embeddings; this model has no embeddings",
    "cluster_purity": "UMAP + HDBSCAN of pair vectors; this model has no vectors",
    "matryoshka": "truncated embedding dimensions; this model has no embeddings",
}
#: Retrieve-then-rerank depths: the pipeline bi-encoder's top-k, reordered by the cross-encoder (issue #20)
RERANK_DEPTHS = (10, 50)


def frame_digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(dumps_pairs(frame)).hexdigest()[:16]


class Scorer:
    """The measurements of one run: ``names`` on ``dataset`` (and an extra eval file), each computed once."""

    def __init__(self, dataset: Dataset, names: list[str], eval_file: Path | None = None,
                 on_metrics: Callable[[str], None] | None = None):
        self.dataset, self.names = dataset, list(names)
        self.eval_file = eval_file
        self.frames = ScoredFrames(SetContext(dataset, eval_file))
        self.default_data = dataset.root.resolve() == DEFAULT_DATASET.resolve()
        #: called with a model's name whenever a new (model, set) entry is measured (the run folder's per-model file)
        self.on_metrics = on_metrics
        self._refs: dict[str, ModelRef | ModelUnavailable] = {}
        self._metrics: dict[tuple[str, str], dict] = {}
        self._scores: dict[tuple[str, str], np.ndarray] = {}
        self._behavioural: dict[str, list[dict]] = {}

    # --- models -------------------------------------------------------------------------------------------
    def ref(self, name: str) -> ModelRef:
        """The model, or ModelUnavailable (remembered: a model that failed once is not retried in this run)."""
        if name not in self._refs:
            try:
                self._refs[name] = ModelRef.resolve(name, self.dataset, known=self._refs)
                for part in self._refs[name].parts:  # a fusion's parts are this run's models of those names
                    self._refs.setdefault(part.name, part)
            except ModelUnavailable as err:
                self._refs[name] = err
        found = self._refs[name]
        if isinstance(found, ModelUnavailable):
            raise found
        return found

    def _guard(self, name: str, work):
        try:
            return work()
        except ModelUnavailable as err:
            self._refs[name] = err
            raise

    def failure(self, name: str) -> ModelUnavailable | None:
        try:
            self.ref(name)
        except ModelUnavailable as err:
            return err
        return None

    @property
    def runnable(self) -> list[str]:
        """Selected models that resolve here and have scored the eval set, baseline first (charts draw these)."""
        ready = []
        for name in self.names:
            try:
                self.scores(name, EVAL)
                ready.append(name)
            except ModelUnavailable:
                continue
        return sorted(ready, key=lambda n: n != "baseline")

    def missing(self) -> dict[str, str]:
        return {n: str(self.failure(n)) for n in self.names if self.failure(n) is not None}

    # --- scores and metrics ---------------------------------------------------------------------------------
    def frame(self, set_name: str) -> pd.DataFrame | None:
        return self.frames.frame(set_name)

    def scores(self, name: str, set_name: str) -> np.ndarray:
        key = (name, set_name)
        if key not in self._scores:
            frame = self.frame(set_name)
            if frame is None:
                raise KeyError(f"scored set {set_name} has no rows for dataset {self.dataset.root}")
            ref = self.ref(name)
            self._scores[key] = self._guard(name, lambda: ref.pair_scores(frame))
        return self._scores[key]

    def threshold(self, name: str) -> float:
        """The decision threshold fitted on the registry's threshold set (the validation split: best F1 there),
        applied unchanged elsewhere."""
        fitted_on = the_set("fits_threshold")
        return threshold_sweep(self.scores(name, fitted_on), self.frame(fitted_on)["label"].to_numpy())["best_threshold"]

    def metrics(self, name: str, set_name: str) -> dict:
        key = (name, set_name)
        if key not in self._metrics:
            ref = self.ref(name)
            frame = self.frame(set_name)
            scored_set = get_scored_set(set_name)
            cache_key = f"{ref.key}-{set_name}-{frame_digest(frame)}-m{METRICS_VERSION}-h{__version__}"

            def compute() -> dict:
                scores = self.scores(name, set_name)
                threshold = None if scored_set.fits_threshold else self.threshold(name)
                with progress.step(f"metrics and bootstrap CIs: {name} on {set_name} (n={len(frame)})"):
                    result = PairEvaluator(scored_set, frame, threshold).compute(scores)
                if ref.embeds:
                    e1, e2 = ref.pair_embeddings(frame)
                    with progress.step(f"ranking metrics and Matryoshka curve: {name} on {set_name}"):
                        ranking = ranking_metrics(frame, e1, e2)
                        result.setdefault("ci95", {}).update(ranking.pop("ci95"))
                        result.update(ranking)
                        result["matryoshka"] = matryoshka_curve(frame, e1, e2)
                else:
                    self._pair_scorer_rows(name, set_name, frame, scores, result)
                if scored_set.clustering and ref.embeds:
                    result.update(cluster_purity(hdbscan_clusters(self.projection(name, set_name)), frame["label"].to_numpy()))
                if scored_set.gap is not None and self.frame(scored_set.gap.minus) is not None:
                    minus = scored_set.gap.minus
                    gap = difference_ci(auc_roc, self.scores(name, minus), self.frame(minus)["label"].to_numpy(), scores,
                                        frame["label"].to_numpy())
                    result[scored_set.gap.metric] = gap["value"]
                    result.setdefault("ci95", {})[scored_set.gap.metric] = gap["ci95"]
                return result

            self._metrics[key] = self._guard(name, lambda: cached_json("metrics", cache_key, compute))
            if self.on_metrics is not None:
                self.on_metrics(name)
        return self._metrics[key]

    def _pair_scorer_rows(self, name: str, set_name: str, frame: pd.DataFrame, scores: np.ndarray, result: dict) -> None:
        """A cross-encoder or a fusion: metrics defined on two embeddings' cosines are not applicable (removed and
        named); ranking is retrieve-then-rerank: the pipeline bi-encoder's top-k, reordered by this model's scores."""
        from harness.models.registry import PIPELINE_BI_ENCODER

        for metric in NOT_APPLICABLE:
            result.pop(metric, None)
            result.get("ci95", {}).pop(metric, None)
        for key in [k for k in result if k.startswith("margin_by_")]:
            result.pop(key)
        result["not_applicable"] = {m: f"not applicable to a {self.ref(name).spec.kind}: {why}" for m, why in NOT_APPLICABLE.items()}
        ref = self.ref(name)
        bi = self.ref(PIPELINE_BI_ENCODER)
        e1, e2 = self._guard(PIPELINE_BI_ENCODER, lambda: bi.pair_embeddings(frame))
        scored: dict[tuple[str, str], float] = {}

        def score_pairs(pairs):  # the deepest rerank first; shallower ones reuse its scores
            new = list(dict.fromkeys(p for p in pairs if p not in scored))
            if new:
                scored.update(zip(new, ref.pair_scores(pd.DataFrame(new, columns=["text_1", "text_2"]))))
            return [scored[p] for p in pairs]

        reranked = {}
        for k in sorted(RERANK_DEPTHS, reverse=True):
            with progress.step(f"retrieve-then-rerank: {PIPELINE_BI_ENCODER} top-{k} reordered by {name} on {set_name}"):
                reranked[str(k)] = rerank_metrics(frame, e1, e2, score_pairs, k)
        reranked = {str(k): reranked[str(k)] for k in RERANK_DEPTHS}
        result["rerank"] = {"retriever": PIPELINE_BI_ENCODER, "depths": reranked}
        result.update(order_metrics(frame, scores, result.setdefault("ci95", {})))

    def projection(self, name: str, set_name: str = EVAL) -> np.ndarray:
        """UMAP of the set's pair vectors, cached on disk by model key + rows."""
        ref = self.ref(name)
        frame = self.frame(set_name)

        def compute():
            with progress.step(f"UMAP projection: {name} on {set_name} (n={len(frame)})"):
                return umap_projection(pair_vectors(*ref.pair_embeddings(frame)))

        return cached_array("projections", f"umap-{ref.key}-{set_name}-{frame_digest(frame)}", compute, rows=len(frame))

    def clusters(self, name: str) -> np.ndarray:
        return hdbscan_clusters(self.projection(name))

    def behavioural(self, name: str) -> list[dict]:
        if name not in self._behavioural:
            ref = self.ref(name)
            threshold = self.threshold(name)

            def cosine(pairs):
                return ref.pair_scores(pd.DataFrame(pairs, columns=["text_1", "text_2"]))

            self._behavioural[name] = self._guard(name, lambda: behavioural.run_cases(behavioural.load_cases(), cosine, threshold))
        return self._behavioural[name]

    def training_info(self, name: str) -> dict | None:
        return self.ref(name).training_info()

    def all_metrics(self) -> dict[str, dict]:
        """{model: {set: metrics}} for everything computed so far, baseline first."""
        out: dict[str, dict] = {}
        for (name, set_name), value in self._metrics.items():
            out.setdefault(name, {})[set_name] = value
        return {n: out[n] for n in sorted(out, key=lambda n: (n != "baseline", n))}

    def measured(self, name: str) -> dict[str, dict]:
        """{set: metrics} of one model, for everything computed so far (in the order computed)."""
        return {s: v for (n, s), v in self._metrics.items() if n == name}

    def behavioural_measured(self, name: str) -> list[dict] | None:
        """The behavioural case results of one model if they were computed in this run (None otherwise)."""
        return self._behavioural.get(name)

    def score_all(self) -> None:
        """Every available scored set for every model (a model that cannot run stops at its first set)."""
        for name in self.names:
            for set_name in self.frames.available():
                try:
                    self.metrics(name, set_name)
                except ModelUnavailable:
                    break
