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
    if info.get("kind") == "fusion":  # its one weight was chosen on these sets
        evidence.json("fusion weight", {k: v for k, v in info.items() if k != "grid"})
        assert info["chosen_on"] and all(require_selection(s) for s in info["chosen_on"])
        return
    for chosen_on in info.get("checkpoint_chosen_on", ()):  # a cross-encoder's checkpoint
        require_selection(chosen_on)
    evidence.json("monitored", {"monitored_set": info["monitored_set"], "split": {k: v for k, v in info["validation_split"].items()
                                                                                    if k != "validation_lines"}})
    assert info["monitored_set"] == VALIDATION
    require_selection(info["monitored_set"])
    expected = validation_split(store.dataset.train).record()
    assert info["validation_split"]["validation_sha256"] == expected["validation_sha256"]
    assert info["validation_split"]["validation_lines"] == expected["validation_lines"]


def test_pipeline_retrieves_with_the_recommended_bi_encoder(store, evidence):
    """The rerank and fusion rows use the bi-encoder the recommendation rule picks (selection sets only) among the
    bi-encoders of this run; if the rule comes to prefer another one, PIPELINE_BI_ENCODER must follow it."""
    from harness.evaluation.leaderboard import recommend_bi_encoder
    from harness.models.registry import PIPELINE_BI_ENCODER, get_model_spec, split_export_name

    # an export (cross-encoder@onnx-int8) is judged as its source: the registry knows the source's name
    if (not any(not get_model_spec(split_export_name(n)[0]).embeds for n in store.names)
            or PIPELINE_BI_ENCODER not in store.names):
        pytest.skip(f"no cross-encoder row in this run, or {PIPELINE_BI_ENCODER} not selected (--model)")
    chosen, reason = recommend_bi_encoder(store.run.scorer)
    evidence.text("recommended bi-encoder", f"{chosen}: {reason}")
    assert chosen == PIPELINE_BI_ENCODER, f"the rule recommends {chosen} ({reason}); the pipeline uses {PIPELINE_BI_ENCODER}"
