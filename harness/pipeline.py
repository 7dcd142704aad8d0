"""The evaluation pipeline without pytest: models x scored sets -> metrics -> criteria -> charts -> summary.

``python -m harness evaluate`` and the pytest fixtures both drive a :class:`Run`; both write the same run
folder (``runs/<dataset>-<digest>/``: ``<model>_metrics.json``, ``charts/*.png``, ``criteria.json``,
``summary.md``/``summary.json``). Everything expensive is cached by content: models by artifact key,
embeddings by model key + texts, metrics (with their bootstrap intervals) and UMAP projections by model key +
scored-set rows + metrics version, so a warm run recomputes nothing.

A model that cannot run fails only its own rows: :meth:`Run.failure` holds the reason, and the charts draw
the models that exist, naming the missing ones.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harness import __version__, progress
from harness.data.dataset import Dataset, dumps_pairs, write_atomic
from harness.data.scored_sets import (EVAL, NATURAL_TEST, NATURAL_UNSEEN, SCORED_SETS, VALIDATION, ScoredFrames, SetContext,
                                      get_scored_set)
from harness.evaluation import behavioural
from harness.evaluation.criteria import BEHAVIOURAL, CEILINGS, GATE, NEGATED, TARGET, Criterion, cases
from harness.evaluation.evaluator import PairEvaluator
from harness.evaluation.ranking import matryoshka_curve, ranking_metrics
from harness.evaluation.metrics import (auc_roc, cluster_purity, cosine_scores, difference_ci, hdbscan_clusters,
                                        pair_vectors, threshold_sweep, umap_projection)
from harness.models.cache import cached_array, cached_json
from harness.models.handle import ModelRef, ModelUnavailable
from harness.paths import DEFAULT_DATASET, run_dir
from harness.report import charts

#: Bump whenever a metric's definition changes: it is part of every metrics cache key.
METRICS_VERSION = 4  # 3: ranking metrics, Matryoshka curve, transfer-threshold decisions; 4: AUC per writer/family, set gaps


def frame_digest(frame: pd.DataFrame) -> str:
    return hashlib.sha256(dumps_pairs(frame)).hexdigest()[:16]


@dataclass(frozen=True)
class CriterionResult:
    criterion: Criterion
    model: str
    value: float | None
    ci: tuple[float, float] | None
    n: int | None
    outcome: str  # "pass", "fail", "target-missed", "target-met", "impossible", "reported", "unavailable"
    message: str
    ceiling: float | None = None  # the metric's best possible value on this set's labels, where it has one

    def to_dict(self) -> dict:
        c = self.criterion
        return {"model": self.model, "criterion": c.id, "metric": c.metric, "scored_on": c.scored_on, "op": c.op,
                "threshold": c.threshold, "status": c.status, "value": self.value, "ci95": self.ci, "n": self.n,
                "outcome": self.outcome, "message": self.message, "source": c.source,
                "ceiling": None if self.ceiling is None else round(self.ceiling, 4)}


class Run:
    def __init__(self, dataset: Dataset, names: list[str], eval_file: Path | None = None, run_folder: Path | None = None):
        self.dataset, self.names = dataset, list(names)
        self.eval_file = eval_file
        self.run_folder = run_folder or run_dir(dataset)
        self.frames = ScoredFrames(SetContext(dataset, eval_file))
        self.default_data = dataset.root.resolve() == DEFAULT_DATASET.resolve()
        self._refs: dict[str, ModelRef | ModelUnavailable] = {}
        self._metrics: dict[tuple[str, str], dict] = {}
        self._scores: dict[tuple[str, str], np.ndarray] = {}
        self._charts: dict[str, bytes] = {}
        self._behavioural: dict[str, list[dict]] = {}
        self.judged: dict[tuple[str, str], CriterionResult] = {}  # every row judged in this run, in order

    # --- models -------------------------------------------------------------------------------------------
    def ref(self, name: str) -> ModelRef:
        """The model, or ModelUnavailable (remembered: a model that failed once is not retried in this run)."""
        if name not in self._refs:
            try:
                self._refs[name] = ModelRef.resolve(name, self.dataset)
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
            self._scores[key] = self._guard(name, lambda: cosine_scores(*ref.pair_embeddings(frame)))
        return self._scores[key]

    def threshold(self, name: str) -> float:
        """The decision threshold fitted on the validation split (best F1 there), applied unchanged elsewhere."""
        frame = self.frame(VALIDATION)
        return threshold_sweep(self.scores(name, VALIDATION), frame["label"].to_numpy())["best_threshold"]

    def metrics(self, name: str, set_name: str) -> dict:
        key = (name, set_name)
        if key not in self._metrics:
            ref = self.ref(name)
            frame = self.frame(set_name)
            scored_set = get_scored_set(set_name)
            cache_key = f"{ref.key}-{set_name}-{frame_digest(frame)}-m{METRICS_VERSION}-h{__version__}"

            def compute() -> dict:
                scores = self.scores(name, set_name)
                threshold = None if set_name == VALIDATION else self.threshold(name)
                with progress.step(f"metrics and bootstrap CIs: {name} on {set_name} (n={len(frame)})"):
                    result = PairEvaluator(scored_set, frame, threshold).compute(scores)
                e1, e2 = ref.pair_embeddings(frame)
                with progress.step(f"ranking metrics and Matryoshka curve: {name} on {set_name}"):
                    ranking = ranking_metrics(frame, e1, e2)
                    result.setdefault("ci95", {}).update(ranking.pop("ci95"))
                    result.update(ranking)
                    result["matryoshka"] = matryoshka_curve(frame, e1, e2)
                if scored_set.clustering:
                    result.update(cluster_purity(hdbscan_clusters(self.projection(name, set_name)), frame["label"].to_numpy()))
                if scored_set.gap is not None and self.frame(scored_set.gap.minus) is not None:
                    minus = scored_set.gap.minus
                    gap = difference_ci(auc_roc, self.scores(name, minus), self.frame(minus)["label"].to_numpy(), scores,
                                        frame["label"].to_numpy())
                    result[scored_set.gap.metric] = gap["value"]
                    result.setdefault("ci95", {})[scored_set.gap.metric] = gap["ci95"]
                return result

            self._metrics[key] = self._guard(name, lambda: cached_json("metrics", cache_key, compute))
            self._write(name)
        return self._metrics[key]

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
                frame = pd.DataFrame(pairs, columns=["text_1", "text_2"])
                return cosine_scores(*ref.pair_embeddings(frame))

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

    def _write(self, name: str) -> None:
        payload = {"model": name, "dataset": str(self.dataset.root), "dataset_sha256": self.dataset.sha256,
                   "model_key": self.ref(name).key}
        payload.update({s: self._metrics[(name, s)] for s in SCORED_SETS if (name, s) in self._metrics})
        write_atomic(self.run_folder / f"{name}_metrics.json", json.dumps(payload, indent=2).encode())

    # --- criteria -----------------------------------------------------------------------------------------
    def criteria_cases(self) -> list[tuple[Criterion, str]]:
        return cases(self.names, extra_split=self.eval_file is not None, default_data=self.default_data)

    def judge(self, criterion: Criterion, model: str) -> CriterionResult:
        """Measure one criterion x model and say what it means (library-side; the checks assert on it)."""
        outcome = self._judge(criterion, model)
        self.judged[(criterion.id, model)] = outcome
        return outcome

    def _judge(self, criterion: Criterion, model: str) -> CriterionResult:
        ceiling = None

        def result(value, ci, n, outcome, message):
            return CriterionResult(criterion, model, value, ci, n, outcome, message, ceiling)

        try:
            if criterion.scored_on == BEHAVIOURAL:
                kind = criterion.metric.split("_")[1].upper()
                rates = behavioural.pass_rates(self.behavioural(model))[kind]
                value, ci, n, where = rates["rate"], None, rates["cases"], f"on {rates['cases']} {kind} cases"
            else:
                m = self.metrics(model, criterion.scored_on)
                value, ci, n = m[criterion.metric], m.get("ci95", {}).get(criterion.metric), m["n"]
                where = f"on {self.dataset.name}/{criterion.scored_on} (n={n})"
        except ModelUnavailable as err:
            return result(None, None, None, "unavailable", str(err))
        ci_text = f" [95% CI {ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
        stated = f"{model}: {criterion.metric} {value:.3f}{ci_text}"
        ceiling_key = CEILINGS.get(criterion.metric)
        if ceiling_key and criterion.scored_on != BEHAVIOURAL:
            ceiling = m[ceiling_key]
        if ceiling is not None and not criterion.holds(ceiling):
            return result(value, ci, n, "impossible", f"{stated}: threshold {criterion.threshold:g} is impossible {where}: "
                                                       f"its ceiling at perfect separation is {m[ceiling_key]:.3f}")
        holds = criterion.holds(value)
        if model == "baseline":
            if not criterion.baseline_must_miss:
                return result(value, ci, n, "reported", f"baseline {criterion.metric} {value:.3f}{ci_text} {where}: reported only")
            return result(value, ci, n, "fail" if holds else "pass",
                          f"baseline {'meets' if holds else 'misses'} the fine-tuned criterion {criterion.metric} "
                          f"{criterion.op} {criterion.threshold:g}: {value:.3f}{ci_text} {where}"
                          + ("; was the wrong model evaluated?" if holds else ""))
        comparison = f"{criterion.op if holds else NEGATED[criterion.op]} {criterion.threshold:g}"
        if criterion.status == TARGET:
            return result(value, ci, n, "target-met" if holds else "target-missed",
                          f"{stated} {comparison} {where} (target " + ("met: promote it to a gate)" if holds else "not met yet)"))
        return result(value, ci, n, "pass" if holds else "fail", f"{stated} {comparison} {where}")

    def verdicts(self, results: list[CriterionResult]) -> dict:
        """DEPLOY/REVIEW/FAIL per selected model (the baseline is the 'before', not a candidate). A model that cannot
        run here for a known reason (QLoRA without CUDA, no curated file yet) gets none; one that broke is FAIL."""
        from harness.evaluation.verdict import decide_all

        expected = [n for n in self.names if (err := self.failure(n)) is not None and err.expected]
        return decide_all(results, [n for n in self.names if n not in expected])

    def leaderboard(self) -> dict:
        """Every selected model on every scored set (issue #10's leaderboard), the recommendation (selection sets
        only) and the LoRA/full ratios. Models that cannot run here are left out and named."""
        from harness.evaluation import leaderboard

        metrics, extras = {}, {}
        for name in self.names:
            try:
                metrics[name] = {s: self.metrics(name, s) for s in self.frames.available()}
                info = self.training_info(name) or {}
                artifact = self.ref(name).artifact()
                rates = behavioural.pass_rates(self.behavioural(name))
                extras[name] = {"behavioural": rates["all"]["rate"], "wall_time_s": info.get("wall_time_s"),
                                "peak_rss_mb": info.get("peak_rss_mb"), "trainable": info.get("trainable_parameters"),
                                "artifact_mb": sum(p.stat().st_size for p in artifact.rglob("*") if p.is_file()) / 1e6
                                if artifact else None}
            except ModelUnavailable:
                metrics.pop(name, None)
        chosen, reason = leaderboard.recommend(metrics)
        return {"rows": leaderboard.rows(metrics, extras), "recommended": chosen, "reason": reason,
                "lora_ratios": leaderboard.lora_ratios(metrics), "missing": self.missing()}

    def criteria_results(self) -> list[CriterionResult]:
        return [self.judge(c, m) for c, m in self.criteria_cases()]

    # --- charts -------------------------------------------------------------------------------------------
    def chart(self, chart_name: str) -> bytes:
        """One chart over the models that ran (missing ones are named in the title), built once and saved."""
        if chart_name not in self._charts:
            with progress.step(f"chart {chart_name}"):
                self._charts[chart_name] = self._build_chart(chart_name)
            charts.save(self._charts[chart_name], self.run_folder / "charts", chart_name)
        return self._charts[chart_name]

    def _build_chart(self, chart_name: str) -> bytes:
        models = self.runnable
        missing = [n for n in self.names if n not in models]
        note = f" (not drawn: {', '.join(missing)})" if missing else ""
        def m(n):  # only the charts that need the full metrics compute them (clustering runs UMAP)
            return self.metrics(n, EVAL)

        labels = self.frame(EVAL)["label"].to_numpy()
        scored = {n: (self.scores(n, EVAL), labels) for n in models}
        tuned = [n for n in models if n != "baseline"]
        natural = {n: self.metrics(n, NATURAL_TEST) for n in models} if chart_name == "natural_buckets" else {}
        unseen = ({n: self.metrics(n, NATURAL_UNSEEN) for n in models}
                  if chart_name in ("writer_auc", "family_auc") and self.frame(NATURAL_UNSEEN) is not None else {})
        builders = {
            "cosine_overlay": lambda: charts.cosine_overlay(scored),
            "umap_side_by_side": lambda: charts.umap_side_by_side({n: (self.projection(n), labels) for n in models}),
            "purity_bars": lambda: charts.purity_bars({n: m(n)["cluster_purity"] for n in models}),
            "roc_overlay": lambda: charts.roc_overlay(scored, {n: m(n)["auc_roc"] for n in models}),
            "category_margin_heatmap": lambda: charts.margin_heatmap({n: m(n)["margin_by_category"] for n in models}),
            "cohens_d_bars": lambda: charts.cohens_d_bars({n: m(n)["cohens_d"] for n in models},
                                                          {n: tuple(m(n)["ci95"]["cohens_d"]) for n in models}),
            "training_curves": lambda: charts.training_curves({n: self.training_info(n)["spearman_history"] for n in tuned}),
            "false_positives_by_pair_type": lambda: charts.false_positive_bars({n: m(n)["false_positives_by_pair_type"] for n in models}),
            "natural_buckets": lambda: charts.bucket_means({n: natural[n]["mean_cosine_by_bucket"] for n in models},
                                                           {n: natural[n]["auc_roc"] for n in models}),
            "writer_auc": lambda: charts.group_auc_bars({n: unseen[n]["auc_by_writer"] for n in unseen},
                                                        "writer-disjoint natural test: AUC by writer"),
            "family_auc": lambda: charts.group_auc_bars({n: unseen[n]["auc_by_family"] for n in unseen},
                                                        "writer-disjoint natural test: AUC by topic family"),
            "behavioural_pass_rates": lambda: charts.pass_rate_bars(
                {n: {k: v["rate"] for k, v in behavioural.pass_rates(self.behavioural(n)).items() if k != "all"}
                 for n in models}),
            "baseline_histogram": lambda: charts.cosine_overlay({"baseline": scored["baseline"]}),
            "baseline_umap": lambda: charts.umap_side_by_side({"baseline": (self.projection("baseline"), labels)}),
            "baseline_clusters": lambda: charts.clusters_scatter(self.projection("baseline"), self.clusters("baseline"),
                                                                 "HDBSCAN clusters: baseline"),
            "baseline_roc": lambda: charts.roc_overlay({"baseline": scored["baseline"]}, {"baseline": m("baseline")["auc_roc"]}),
            "baseline_category_margins": lambda: charts.category_margin_bars(m("baseline")["margin_by_category"],
                                                                             "baseline margin by category"),
        }
        return charts.with_note(builders[chart_name](), note) if note else builders[chart_name]()

    # --- the whole thing ----------------------------------------------------------------------------------
    def evaluate_all(self) -> list[CriterionResult]:
        """Score every available set for every model, judge every criterion, draw every chart, write the folder."""
        for name in self.names:
            for set_name in self.frames.available():
                try:
                    self.metrics(name, set_name)
                except ModelUnavailable:
                    break
        results = self.criteria_results()
        if "baseline" in self.runnable and len(self.runnable) > 1:
            for chart_name in charts.COMPARISON_CHARTS + charts.BASELINE_CHARTS + charts.GENERALISATION_CHARTS:
                self.chart(chart_name)
        self.write_summary(results)
        return results

    def write_summary(self, results: list[CriterionResult]) -> str:
        from harness.report.summary import headline, results_table, table_markdown

        metrics = self.all_metrics()
        sentence = headline(metrics, self.dataset.name) if metrics else "no model scored"
        counts = outcome_counts(results)
        tables = "\n\n".join(f"{s} (role {get_scored_set(s).role}):\n\n{table_markdown(results_table(metrics, s))}"
                             for s in SCORED_SETS if any(s in v for v in metrics.values()))
        verdicts = self.verdicts(results)
        verdict_table = "| model | verdict | deciding rows |\n|---|---|---|\n" + "\n".join(
            f"| {v.model} | {v.decision} | {v.summary(3)} |"
            for v in verdicts.values())
        board = self.leaderboard() if sum(n != "baseline" for n in self.runnable) > 1 else None
        board_text = "" if board is None else (
            f"Leaderboard (recommended: {board['recommended']}: {board['reason']}):\n\n{table_markdown(board['rows'])}\n\n"
            + (f"{table_markdown(board['lora_ratios'])}\n\n" if len(board["lora_ratios"]) > 1 else ""))
        text = (f"{sentence}\n\n{counts_sentence(counts)}\n\n{verdict_table}\n\n{board_text}{tables}\n\n"
                f"dataset {self.dataset.root} sha256 {self.dataset.digest}; harness {__version__}\n")
        write_atomic(self.run_folder / "summary.md", text.encode())
        write_atomic(self.run_folder / "summary.json", json.dumps(
            {"headline": sentence, "counts": counts, "verdicts": {m: v.to_dict() for m, v in verdicts.items()},
             "leaderboard": board,
             "metrics": metrics, "missing": self.missing()}, indent=2, default=str).encode())
        write_atomic(self.run_folder / "criteria.json", json.dumps([r.to_dict() for r in results], indent=2).encode())
        self.write_model_cards(verdicts)
        return text

    def write_model_cards(self, verdicts: dict) -> None:
        """Add this run's evidence to each trained model's own card (``README.md`` in its artifact folder)."""
        from harness.report.model_card import evidence_markdown, write_evidence

        for name in self.runnable:
            ref = self.ref(name)
            if not ref.spec.trains or ref.source is not None:
                continue
            by_set = {s: m for (n, s), m in self._metrics.items() if n == name}
            rates = behavioural.pass_rates(self._behavioural[name]) if name in self._behavioural else None
            roles = {s: get_scored_set(s).role for s in by_set}
            write_evidence(ref.artifact(), evidence_markdown(name, self.dataset.name, ref.training_info(), by_set, roles,
                                                             rates, verdicts.get(name)))


def outcome_counts(results: list[CriterionResult]) -> dict[str, int]:
    ran = [r for r in results if r.model != "baseline" and r.outcome != "unavailable"]
    gates = [r for r in ran if r.criterion.status == GATE]
    targets = [r for r in ran if r.criterion.status == TARGET]
    return {"gates": len(gates), "gates_passed": sum(r.outcome == "pass" for r in gates),
            "targets": len(targets), "targets_met": sum(r.outcome == "target-met" for r in targets),
            "unavailable": sum(r.outcome == "unavailable" for r in results if r.model != "baseline")}


def counts_sentence(counts: dict[str, int]) -> str:
    return (f"{counts['gates_passed']} of {counts['gates']} gates passed; {counts['targets_met']} of "
            f"{counts['targets']} targets met" + (f"; {counts['unavailable']} rows unavailable" if counts["unavailable"] else ""))
