"""Reading and writing the dataset contract (JSONL pair files) with errors that name ``file:line``.

Loading runs in two layers, and both report every problem they find, never only the first:

1. **Structure**, line by line: UTF-8, JSON syntax, duplicate keys, object shape, missing fields,
   and the JSON type of each value (``"1"`` or ``true`` is not a label).
2. **Schema**: the typed frame, indexed by line number, is validated lazily by the file's pandera
   schema (``harness.data.schema``), so its failure cases map straight back to ``file:line``.

Any problem raises :class:`DatasetError`; pandas never sees malformed input. Two irregularities that
change no meaning are accepted, each noted once per file with a :class:`DatasetNote` warning: a UTF-8
byte-order mark at the start of the file, and blank lines (named by line; every row keeps its real
line number). The file is streamed line by line into columns, so a large file is never held as raw
bytes, line chunks and per-row dicts at once. Writing is atomic (temporary file, then
``os.replace``), so a failed write leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
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
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


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
    record = dict(pairs)
    if len(record) != len(pairs):
        keys = [k for k, _ in pairs]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"duplicate key(s) {', '.join(map(repr, dupes))}")
    return record


#: ``json.loads(text, object_pairs_hook=...)`` without building a decoder per line.
_DECODER = json.JSONDecoder(object_pairs_hook=_reject_duplicate_keys)
#: Fields whose few distinct values are shared between rows while parsing (less memory on big files).
_SHARED_VALUES = ("category", "subcategory", "pair_type", "bucket")


def _check_value(path: str, line: int, name: str, value: object) -> Problem | None:
    expected = FIELD_TYPES.get(name)
    if expected is None:
        return None
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if ok:
        if expected is int and not _INT64_MIN <= value <= _INT64_MAX:
            return Problem(path, line, name, f"must be a 64-bit JSON integer, got {value!r}")
        return None
    return Problem(path, line, name, f"must be a JSON {_JSON_TYPE_NAMES[expected]}, got {_json_type(value)} {value!r}")


class DatasetNote(UserWarning):
    """An irregularity that changes no meaning (a byte-order mark, blank lines), accepted and noted once per file."""


def _line_list(numbers: list[int], limit: int = _MAX_LISTED) -> str:
    shown = ", ".join(map(str, numbers[:limit]))
    more = f", ... and {len(numbers) - limit} more" if len(numbers) > limit else ""
    return f"line{'s' if len(numbers) > 1 else ''} {shown}{more}"


@dataclass
class _Parsed:
    """What the structural layer read from one file: good rows as columns, problems, and notes."""

    lines: list[int] = field(default_factory=list)
    columns: dict[str, list] = field(default_factory=dict)  # first-seen order; np.nan where a row lacks a field
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _parse_lines(path: Path, required: tuple[str, ...]) -> _Parsed:
    """Structural layer: stream the file line by line into columns, collecting every problem on the way."""
    shown = str(path)
    parsed = _Parsed()
    lines, columns, problems = parsed.lines, parsed.columns, parsed.problems
    required_set = frozenset(required)
    shared: dict[str, str] = {}
    blank: list[int] = []
    bom = False
    seen_any = False
    with open(path, "rb") as handle:
        for number, chunk in enumerate(handle, start=1):
            if chunk.endswith(b"\n"):
                chunk = chunk[:-1]  # the final newline ends the last line; it does not start a new one
            if chunk.endswith(b"\r"):
                chunk = chunk[:-1]
            if number == 1 and chunk.startswith(_BOM):
                bom = True
                chunk = chunk[len(_BOM):]
            try:
                text = chunk.decode("utf-8")
            except UnicodeDecodeError as err:
                seen_any = True
                problems.append(Problem(shown, number, "", f"not valid UTF-8 (byte 0x{chunk[err.start]:02x} at offset {err.start})"))
                continue
            if not text or (text[0].isspace() and not text.strip()):
                blank.append(number)
                continue
            seen_any = True
            try:
                if text[0] == "\ufeff":  # what json.loads says; only the file's first line may carry a BOM
                    raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
                record = _DECODER.decode(text)
            except json.JSONDecodeError as err:
                problems.append(Problem(shown, number, "", f"malformed JSON: {err.msg} at column {err.colno}"))
                continue
            except ValueError as err:
                problems.append(Problem(shown, number, "", f"malformed JSON: {err}"))
                continue
            if not isinstance(record, dict):
                problems.append(Problem(shown, number, "", f"expected a JSON object, got {_json_type(record)}"))
                continue
            row_problems = []
            if not required_set.issubset(record):
                row_problems = [Problem(shown, number, name, "missing field") for name in required if name not in record]
            for name, value in record.items():
                expected = FIELD_TYPES.get(name)
                if expected is not None and (type(value) is not expected or expected is int and not _INT64_MIN <= value <= _INT64_MAX) \
                        and (p := _check_value(shown, number, name, value)):
                    row_problems.append(p)
            if row_problems:
                problems += row_problems
                continue
            for name in record:
                if name not in columns:
                    columns[name] = [np.nan] * len(lines)  # what pandas fills in for a field earlier rows lack
            lines.append(number)
            for name, column in columns.items():
                value = record.get(name, np.nan)
                if name in _SHARED_VALUES and type(value) is str:
                    value = shared.setdefault(value, value)
                column.append(value)
    if not seen_any:
        problems.insert(0, Problem(shown, 0, "", "file has no rows"))
    if bom:
        parsed.notes.append(f"{shown}: UTF-8 byte-order mark (BOM) at the start of the file ignored")
    if blank:
        parsed.notes.append(f"{shown}: {len(blank)} blank line{'s' if len(blank) > 1 else ''} skipped ({_line_list(blank)})")
    return parsed


def _frame(lines: list[int], columns: dict[str, list]) -> pd.DataFrame:
    """Columns to a frame indexed by line number, contract columns first, extra columns after.

    Built with ``DataFrame.from_records`` from row tuples, so every column is typed exactly as from the
    rows' dicts (missing fields are NaN); ``columns`` is emptied on the way.
    """
    names = [c for c in PAIR_FIELDS if c in columns] + [c for c in columns if c not in PAIR_FIELDS]
    rows = zip(*(columns[name] for name in names))
    frame = pd.DataFrame.from_records(list(rows), columns=names, index=pd.Index(lines, name="line"))
    columns.clear()
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


def _validated(frame: pd.DataFrame, schema: type[pa.DataFrameModel], path: str | Path) -> tuple[pd.DataFrame | None, DatasetError | None]:
    """The validated frame, or the :class:`DatasetError` to raise (built here, raised by the caller)."""
    try:
        return schema.validate(frame, lazy=True), None
    except SchemaErrors as err:
        return None, DatasetError(path, schema_problems(path, err), err.failure_cases)


def validate_frame(frame: pd.DataFrame, schema: type[pa.DataFrameModel], path: str | Path) -> pd.DataFrame:
    """Validate a line-indexed frame lazily; raise :class:`DatasetError` with every failure case."""
    validated, error = _validated(frame, schema, path)
    if error is not None:
        del frame  # the traceback keeps this frame's locals alive: none of them may hold the data
        raise error
    return validated


def _load(path: Path, schema: type[pa.DataFrameModel]) -> tuple[pd.DataFrame | None, DatasetError | None]:
    parsed = _parse_lines(path, required_fields(schema))
    for note in parsed.notes:
        warnings.warn(note, DatasetNote, stacklevel=3)
    if parsed.problems:
        return None, DatasetError(path, parsed.problems)
    return _validated(_frame(parsed.lines, parsed.columns), schema, path)


def read_pairs(path: str | Path, schema: type[pa.DataFrameModel] | None = None) -> pd.DataFrame:
    """Load and validate one JSONL pair file; the frame's index is the 1-based line number.

    A :class:`DatasetError` is raised from here, where no local holds the file's rows: pytest and
    callers keep a raised error's traceback, and with it the locals of every frame it passed through.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(path, [Problem(str(path), 0, "", "file not found")])
    frame, error = _load(path, schema or SCHEMA_FOR_FILE.get(path.name, PairSchema))
    if error is not None:
        raise error
    return frame


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
