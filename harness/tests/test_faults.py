"""Fault injection on the artifact and cache machinery: kills, damaged files, read-only folders, races, full disks.

Training is replaced by a fake that writes a model-shaped folder in milliseconds (the faults are about what
the cache trusts, not about training); the real one-step training path is covered by test_training.py.
Each test asserts the end state: nothing half-written is ever used, and every message names what and where.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from harness.data.dataset import load_dataset
from harness.models import cache, training
from harness.models.cache import CacheError, CacheWarning, cached_embeddings
from harness.models.training import ensure_trained
from harness.models.registry import get_model_spec
from harness.paths import DEFAULT_DATASET, PROJECT_ROOT

pytestmark = pytest.mark.unit

FILES = {"standard": "model.safetensors", "lora": "adapter_model.safetensors"}

FAKE_TRAIN = '''
def fake_train(spec, frame, validation, out, sha, **kwargs):
    import json, os, time
    from pathlib import Path
    out = Path(out)
    name = "adapter_model.safetensors" if spec.kind == "lora" else "model.safetensors"
    (out / name).write_bytes(os.urandom(4096))
    (out / "config.json").write_text("{}")
    counter = os.environ.get("FAKE_TRAIN_COUNTER")
    if counter:
        with open(counter, "a") as handle:
            handle.write("trained\\n")
        time.sleep(float(os.environ.get("FAKE_TRAIN_SLEEP", "0")))
    info = {"model": spec.name, "steps": 1, "data_sha256": sha}
    (out / "training_info.json").write_text(json.dumps(info))
    return info
'''
namespace: dict = {}
exec(FAKE_TRAIN, namespace)
fake_train = namespace["fake_train"]


@pytest.fixture
def models(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setattr(training, "train", fake_train)
    return tmp_path / "models"


@pytest.fixture(scope="module")
def dataset():
    return load_dataset(DEFAULT_DATASET)


def _run_child(code: str, env: dict) -> subprocess.CompletedProcess:
    script = FAKE_TRAIN + textwrap.dedent(f"""
        from harness.models import training
        training.train = fake_train
        from harness.data.dataset import load_dataset
        from harness.models.training import ensure_trained
        from harness.models.registry import get_model_spec
        from harness.paths import DEFAULT_DATASET
        {code}
    """)
    return subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("point", ["built", "manifest-written"])
def test_kill_9_during_a_build_leaves_nothing_trusted(models, dataset, point):
    child = _run_child("print(ensure_trained(get_model_spec('standard'), load_dataset(DEFAULT_DATASET)))",
                       {"HARNESS_MODELS_DIR": str(models), "HARNESS_FAULT_AT": point})
    assert child.returncode == -9, child.stderr[-2000:]
    final = cache.artifact_dir(get_model_spec("standard"), dataset.sha256["dating_pairs.jsonl"], dataset.sha256["dating_pairs.jsonl"])
    assert not final.exists() and list(models.glob(".partial-*")), "the killed build left its partial folder"
    rebuilt = ensure_trained(get_model_spec("standard"), dataset)  # the re-run
    assert rebuilt == final and cache.manifest_problems(final, verify=True) == []
    assert not list(models.glob(".partial-*")), "the stale partial of the killed build was not cleaned"
    assert not list((models / ".locks").glob("*.lock")), "lock files stay behind"


@pytest.mark.parametrize("model", ["standard", "lora"])
@pytest.mark.parametrize("damage", ["delete", "truncate", "swap"])
def test_damaged_artifact_file_is_rebuilt_with_a_warning(models, dataset, model, damage):
    spec = get_model_spec(model)
    first = ensure_trained(spec, dataset)
    target = first / FILES[model]
    if damage == "delete":
        target.unlink()
    elif damage == "truncate":
        target.write_bytes(target.read_bytes()[:100])
    else:  # same size, other bytes: only the hash can tell
        target.write_bytes(os.urandom(target.stat().st_size))
        os.environ["HARNESS_VERIFY"] = "1"
    try:
        with pytest.warns(CacheWarning, match=rf"damaged artifact {first.name}: .*{FILES[model]}"):
            again = ensure_trained(spec, dataset)
    finally:
        os.environ.pop("HARNESS_VERIFY", None)
    assert again == first and cache.manifest_problems(again, verify=True) == []


def test_cache_verify_names_the_damaged_artifact(models, dataset):
    from harness.models import cache_admin

    artifact = ensure_trained(get_model_spec("standard"), dataset)
    (artifact / "config.json").write_text('{"x": 1}')
    problems = cache_admin.verify()
    assert any(str(artifact / "config.json") in p for p in problems), problems


def test_read_only_models_folder(models, dataset, monkeypatch):
    """A complete artifact is used from a read-only cache; building one fails with a message naming the folder."""
    ready = ensure_trained(get_model_spec("standard"), dataset)

    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(cache, "artifact_lock", refuse)
    monkeypatch.setattr(cache, "mark_used", lambda folder: None)
    assert ensure_trained(get_model_spec("standard"), dataset) == ready
    with pytest.raises(CacheError, match=rf"{models}.*not writable.*HARNESS_MODELS_DIR"):
        ensure_trained(get_model_spec("lora"), dataset)


def test_full_disk_during_a_build_keeps_nothing(models, dataset, monkeypatch):
    def full(spec, frame, validation, out, sha, **kwargs):
        (Path(out) / "model.safetensors").write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(training, "train", full)
    with pytest.raises(CacheError, match=r"No space left on device \(disk full\?\).*nothing was kept"):
        ensure_trained(get_model_spec("standard"), dataset)
    assert [p.name for p in models.iterdir() if not p.name.startswith(".locks")] == []


def test_full_disk_on_a_cache_write_warns_and_still_answers(models, monkeypatch):
    real = Path.write_bytes

    def full(self, data):
        if self.name.endswith(".tmp"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.warns(CacheWarning, match="could not write cache file"):
        vectors = cached_embeddings("m", ["a", "b"], lambda texts: np.ones((len(texts), 3)))
    assert vectors.shape == (2, 3) and not [p for p in (models / "embeddings").iterdir()]


@pytest.mark.parametrize("damage", ["truncate", "delete-sidecar", "garbage"])
def test_damaged_embedding_cache_is_recomputed(models, damage):
    calls = []

    def encode(texts):
        calls.append(1)
        return np.arange(len(texts) * 4, dtype=np.float32).reshape(len(texts), 4)

    first = cached_embeddings("m", ["x", "y", "z"], encode)
    path = next((models / "embeddings").glob("*.npy"))
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:40])
    elif damage == "delete-sidecar":
        path.with_name(path.name + ".sha256").unlink()
    else:
        os.environ["HARNESS_VERIFY"] = "1"
        path.write_bytes(os.urandom(path.stat().st_size))
    try:
        with pytest.warns(CacheWarning, match=rf"recomputing damaged cache file {path}"):
            again = cached_embeddings("m", ["x", "y", "z"], encode)
    finally:
        os.environ.pop("HARNESS_VERIFY", None)
    assert len(calls) == 2 and np.array_equal(first, again)


def test_kill_9_during_a_cache_write_is_never_read(models):
    child = _run_child("""
        import numpy as np
        from harness.models.cache import cached_embeddings
        cached_embeddings("m", ["a"], lambda t: np.ones((1, 2)))
    """, {"HARNESS_MODELS_DIR": str(models), "HARNESS_FAULT_AT": "cache-replaced"})
    assert child.returncode == -9
    with pytest.warns(CacheWarning, match="no valid"):
        assert cached_embeddings("m", ["a"], lambda t: np.full((1, 2), 7.0))[0, 0] == 7.0


def test_two_processes_training_the_same_key_train_once(models, dataset, tmp_path):
    counter = tmp_path / "count"
    env = {"HARNESS_MODELS_DIR": str(models), "FAKE_TRAIN_COUNTER": str(counter), "FAKE_TRAIN_SLEEP": "2"}
    code = "print(ensure_trained(get_model_spec('standard'), load_dataset(DEFAULT_DATASET)))"
    script = FAKE_TRAIN + textwrap.dedent(f"""
        from harness.models import training
        training.train = fake_train
        from harness.data.dataset import load_dataset
        from harness.models.training import ensure_trained
        from harness.models.registry import get_model_spec
        from harness.paths import DEFAULT_DATASET
        {code}
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script], cwd=PROJECT_ROOT, env={**os.environ, **env},
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outputs[0] == outputs[1] and counter.read_text().count("trained") == 1
    assert not list((models / ".locks").glob("*.lock"))
