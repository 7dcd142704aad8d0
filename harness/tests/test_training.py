"""The real training path in seconds: one LoRA step and one full step on a handful of pairs, saved and reloaded.

These run the same ``harness.models.training.train`` that the model gates use, so a library upgrade that breaks
LoRA (transformers 5.24 with peft 0.21 refused to load adapters at all) fails ``pytest harness/tests``.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from harness import progress
from harness.models.embeddings import encode, load_model
from harness.models.registry import get_model_spec
from harness.models.training import train

pytestmark = pytest.mark.unit

PAIRS = pd.DataFrame({
    "text_1": ["boy: I love hiking", "girl: I smoke every day", "boy: Family comes first", "girl: I go to church weekly"],
    "text_2": ["girl: Mountains every weekend", "boy: I can't stand smoke", "girl: My family is everything",
               "boy: I'm an atheist"],
    "label": [1, 0, 1, 0],
})


def tiny(name: str):
    spec = get_model_spec(name)
    return replace(spec, config=replace(spec.config, epochs=1, batch_size=4, warmup_steps=0, eval_steps=1))


@pytest.mark.parametrize("name", ["lora", "standard"])
def test_one_step_trains_saves_and_reloads(name, tmp_path):
    spec = tiny(name)
    lines = []
    progress.set_sink(lines.append)
    try:
        info = train(spec, PAIRS, PAIRS, tmp_path, {"train": "test"}, data_name="tiny")
    finally:
        progress.set_sink(None)
    assert info["steps"] == 1 and json.loads((tmp_path / "training_info.json").read_text())["steps"] == 1
    assert any("step 1/1" in line and "tiny" in line for line in lines), lines
    texts = PAIRS["text_1"].tolist()
    reloaded = encode(load_model(spec, tmp_path), texts)
    base = encode(load_model(get_model_spec("baseline"), None), texts)
    assert np.allclose(np.linalg.norm(reloaded, axis=1), 1.0, atol=1e-5)
    assert np.abs(reloaded - base).max() > 1e-4, f"{name}: the saved artifact encodes like the base model"
    if spec.kind == "lora":
        assert (tmp_path / "adapter_model.safetensors").is_file()
        assert info["trainable_fraction"] < 0.01


def test_progress_lines_carry_step_epoch_elapsed_and_eta():
    clock = iter([0.0, 4.0, 12.0, 30.0]).__next__
    lines = []
    progress.set_sink(lines.append)
    try:
        p = progress.TrainingProgress("standard", "default/dating_pairs.jsonl", interval_s=10, clock=clock)
        p.begin(total=300, epochs=4)
        p.tick(10, 300, 0.13, 4)   # 4 s after the last line: silent
        p.tick(30, 300, 0.4, 4)    # 12 s: prints
        p.tick(300, 300, 4.0, 4, force=True)
    finally:
        progress.set_sink(None)
    assert len(lines) == 3
    assert "training standard on default/dating_pairs.jsonl: step 30/300 (epoch 0.40/4), 12s elapsed, ETA 1m48s" in lines[1]


def test_mnrl_trains_on_label_one_pairs_with_label_zero_partners_as_negatives(tmp_path):
    """MNRL never turns a label-0 row into a positive; the anchor's label-0 partner is its hard negative."""
    from harness.models.training_data import hard_negative_triplets

    frame = pd.DataFrame({
        "text_1": ["boy: I love hiking", "boy: I love hiking", "girl: Family comes first", "girl: Family comes first"],
        "text_2": ["girl: Mountains every weekend", "girl: Sofa all weekend", "boy: My family is everything",
                   "boy: I never call my parents"],
        "label": [1, 0, 1, 0],
    })
    triplets, counts = hard_negative_triplets(frame, model=None)
    assert counts == {"positives": 2, "label0_partner": 2, "mined": 0, "dropped": 0}
    assert set(zip(triplets["anchor"], triplets["positive"], triplets["negative"])) == {
        ("boy: I love hiking", "girl: Mountains every weekend", "girl: Sofa all weekend"),
        ("girl: Family comes first", "boy: My family is everything", "boy: I never call my parents"),
    }
    spec = tiny("mnrl-matryoshka")
    info = train(spec, frame, frame, tmp_path, {"train": "test"}, data_name="tiny", progress=False)
    assert info["steps"] == 1 and info["loss"] == "MultipleNegativesRankingLoss"
    assert info["training_data"]["train"]["label0_partner"] == 2 and info["peak_rss_mb"] > 0


def test_instruct_saves_its_prompt_as_the_default_and_encoding_without_it_differs(tmp_path):
    from sentence_transformers import SentenceTransformer

    from harness.models.registry import INSTRUCTION

    spec = tiny("instruct")
    train(spec, PAIRS, PAIRS, tmp_path, {"train": "test"}, data_name="tiny", progress=False)
    plain = SentenceTransformer(str(tmp_path), device="cpu", local_files_only=True)  # as a user would load it
    assert plain.default_prompt_name and plain.prompts[plain.default_prompt_name] == INSTRUCTION
    texts = PAIRS["text_1"].tolist()
    harness_vectors = encode(load_model(spec, tmp_path), texts)
    assert np.allclose(encode(plain, texts), harness_vectors, atol=1e-6)
    without = plain.encode(texts, prompt="", normalize_embeddings=True, convert_to_numpy=True)
    assert np.abs(without - harness_vectors).max() > 1e-3, "the prompt did not change the vectors"
