"""Reading and writing the dataset contract (JSONL pair files) with errors that name ``file:line``.

Loading runs in two layers, and both report every problem they find, never only the first:

1. **Structure**, line by line: byte-order mark, UTF-8, blank lines, JSON syntax, duplicate keys,
   object shape, missing fields, and the JSON type of each value (``"1"`` or ``true`` is not a label).
2. **Schema**: the typed frame, indexed by line number, is validated lazily by the file's pandera
   schema (``harness.data.schema``), so its failure cases map straight back to ``file:line``.

Any problem raises :class:`DatasetError`; nothing is skipped silently and pandas never sees
malformed input. Writing is atomic (temporary file, then ``os.replace``), so a failed write leaves
nothing half-written.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from harness.data.schema import FIELD_TYPES, PAIR_FIELDS, SCHEMA_FOR_FILE, PairSchema, required_fields

TRAIN_FILE = "dating_pairs.jsonl"
EVAL_FILE = "eval_pairs.jsonl"
OOD_FILE = "ood_pairs.jsonl"

_BOM = b"\xef\xbb\xbf"
_JSON_TYPE_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "object"}
_MAX_LISTED = 25


@dataclass(frozen=True)
class Problem:
    """One defect in an input file, located at ``path:line`` and, where it applies, a field."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class DatasetError(ValueError):
    """Raised for bad input; carries every :class:`Problem` and, for schema failures, pandera's cases."""

    def __init__(self, path: str | Path, problems: list[Problem], failure_cases: pd.DataFrame | None = None):
        self.path = str(path)
        self.problems = problems
        self.failure_cases = failure_cases
        listed = "\n".join(f"  {p}" for p in problems[:_MAX_LISTED])
        more = f"\n  ... and {len(problems) - _MAX_LISTED} more" if len(problems) > _MAX_LISTED else ""
        super().__init__(f"{len(problems)} problem(s) in {self.path}:\n{listed}{more}")


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _reject_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    keys = [k for k, _ in pairs]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ValueError(f"duplicate key(s) {', '.join(map(repr, dupes))}")
    return dict(pairs)


def _check_value(path: str, line: int, name: str, value: object) -> Problem | None:
    expected = FIELD_TYPES.get(name)
    if expected is None:
        return None
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if ok:
        return None
    return Problem(path, line, name, f"must be a JSON {_JSON_TYPE_NAMES[expected]}, got {_json_type(value)} {value!r}")


def _parse_lines(path: Path, required: tuple[str, ...]) -> tuple[list[int], list[dict], list[Problem]]:
    """Structural layer: bytes to one dict per line, collecting every problem on the way."""
    shown = str(path)
    raw = path.read_bytes()
    problems: list[Problem] = []
    if raw.startswith(_BOM):
        problems.append(Problem(shown, 1, "", "file starts with a UTF-8 byte-order mark (BOM); save it as UTF-8 without BOM"))
        raw = raw[len(_BOM):]
    chunks = raw.split(b"\n")
    if chunks and chunks[-1] == b"":
        chunks.pop()  # the final newline ends the last line; it does not start a new one
    if not chunks:
        problems.append(Problem(shown, 0, "", "file has no rows"))
    lines: list[int] = []
    records: list[dict] = []
    for number, chunk in enumerate(chunks, start=1):
        chunk = chunk[:-1] if chunk.endswith(b"\r") else chunk
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError as err:
            problems.append(Problem(shown, number, "", f"not valid UTF-8 (byte 0x{chunk[err.start]:02x} at offset {err.start})"))
            continue
        if not text.strip():
            problems.append(Problem(shown, number, "", "blank line (every line must hold one JSON object)"))
            continue
        try:
            record = json.loads(text, object_pairs_hook=_reject_duplicate_keys)
        except json.JSONDecodeError as err:
            problems.append(Problem(shown, number, "", f"malformed JSON: {err.msg} at column {err.colno}"))
            continue
        except ValueError as err:
            problems.append(Problem(shown, number, "", f"malformed JSON: {err}"))
            continue
        if not isinstance(record, dict):
            problems.append(Problem(shown, number, "", f"expected a JSON object, got {_json_type(record)}"))
            continue
        row_problems = [Problem(shown, number, name, "missing field") for name in required if name not in record]
        row_problems += [p for name, value in record.items() if (p := _check_value(shown, number, name, value))]
        problems += row_problems
        if not row_problems:
            lines.append(number)
            records.append(record)
    return lines, records, problems


