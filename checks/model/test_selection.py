"""Choices come from selection sets only: the trainer monitored the validation split, recorded in the artifact."""

from __future__ import annotations

import pytest

from harness.data.scored_sets import VALIDATION, require_selection
from harness.data.splits import validation_split

pytestmark = pytest.mark.model


def test_trainer_monitored_a_selection_set(model_name, store, evidence):
    """training_info.json names the monitored set; it is a selection set, and its rows are exactly today's
    validation split of the training file (same line numbers, same sha256)."""
    info = store.training_info(model_name)
    if info is None:
        pytest.skip(f"{model_name} is not trained")
    evidence.json("monitored", {"monitored_set": info["monitored_set"], "split": {k: v for k, v in info["validation_split"].items()
                                                                                    if k != "validation_lines"}})
    assert info["monitored_set"] == VALIDATION
    require_selection(info["monitored_set"])
    expected = validation_split(store.dataset.train).record()
    assert info["validation_split"]["validation_sha256"] == expected["validation_sha256"]
    assert info["validation_split"]["validation_lines"] == expected["validation_lines"]
