"""Success criteria as one parametrised check over criteria x models (the table is ``harness/evaluation/criteria.py``).

The pipeline measures and judges each row (:meth:`harness.pipeline.Run.judge`); this check only turns the
outcome into a test result. A ``gate`` row that misses fails. A ``target`` row (no model meets it yet) is a
strict xfail whose reason shows value, CI and threshold; if a model starts meeting it, the XPASS fails the
check until the row is promoted to a gate.
"""

from __future__ import annotations

import pytest

from harness.evaluation.behavioural import pass_rates
from harness.evaluation.criteria import BEHAVIOURAL, TARGET, charts_deciding

pytestmark = pytest.mark.model


def test_criterion(criterion_case, store, evidence, request):
    """A fine-tuned model meets the criterion (gate) or is measured against it (target); the baseline, the 'before',
    must miss it, or the wrong model was scored."""
    criterion, model = criterion_case
    result = store.run.judge(criterion, model)
    if result.outcome == "unavailable":
        failure = store.run.failure(model)
        (pytest.skip if failure is not None and failure.expected else pytest.fail)(result.message)
    if result.outcome == "not-applicable":  # a cross-encoder has no cosines of two embeddings: said, never passed
        pytest.skip(result.message)
    request.node.user_properties.append(("result", result.to_dict()))
    evidence.json("result", result.to_dict())
    # each chart once per session, on the first row of the criterion it decides (its metric on its scored set)
    for chart in charts_deciding(criterion) if model != "baseline" else ():
        if chart not in store.attached and (chart != "training_curves" or len(store.runnable) > 1):
            store.attached.add(chart)
            evidence.png(chart, store.chart(chart))
    if criterion.scored_on == BEHAVIOURAL:
        failed = [r for r in store.behavioural(model) if not r["passed"] and criterion.metric == f"behavioural_{r['kind'].lower()}_pass_rate"]
        evidence.json("failed cases", failed)
        evidence.json("pass rates", pass_rates(store.behavioural(model)))
    if result.outcome == "reported":
        evidence.text("baseline", result.message)
        return
    if criterion.status == TARGET and model != "baseline":
        request.node.add_marker(pytest.mark.xfail(reason=result.message, strict=True))
    assert result.outcome in ("pass", "target-met"), result.message


def test_spearman_within_its_ceiling(model_name, store, evidence):
    """Spearman on each pair set is reported against its own ceiling; exceeding the ceiling would be a metric bug."""
    from harness.data.scored_sets import EVAL, EVAL_LEAK_FREE

    rows = {}
    for split in (EVAL, EVAL_LEAK_FREE):
        m = store.metrics(model_name, split)
        rows[split] = {"spearman": m["cosine_spearman"], "ceiling": m["spearman_ceiling"], "n": m["n"],
                       "share_of_ceiling": m["cosine_spearman"] / m["spearman_ceiling"]}
        assert m["cosine_spearman"] <= m["spearman_ceiling"] + 1e-9, f"{model_name}: Spearman above its ceiling on {split}"
    evidence.json("spearman_vs_ceiling", rows)
