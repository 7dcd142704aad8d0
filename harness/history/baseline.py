"""Accepted baselines: ``baselines/<dataset name>.json`` (committed), one entry per gated model.

An entry holds what was accepted and why: the model's cache key, the reason line, when and at which commit, the
dataset digest and, per scored set, the rows' digest, n, Spearman / AUC / ranking metric and the per-pair scores
(float16, little-endian, base64: ~2.7 characters a pair, ~5 KB per model on the reference data). The regression rows
(``checks/model/test_regression.py``) compare a model's current scores with these on the same pairs; nothing in the
file changes until someone runs ``python -m harness accept``.

The file is validated on every read: every problem is listed with the file and the field
(``baselines/reference.json: models.standard.sets.eval.scores.data: 588 bytes, expected 590 (2 x n=295)``), as
:class:`BaselineError`; a wrong file is never half-used.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from harness.paths import PROJECT_ROOT

FORMAT, VERSION = "harness-baseline", 1
ENCODING = "f16le-base64"
ENCODINGS = {ENCODING: ("<f2", "float16")}
_HEX16 = re.compile(r"^[0-9a-f]{16}$")
_MODEL_FIELDS = {"model_key": str, "reason": str, "accepted_at": str, "git_commit": (str, type(None)),
                 "git_dirty": (bool, type(None)), "dataset_digest": str, "harness_version": str, "sets": dict}
_SET_FIELDS = {"rows_digest": str, "n": int, "metrics": dict, "scores": dict}


class BaselineError(ValueError):
    """A baseline file that does not match the schema; lists every problem as ``file: field: problem``."""

    def __init__(self, path: Path, problems: list[tuple[str, str]]):
        self.path, self.problems = Path(path), problems
        listed = "\n".join(f"  {path}: {where}: {what}" if where else f"  {path}: {what}" for where, what in problems[:25])
        more = f"\n  ... and {len(problems) - 25} more" if len(problems) > 25 else ""
        super().__init__(f"{len(problems)} problem(s) in baseline file {path}:\n{listed}{more}")


@dataclass(frozen=True)
class AcceptedSet:
    scored_set: str
    rows_digest: str
    n: int
    metrics: dict[str, float | None]
    scores: np.ndarray
    precision: str = "float16"


@dataclass(frozen=True)
class AcceptedModel:
    model: str
    model_key: str
    reason: str
    accepted_at: str
    git_commit: str | None
    git_dirty: bool | None
    dataset_digest: str
    harness_version: str
    sets: dict[str, AcceptedSet] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"model_key": self.model_key, "reason": self.reason, "accepted_at": self.accepted_at,
                "git_commit": self.git_commit, "git_dirty": self.git_dirty, "dataset_digest": self.dataset_digest,
                "harness_version": self.harness_version,
                "sets": {name: {"rows_digest": s.rows_digest, "n": s.n,
                                "metrics": {k: None if v is None else round(float(v), 6) for k, v in s.metrics.items()},
                                "scores": encode_scores(s.scores)} for name, s in self.sets.items()}}


def baselines_dir() -> Path:
    """``HARNESS_BASELINES_DIR`` if set (tests), else the project's ``baselines/``."""
    return Path(os.environ.get("HARNESS_BASELINES_DIR") or PROJECT_ROOT / "baselines").resolve()


def baseline_path(dataset) -> Path:
    """``baselines/<dataset name>.json`` for a Dataset, or for a dataset name."""
    name = dataset if isinstance(dataset, str) else dataset.name
    return baselines_dir() / f"{name}.json"


def encode_scores(scores: np.ndarray) -> dict:
    return {"encoding": ENCODING, "data": base64.b64encode(np.asarray(scores, dtype="<f2").tobytes()).decode("ascii")}


# --- validation ---------------------------------------------------------------------------------------------

def _type_name(expected) -> str:
    types = expected if isinstance(expected, tuple) else (expected,)
    names = {str: "a string", int: "an integer", bool: "true/false", dict: "an object", type(None): "null",
             float: "a number", list: "a list"}
    return " or ".join(names.get(t, t.__name__) for t in types)


def _check_fields(obj: dict, where: str, fields: dict, problems: list) -> bool:
    ok = True
    for name, expected in fields.items():
        if name not in obj:
            problems.append((f"{where}.{name}", "missing (required)"))
            ok = False
        elif not isinstance(obj[name], expected) or (expected is int and isinstance(obj[name], bool)):
            problems.append((f"{where}.{name}", f"{json.dumps(obj[name])[:40]} is not {_type_name(expected)}"))
            ok = False
    for name in obj:
        if name not in fields:
            problems.append((f"{where}.{name}", f"unknown field (allowed: {', '.join(fields)})"))
            ok = False
    return ok


