"""``python -m harness cache {list,verify,prune}``: what the artifact cache holds, whether it is intact, what is stale.

An artifact is stale when its manifest names another harness version, or the training file it was trained on
is gone or has changed (its sha256 differs). Left-over ``.partial-*`` folders (a killed build) and cache files
without their ``.sha256`` sidecar are stale too. ``prune`` is a dry run unless ``--yes`` is given.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from harness import __version__
from harness.data.dataset import file_sha256
from harness.models.cache import MANIFEST, _read_cached, manifest_problems
from harness.paths import models_dir

CACHE_KINDS = ("embeddings", "projections", "metrics")


@dataclass
class Entry:
    path: Path
    kind: str  # "model" | "export" | "partial" | a cache kind
    size: int
    age_days: float
    last_used_days: float | None
    data_sha256: str | None
    stale: str | None  # why, or None


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


def _days(seconds: float) -> float:
    return (time.time() - seconds) / 86400


def _alive(pid: str) -> bool:
    import os

    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def _artifact(path: Path) -> Entry:
    info_path = path / "training_info.json"
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    manifest = json.loads((path / MANIFEST).read_text()) if (path / MANIFEST).is_file() else {}
    stale = None
    if not manifest:
        stale = "no manifest"
    elif manifest.get("harness") != __version__:
        stale = f"made by harness {manifest.get('harness')} (now {__version__})"
    elif info.get("train_file"):
        train = Path(info["train_file"])
        if not train.is_file():
            stale = f"training file {train} is gone"
        elif file_sha256(train) != info.get("data_sha256", {}).get("train"):
            stale = f"training file {train} changed since"
    used = path / ".last-used"
    return Entry(path, "export" if "@" in path.name else "model", _size(path), _days(path.stat().st_mtime),
                 _days(used.stat().st_mtime) if used.exists() else None, info.get("data_sha256", {}).get("train"), stale)


def entries() -> list[Entry]:
    root = models_dir()
    out = []
    if not root.is_dir():
        return out
    for path in sorted(root.iterdir()):
        if path.name.startswith(".partial-"):
            if not _alive(path.name.rsplit("-", 1)[-1]):  # a live build's partial is not stale
                out.append(Entry(path, "partial", _size(path), _days(path.stat().st_mtime), None, None, "left by a killed build"))
        elif path.is_dir() and not path.name.startswith(".") and path.name not in CACHE_KINDS:
            out.append(_artifact(path))
    for kind in CACHE_KINDS:
        for path in sorted((root / kind).glob("*")) if (root / kind).is_dir() else ():
            if path.name.endswith(".sha256"):
                continue
            stale = None if path.with_name(path.name + ".sha256").is_file() else "no .sha256 sidecar"
            if path.name.startswith("."):
                stale = "temporary file of a killed write"
            out.append(Entry(path, kind, path.stat().st_size, _days(path.stat().st_mtime), None, None, stale))
    return out


def verify() -> list[str]:
    """Every problem found by hashing every artifact and cache file, each naming the file."""
    problems = []
    for entry in entries():
        if entry.kind in ("model", "export"):
            problems += manifest_problems(entry.path, verify=True)
        elif entry.kind in CACHE_KINDS:
            import warnings

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                if _read_cached(entry.path, verify=True) is None:
                    problems.append(f"{entry.path}: " + (str(caught[-1].message).split(": ", 1)[-1] if caught else "unreadable"))
        elif entry.stale:
            problems.append(f"{entry.path}: {entry.stale}")
    return problems


def prune(yes: bool = False) -> list[Entry]:
    stale = [e for e in entries() if e.stale]
    if yes:
        for entry in stale:
            if entry.path.is_dir():
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                entry.path.unlink(missing_ok=True)
                entry.path.with_name(entry.path.name + ".sha256").unlink(missing_ok=True)
    return stale


def table(rows: list[Entry]) -> str:
    lines = [f"{'artifact':<44} {'kind':<11} {'size':>9} {'age':>7} {'used':>7} {'data sha':<12} status"]
    for e in rows:
        used = f"{e.last_used_days:.1f}d" if e.last_used_days is not None else "-"
        lines.append(f"{e.path.name[:44]:<44} {e.kind:<11} {e.size / 1e6:>7.1f}MB {e.age_days:>6.1f}d {used:>7} "
                     f"{(e.data_sha256 or '-')[:12]:<12} {'stale: ' + e.stale if e.stale else 'ok'}")
    return "\n".join(lines)
