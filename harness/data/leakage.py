"""Leakage and duplicate detection between and within the splits of a dataset.

Texts are compared after :func:`normalise_text` (case, whitespace and punctuation folded), and also
exactly, so a report can say both "42 eval pairs are verbatim training pairs" and how many more a
trivial edit hides. A known leak can be acknowledged in a checked-in JSON file keyed by the files'
sha256 with its counts; the gate then fails only on a new dataset version or a larger leak.

Each text column is normalised once, in bulk, and texts and pairs are compared as integer codes, so a
million-row file costs seconds.
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_PUNCT = re.compile(f"[{re.escape(string.punctuation)}’‘“”]")
_SPACE = re.compile(r"\s+")
#: For ASCII text, ``normalise_text`` in one RE2 pass: every run of punctuation and whitespace (the ASCII
#: characters Python's ``\s`` matches, which RE2's ``\s`` does not all match) becomes one space.
_ASCII_FOLD = "[" + "".join("\\" + c for c in string.punctuation) + r"\t\n\x0b\x0c\r\x1c-\x1f ]+"


#: Normalised text columns last computed, by the id of their (immutable) arrow data: a few files' worth.
_FOLDED: dict[int, tuple[pa.ChunkedArray, object]] = {}
_FOLDED_KEPT = 8


def normalise_text(text: str) -> str:
    """Lower-case, drop punctuation, collapse whitespace: 'Boy:  I LOVE hiking!' -> 'boy i love hiking'."""
    return _SPACE.sub(" ", _PUNCT.sub(" ", text.lower())).strip()


def normalise_texts(texts: pd.Series) -> pd.Series:
    r""":func:`normalise_text` of every value of a text column, same index.

    ASCII values are folded by pyarrow in bulk (the same result: lower-casing and Python's ``\s`` agree
    with their ASCII counterparts there); any other value, or a column that is not all strings, goes
    through :func:`normalise_text` one value at a time. Arrow-backed columns (what the loader makes) are
    remembered by the identity of their immutable arrow data, so the gates that each compare the same
    loaded frame normalise it once.
    """
    source = texts.array.__arrow_array__() if isinstance(texts.array, pd.arrays.ArrowStringArray) else None
    cached = _FOLDED.get(id(source)) if source is not None else None
    if cached is not None and cached[0] is source:  # a copy: arrow buffers are shared, the cache stays intact
        return pd.Series(cached[1].copy(), index=texts.index, name=texts.name, copy=False)
    try:
        values = source if source is not None else pa.chunked_array([pa.array(texts.to_numpy(dtype=object))])
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return texts.map(normalise_text)
    if values.null_count or not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return texts.map(normalise_text)
    folded = pc.utf8_trim(pc.replace_substring_regex(pc.ascii_lower(values), _ASCII_FOLD, " "), " ")
    result = pd.array(pd.arrays.ArrowStringArray(folded.cast(pa.large_string())))
    ascii_ = pc.string_is_ascii(values).to_numpy(zero_copy_only=False)
    if not ascii_.all():
        result = result.astype(object)
        result[~ascii_] = [normalise_text(t) for t in texts.to_numpy(dtype=object)[~ascii_]]
    if source is not None:
        _FOLDED[id(source)] = (source, result)  # holding ``source`` keeps its id from being reused
        while len(_FOLDED) > _FOLDED_KEPT:
            _FOLDED.pop(next(iter(_FOLDED)))
    return pd.Series(result.copy(), index=texts.index, name=texts.name, copy=False)


def _columns(frame: pd.DataFrame, normalised: bool) -> tuple[pd.Series, pd.Series]:
    if normalised:
        return normalise_texts(frame["text_1"]), normalise_texts(frame["text_2"])
    return frame["text_1"], frame["text_2"]


class _Codes:
    """Integer codes of texts and of (text_1, text_2) pairs for several frames at once, equal iff the texts are.

    Built with one ``pd.factorize`` over every text of every frame, so codes compare across frames.
    """

    def __init__(self, columns: list[tuple[pd.Series, pd.Series]]):
        sizes = [len(c1) for c1, _ in columns]
        everything = pd.concat([c for pair in columns for c in pair], ignore_index=True)
        codes, uniques = pd.factorize(everything)
        width = np.int64(len(uniques) + 1)  # +1: a missing text gets code -1
        self.texts: list[np.ndarray] = []  # per frame: text_1 codes then text_2 codes
        self.pairs: list[np.ndarray] = []
        offset = 0
        for n in sizes:
            first, second = codes[offset:offset + n].astype(np.int64), codes[offset + n:offset + 2 * n].astype(np.int64)
            offset += 2 * n
            self.texts.append(np.concatenate([first, second]))
            self.pairs.append((first + 1) * width + (second + 1))


def _codes(frames: list[pd.DataFrame], normalised: bool) -> _Codes:
    return _Codes([_columns(frame, normalised) for frame in frames])


def _duplicated(pairs: np.ndarray) -> np.ndarray:
    return pd.Series(pairs).duplicated(keep="first").to_numpy()


def _conflicting(frame: pd.DataFrame, pairs: np.ndarray) -> np.ndarray:
    labels_per_key = frame["label"].groupby(pairs).nunique()
    return np.isin(pairs, labels_per_key.index[labels_per_key.to_numpy() > 1])


def pair_keys(frame: pd.DataFrame, normalised: bool = True) -> pd.Series:
    """One hashable key per row: the (text_1, text_2) pair, normalised or exact."""
    first, second = _columns(frame, normalised)
    return pd.Series(list(zip(first, second)), index=frame.index)


def duplicate_rows(frame: pd.DataFrame, normalised: bool = False) -> pd.DataFrame:
    """Rows whose pair already occurred earlier in the same file (the first occurrence is not counted)."""
    return frame[_duplicated(_codes([frame], normalised).pairs[0])]


def conflicting_duplicates(frame: pd.DataFrame, normalised: bool = True) -> pd.DataFrame:
    """Rows of duplicated pairs that disagree on the label: the worst kind of duplicate."""
    return frame[_conflicting(frame, _codes([frame], normalised).pairs[0])]


def overlapping_pairs(train: pd.DataFrame, other: pd.DataFrame, normalised: bool = False) -> pd.DataFrame:
    """Rows of ``other`` whose pair also occurs in ``train``."""
    codes = _codes([train, other], normalised)
    return other[np.isin(codes.pairs[1], codes.pairs[0])]


def overlapping_texts(train: pd.DataFrame, other: pd.DataFrame, normalised: bool = False) -> int:
    """How many of ``other``'s texts (two per row, counted with repeats) also occur in ``train``."""
    codes = _codes([train, other], normalised)
    return int(np.isin(codes.texts[1], codes.texts[0]).sum())


