"""The DEPLOY / REVIEW / FAIL rule on hand-made criterion results."""

from __future__ import annotations

import pytest

from harness.evaluation.criteria import GATE, TARGET, Criterion
from harness.evaluation.verdict import DEPLOY, FAIL, REVIEW, decide, straddles
from harness.pipeline import CriterionResult

pytestmark = pytest.mark.unit


def row(metric, value, ci, outcome, status=GATE, op=">=", threshold=0.8, model="m"):
    c = Criterion(metric, op, threshold, ("m",), "eval", "test", status=status)
    return CriterionResult(c, model, value, ci, 100, outcome, f"{metric} {value}")


def test_every_gate_interval_clear_is_deploy():
    v = decide([row("auc_roc", 0.95, (0.9, 0.99), "pass"), row("gap", 0.05, (0.01, 0.08), "pass", op="<=", threshold=0.1)], "m")
    assert v.decision == DEPLOY and v.exit_code == 0 and not v.reasons


def test_a_straddling_interval_or_a_missed_target_is_review():
    straddling = decide([row("auc_roc", 0.85, (0.78, 0.9), "pass")], "m")
    assert straddling.decision == REVIEW and "straddles" in straddling.reasons[0] and straddling.exit_code == 1
    natural = decide([row("auc_roc", 0.95, (0.9, 0.99), "pass"),
                      row("auc_roc", 0.6, (0.55, 0.65), "target-missed", status=TARGET, threshold=0.85)], "m")
    assert natural.decision == REVIEW and "target" in natural.reasons[0]


def test_a_failed_gate_or_a_broken_model_is_fail():
    assert decide([row("auc_roc", 0.7, (0.6, 0.8), "fail")], "m").decision == FAIL
    broken = decide([row("auc_roc", None, None, "unavailable")], "m")
    assert broken.decision == FAIL and broken.exit_code == 2
    assert decide([], "m").decision == FAIL


def test_other_models_rows_are_ignored():
    assert decide([row("auc_roc", 0.7, (0.6, 0.8), "fail", model="other"), row("auc_roc", 0.95, (0.9, 0.99), "pass")], "m").decision == DEPLOY


@pytest.mark.parametrize("op,threshold,ci,expected", [
    (">=", 0.8, (0.79, 0.9), True), (">=", 0.8, (0.8, 0.9), False), (">", 0.8, (0.8, 0.9), True),
    ("<=", 0.1, (0.05, 0.11), True), ("<=", 0.1, (0.05, 0.1), False), (">=", 0.8, None, False),
])
def test_straddles(op, threshold, ci, expected):
    assert straddles(op, threshold, ci) is expected
