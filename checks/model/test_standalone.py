"""Artifacts that stand alone: a plain ``SentenceTransformer(path)`` in a fresh process encodes exactly as the harness
scored it (the instruction prompt is the model's default prompt; a LoRA folder loads together with its base)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from harness.data.scored_sets import EVAL
from harness.environment import offline_env
from harness.models.cache import unique_texts

pytestmark = pytest.mark.model

SCRIPT = """
import json, sys
import numpy as np
from sentence_transformers import SentenceTransformer
path, texts, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
model = SentenceTransformer(path, device="cpu", local_files_only=True)
np.save(out, model.encode(texts, normalize_embeddings=True, convert_to_numpy=True))
print(json.dumps({"default_prompt_name": model.default_prompt_name, "prompts": model.prompts}))
"""


def test_artifact_loads_alone_and_encodes_as_scored(trained_model, store, tmp_path, evidence):
    """In a fresh Python process, ``SentenceTransformer(artifact)`` gives the embeddings the harness scored with
    (max abs difference <= 1e-5 on 24 eval texts)."""
    ref = store.ref(trained_model)
    artifact = ref.artifact()
    frame = store.frame(EVAL).head(12)
    texts = unique_texts(frame)
    e1, e2 = ref.pair_embeddings(frame)  # the harness's own (cached) vectors
    harness_vectors = dict(zip(frame["text_1"], e1)) | dict(zip(frame["text_2"], e2))
    out = tmp_path / "plain.npy"
    env = offline_env()
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(artifact), json.dumps(texts), str(out)], env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"plain SentenceTransformer({artifact}) failed:\n{run.stderr[-2000:]}"
    plain = np.load(out)
    diff = float(np.abs(plain - np.stack([harness_vectors[t] for t in texts])).max())
    loaded = json.loads(run.stdout.strip().splitlines()[-1])
    evidence.json("standalone", {"artifact": str(artifact), "texts": len(texts), "max_abs_diff": diff, **loaded})
    spec_prompt = ref.spec.config.prompt
    if spec_prompt:
        assert loaded["prompts"].get(loaded["default_prompt_name"]) == spec_prompt, loaded
    assert diff <= 1e-5, f"{trained_model}: plain loading encodes differently from the harness (max |diff| {diff:.2e})"
