"""Judging: each criterion x model measured and said what it means, verdicts per model, outcome counts.

The judge asks the :class:`~harness.evaluation.scorer.Scorer` for numbers and never writes anything; the run's
:class:`RunResult` (what was measured and decided) is what the writers in ``harness/report/`` take.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.evaluation import behavioural, leaderboard
from harness.evaluation.criteria import BEHAVIOURAL, CEILINGS, GATE, NEGATED, TARGET, Criterion, cases
from harness.evaluation.scorer import Scorer
from harness.evaluation.verdict import decide_all
from harness.models.handle import ModelUnavailable


@dataclass(frozen=True)
class CriterionResult:
    criterion: Criterion
    model: str
    value: float | None
    ci: tuple[float, float] | None
    n: int | None
    outcome: str  # "pass", "fail", "target-missed", "target-met", "impossible", "reported", "unavailable", "not-applicable"
    message: str
    ceiling: float | None = None  # the metric's best possible value on this set's labels, where it has one

    def to_dict(self) -> dict:
        c = self.criterion
        return {"model": self.model, "criterion": c.id, "metric": c.metric, "scored_on": c.scored_on, "op": c.op,
                "threshold": c.threshold, "status": c.status, "value": self.value, "ci95": self.ci, "n": self.n,
                "outcome": self.outcome, "message": self.message, "source": c.source,
                "ceiling": None if self.ceiling is None else round(self.ceiling, 4)}


@dataclass
class RunResult:
    """What one run measured and decided: the judged rows, the verdicts, the counts, every metric computed, the
    leaderboard (two or more fine-tuned models) and the models that could not run. The writers take it."""

    results: list[CriterionResult]
    metrics: dict[str, dict]
    counts: dict[str, int]
    verdicts: dict
    leaderboard: dict | None
    missing: dict[str, str]


class Judge:
    """The criteria of one run, judged on the scorer's numbers; every row judged is kept, in order."""

    def __init__(self, scorer: Scorer):
        self.scorer = scorer
        self.judged: dict[tuple[str, str], CriterionResult] = {}  # every row judged in this run, in order

    def criteria_cases(self) -> list[tuple[Criterion, str]]:
        return cases(self.scorer.names, extra_split=self.scorer.eval_file is not None, default_data=self.scorer.default_data)

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
                rates = behavioural.pass_rates(self.scorer.behavioural(model))[kind]
                value, ci, n, where = rates["rate"], None, rates["cases"], f"on {rates['cases']} {kind} cases"
            else:
                m = self.scorer.metrics(model, criterion.scored_on)
                if criterion.metric in m.get("not_applicable", {}):  # said as such, never a pass (issue #20)
                    return result(None, None, m["n"], "not-applicable", f"{model}: {criterion.metric} on "
                                  f"{criterion.scored_on}: {m['not_applicable'][criterion.metric]}")
                value, ci, n = m[criterion.metric], m.get("ci95", {}).get(criterion.metric), m["n"]
                where = f"on {self.scorer.dataset.name}/{criterion.scored_on} (n={n})"
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
        expected = [n for n in self.scorer.names if (err := self.scorer.failure(n)) is not None and err.expected]
        return decide_all(results, [n for n in self.scorer.names if n not in expected])

    def results(self) -> list[CriterionResult]:
        return [self.judge(c, m) for c, m in self.criteria_cases()]

    def result(self, results: list[CriterionResult]) -> RunResult:
        """The run's result over ``results`` (the rows judged): metrics as measured so far, counts, verdicts, then the
        leaderboard (which may measure more) and the models that could not run."""
        metrics = self.scorer.all_metrics()
        counts = outcome_counts(results)
        verdicts = self.verdicts(results)
        board = leaderboard.board(self.scorer) if sum(n != "baseline" for n in self.scorer.runnable) > 1 else None
        return RunResult(list(results), metrics, counts, verdicts, board, self.scorer.missing())


def outcome_counts(results: list[CriterionResult]) -> dict[str, int]:
    ran = [r for r in results if r.model != "baseline" and r.outcome not in ("unavailable", "not-applicable")]
    gates = [r for r in ran if r.criterion.status == GATE]
    targets = [r for r in ran if r.criterion.status == TARGET]
    return {"gates": len(gates), "gates_passed": sum(r.outcome == "pass" for r in gates),
            "targets": len(targets), "targets_met": sum(r.outcome == "target-met" for r in targets),
            "unavailable": sum(r.outcome == "unavailable" for r in results if r.model != "baseline"),
            "not_applicable": sum(r.outcome == "not-applicable" for r in results)}


def counts_sentence(counts: dict[str, int]) -> str:
    return (f"{counts['gates_passed']} of {counts['gates']} gates passed; {counts['targets_met']} of "
            f"{counts['targets']} targets met" + (f"; {counts['unavailable']} rows unavailable" if counts["unavailable"] else "")
            + (f"; {counts['not_applicable']} rows not applicable" if counts.get("not_applicable") else ""))

