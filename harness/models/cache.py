"""Content-addressed model artifacts and embedding caches.

An artifact lives in ``models/<name>-<key>/``; the key hashes the base model's files, the training
file's bytes, the training config and the harness version. It is trained into a ``.partial-*``
folder and renamed into place only when complete, under a file lock, so a killed run leaves nothing
a later run would trust, and parallel (xdist) workers train once. Embeddings are cached beside the
artifacts by the model key plus a hash of the texts.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from filelock import FileLock

from harness import __version__
from harness.data.dataset import Dataset, TRAIN_FILE, file_sha256, read_pairs
from harness.paths import base_model_path, models_dir
from harness.models.registry import ModelSpec

_BASE_FILES = ("config.json", "model.safetensors", "modules.json", "tokenizer.json", "1_Pooling/config.json")


@functools.lru_cache(maxsize=1)
def base_model_digest() -> str:
    base = base_model_path()
    return hashlib.sha256("".join(file_sha256(base / name) for name in _BASE_FILES).encode()).hexdigest()


def artifact_key(spec: ModelSpec, train_sha256: str | None) -> str:
    """16 hex chars over (base model, training bytes, training config, harness version)."""
    payload = {
        "base": base_model_digest(),
        "train_sha256": train_sha256,
        "model": spec.name,
        "kind": spec.kind,
        "config": spec.config.to_dict() if spec.config else None,
        "harness": __version__,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def artifact_dir(spec: ModelSpec, train_sha256: str | None) -> Path:
    return models_dir() / f"{spec.name}-{artifact_key(spec, train_sha256)}"


def model_key(spec: ModelSpec, dataset: Dataset, train_file: Path | None = None) -> str:
    """The cache identity of a model's outputs (embeddings, projections): its artifact folder name, or the
    base model's digest for the untrained baseline."""
    if not spec.trains:
        return f"baseline-{base_model_digest()[:16]}"
    return artifact_dir(spec, file_sha256(train_file) if train_file else dataset.sha256[TRAIN_FILE]).name


def is_complete(path: Path) -> bool:
    return (path / "training_info.json").is_file()


def ensure_trained(spec: ModelSpec, dataset: Dataset, train_file: str | Path | None = None, progress: bool = True) -> Path:
    """Return the artifact folder for ``spec`` on ``dataset`` (or ``train_file``), training only if absent."""
    from harness.models.training import train

    if not spec.trains:
        raise ValueError(f"{spec.name} is not trained; it is the pre-trained base model")
    train_path = Path(train_file).resolve() if train_file else dataset.root / TRAIN_FILE
    train_sha = file_sha256(train_path)
    final = artifact_dir(spec, train_sha)
    if is_complete(final):
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(final) + ".lock"):
        if is_complete(final):  # another worker finished it while we waited
            return final
        frame = read_pairs(train_path) if train_file else dataset.train
        partial = final.parent / f".partial-{final.name}-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        try:
            train(spec, frame, dataset.eval, partial, {"train": train_sha, **{k: v for k, v in dataset.sha256.items()}},
                  progress=progress, data_name=f"{dataset.name}/{train_path.name}")
            if final.exists():  # an incomplete leftover from a killed run: never trusted, replaced
                shutil.rmtree(final)
            os.replace(partial, final)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    return final


def texts_digest(texts: list[str]) -> str:
    return hashlib.sha256("\x1f".join(texts).encode("utf-8")).hexdigest()[:16]


def cached_embeddings(model_key: str, texts: list[str], encode) -> np.ndarray:
    """Embeddings of ``texts`` from ``models/embeddings/<model_key>-<texts>.npy``, computed once by ``encode``."""
    folder = models_dir() / "embeddings"
    path = folder / f"{model_key}-{texts_digest(texts)}.npy"
    if path.is_file():
        return np.load(path)
    folder.mkdir(parents=True, exist_ok=True)
    vectors = np.asarray(encode(texts), dtype=np.float32)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, vectors)
    os.replace(tmp, path)
    return vectors


def unique_texts(*frames: pd.DataFrame) -> list[str]:
    """Every distinct text of the frames, in first-seen order (encode each once)."""
    return list(dict.fromkeys(t for f in frames for col in ("text_1", "text_2") for t in f[col]))