def _frame(lines: list[int], records: list[dict]) -> pd.DataFrame:
    """Records to a frame indexed by line number, contract columns first, extra columns after."""
    seen = dict.fromkeys(name for record in records for name in record)  # first-seen order
    columns = [c for c in PAIR_FIELDS if c in seen] + [c for c in seen if c not in PAIR_FIELDS]
    frame = pd.DataFrame.from_records(records, columns=columns, index=pd.Index(lines, name="line"))
    if "label" in frame and frame["label"].notna().all():
        frame["label"] = frame["label"].astype("int64")
    return frame


def schema_problems(path: str | Path, err: SchemaErrors) -> list[Problem]:
    """Map pandera's lazy failure cases (indexed by line number) to located problems."""
    problems = []
    for case in err.failure_cases.itertuples(index=False):
        line = int(case.index) if pd.notna(case.index) else 0
        field_name = case.column if isinstance(case.column, str) else ""
        problems.append(Problem(str(path), line, field_name, f"fails {case.check}: {case.failure_case!r}"))
    return sorted(problems, key=lambda p: (p.line, p.field))


def validate_frame(frame: pd.DataFrame, schema: type[pa.DataFrameModel], path: str | Path) -> pd.DataFrame:
    """Validate a line-indexed frame lazily; raise :class:`DatasetError` with every failure case."""
    try:
        return schema.validate(frame, lazy=True)
    except SchemaErrors as err:
        raise DatasetError(path, schema_problems(path, err), err.failure_cases) from None


def read_pairs(path: str | Path, schema: type[pa.DataFrameModel] | None = None) -> pd.DataFrame:
    """Load and validate one JSONL pair file; the frame's index is the 1-based line number."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(path, [Problem(str(path), 0, "", "file not found")])
    schema = schema or SCHEMA_FOR_FILE.get(path.name, PairSchema)
    lines, records, problems = _parse_lines(path, required_fields(schema))
    if problems:
        raise DatasetError(path, problems)
    return validate_frame(_frame(lines, records), schema, path)


def _plain(value: object) -> object:
    return value.item() if hasattr(value, "item") else value


def dumps_pairs(frame: pd.DataFrame) -> bytes:
    """Serialise a pair frame as compact UTF-8 JSONL, one object per row, columns in frame order."""
    out = []
    for row in frame.to_dict(orient="records"):
        record = {k: _plain(v) for k, v in row.items() if not (isinstance(v, float) and pd.isna(v))}
        out.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    return ("\n".join(out) + "\n").encode("utf-8") if out else b""


def write_atomic(path: str | Path, payload: bytes) -> Path:
    """Write bytes via a temporary file in the same folder and ``os.replace``: all or nothing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_pairs(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a pair frame as JSONL atomically."""
    return write_atomic(path, dumps_pairs(frame))


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Dataset:
    """A loaded, validated dataset folder: train, eval and (optionally) OOD frames plus file digests."""

    root: Path
    train: pd.DataFrame
    eval: pd.DataFrame
    ood: pd.DataFrame | None
    sha256: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def digest(self) -> str:
        """One sha256 over the files' digests: the dataset's identity in reports and caches."""
        joined = "\n".join(f"{name}:{sha}" for name, sha in sorted(self.sha256.items()))
        return hashlib.sha256(joined.encode()).hexdigest()


def load_dataset(root: str | Path) -> Dataset:
    """Load a dataset folder; a missing folder or file is a :class:`DatasetError` naming the path."""
    root = Path(root).resolve()
    if not root.is_dir():
        raise DatasetError(root, [Problem(str(root), 0, "", "dataset folder not found")])
    missing = [name for name in (TRAIN_FILE, EVAL_FILE) if not (root / name).is_file()]
    if missing:
        raise DatasetError(root, [Problem(str(root / name), 0, "", "required file not found") for name in missing])
    ood_path = root / OOD_FILE
    files = [TRAIN_FILE, EVAL_FILE] + ([OOD_FILE] if ood_path.is_file() else [])
    return Dataset(
        root=root,
        train=read_pairs(root / TRAIN_FILE),
        eval=read_pairs(root / EVAL_FILE),
        ood=read_pairs(ood_path) if ood_path.is_file() else None,
        sha256={name: file_sha256(root / name) for name in files},
    )
