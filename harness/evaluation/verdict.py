"""A decision per model from its judged criteria: DEPLOY, REVIEW or FAIL, with the rows that decided it.

* DEPLOY: every gate row passes with its whole 95% interval on the right side of the threshold (a row without an
  interval, e.g. a pass rate, must pass on its value), and nothing below applies.
* REVIEW: every gate passes on its point estimate, but an interval straddles a threshold, or a ``target`` row is
  missed (natural-test AUC, the behavioural pass rates, ...). So a model that fails on natural phrasing, or on a
  behavioural check, is never DEPLOY.
* FAIL: a gate fails on its point estimate, a threshold is impossible on the data, a row could not be measured
  because the model broke, or no row was judged.

Exit codes for ``python -m harness verdict``: DEPLOY 0, REVIEW 1, FAIL 2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEPLOY, REVIEW, FAIL = "DEPLOY", "REVIEW", "FAIL"
EXIT_CODES = {DEPLOY: 0, REVIEW: 1, FAIL: 2}


@dataclass(frozen=True)
class Verdict:
    model: str
    decision: str
    reasons: list[str] = field(default_factory=list)
    gates: int = 0
    targets: int = 0

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.decision]

    def to_dict(self) -> dict:
        return {"model": self.model, "verdict": self.decision, "reasons": self.reasons, "gates": self.gates,
                "targets": self.targets}

    def summary(self, limit: int = 1) -> str:
        """The first ``limit`` deciding rows and how many more there are (the text of every verdict table)."""
        if not self.reasons:
            return "every gate's 95% CI clears its threshold; no target missed"
        more = len(self.reasons) - limit
        return "; ".join(self.reasons[:limit]) + (f" (+{more} more)" if more > 0 else "")

    def line(self) -> str:
        return f"{self.model}: {self.decision}" + (f": {self.summary()}" if self.reasons else "")


def straddles(op: str, threshold: float, ci) -> bool:
    """Whether a 95% interval reaches the wrong side of the threshold."""
    if not ci:
        return False
    lo, hi = ci
    return {">=": lo < threshold, ">": lo <= threshold, "<=": hi > threshold, "<": hi >= threshold}[op]


def decide(results, model: str) -> Verdict:
    """The verdict of ``model`` from the CriterionResults judged for it (other models' rows are ignored)."""
    from harness.evaluation.criteria import GATE, TARGET

    rows = [r for r in results if r.model == model]
    gates = [r for r in rows if r.criterion.status == GATE]
    targets = [r for r in rows if r.criterion.status == TARGET]
    if not rows:
        return Verdict(model, FAIL, ["no criterion was judged for this model"])
    unavailable = [r for r in rows if r.outcome == "unavailable"]
    if unavailable:
        return Verdict(model, FAIL, [f"not measured: {unavailable[0].message}"], len(gates), len(targets))
    failed = [r for r in gates if r.outcome in ("fail", "impossible")]
    if failed:
        return Verdict(model, FAIL, [f"gate {r.criterion.id}: {r.message}" for r in failed], len(gates), len(targets))
    reasons = [f"gate {r.criterion.id}: 95% CI [{r.ci[0]:.3f}, {r.ci[1]:.3f}] straddles {r.criterion.threshold:g}"
               for r in gates if straddles(r.criterion.op, r.criterion.threshold, r.ci)]
    reasons += [f"target {r.criterion.id} missed: {r.value:.3f}" for r in targets if r.outcome == "target-missed"]
    return Verdict(model, REVIEW if reasons else DEPLOY, reasons, len(gates), len(targets))


def decide_all(results, models) -> dict[str, Verdict]:
    return {m: decide(results, m) for m in models if m != "baseline"}
