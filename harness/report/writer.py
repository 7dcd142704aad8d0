"""Writing a run: the run folder (``<model>_metrics.json``, ``charts/*.png``, ``criteria.json``, ``summary.md``,
``summary.json`` and the self-contained ``report.html``) and each trained model's card.

The writer reads the :class:`~harness.evaluation.scorer.Scorer` for numbers and arrays (charts draw the models that
ran, naming the missing ones) and takes the judged :class:`~harness.evaluation.judge.RunResult`; it decides nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

from harness import __version__, progress
from harness.data.dataset import write_atomic
from harness.data.scored_sets import EVAL, NATURAL_UNSEEN, SCORED_SETS, get_scored_set
from harness.evaluation import behavioural
from harness.evaluation.leaderboard import RERANK_TITLE
from harness.evaluation.criteria import BEHAVIOURAL, CHART_SET
from harness.evaluation.judge import RunResult, counts_sentence
from harness.evaluation.scorer import Scorer
from harness.report import charts
from harness.report.html import charts_section, criteria_table, dataset_identity, page, summary_parts
from harness.report.model_card import evidence_markdown, write_evidence

#: Every chart a full evaluation draws (baseline and at least one fine-tuned model).
ALL_CHARTS = charts.COMPARISON_CHARTS + charts.BASELINE_CHARTS + charts.GENERALISATION_CHARTS


class RunWriter:
    """Writes one run's folder from its scorer and result; charts are built once and saved as they are drawn."""

    def __init__(self, scorer: Scorer, run_folder: Path):
        self.scorer, self.run_folder = scorer, Path(run_folder)
        self._charts: dict[str, bytes] = {}

    @property
    def charts_dir(self) -> Path:
        return self.run_folder / "charts"

    # --- per-model metrics ---------------------------------------------------------------------------------
    def write_metrics(self, name: str) -> None:
        """``<model>_metrics.json``: every set measured for the model so far (rewritten as more are measured)."""
        payload = {"model": name, "dataset": str(self.scorer.dataset.root), "dataset_sha256": self.scorer.dataset.sha256,
                   "model_key": self.scorer.ref(name).key}
        measured = self.scorer.measured(name)
        payload.update({s: measured[s] for s in SCORED_SETS if s in measured})
        write_atomic(self.run_folder / f"{name}_metrics.json", json.dumps(payload, indent=2).encode())

    # --- charts -------------------------------------------------------------------------------------------
    def chart(self, chart_name: str) -> bytes:
        """One chart over the models that ran (missing ones are named in the title), built once and saved."""
        if chart_name not in self._charts:
            with progress.step(f"chart {chart_name}"):
                self._charts[chart_name] = self._build_chart(chart_name)
            charts.save(self._charts[chart_name], self.charts_dir, chart_name)
        return self._charts[chart_name]

    def _build_chart(self, chart_name: str) -> bytes:
        models = self.scorer.runnable
        missing = [n for n in self.scorer.names if n not in models]
        note = f" (not drawn: {', '.join(missing)})" if missing else ""
        def m(n):  # only the charts that need the full metrics compute them (clustering runs UMAP)
            return self.scorer.metrics(n, EVAL)

        labels = self.scorer.frame(EVAL)["label"].to_numpy()
        scored = {n: (self.scorer.scores(n, EVAL), labels) for n in models}
        tuned = [n for n in models if n != "baseline" and (self.scorer.training_info(n) or {}).get("spearman_history")]
        # UMAP, purity, Cohen's d and margins need cosines of two embeddings: bi-encoders only (issue #20)
        vec = [n for n in models if self.scorer.ref(n).embeds]
        # a chart drawn from another scored set than eval names it in criteria.CHART_SET (no branch on the set's name)
        drawn_on = CHART_SET.get(chart_name)
        on_set = ({n: self.scorer.metrics(n, drawn_on) for n in models}
                  if drawn_on not in (None, BEHAVIOURAL) and self.scorer.frame(drawn_on) is not None else {})
        builders = {
            "cosine_overlay": lambda: charts.cosine_overlay(scored),
            "umap_side_by_side": lambda: charts.umap_side_by_side({n: (self.scorer.projection(n), labels) for n in vec}),
            "purity_bars": lambda: charts.purity_bars({n: m(n)["cluster_purity"] for n in vec}),
            "roc_overlay": lambda: charts.roc_overlay(scored, {n: m(n)["auc_roc"] for n in models}),
            "category_margin_heatmap": lambda: charts.margin_heatmap({n: m(n)["margin_by_category"] for n in vec}),
            "cohens_d_bars": lambda: charts.cohens_d_bars({n: m(n)["cohens_d"] for n in vec},
                                                          {n: tuple(m(n)["ci95"]["cohens_d"]) for n in vec}),
            "training_curves": lambda: charts.training_curves({n: self.scorer.training_info(n)["spearman_history"] for n in tuned}),
            "false_positives_by_pair_type": lambda: charts.false_positive_bars({n: m(n)["false_positives_by_pair_type"] for n in models}),
            "natural_buckets": lambda: charts.bucket_means({n: on_set[n]["mean_cosine_by_bucket"] for n in models},
                                                           {n: on_set[n]["auc_roc"] for n in models}),
            "writer_auc": lambda: charts.group_auc_bars({n: on_set[n]["auc_by_writer"] for n in on_set},
                                                        "writer-disjoint natural test: AUC by writer"),
            "family_auc": lambda: charts.group_auc_bars({n: on_set[n]["auc_by_family"] for n in on_set},
                                                        "writer-disjoint natural test: AUC by topic family"),
            "behavioural_pass_rates": lambda: charts.pass_rate_bars(
                {n: {k: v["rate"] for k, v in behavioural.pass_rates(self.scorer.behavioural(n)).items() if k != "all"}
                 for n in models}),
            "baseline_histogram": lambda: charts.cosine_overlay({"baseline": scored["baseline"]}),
            "baseline_umap": lambda: charts.umap_side_by_side({"baseline": (self.scorer.projection("baseline"), labels)}),
            "baseline_clusters": lambda: charts.clusters_scatter(self.scorer.projection("baseline"), self.scorer.clusters("baseline"),
                                                                 "HDBSCAN clusters: baseline"),
            "baseline_roc": lambda: charts.roc_overlay({"baseline": scored["baseline"]}, {"baseline": m("baseline")["auc_roc"]}),
            "baseline_category_margins": lambda: charts.category_margin_bars(m("baseline")["margin_by_category"],
                                                                             "baseline margin by category"),
        }
        return charts.with_note(builders[chart_name](), note) if note else builders[chart_name]()

    def draw_all(self) -> None:
        """Every chart, where the run has the baseline and at least one fine-tuned model."""
        if "baseline" in self.scorer.runnable and len(self.scorer.runnable) > 1:
            for chart_name in ALL_CHARTS:
                self.chart(chart_name)

    # --- the run folder -----------------------------------------------------------------------------------
    def write_summary(self, result: RunResult) -> str:
        """summary.md, summary.json, criteria.json and the model cards from the run's result."""
        from harness.report.summary import group_auc_table, headline, results_table, table_markdown

        results, metrics = result.results, result.metrics
        sentence = headline(metrics, self.scorer.dataset.name) if metrics else "no model scored"
        counts = result.counts
        tables = "\n\n".join(f"{s} (role {get_scored_set(s).role}):\n\n{table_markdown(results_table(metrics, s))}"
                             for s in SCORED_SETS if any(s in v for v in metrics.values()))
        verdicts = result.verdicts
        verdict_table = "| model | verdict | deciding rows |\n|---|---|---|\n" + "\n".join(
            f"| {v.model} | {v.decision} | {v.summary(3)} |"
            for v in verdicts.values())
        board = result.leaderboard
        board_text = "" if board is None else (
            f"Leaderboard (recommended: {board['recommended']}: {board['reason']}):\n\n{table_markdown(board['rows'])}\n\n"
            + (f"{table_markdown(board['lora_ratios'])}\n\n" if len(board["lora_ratios"]) > 1 else "")
            + (f"{RERANK_TITLE}:\n\n{table_markdown(board['rerank'])}\n\n" if len(board.get("rerank", [])) > 1 else ""))
        groups = "".join(f"{NATURAL_UNSEEN} AUC by {field} (95% CI):\n\n{table_markdown(group_auc_table(metrics, NATURAL_UNSEEN, field))}\n\n"
                         for field in ("writer", "family") if any(NATURAL_UNSEEN in v for v in metrics.values()))
        text = (f"{sentence}\n\n{counts_sentence(counts)}\n\n{verdict_table}\n\n{board_text}{groups}{tables}\n\n"
                f"dataset {self.scorer.dataset.root} sha256 {self.scorer.dataset.digest}; harness {__version__}\n")
        write_atomic(self.run_folder / "summary.md", text.encode())
        write_atomic(self.run_folder / "summary.json", json.dumps(
            {"headline": sentence, "counts": counts, "verdicts": {m: v.to_dict() for m, v in verdicts.items()},
             "leaderboard": board, "training": self.training_records(),
             "metrics": metrics, "missing": result.missing}, indent=2, default=str).encode())
        write_atomic(self.run_folder / "criteria.json", json.dumps([r.to_dict() for r in results], indent=2).encode())
        self.write_model_cards(verdicts)
        return text

    #: what summary.json keeps of each model's training record: how it was chosen and what it cost (issue #20)
    TRAINING_KEPT = ("kind", "init_from", "teacher", "wall_time_s", "steps", "best_step", "monitored_set",
                     "checkpoint_chosen_on", "final_spearman", "final_natural_dev_auc", "threads", "precision",
                     "training_data", "parts", "weight", "chosen_on", "validation_spearman", "natural_dev_auc", "rule")

    def training_records(self) -> dict[str, dict]:
        records = {}
        for name in self.scorer.runnable:
            info = self.scorer.training_info(name)
            if info:
                records[name] = {k: info[k] for k in self.TRAINING_KEPT if k in info}
        return records

    def write_report(self, result: RunResult) -> Path:
        """``report.html``: the body pytest's report shows (:func:`harness.report.html.summary_parts`), the criteria
        table, every chart drawn and the dataset's identity, in one self-contained file."""
        body = [*summary_parts(self.scorer, result, self.charts_dir), criteria_table(result.results),
                charts_section(self._charts), dataset_identity(self.scorer.dataset)]
        path = self.run_folder / "report.html"
        write_atomic(path, page(body).encode("utf-8"))
        return path

    def write_model_cards(self, verdicts: dict) -> None:
        """Add this run's evidence to each trained model's own card (``README.md`` in its artifact folder)."""
        for name in self.scorer.runnable:
            ref = self.scorer.ref(name)
            if not ref.spec.trains or ref.source is not None:
                continue
            by_set = self.scorer.measured(name)
            measured = self.scorer.behavioural_measured(name)
            rates = behavioural.pass_rates(measured) if measured is not None else None
            roles = {s: get_scored_set(s).role for s in by_set}
            write_evidence(ref.artifact(), evidence_markdown(name, self.scorer.dataset.name, ref.training_info(), by_set, roles,
                                                             rates, verdicts.get(name)))