def _decode(scores: dict, n: int, where: str, problems: list) -> tuple[np.ndarray, str] | None:
    if set(scores) != {"encoding", "data"}:
        problems.append((where, f"must have exactly 'encoding' and 'data', has {sorted(scores)}"))
        return None
    if scores["encoding"] not in ENCODINGS:
        problems.append((f"{where}.encoding", f"{scores['encoding']!r} is not one of {', '.join(ENCODINGS)}"))
        return None
    dtype, precision = ENCODINGS[scores["encoding"]]
    if not isinstance(scores["data"], str):
        problems.append((f"{where}.data", "is not a base64 string"))
        return None
    try:
        raw = base64.b64decode(scores["data"].encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as err:
        problems.append((f"{where}.data", f"not valid base64 ({err})"))
        return None
    width = np.dtype(dtype).itemsize
    if len(raw) != width * n:
        problems.append((f"{where}.data", f"{len(raw)} bytes, expected {width * n} ({width} x n={n})"))
        return None
    values = np.frombuffer(raw, dtype=dtype).astype(np.float64)
    if not np.isfinite(values).all():
        problems.append((f"{where}.data", f"{int((~np.isfinite(values)).sum())} scores are not finite"))
        return None
    return values, precision


def parse(payload, path: Path) -> dict[str, AcceptedModel]:
    """The entries of a baseline file's JSON, or BaselineError listing every problem."""
    problems: list[tuple[str, str]] = []
    if not isinstance(payload, dict):
        raise BaselineError(path, [("", f"the file must hold a JSON object, it holds {type(payload).__name__}")])
    if payload.get("format") != FORMAT:
        problems.append(("format", f"{json.dumps(payload.get('format'))} is not {FORMAT!r}: not a harness baseline file"))
    version = payload.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        problems.append(("version", f"{json.dumps(version)} is not an integer"))
    elif version > VERSION:
        problems.append(("version", f"{version}: written by a newer harness (this one reads version {VERSION})"))
    if payload.get("dataset") != path.stem:
        problems.append(("dataset", f"{json.dumps(payload.get('dataset'))} does not match the file name ({path.stem!r})"))
    unknown = sorted(set(payload) - {"format", "version", "dataset", "models"})
    if unknown:
        problems.append((unknown[0], f"unknown field (allowed: format, version, dataset, models)"))
    models = payload.get("models")
    if not isinstance(models, dict):
        problems.append(("models", "missing or not an object"))
        raise BaselineError(path, problems)
    out = {}
    for model, entry in models.items():
        where = f"models.{model}"
        if not isinstance(entry, dict):
            problems.append((where, "is not an object"))
            continue
        if not _check_fields(entry, where, _MODEL_FIELDS, problems):
            continue
        for name in ("model_key", "reason"):
            if not entry[name].strip():
                problems.append((f"{where}.{name}", "is empty"))
        try:
            datetime.fromisoformat(entry["accepted_at"].replace("Z", "+00:00"))
        except ValueError:
            problems.append((f"{where}.accepted_at", f"{entry['accepted_at']!r} is not an ISO 8601 time"))
        if not entry["sets"]:
            problems.append((f"{where}.sets", "is empty: an accepted model has at least one scored set"))
        sets = {}
        for set_name, accepted in entry["sets"].items():
            at = f"{where}.sets.{set_name}"
            if not isinstance(accepted, dict):
                problems.append((at, "is not an object"))
                continue
            if not _check_fields(accepted, at, _SET_FIELDS, problems):
                continue
            if not _HEX16.match(accepted["rows_digest"]):
                problems.append((f"{at}.rows_digest", f"{accepted['rows_digest']!r} is not 16 lowercase hex characters"))
            if accepted["n"] <= 0:
                problems.append((f"{at}.n", f"{accepted['n']} is not a positive count"))
                continue
            bad = [k for k, v in accepted["metrics"].items()
                   if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v))]
            for k in bad:
                problems.append((f"{at}.metrics.{k}", f"{json.dumps(accepted['metrics'][k])[:40]} is not a finite number or null"))
            decoded = _decode(accepted["scores"], accepted["n"], f"{at}.scores", problems)
            if decoded is not None and not bad:
                sets[set_name] = AcceptedSet(set_name, accepted["rows_digest"], accepted["n"],
                                             dict(accepted["metrics"]), decoded[0], decoded[1])
        out[model] = AcceptedModel(model, entry["model_key"], entry["reason"], entry["accepted_at"], entry["git_commit"],
                                   entry["git_dirty"], entry["dataset_digest"], entry["harness_version"], sets)
    if problems:
        raise BaselineError(path, problems)
    return out


def load_file(path: Path) -> dict[str, AcceptedModel]:
    """Entries of one baseline file ({} if it does not exist); BaselineError for anything wrong in it."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        payload = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise BaselineError(path, [("", f"not UTF-8 text ({err.reason} at byte {err.start})")]) from None
    except json.JSONDecodeError as err:
        raise BaselineError(path, [(f"line {err.lineno} column {err.colno}", f"not valid JSON: {err.msg}")]) from None
    return parse(payload, path)


def load_accepted(dataset) -> dict[str, AcceptedModel]:
    """The accepted entries for ``dataset`` (a Dataset or a name): ``baselines/<name>.json``."""
    return load_file(baseline_path(dataset))


def write_file(path: Path, entries: dict[str, AcceptedModel]) -> Path:
    from harness.data.dataset import write_atomic

    payload = {"format": FORMAT, "version": VERSION, "dataset": Path(path).stem,
               "models": {name: entries[name].to_json() for name in sorted(entries)}}
    text = json.dumps(payload, indent=1) + "\n"
    parse(json.loads(text), Path(path))  # never write what would not read back
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomic(Path(path), text.encode("utf-8"))