def leak_free(train: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """``other`` without the rows whose normalised pair occurs in ``train``: the subset later gates score on.

    Pair-level, not text-level: statements are reused across pairs by design, so dropping every
    eval row with a seen text would drop most of a template-built eval set.
    """
    codes = _codes([train, other], normalised=True)
    return other[~np.isin(codes.pairs[1], codes.pairs[0])]


@dataclass
class LeakReport:
    """Counts of every overlap and duplicate, exact and normalised, with a few example lines."""

    train_rows: int
    eval_rows: int
    eval_pairs_in_train: int
    eval_pairs_in_train_normalised: int
    eval_texts_in_train: int
    eval_texts_in_train_normalised: int
    eval_texts_total: int
    duplicate_train_rows: int
    duplicate_train_rows_normalised: int
    duplicate_eval_rows: int
    duplicate_eval_rows_normalised: int
    conflicting_train_rows: int
    conflicting_eval_rows: int
    ood_pairs_in_train_or_eval: int = 0
    ood_texts_in_train_or_eval: int = 0
    examples: dict[str, list[str]] = field(default_factory=dict)

    #: The counts an acknowledgement must cover; any of them above zero is a leak.
    GATED = (
        "eval_pairs_in_train_normalised",
        "eval_texts_in_train_normalised",
        "duplicate_train_rows_normalised",
        "duplicate_eval_rows_normalised",
        "conflicting_train_rows",
        "conflicting_eval_rows",
        "ood_pairs_in_train_or_eval",
        "ood_texts_in_train_or_eval",
    )

    def gated(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.GATED}

    def to_dict(self) -> dict:
        return asdict(self)


def _example_lines(frame: pd.DataFrame, file_name: str, limit: int = 10) -> list[str]:
    return [f"{file_name}:{line}: {row.text_1!r} / {row.text_2!r}" for line, row in frame.head(limit).iterrows()]


def leak_report(train: pd.DataFrame, eval_: pd.DataFrame, ood: pd.DataFrame | None = None) -> LeakReport:
    """Measure every overlap between train and eval (and OOD), and duplicates within each.

    Each text is normalised once, and every count comes from integer codes shared by the files.
    """
    frames = [train, eval_] + ([ood] if ood is not None else [])
    exact, norm = _codes(frames, normalised=False), _codes(frames, normalised=True)
    in_train = eval_[np.isin(norm.pairs[1], norm.pairs[0])]
    dup_train = train[_duplicated(norm.pairs[0])]
    dup_eval = eval_[_duplicated(norm.pairs[1])]
    report = LeakReport(
        train_rows=len(train),
        eval_rows=len(eval_),
        eval_pairs_in_train=int(np.isin(exact.pairs[1], exact.pairs[0]).sum()),
        eval_pairs_in_train_normalised=len(in_train),
        eval_texts_in_train=int(np.isin(exact.texts[1], exact.texts[0]).sum()),
        eval_texts_in_train_normalised=int(np.isin(norm.texts[1], norm.texts[0]).sum()),
        eval_texts_total=2 * len(eval_),
        duplicate_train_rows=int(_duplicated(exact.pairs[0]).sum()),
        duplicate_train_rows_normalised=len(dup_train),
        duplicate_eval_rows=int(_duplicated(exact.pairs[1]).sum()),
        duplicate_eval_rows_normalised=len(dup_eval),
        conflicting_train_rows=int(_conflicting(train, norm.pairs[0]).sum()),
        conflicting_eval_rows=int(_conflicting(eval_, norm.pairs[1]).sum()),
        examples={
            "eval_pairs_in_train": _example_lines(in_train, "eval_pairs.jsonl"),
            "duplicate_train_rows": _example_lines(dup_train, "dating_pairs.jsonl"),
            "duplicate_eval_rows": _example_lines(dup_eval, "eval_pairs.jsonl"),
        },
    )
    if ood is not None:
        seen_pairs = np.concatenate([norm.pairs[0], norm.pairs[1]])
        seen_texts = np.concatenate([norm.texts[0], norm.texts[1]])
        report.ood_pairs_in_train_or_eval = int(np.isin(norm.pairs[2], seen_pairs).sum())
        report.ood_texts_in_train_or_eval = int(np.isin(norm.texts[2], seen_texts).sum())
    return report


def acknowledgement_key(sha256: dict[str, str]) -> str:
    """Key of an acknowledgement: the sorted 'file:sha256' list of the dataset's files."""
    return ";".join(f"{name}:{sha}" for name, sha in sorted(sha256.items()))


def load_acknowledgements(path: str | Path) -> dict[str, dict]:
    """The checked-in acknowledgements: {key: {"counts": {name: int}, "reason": str}}; missing file = none.
    Anything else is a ValueError naming the file (and line, for malformed JSON)."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not valid UTF-8 (byte offset {err.start})") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}:{err.lineno}: malformed JSON in leak acknowledgements: {err.msg}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object keyed by dataset digest, got {type(data).__name__}")
    for key, entry in data.items():
        counts = entry.get("counts") if isinstance(entry, dict) else None
        if not isinstance(counts, dict) or not all(isinstance(v, int) and not isinstance(v, bool) for v in counts.values()):
            raise ValueError(f"{path}: entry {key!r} needs \"counts\": an object of integer counts")
    return data


def unacknowledged_leaks(report: LeakReport, sha256: dict[str, str], acknowledgements: dict[str, dict]) -> list[str]:
    """Every leak count that is non-zero and not covered by an acknowledgement for these exact files."""
    entry = acknowledgements.get(acknowledgement_key(sha256))
    allowed = entry["counts"] if entry else {}
    problems = []
    for name, count in report.gated().items():
        if count > allowed.get(name, 0):
            note = f"acknowledged {allowed[name]}" if name in allowed else "not acknowledged"
            problems.append(f"{name} = {count} ({note})")
    return problems


def acknowledge(path: str | Path, sha256: dict[str, str], report: LeakReport, reason: str) -> dict:
    """Record the report's non-zero leak counts as acknowledged for these exact files (rewrites the JSON file)."""
    from harness.data.dataset import write_atomic

    entries = load_acknowledgements(path)
    entry = {"counts": {k: v for k, v in report.gated().items() if v}, "reason": reason}
    entries[acknowledgement_key(sha256)] = entry
    write_atomic(path, (json.dumps(entries, indent=2, sort_keys=True) + "\n").encode())
    return entry
