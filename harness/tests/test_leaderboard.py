"""The recommendation rule reads selection sets only, and the leaderboard rows carry every column."""

from __future__ import annotations

import pytest

from harness.evaluation.leaderboard import SPEARMAN_SLACK, lora_ratios, recommend, rows

pytestmark = pytest.mark.unit


def sets(val, dev, test=0.5):
    return {"validation": {"cosine_spearman": val}, "natural_dev": {"auc_roc": dev},
            "natural_test": {"auc_roc": test, "cosine_spearman": 0.1, "mean_cosine_by_bucket": {"dealbreaker": 0.2}}}


def test_best_natural_dev_among_recipes_near_the_best_validation_spearman():
    metrics = {"baseline": sets(0.0, 0.99), "a": sets(0.862, 0.68), "b": sets(0.858, 0.71), "c": sets(0.80, 0.90)}
    chosen, reason = recommend(metrics)
    assert chosen == "b" and "within" in reason  # c has the best natural_dev AUC but is > 0.01 below on validation
    assert SPEARMAN_SLACK == 0.01


def test_report_sets_cannot_change_the_choice():
    a, b = sets(0.86, 0.70, test=0.55), sets(0.86, 0.69, test=0.95)
    assert recommend({"a": a, "b": b})[0] == "a"


def test_rows_and_ratios_have_a_cell_per_column():
    metrics = {"lora": sets(0.8, 0.6), "standard": sets(0.85, 0.65)}
    table = rows(metrics, {"lora": {"behavioural": 0.9, "wall_time_s": 80, "peak_rss_mb": 900, "artifact_mb": 1.2,
                                    "trainable": 110592}})
    assert all(len(r) == len(table[0]) for r in table) and table[1][-1] == "110,592"
    metrics["lora"]["validation"]["auc_roc"] = 0.9
    metrics["standard"]["validation"]["auc_roc"] = 1.0
    ratios = lora_ratios(metrics)
    assert ratios[1][1] == "0.900; 0.941" and ratios[1][4] == "0.923; –"
