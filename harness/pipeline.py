"""The evaluation pipeline without pytest: models x scored sets -> metrics -> criteria -> charts -> run folder.

``python -m harness evaluate`` and the pytest fixtures both drive a :class:`Run`, so both write the same run folder
(``runs/<dataset>-<digest>/``). A run is three jobs, each in its own module:

* scoring (:class:`harness.evaluation.scorer.Scorer`): model refs, embeddings, metrics, projections, the caches;
* judging (:class:`harness.evaluation.judge.Judge`): criteria results, verdicts, outcome counts, the
  :class:`~harness.evaluation.judge.RunResult`;
* writing (:class:`harness.report.writer.RunWriter`): charts, summary.md/json, criteria.json, model cards and the
  self-contained HTML report (``report.html``, the same body as pytest's report).

This module keeps the order of the steps. A model that cannot run fails only its own rows: the scorer remembers
the reason (:meth:`Run.failure`), and the charts draw the models that exist, naming the missing ones.
"""

from __future__ import annotations

from pathlib import Path

from harness.data.dataset import Dataset
from harness.evaluation import leaderboard
# importable from here as before (checks, fixtures, the history store and the CLI name them so)
from harness.evaluation.judge import (CriterionResult, Judge, RunResult, counts_sentence,  # noqa: F401
                                      outcome_counts)
from harness.evaluation.scorer import METRICS_VERSION, Scorer, frame_digest  # noqa: F401
from harness.paths import run_dir
from harness.report.writer import RunWriter


class Run:
    """One evaluation of ``names`` on ``dataset``: the scorer measures, the judge decides, the writer writes.

    The scorer's questions (``ref``, ``metrics``, ``scores``, ``runnable``, ``failure``, ...) and the judge's
    (``judge``, ``judged``, ``verdicts``) can be asked of the run itself, as the checks do."""

    def __init__(self, dataset: Dataset, names: list[str], eval_file: Path | None = None, run_folder: Path | None = None):
        self.run_folder = run_folder or run_dir(dataset)
        self.scorer = Scorer(dataset, names, eval_file)
        self.writer = RunWriter(self.scorer, self.run_folder)
        self.scorer.on_metrics = self.writer.write_metrics
        self.criteria = Judge(self.scorer)
        self.judge, self.judged, self.verdicts = self.criteria.judge, self.criteria.judged, self.criteria.verdicts
        self.criteria_cases, self.criteria_results = self.criteria.criteria_cases, self.criteria.results
        self.chart = self.writer.chart

    def __getattr__(self, name: str):
        """The scorer's questions, asked of the run (only called for names the run itself does not have)."""
        if name.startswith("__") or name == "scorer":
            raise AttributeError(name)
        return getattr(self.scorer, name)

    def result(self, results: list[CriterionResult]) -> RunResult:
        return self.criteria.result(results)

    def leaderboard(self) -> dict:
        return leaderboard.board(self.scorer)

    def write_summary(self, results: list[CriterionResult]) -> str:
        """The run folder's summary, criteria and model cards for the rows judged (``results``)."""
        return self.writer.write_summary(self.result(results))

    def write_model_cards(self, verdicts: dict) -> None:
        self.writer.write_model_cards(verdicts)

    def evaluate(self) -> RunResult:
        """Score every available set for every model, judge every criterion, draw every chart, write the folder."""
        self.scorer.score_all()
        results = self.criteria.results()
        self.writer.draw_all()
        result = self.result(results)
        self.writer.write_summary(result)
        self.writer.write_report(result)
        return result

    def evaluate_all(self) -> list[CriterionResult]:
        """:meth:`evaluate`'s judged rows."""
        return self.evaluate().results
