"""Adapter models: parameter efficiency and the save/reload round trip (a known silent failure)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness.data.dataset import TRAIN_FILE
from harness.data.scored_sets import VALIDATION
from harness.models.embeddings import encode, load_model
from harness.models.registry import get_model_spec

pytestmark = pytest.mark.model

PROBE = ["boy: I love hiking", "girl: I can't stand hiking", "boy: I would never date someone who smokes",
         "girl: I smoke a pack a day", "boy: Family comes first for me"]


def test_trainable_parameters_below_one_percent(adapter_model, store, evidence):
    """LoRA trains < 1% of the parameters (read from the artifact's training_info.json)."""
    info = json.loads((store.ref(adapter_model).artifact() / "training_info.json").read_text())
    evidence.json("parameters", {k: info[k] for k in ("trainable_parameters", "total_parameters", "trainable_fraction")})
    assert info["trainable_fraction"] < 0.01, f"{adapter_model}: {info['trainable_fraction']:.2%} of parameters trainable"


def test_adapter_roundtrip(adapter_model, store, tmp_path, evidence):
    """The saved adapter reloads to the same embeddings, and they differ from the base model's
    (an adapter that reloads with reset weights would silently encode like the base)."""
    spec = get_model_spec(adapter_model)
    artifact = store.ref(adapter_model).artifact()
    reloaded = encode(load_model(spec, artifact), PROBE)
    base = encode(load_model(get_model_spec("baseline"), None), PROBE)
    # save again from the reloaded model and load that copy: a second round trip must be a fixed point
    model = load_model(spec, artifact)
    model.save(str(tmp_path / "copy"))
    again = encode(load_model(spec, tmp_path / "copy"), PROBE)
    drift = float(np.abs(reloaded - again).max())
    distance = float(np.abs(reloaded - base).max())
    evidence.json("roundtrip", {"max_abs_diff_reload": drift, "max_abs_diff_vs_base": distance, "dim": reloaded.shape[1]})
    assert drift < 1e-5, f"{adapter_model}: embeddings changed after save/reload (max |diff| {drift:.2e})"
    assert distance > 1e-2, f"{adapter_model}: reloaded adapter encodes like the base model (max |diff| {distance:.2e})"


def test_adapter_matches_in_memory_training(adapter_model, store, evidence):
    """The reloaded adapter reproduces the Spearman the trainer measured on the validation split (the monitored
    selection set) at the end of training."""
    info = json.loads((store.ref(adapter_model).artifact() / "training_info.json").read_text())
    assert info["monitored_set"] == VALIDATION
    assert info["data_sha256"][TRAIN_FILE] == store.dataset.sha256[TRAIN_FILE]
    measured = store.metrics(adapter_model, VALIDATION)["cosine_spearman"]
    evidence.json("spearman", {"trainer_final": info["final_spearman"], "reloaded": measured})
    assert measured == pytest.approx(info["final_spearman"], abs=2e-3), (
        f"{adapter_model}: reloaded Spearman {measured:.4f} != trained {info['final_spearman']:.4f}")
