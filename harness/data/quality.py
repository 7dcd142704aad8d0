"""The PRD's 5-dimension synthetic-data evaluator: data quality, diversity, bias, linguistic quality, overall.

Each dimension is the mean of its sub-scores, every sub-score in [0, 1], reported x100. Overall is the
mean of the four dimensions; the data gate requires overall >= 60 (``QUALITY_THRESHOLD``). It scores
every row of a file, never a sample. Sub-scores that cannot apply to a file (OOD rows have no
category) are reported as ``None`` and left out of their dimension's mean, never scored as perfect.

How each raw statistic becomes a score is written beside it; the constants are the PRD's targets
where it gives one, and stated conventions otherwise.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyphen
from scipy import stats
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from harness.data.dataset import Dataset, write_atomic
from harness.data.leakage import duplicate_rows, conflicting_duplicates
from harness.data.distribution import fixed_label_violations
from harness.data.schema import NO_PREFIX_PATTERN, PREFIX_PATTERN

QUALITY_THRESHOLD = 60.0
MATTR_WINDOW = 100
#: Moving-average type-token ratio of ordinary English prose at a 100-token window is about 0.7;
#: richness is scored relative to that.
MATTR_REFERENCE = 0.7
#: Comfortable statement length in words (PRD: "~9 words typical for preference statements").
WORDS_COMFORTABLE = (5.0, 25.0)

_WORD = re.compile(r"[A-Za-z']+")
_PREFIX = re.compile(r"^(boy|girl):\s*")
_DOUBLED_WORD = re.compile(r"\b(\w+)\s+\1\b", re.IGNORECASE)
_LOWER_I = re.compile(r"(^|\s)i(\s|')")
_HYPHENATOR = pyphen.Pyphen(lang="en_US")


def strip_prefix(text: str) -> str:
    return _PREFIX.sub("", text)


def words(text: str) -> list[str]:
    return _WORD.findall(strip_prefix(text))


def syllables(word: str) -> int:
    return max(1, len(_HYPHENATOR.positions(word)) + 1)


def flesch_reading_ease(text: str) -> float:
    """Flesch Reading Ease of one statement (one sentence; syllables from pyphen's en_US hyphenation)."""
    tokens = words(text)
    if not tokens:
        return 0.0
    sentences = max(1, len(re.findall(r"[.!?]+", text)))
    return 206.835 - 1.015 * len(tokens) / sentences - 84.6 * sum(map(syllables, tokens)) / len(tokens)


def mattr(tokens: list[str], window: int = MATTR_WINDOW) -> float:
    """Moving-average type-token ratio: vocabulary richness that does not fall with corpus size."""
    if len(tokens) <= window:
        return len(set(tokens)) / max(1, len(tokens))
    counts = Counter(tokens[:window])
    total = len(counts)
    for i in range(window, len(tokens)):
        counts[tokens[i]] += 1
        old = tokens[i - window]
        counts[old] -= 1
        if counts[old] == 0:
            del counts[old]
        total += len(counts)
    return total / ((len(tokens) - window + 1) * window)


def normalised_entropy(values: pd.Series) -> float:
    """Shannon entropy of a categorical column divided by its maximum, log(K)."""
    p = values.value_counts(normalize=True).to_numpy()
    return float(-(p * np.log(p)).sum() / math.log(len(p))) if len(p) > 1 else 0.0


def cramers_v(a: pd.Series, b: pd.Series) -> tuple[float, float]:
    """Cramér's V and the chi-squared p-value of a contingency table; (0, 1) when untestable."""
    table = pd.crosstab(a, b)
    if min(table.shape) < 2:
        return 0.0, 1.0
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    return float(math.sqrt(chi2 / (table.to_numpy().sum() * (min(table.shape) - 1)))), float(p)


def _mean(scores: dict[str, float | None]) -> float:
    present = [s for s in scores.values() if s is not None]
    return 100.0 * float(np.mean(present)) if present else 0.0


def data_quality(frame: pd.DataFrame, required: list[str], prefixed: bool) -> dict[str, float | None]:
    cells = frame[required]
    filled = cells.notna() & cells.astype(str).apply(lambda col: col.str.strip() != "")
    consistent = frame["label"].isin([0, 1])
    if "pair_type" in frame:
        consistent &= ~frame.index.isin(fixed_label_violations(frame).index)
    consistent &= ~frame.index.isin(conflicting_duplicates(frame).index)
    pattern = PREFIX_PATTERN if prefixed else NO_PREFIX_PATTERN
    formatted = frame["text_1"].str.match(pattern) & frame["text_2"].str.match(pattern)
    return {
        "completeness": float(filled.to_numpy().mean()),
        "consistency": float(consistent.mean()),
        "duplicates": 1.0 - len(duplicate_rows(frame, normalised=True)) / len(frame),
        "format": float(formatted.mean()),
    }


def diversity(frame: pd.DataFrame) -> dict[str, float | None]:
    texts = list(frame["text_1"]) + list(frame["text_2"])
    tokens = [w.lower() for t in texts for w in words(t)]
    counts = frame["label"].value_counts()
    mean_words = float(np.mean([len(words(t)) for t in texts]))
    low, high = WORDS_COMFORTABLE
    return {
        "vocabulary_richness": min(1.0, mattr(tokens) / MATTR_REFERENCE),
        "category_entropy": normalised_entropy(frame["category"]) if "category" in frame else None,
        "label_balance": float(counts.min() / counts.max()) if len(counts) == 2 else 0.0,
        "text_complexity": min(1.0, mean_words / low, high / mean_words),
    }


def _vocabulary_label_bias(frame: pd.DataFrame, min_rows: int = 10) -> float:
    """Row-weighted mean |P(label=1 | word in pair) - P(label=1)| x 2 over words in >= min_rows pairs."""
    base = frame["label"].mean()
    rows_with: dict[str, list[int]] = {}
    for label, a, b in zip(frame["label"], frame["text_1"], frame["text_2"]):
        for w in {w.lower() for w in words(a) + words(b)} - ENGLISH_STOP_WORDS:
            rows_with.setdefault(w, []).append(label)
    kept = [v for v in rows_with.values() if len(v) >= min_rows]
    if not kept:
        return 0.0
    weights = np.array([len(v) for v in kept], dtype=float)
    gaps = np.array([abs(np.mean(v) - base) for v in kept])
    return float(min(1.0, 2 * (weights * gaps).sum() / weights.sum()))


def bias(frame: pd.DataFrame, prefixed: bool) -> dict[str, float | None]:
    lengths = frame["text_1"].map(lambda t: len(words(t))) + frame["text_2"].map(lambda t: len(words(t)))
    r = stats.pointbiserialr(frame["label"], lengths).statistic if lengths.nunique() > 1 else 0.0
    gender = frame["text_1"].str.extract(r"^(boy|girl):")[0] if prefixed else None
    testable = gender is not None and gender.nunique() > 1  # text_1 always 'boy:' cannot show a gender effect
    return {
        "gender_label_independence": 1.0 - cramers_v(gender, frame["label"])[0] if testable else None,
        "length_label_independence": 1.0 - abs(float(np.nan_to_num(r))),
        "category_label_independence": 1.0 - cramers_v(frame["category"], frame["label"])[0] if "category" in frame else None,
        "vocabulary_label_independence": 1.0 - _vocabulary_label_bias(frame),
    }


def linguistic(frame: pd.DataFrame) -> dict[str, float | None]:
    texts = list(frame["text_1"]) + list(frame["text_2"])
    readability = float(np.clip([flesch_reading_ease(t) for t in texts], 0, 100).mean()) / 100.0
    content = [({w.lower() for w in words(a)} - ENGLISH_STOP_WORDS, {w.lower() for w in words(b)} - ENGLISH_STOP_WORDS)
               for a, b in zip(frame["text_1"], frame["text_2"])]
    natural = [not (_DOUBLED_WORD.search(strip_prefix(t)) or _LOWER_I.search(strip_prefix(t))) for t in texts]
    repeated = []
    for a, b in zip(frame["text_1"], frame["text_2"]):
        tokens = [w.lower() for w in words(a)] + ["|"] + [w.lower() for w in words(b)]
        grams = [tuple(tokens[i:i + 3]) for i in range(len(tokens) - 2) if "|" not in tokens[i:i + 3]]
        repeated.append((len(grams) - len(set(grams))) / len(grams) if grams else 0.0)
    return {
        "readability": readability,
        "coherence": float(np.mean([bool(a & b) or not (a and b) for a, b in content])),
        "naturalness": float(np.mean(natural)),
        "repetition": 1.0 - float(np.mean(repeated)),
    }


@dataclass
class QualityReport:
    """Scores of one file: four dimensions (0-100), their sub-scores (0-1) and the overall mean."""

    file: str
    rows: int
    dimensions: dict[str, float]
    details: dict[str, dict[str, float | None]]
    overall: float
    threshold: float = QUALITY_THRESHOLD
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.overall >= self.threshold

    def summary(self) -> str:
        lines = [f"{self.file}: overall {self.overall:.1f} / 100 ({'PASS' if self.passed else 'FAIL'}, "
                 f"gate >= {self.threshold:.0f}) on all {self.rows} rows"]
        for dim, score in self.dimensions.items():
            parts = ", ".join(f"{k} {'n/a' if v is None else f'{100 * v:.0f}'}" for k, v in self.details[dim].items())
            lines.append(f"  {dim:<19} {score:5.1f}  ({parts})")
        return "\n".join(lines + [f"  note: {n}" for n in self.notes])


def evaluate_frame(frame: pd.DataFrame, file_name: str, prefixed: bool = True) -> QualityReport:
    """Score one pair frame on all four dimensions."""
    required = ["text_1", "text_2", "label"] + [c for c in ("category", "subcategory", "pair_type") if c in frame]
    details = {
        "data_quality": data_quality(frame, required, prefixed),
        "diversity": diversity(frame),
        "bias": bias(frame, prefixed),
        "linguistic_quality": linguistic(frame),
    }
    dimensions = {name: round(_mean(scores), 2) for name, scores in details.items()}
    notes = [f"{dim}.{k} does not apply to this file" for dim, s in details.items() for k, v in s.items() if v is None]
    return QualityReport(file_name, len(frame), dimensions, details, round(float(np.mean(list(dimensions.values()))), 2), notes=notes)


def evaluate_dataset(dataset: Dataset) -> list[QualityReport]:
    """Score train, eval and (if present) OOD files of a dataset."""
    frames = {"dating_pairs.jsonl": (dataset.train, True), "eval_pairs.jsonl": (dataset.eval, True)}
    if dataset.ood is not None:
        frames["ood_pairs.jsonl"] = (dataset.ood, False)
    return [evaluate_frame(frame, name, prefixed) for name, (frame, prefixed) in frames.items()]


def write_quality_reports(reports: list[QualityReport], out_dir: str | Path, dataset: Dataset) -> tuple[Path, Path]:
    """Write ``data_quality_report.json`` and ``data_quality_summary.txt`` into ``out_dir``."""
    out_dir = Path(out_dir)
    payload = {
        "dataset": str(dataset.root),
        "sha256": dataset.sha256,
        "threshold": QUALITY_THRESHOLD,
        "files": [{**r.__dict__, "passed": r.passed} for r in reports],
    }
    json_path = write_atomic(out_dir / "data_quality_report.json", json.dumps(payload, indent=2).encode())
    text = "\n\n".join(r.summary() for r in reports) + "\n"
    txt_path = write_atomic(out_dir / "data_quality_summary.txt", text.encode())
    return json_path, txt_path
