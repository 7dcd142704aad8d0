"""Leakage and duplicate detection between and within the splits of a dataset.

Texts are compared after :func:`normalise_text` (case, whitespace and punctuation folded), and also
exactly, so a report can say both "42 eval pairs are verbatim training pairs" and how many more a
trivial edit hides. A known leak can be acknowledged in a checked-in JSON file keyed by the files'
sha256 with its counts; the gate then fails only on a new dataset version or a larger leak.
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

_PUNCT = re.compile(f"[{re.escape(string.punctuation)}’‘“”]")
_SPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """Lower-case, drop punctuation, collapse whitespace: 'Boy:  I LOVE hiking!' -> 'boy i love hiking'."""
    return _SPACE.sub(" ", _PUNCT.sub(" ", text.lower())).strip()


def pair_keys(frame: pd.DataFrame, normalised: bool = True) -> pd.Series:
    """One hashable key per row: the (text_1, text_2) pair, normalised or exact."""
    norm = normalise_text if normalised else (lambda t: t)
    return pd.Series([(norm(a), norm(b)) for a, b in zip(frame["text_1"], frame["text_2"])], index=frame.index)


def duplicate_rows(frame: pd.DataFrame, normalised: bool = False) -> pd.DataFrame:
    """Rows whose pair already occurred earlier in the same file (the first occurrence is not counted)."""
    keys = pair_keys(frame, normalised)
    return frame[keys.duplicated(keep="first")]


def conflicting_duplicates(frame: pd.DataFrame, normalised: bool = True) -> pd.DataFrame:
    """Rows of duplicated pairs that disagree on the label: the worst kind of duplicate."""
    keys = pair_keys(frame, normalised)
    labels_per_key = frame.groupby(keys.values)["label"].nunique()
    bad = set(labels_per_key[labels_per_key > 1].index)
    return frame[[k in bad for k in keys]]


def overlapping_pairs(train: pd.DataFrame, other: pd.DataFrame, normalised: bool = False) -> pd.DataFrame:
    """Rows of ``other`` whose pair also occurs in ``train``."""
    train_keys = set(pair_keys(train, normalised))
    return other[[k in train_keys for k in pair_keys(other, normalised)]]


def _texts(frame: pd.DataFrame, normalised: bool) -> list[str]:
    norm = normalise_text if normalised else (lambda t: t)
    return [norm(t) for t in list(frame["text_1"]) + list(frame["text_2"])]


def overlapping_texts(train: pd.DataFrame, other: pd.DataFrame, normalised: bool = False) -> int:
    """How many of ``other``'s texts (two per row, counted with repeats) also occur in ``train``."""
    train_texts = set(_texts(train, normalised))
    return sum(t in train_texts for t in _texts(other, normalised))


def leak_free(train: pd.DataFrame, other: pd.DataFrame) -> pd.DataFrame:
    """``other`` without the rows whose normalised pair occurs in ``train``: the subset later gates score on.

    Pair-level, not text-level: statements are reused across pairs by design, so dropping every
    eval row with a seen text would drop most of a template-built eval set.
    """
    train_keys = set(pair_keys(train))
    return other[[k not in train_keys for k in pair_keys(other)]]


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
    """Measure every overlap between train and eval (and OOD), and duplicates within each."""
    in_train = overlapping_pairs(train, eval_, normalised=True)
    dup_train = duplicate_rows(train, normalised=True)
    dup_eval = duplicate_rows(eval_, normalised=True)
    report = LeakReport(
        train_rows=len(train),
        eval_rows=len(eval_),
        eval_pairs_in_train=len(overlapping_pairs(train, eval_)),
        eval_pairs_in_train_normalised=len(in_train),
        eval_texts_in_train=overlapping_texts(train, eval_),
        eval_texts_in_train_normalised=overlapping_texts(train, eval_, normalised=True),
        eval_texts_total=2 * len(eval_),
        duplicate_train_rows=len(duplicate_rows(train)),
        duplicate_train_rows_normalised=len(dup_train),
        duplicate_eval_rows=len(duplicate_rows(eval_)),
        duplicate_eval_rows_normalised=len(dup_eval),
        conflicting_train_rows=len(conflicting_duplicates(train)),
        conflicting_eval_rows=len(conflicting_duplicates(eval_)),
        examples={
            "eval_pairs_in_train": _example_lines(in_train, "eval_pairs.jsonl"),
            "duplicate_train_rows": _example_lines(dup_train, "dating_pairs.jsonl"),
            "duplicate_eval_rows": _example_lines(dup_eval, "eval_pairs.jsonl"),
        },
    )
    if ood is not None:
        seen = pd.concat([train, eval_])
        report.ood_pairs_in_train_or_eval = len(overlapping_pairs(seen, ood, normalised=True))
        report.ood_texts_in_train_or_eval = overlapping_texts(seen, ood, normalised=True)
    return report


def acknowledgement_key(sha256: dict[str, str]) -> str:
    """Key of an acknowledgement: the sorted 'file:sha256' list of the dataset's files."""
    return ";".join(f"{name}:{sha}" for name, sha in sorted(sha256.items()))


def load_acknowledgements(path: str | Path) -> dict[str, dict]:
    """The checked-in acknowledgements: {key: {"counts": {...}, "reason": str}}; missing file = none."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}:{err.lineno}: malformed JSON in leak acknowledgements: {err.msg}") from None


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
