"""Regression rows: each gated model against its accepted baseline (``baselines/<dataset>.json``), paired on the same
pairs (ADR 006).

A model whose primary metric on a scored set falls below the accepted one with the paired 95% CI excluding zero
fails: a red gate. An improvement is reported in the evidence and changes nothing until someone runs
``python -m harness accept``. A model without an accepted entry for this dataset skips, saying how to accept one;
sets whose rows changed since the acceptance are named and not compared.
"""

from __future__ import annotations

import pytest

from harness.history.baseline import BaselineError, baseline_path, load_accepted
from harness.history.compare import check_against_accepted

pytestmark = pytest.mark.model


def test_no_regression_against_accepted_baseline(model_name, store, dataset, evidence):
    """The model's primary metric on every scored set is not below its accepted baseline's (paired bootstrap on the
    same pairs, 95% CI of candidate - accepted entirely below zero = regressed); Spearman, AUC and the ranking metric
    per set are in the evidence."""
    try:
        accepted = load_accepted(dataset)
    except BaselineError as err:
        pytest.fail(str(err), pytrace=False)
    entry = accepted.get(model_name)
    if entry is None:
        pytest.skip(f"{model_name} has no accepted baseline in {baseline_path(dataset)}: python -m harness accept "
                    f"--model {model_name} --dataset {dataset.root} --reason '...'")
    key = store.ref(model_name).key
    comparison = check_against_accepted(entry, lambda s: store.scores(model_name, s), store.frame, model_name, key)
    evidence.text("paired comparison with the accepted baseline", comparison.table())
    evidence.json("comparison", comparison.to_dict())
    if comparison.improved:
        evidence.text("improved (nothing changes until accept)",
                      f"{comparison.summary()}\nto make this the baseline: python -m harness accept --model {model_name} "
                      f"--dataset {dataset.root} --reason '...'")
    if not comparison.deltas:
        pytest.skip(f"{model_name}: nothing comparable with the accepted entry ({comparison.summary()}); re-accept on "
                    "the current data")
    assert not comparison.regressed, f"{model_name} regressed against accepted {entry.model_key}: {comparison.summary()}"
