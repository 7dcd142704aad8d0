import json

import pytest

from harness.models import training
from harness.models.cache import artifact_dir, cached_embeddings
from harness.models.training import ensure_trained
from harness.data.dataset import TRAIN_FILE, load_dataset
from harness.paths import DEFAULT_DATASET
from harness.models.registry import get_model_spec

pytestmark = pytest.mark.unit


@pytest.fixture
def isolated_models(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_MODELS_DIR", str(tmp_path / "models"))
    return tmp_path / "models"


def test_killed_training_leaves_nothing_trusted_and_reuse_trains_once(isolated_models, monkeypatch):
    dataset = load_dataset(DEFAULT_DATASET)
    spec = get_model_spec("standard")
    calls = []

    def crashing(spec, train, eval_, out, sha, **kwargs):
        out.mkdir(parents=True, exist_ok=True)
        (out / "model.safetensors").write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "train", crashing)
    with pytest.raises(KeyboardInterrupt):
        ensure_trained(spec, dataset)
    final = artifact_dir(spec, dataset.sha256[TRAIN_FILE])
    assert not final.exists()
    assert not [p for p in isolated_models.iterdir() if p.name.startswith(".partial")]

    def fake(spec, train, eval_, out, sha, **kwargs):
        calls.append(1)
        out.mkdir(parents=True, exist_ok=True)
        (out / "training_info.json").write_text(json.dumps({"ok": True}))

    monkeypatch.setattr(training, "train", fake)
    assert ensure_trained(spec, dataset) == final
    assert ensure_trained(spec, dataset) == final
    assert len(calls) == 1


def test_key_changes_with_config_and_data(isolated_models):
    standard, lora = get_model_spec("standard"), get_model_spec("lora")
    assert artifact_dir(standard, "a") != artifact_dir(standard, "b")
    assert artifact_dir(standard, "a").name.split("-")[1] != artifact_dir(lora, "a").name.split("-")[1]


def test_embeddings_computed_once(isolated_models):
    calls = []

    def encode(texts):
        calls.append(len(texts))
        return [[float(len(t)), 1.0] for t in texts]

    first = cached_embeddings("k", ["a", "bb"], encode)
    second = cached_embeddings("k", ["a", "bb"], encode)
    assert (first == second).all() and calls == [2]
    cached_embeddings("k", ["a", "ccc"], encode)
    assert calls == [2, 2]
