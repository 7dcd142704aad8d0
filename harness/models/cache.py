"""Content-addressed artifacts (models, adapters, exports) and small caches (embeddings, projections, metrics).

An artifact lives in ``models/<name>-<key>/``; the key hashes the base model's files, the training file's
bytes, the validation split (its rule and the file it is carved from), the training config and the harness
version. It is built in a ``.partial-*`` folder; its last file is ``manifest.json``, listing every other file
with size and sha256; then the folder is renamed into place, under a lock in ``models/.locks/`` that is removed
when the work is done. An artifact is trusted only if its manifest matches: sizes on every use, hashes with
``verify=True`` (``--verify``, ``python -m harness cache verify``). A mismatch is never used: the artifact is
rebuilt, after a one-line warning that names the file and what was wrong.

Cache files (``.npy`` embeddings and projections, ``.json`` metrics) are written whole via a temporary file
and ``os.replace``, with a ``.sha256`` sidecar written last; one that is missing its sidecar, has the wrong
size or does not load is recomputed, with a warning.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import signal
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from filelock import FileLock

from harness import __version__
from harness.data.dataset import TRAIN_FILE, Dataset, file_sha256
from harness.data.splits import split_config
from harness.paths import base_model_path, models_dir
from harness.models import distributed
from harness.models.hardware import effective_precision
from harness.models.registry import ModelSpec

_BASE_FILES = ("config.json", "model.safetensors", "modules.json", "tokenizer.json", "1_Pooling/config.json")
MANIFEST = "manifest.json"


class CacheWarning(UserWarning):
    """A cached file failed its check and is being rebuilt."""


class CacheError(OSError):
    """The cache cannot be written (read-only folder, full disk); the message names the folder and the fix."""


@functools.lru_cache(maxsize=1)
def base_model_digest() -> str:
    base = base_model_path()
    return hashlib.sha256("".join(file_sha256(base / name) for name in _BASE_FILES).encode()).hexdigest()


def artifact_key(spec: ModelSpec, train_sha256: str | None, validation_source_sha256: str | None = None) -> str:
    """16 hex chars over (base model, training bytes, validation split, training config, harness version)."""
    payload = {
        "base": base_model_digest(),
        "train_sha256": train_sha256,
        "validation_split": {**split_config(), "source_sha256": validation_source_sha256 or train_sha256},
        "model": spec.name,
        "kind": spec.kind,
        "config": spec.config.to_dict() if spec.config else None,
        "harness": __version__,
    }
    if spec.config and effective_precision(spec.config.precision, spec.config.quantization) != spec.config.precision:
        # only where the hardware changes it (bf16 -> fp32 on a CPU without native bf16): other keys stay as they were
        payload["effective_precision"] = effective_precision(spec.config.precision, spec.config.quantization)
    if spec.config and spec.config.extra_train:  # only then: the keys of recipes without extra files stay as they were
        from harness.data.natural_train import extra_path

        payload["extra_train_sha256"] = {name: file_sha256(extra_path(name)) for name in spec.config.extra_train}
    for field in ("init_from", "teacher"):  # only then (keys without them stay as they were): the model it starts from
        # or learns from is part of what this one is, on the same training file
        name = getattr(spec.config, field, None) if spec.config else None
        if name:
            from harness.models.registry import get_model_spec

            payload[f"{field}_key"] = artifact_key(get_model_spec(name), train_sha256, validation_source_sha256)
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def artifact_dir(spec: ModelSpec, train_sha256: str | None, validation_source_sha256: str | None = None) -> Path:
    return models_dir() / f"{spec.name}-{artifact_key(spec, train_sha256, validation_source_sha256)}"


def model_key(spec: ModelSpec, dataset: Dataset, train_file: Path | None = None) -> str:
    """The cache identity of a model's outputs (embeddings, projections, metrics): its artifact folder name, or
    the base model's digest for the untrained baseline."""
    if not spec.trains:
        return f"baseline-{base_model_digest()[:16]}"
    train_sha = file_sha256(train_file) if train_file else dataset.sha256[TRAIN_FILE]
    return artifact_dir(spec, train_sha, dataset.sha256[TRAIN_FILE]).name


# --- manifests ----------------------------------------------------------------------------------------------

def write_manifest(folder: Path, extra: dict | None = None) -> dict:
    """List every file under ``folder`` (but the manifest) with size and sha256; written last."""
    files = {str(p.relative_to(folder)): {"size": p.stat().st_size, "sha256": file_sha256(p)}
             for p in sorted(folder.rglob("*")) if p.is_file() and p.name != MANIFEST}
    manifest = {"harness": __version__, "files": files, **(extra or {})}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest


