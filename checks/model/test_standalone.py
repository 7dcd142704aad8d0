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


CROSS_SCRIPT = """
import json, sys
import numpy as np
from sentence_transformers.cross_encoder import CrossEncoder
path, pairs, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
model = CrossEncoder(path, device="cpu", local_files_only=True)
forward = model.predict([[a, b] for a, b in pairs])
backward = model.predict([[b, a] for a, b in pairs])
np.save(out, (np.asarray(forward, dtype=np.float64) + np.asarray(backward, dtype=np.float64)) / 2)
print(json.dumps({"num_labels": model.num_labels}))
"""


def _cross_encoder_alone(ref, frame, tmp_path, evidence) -> None:
    """A plain ``CrossEncoder(artifact)`` in a fresh process, both orders averaged, gives the harness's pair scores."""
    pairs = list(zip(frame["text_1"], frame["text_2"]))
    out = tmp_path / "plain.npy"
    run = subprocess.run([sys.executable, "-c", CROSS_SCRIPT, str(ref.artifact()), json.dumps(pairs), str(out)],
                         env=offline_env(), capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"plain CrossEncoder({ref.artifact()}) failed:\n{run.stderr[-2000:]}"
    diff = float(np.abs(np.load(out) - ref.pair_scores(frame)).max())
    evidence.json("standalone", {"artifact": str(ref.artifact()), "pairs": len(pairs), "max_abs_diff": diff,
                                 **json.loads(run.stdout.strip().splitlines()[-1])})
    assert diff <= 1e-5, f"{ref.name}: plain CrossEncoder scores differently from the harness (max |diff| {diff:.2e})"


def test_artifact_loads_alone_and_encodes_as_scored(trained_model, store, tmp_path, evidence):
    """In a fresh Python process, ``SentenceTransformer(artifact)`` gives the embeddings the harness scored with
    (max abs difference <= 1e-5 on 24 eval texts); ``CrossEncoder(artifact)`` the pair scores, for a cross-encoder."""
    ref = store.ref(trained_model)
    artifact = ref.artifact()
    if not ref.embeds:
        _cross_encoder_alone(ref, store.frame(EVAL).head(12), tmp_path, evidence)
        return
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
