"""Success criteria as one parametrised gate over criteria x models (the table is ``harness/criteria.py``)."""

from __future__ import annotations

import pytest

from harness.evaluation.criteria import CEILINGS, CHARTS_FOR_METRIC, NEGATED

pytestmark = pytest.mark.model


def test_criterion(criterion_case, store, evidence):
    """A fine-tuned model meets the criterion; the baseline (the 'before') must miss it, or the wrong model was scored."""
    criterion, model = criterion_case
    metrics = store.metrics(model, criterion.scored_on)
    value = metrics[criterion.metric]
    ci = metrics.get("ci95", {}).get(criterion.metric)
    where = f"on {criterion.scored_on} (n={metrics['n']})"
    evidence.json("result", {"model": model, "criterion": criterion.id, "value": value, "ci95": ci,
                             "threshold": criterion.threshold, "source": criterion.source})
    if criterion.scored_on == "eval":
        for chart in CHARTS_FOR_METRIC.get(criterion.metric, ()):
            if chart != "training_curves" or len(store.runnable) > 1:
                evidence.png(chart, store.chart(chart))
    ceiling_key = CEILINGS.get(criterion.metric)
    if ceiling_key and not criterion.holds(metrics[ceiling_key]):
        pytest.fail(f"{model}: {criterion.metric} threshold {criterion.threshold:g} is impossible {where}: "
                    f"its ceiling at perfect separation is {metrics[ceiling_key]:.3f} (measured {value:.3f})", pytrace=False)
    ci_text = f" [95% CI {ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
    if model == "baseline" and not criterion.baseline_must_miss:
        evidence.text("baseline", f"baseline {criterion.metric} {value:.3f}{ci_text} {where}: reported only ({criterion.source})")
    elif model == "baseline":
        assert not criterion.holds(value), (
            f"baseline meets a fine-tuned criterion: {criterion.metric} {value:.3f}{ci_text} {criterion.op} "
            f"{criterion.threshold:g} {where}; was the wrong model evaluated?")
    else:
        assert criterion.holds(value), (
            f"{model}: {criterion.metric} {value:.3f}{ci_text} {NEGATED[criterion.op]} {criterion.threshold:g} {where}")


def test_spearman_within_its_ceiling(model_name, store, evidence):
    """Spearman on each scored set is reported against its own ceiling; exceeding the ceiling would be a metric bug."""
    rows = {}
    for split in ("eval", "eval_leak_free"):
        m = store.metrics(model_name, split)
        rows[split] = {"spearman": m["cosine_spearman"], "ceiling": m["spearman_ceiling"], "n": m["n"],
                       "share_of_ceiling": m["cosine_spearman"] / m["spearman_ceiling"]}
        assert m["cosine_spearman"] <= m["spearman_ceiling"] + 1e-9, f"{model_name}: Spearman above its ceiling on {split}"
    evidence.json("spearman_vs_ceiling", rows)