def manifest_problems(folder: Path, verify: bool = False) -> list[str]:
    """What is wrong with an artifact folder, or [] when its manifest matches (sizes; hashes with ``verify``)."""
    path = folder / MANIFEST
    if not path.is_file():
        return [f"{path}: no manifest (an incomplete or pre-manifest artifact)"]
    try:
        manifest = json.loads(path.read_text())
        files = manifest["files"]
    except (ValueError, KeyError) as err:
        return [f"{path}: unreadable manifest ({err})"]
    problems = []
    for name, meta in files.items():
        file = folder / name
        if not file.is_file():
            problems.append(f"{file}: missing")
        elif file.stat().st_size != meta["size"]:
            problems.append(f"{file}: {file.stat().st_size} bytes, manifest says {meta['size']}")
        elif verify and file_sha256(file) != meta["sha256"]:
            problems.append(f"{file}: sha256 differs from the manifest")
    return problems


def _verify_on_first_use(folder: Path) -> bool:
    """Hash-check an artifact the first time this harness version uses it (a marker file records that)."""
    return not (folder / f".verified-{__version__}").exists()


def verify_requested() -> bool:
    """``--verify`` (pytest) or ``HARNESS_VERIFY=1``: hash every artifact file on use, not just check sizes."""
    return os.environ.get("HARNESS_VERIFY", "") not in ("", "0")


def is_complete(folder: Path, verify: bool = False) -> bool:
    """True only for an artifact whose manifest matches; a damaged one gets a one-line warning."""
    if not folder.is_dir():
        return False
    deep = verify or verify_requested() or _verify_on_first_use(folder)
    problems = manifest_problems(folder, verify=deep)
    if problems:
        warnings.warn(f"ignoring damaged artifact {folder.name}: {problems[0]}"
                      + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else "") + "; it will be rebuilt",
                      CacheWarning, stacklevel=2)
        return False
    if deep:
        with contextlib.suppress(OSError):  # a read-only models/ still works, it just hashes again next time
            (folder / f".verified-{__version__}").touch()
    return True


