"""Data-parallel training under torchrun (2 CPU processes, gloo): one artifact, trained once, same cache key as a
single-process run, progress and files from rank 0 only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest

from harness.data.dataset import TRAIN_FILE, load_dataset
from harness.models.cache import artifact_dir, manifest_problems
from harness.models.registry import get_model_spec
from harness.paths import PROJECT_ROOT

pytestmark = pytest.mark.unit

SCRIPT = textwrap.dedent("""
    import sys
    from dataclasses import replace
    from harness.data.dataset import load_dataset
    from harness.models.training import ensure_trained
    from harness.models.registry import get_model_spec
    spec = get_model_spec("lora")
    spec = replace(spec, config=replace(spec.config, epochs=1, warmup_steps=0, eval_steps=100))
    print("ARTIFACT", ensure_trained(spec, load_dataset(sys.argv[1])), flush=True)
""")


def test_two_processes_train_one_artifact_with_the_single_process_key(tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_MODELS_DIR", str(tmp_path / "models"))
    script = tmp_path / "train_tiny.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "HARNESS_MODELS_DIR": str(tmp_path / "models"), "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          str(script), str(tiny_dataset)], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    spec = get_model_spec("lora")
    spec = replace(spec, config=replace(spec.config, epochs=1, warmup_steps=0, eval_steps=100))
    sha = load_dataset(tiny_dataset).sha256[TRAIN_FILE]
    expected = artifact_dir(spec, sha, sha)  # the key a single-process run computes
    folders = [p for p in (tmp_path / "models").iterdir() if not p.name.startswith(".")]
    assert folders == [expected], folders
    assert manifest_problems(expected, verify=True) == []
    info = json.loads((expected / "training_info.json").read_text())
    assert info["world_size"] == 2 and info["per_device_batch_size"] == 8 and info["effective_batch_size"] == 16
    assert run.stdout.count("ARTIFACT") == 2 and run.stdout.count(str(expected)) == 2  # both ranks: the same folder
    assert run.stderr.count("parameters trainable") == 1 and run.stderr.count(": step 1/1") == 1  # rank 0 only