def fault_point(name: str) -> None:
    """Fault injection for the harness's own tests: ``HARNESS_FAULT_AT=<name>`` kills this process (SIGKILL, no
    cleanup) at that point of a build or cache write. Unset in normal use."""
    if os.environ.get("HARNESS_FAULT_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def mark_used(folder: Path) -> None:
    with contextlib.suppress(OSError):
        (folder / ".last-used").touch()


@contextlib.contextmanager
def artifact_lock(name: str) -> Iterator[None]:
    """One lock file per artifact in ``models/.locks/``, removed when the work is done."""
    folder = models_dir() / ".locks"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.lock"
    with FileLock(str(path)):
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                path.unlink()


def build_artifact(final: Path, build: Callable[[Path], object], verify: bool = False) -> Path:
    """``final`` if complete, else ``build(partial)`` into a fresh ``.partial-*`` folder, manifest, rename.

    Under the artifact's lock, so concurrent callers build once. Whatever ``build`` leaves on failure is removed;
    a damaged ``final`` is replaced. Under ``torchrun`` every process runs ``build`` (the training steps are
    collective) but only rank 0 holds the lock, writes, renames and cleans up; the others wait at a barrier."""
    if is_complete(final, verify):
        mark_used(final)
        return final
    if not distributed.is_main():
        import tempfile

        with tempfile.TemporaryDirectory(prefix="harness-rank-") as scratch:
            build(Path(scratch))
        distributed.barrier()
        return final
    try:
        return _build_as_main(final, build, verify)
    finally:
        distributed.barrier()


def _build_as_main(final: Path, build: Callable[[Path], object], verify: bool) -> Path:
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        lock = artifact_lock(final.name)
        lock.__enter__()
    except OSError as err:
        raise CacheError(f"cannot build {final.name}: {final.parent} is not writable ({err.strerror or err}); "
                         f"make it writable or point HARNESS_MODELS_DIR at a writable folder") from None
    try:
        if is_complete(final, verify):  # another process finished it while we waited
            return final
        for stale in final.parent.glob(f".partial-{final.name}-*"):  # a killed builder's; we hold the lock now
            shutil.rmtree(stale, ignore_errors=True)
        partial = final.parent / f".partial-{final.name}-{os.getpid()}"
        try:
            partial.mkdir(parents=True)
            build(partial)
            fault_point("built")
            write_manifest(partial)
            fault_point("manifest-written")
            if final.exists():  # a damaged or incomplete leftover: never trusted, replaced
                shutil.rmtree(final)
            os.replace(partial, final)
        except OSError as err:
            raise CacheError(f"building {final.name} in {final.parent} failed: {err.strerror or err}"
                             + (" (disk full?)" if getattr(err, "errno", None) == 28 else "")
                             + "; nothing was kept, the next run starts again") from err
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    finally:
        lock.__exit__(None, None, None)
    return final


# --- small caches -------------------------------------------------------------------------------------------

def texts_digest(texts: list[str]) -> str:
    return hashlib.sha256("\x1f".join(texts).encode("utf-8")).hexdigest()[:16]


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _write_cached(path: Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(payload)
        fault_point("cache-tmp-written")
        os.replace(tmp, path)
        fault_point("cache-replaced")
        side_tmp = tmp.with_name(tmp.name + ".sha256")
        side_tmp.write_text(json.dumps({"size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}))
        os.replace(side_tmp, _sidecar(path))  # last: marks the file complete
    except OSError as err:
        for leftover in (tmp, tmp.with_name(tmp.name + ".sha256")):
            leftover.unlink(missing_ok=True)
        warnings.warn(f"could not write cache file {path}: {err}; going on without caching it", CacheWarning, stacklevel=3)


def _read_cached(path: Path, verify: bool = False) -> bytes | None:
    """The cached bytes, or None (with a warning if the file exists but fails its check)."""
    verify = verify or verify_requested()
    if not path.is_file():
        return None
    problem = None
    try:
        meta = json.loads(_sidecar(path).read_text())
        payload = path.read_bytes()
        if len(payload) != meta["size"]:
            problem = f"{len(payload)} bytes, expected {meta['size']}"
        elif verify and hashlib.sha256(payload).hexdigest() != meta["sha256"]:
            problem = "sha256 mismatch"
    except (OSError, ValueError, KeyError) as err:
        problem = f"no valid {_sidecar(path).name} ({err.__class__.__name__})"
    if problem:
        warnings.warn(f"recomputing damaged cache file {path}: {problem}", CacheWarning, stacklevel=3)
        return None
    return payload


def cache_dir(kind: str) -> Path:
    return models_dir() / kind


def cached_array(kind: str, key: str, compute: Callable[[], np.ndarray], rows: int | None = None) -> np.ndarray:
    """An array from ``models/<kind>/<key>.npy``, computed once; damaged or mis-shaped files are recomputed."""
    import io

    path = cache_dir(kind) / f"{key}.npy"
    payload = _read_cached(path)
    if payload is not None:
        try:
            array = np.load(io.BytesIO(payload), allow_pickle=False)
            if rows is None or array.shape[0] == rows:
                return array
            warnings.warn(f"recomputing cache file {path}: {array.shape[0]} rows, expected {rows}", CacheWarning)
        except ValueError as err:
            warnings.warn(f"recomputing unreadable cache file {path}: {err}", CacheWarning)
    array = np.asarray(compute())
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    _write_cached(path, buffer.getvalue())
    return array


def cached_embeddings(model_key: str, texts: list[str], encode) -> np.ndarray:
    """Embeddings of ``texts`` from ``models/embeddings/<model_key>-<texts>.npy``, computed once by ``encode``."""
    return cached_array("embeddings", f"{model_key}-{texts_digest(texts)}",
                        lambda: np.asarray(encode(texts), dtype=np.float32), rows=len(texts))


def cached_json(kind: str, key: str, compute: Callable[[], dict]) -> dict:
    """A JSON-able dict from ``models/<kind>/<key>.json``, computed once (metrics, bootstrap intervals)."""
    path = cache_dir(kind) / f"{key}.json"
    payload = _read_cached(path)
    if payload is not None:
        try:
            return json.loads(payload)
        except ValueError as err:
            warnings.warn(f"recomputing unreadable cache file {path}: {err}", CacheWarning)
    value = compute()
    _write_cached(path, json.dumps(value).encode())
    return json.loads(json.dumps(value))  # the same types a warm run reads back


def unique_texts(*frames: pd.DataFrame) -> list[str]:
    """Every distinct text of the frames, in first-seen order (encode each once)."""
    return list(dict.fromkeys(t for f in frames for col in ("text_1", "text_2") for t in f[col]))
