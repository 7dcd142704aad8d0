"""The PRD's 5-dimension synthetic-data evaluator: data quality, diversity, bias, linguistic quality, overall.

Each dimension is the mean of its sub-scores, every sub-score in [0, 1], reported x100. Overall is the
mean of the four dimensions; the data gate requires overall >= 60 (``QUALITY_THRESHOLD``). It scores
every row of a file, never a sample. Sub-scores that cannot apply to a file (OOD rows have no
category) are reported as ``None`` and left out of their dimension's mean, never scored as perfect.

How each raw statistic becomes a score is written beside it; the constants are the PRD's targets
where it gives one, and stated conventions otherwise.

Every per-text fact (words, syllables, readability, naturalness, content words, trigrams) is computed
once per frame in one pass (:func:`text_stats`) and shared by the dimensions; syllables are counted
once per distinct word, and the vocabulary richness (MATTR) is computed in closed form with numpy, so
a million-row file is scored in seconds, still on every row.
"""

from __future__ import annotations

import json
import math
import re
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyphen
from scipy import stats as stats_lib
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
_SENTENCE_END = re.compile(r"[.!?]+")
_HYPHENATOR = pyphen.Pyphen(lang="en_US")


def strip_prefix(text: str) -> str:
    return _PREFIX.sub("", text)


def words(text: str) -> list[str]:
    return _WORD.findall(strip_prefix(text))


def syllables(word: str) -> int:
    return max(1, len(_HYPHENATOR.positions(word)) + 1)


class _SyllableCounts(dict):
    """``syllables`` per distinct lower-cased word (pyphen lower-cases words itself, so case cannot matter)."""

    def __missing__(self, word: str) -> int:
        count = self[word] = syllables(word)
        return count


_SYLLABLES = _SyllableCounts()


def _flesch(text: str, n_words: int, n_syllables: int) -> float:
    """Flesch Reading Ease from a statement's word and syllable counts (one sentence unless it has [.!?])."""
    if not n_words:
        return 0.0
    sentences = max(1, len(_SENTENCE_END.findall(text))) if ("." in text or "!" in text or "?" in text) else 1
    return 206.835 - 1.015 * n_words / sentences - 84.6 * n_syllables / n_words


def flesch_reading_ease(text: str) -> float:
    """Flesch Reading Ease of one statement (one sentence; syllables from pyphen's en_US hyphenation)."""
    tokens = words(text)
    return _flesch(text, len(tokens), sum(_SYLLABLES[w.lower()] for w in tokens))


def _lower_words(text: str) -> tuple[str, list[str]]:
    """The statement without its speaker prefix, and its lower-cased words (``[w.lower() for w in words(text)]``)."""
    body = _PREFIX.sub("", text) if text.startswith(("boy:", "girl:")) else text
    # ASCII lower-casing maps letters to letters and nothing else, so it may come before the word split
    return body, (_WORD.findall(body.lower()) if body.isascii() else [w.lower() for w in _WORD.findall(body)])


def _mattr_ids(ids: np.ndarray, window: int = MATTR_WINDOW) -> float:
    """:func:`mattr` of a token sequence given as integer ids, in closed form.

    Token ``i`` adds one distinct type to every window that holds it but not its previous occurrence
    ``prev[i]``: the windows starting in ``max(prev[i] + 1, i - window + 1, 0) .. min(i, n - window)``.
    Summing those counts gives the sliding-window total exactly (integers), without sliding.
    """
    n = len(ids)
    if n <= window:
        return len(np.unique(ids)) / max(1, n)
    position = np.int32 if n < 2**31 else np.int64  # half the memory on the 20M tokens of a 1M-row file
    order = np.argsort(ids, kind="stable").astype(position)  # positions grouped by token, ascending in a group
    same = ids[order[1:]] == ids[order[:-1]]
    prev = np.full(n, -1, dtype=position)
    prev[order[1:][same]] = order[:-1][same]
    del order, same
    total = 0
    for start in range(0, n, 1 << 20):
        i = np.arange(start, min(n, start + (1 << 20)), dtype=np.int64)
        lo = np.maximum(np.maximum(prev[start:start + len(i)].astype(np.int64) + 1, i - window + 1), 0)
        hi = np.minimum(i, n - window)
        total += int(np.maximum(hi - lo + 1, 0).sum())
    return total / ((n - window + 1) * window)


def mattr(tokens: list[str], window: int = MATTR_WINDOW) -> float:
    """Moving-average type-token ratio: vocabulary richness that does not fall with corpus size."""
    ids: dict[str, int] = {}
    return _mattr_ids(np.fromiter((ids.setdefault(t, len(ids)) for t in tokens), dtype=np.int64, count=len(tokens)), window)


@dataclass
class TextStats:
    """Facts of a pair frame's texts, computed once and shared by the dimensions.

    Per-text arrays hold every ``text_1`` then every ``text_2`` (the order the scores were defined on);
    per-row arrays follow the frame's rows.
    """

    word_counts: np.ndarray  # int64, per text
    readability: np.ndarray  # Flesch Reading Ease, per text
    natural: np.ndarray  # bool, per text: no doubled word, no lower-case 'i' as a word
    token_ids: np.ndarray  # lower-cased words of all texts in order, as integer ids
    coherent: np.ndarray  # bool, per row: the two statements share a content word (or one has none)
    repeated: np.ndarray  # float, per row: share of the pair's word trigrams that repeat
    word_rows: dict[str, int]  # content word -> rows whose pair contains it
    word_label_sums: dict[str, int]  # content word -> sum of those rows' labels


class _Ids(dict):
    """Token -> integer id, numbered in order of first appearance."""

    def __missing__(self, token: str) -> int:
        number = self[token] = len(self)
        return number


def text_stats(frame: pd.DataFrame, chunk: int = 1 << 16) -> TextStats:
    """One pass over a frame's texts (in chunks of rows, so no whole column of Python strings is held)."""
    n = len(frame)
    token_id = _Ids().__getitem__
    syllable_count = _SYLLABLES.__getitem__
    word_counts = [array("q"), array("q")]
    readability = [array("d"), array("d")]
    natural = [array("b"), array("b")]
    token_ids = [array("i"), array("i")]
    coherent, repeated = array("b"), array("d")
    word_rows: Counter = Counter()
    word_label_sums: Counter = Counter()
    stop = ENGLISH_STOP_WORDS
    doubled, lower_i = _DOUBLED_WORD.search, _LOWER_I.search
    for start in range(0, n, chunk):
        rows = slice(start, min(n, start + chunk))
        labels = frame["label"].iloc[rows].tolist()
        columns = frame["text_1"].iloc[rows].tolist(), frame["text_2"].iloc[rows].tolist()
        for label, a, b in zip(labels, *columns):
            pair = []
            for side in (0, 1):
                text = b if side else a
                body, lowered = _lower_words(text)
                n_words = len(lowered)
                word_counts[side].append(n_words)
                readability[side].append(_flesch(text, n_words, sum(map(syllable_count, lowered))))
                natural[side].append(not (doubled(body) or lower_i(body)))
                token_ids[side].extend(map(token_id, lowered))
                pair.append(lowered)
            lowered_a, lowered_b = pair
            content_a, content_b = set(lowered_a) - stop, set(lowered_b) - stop
            coherent.append(not content_a or not content_b or not content_a.isdisjoint(content_b))
            grams = list(zip(lowered_a, lowered_a[1:], lowered_a[2:])) + list(zip(lowered_b, lowered_b[1:], lowered_b[2:]))
            repeated.append((len(grams) - len(set(grams))) / len(grams) if grams else 0.0)
            content = content_a | content_b
            word_rows.update(content)
            if label == 1:
                word_label_sums.update(content)
            elif label:
                word_label_sums.update(dict.fromkeys(content, label))
    return TextStats(
        word_counts=np.concatenate([np.frombuffer(a, dtype=np.int64) for a in word_counts]),
        readability=np.concatenate([np.frombuffer(a, dtype=np.float64) for a in readability]),
        natural=np.concatenate([np.frombuffer(a, dtype=np.int8) for a in natural]).astype(bool),
        token_ids=np.concatenate([np.frombuffer(a, dtype=np.int32) for a in token_ids]),
        coherent=np.frombuffer(coherent, dtype=np.int8).astype(bool),
        repeated=np.frombuffer(repeated, dtype=np.float64),
        word_rows=word_rows,
        word_label_sums=word_label_sums,
    )


def normalised_entropy(values: pd.Series) -> float:
    """Shannon entropy of a categorical column divided by its maximum, log(K)."""
    p = values.value_counts(normalize=True).to_numpy()
    return float(-(p * np.log(p)).sum() / math.log(len(p))) if len(p) > 1 else 0.0


def cramers_v(a: pd.Series, b: pd.Series) -> tuple[float, float]:
    """Cramér's V and the chi-squared p-value of a contingency table; (0, 1) when untestable."""
    table = pd.crosstab(a, b)
    if min(table.shape) < 2:
        return 0.0, 1.0
    chi2, p, _, _ = stats_lib.chi2_contingency(table, correction=False)
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


def diversity(frame: pd.DataFrame, stats: TextStats | None = None) -> dict[str, float | None]:
    stats = stats or text_stats(frame)
    counts = frame["label"].value_counts()
    mean_words = float(np.mean(stats.word_counts))
    low, high = WORDS_COMFORTABLE
    return {
        "vocabulary_richness": min(1.0, _mattr_ids(stats.token_ids) / MATTR_REFERENCE),
        "category_entropy": normalised_entropy(frame["category"]) if "category" in frame else None,
        "label_balance": float(counts.min() / counts.max()) if len(counts) == 2 else 0.0,
        "text_complexity": min(1.0, mean_words / low, high / mean_words),
    }


def _vocabulary_label_bias(frame: pd.DataFrame, min_rows: int = 10, stats: TextStats | None = None) -> float:
    """Row-weighted mean |P(label=1 | word in pair) - P(label=1)| x 2 over words in >= min_rows pairs."""
    stats = stats or text_stats(frame)
    base = frame["label"].mean()
    kept = sorted(w for w, rows in stats.word_rows.items() if rows >= min_rows)  # a fixed order: a fixed sum
    if not kept:
        return 0.0
    weights = np.array([stats.word_rows[w] for w in kept], dtype=float)
    gaps = np.array([abs(np.float64(stats.word_label_sums[w]) / stats.word_rows[w] - base) for w in kept])
    return float(min(1.0, 2 * (weights * gaps).sum() / weights.sum()))


def bias(frame: pd.DataFrame, prefixed: bool, stats: TextStats | None = None) -> dict[str, float | None]:
    stats = stats or text_stats(frame)
    lengths = pd.Series(stats.word_counts[:len(frame)] + stats.word_counts[len(frame):], index=frame.index)
    r = stats_lib.pointbiserialr(frame["label"], lengths).statistic if lengths.nunique() > 1 else 0.0
    gender = frame["text_1"].str.extract(r"^(boy|girl):")[0] if prefixed else None
    testable = gender is not None and gender.nunique() > 1  # text_1 always 'boy:' cannot show a gender effect
    return {
        "gender_label_independence": 1.0 - cramers_v(gender, frame["label"])[0] if testable else None,
        "length_label_independence": 1.0 - abs(float(np.nan_to_num(r))),
        "category_label_independence": 1.0 - cramers_v(frame["category"], frame["label"])[0] if "category" in frame else None,
        "vocabulary_label_independence": 1.0 - _vocabulary_label_bias(frame, stats=stats),
    }


def linguistic(frame: pd.DataFrame, stats: TextStats | None = None) -> dict[str, float | None]:
    stats = stats or text_stats(frame)
    readability = float(np.clip(stats.readability, 0, 100).mean()) / 100.0
    return {
        "readability": readability,
        "coherence": float(np.mean(stats.coherent)),
        "naturalness": float(np.mean(stats.natural)),
        "repetition": 1.0 - float(np.mean(stats.repeated)),
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
    stats = text_stats(frame)
    details = {
        "data_quality": data_quality(frame, required, prefixed),
        "diversity": diversity(frame, stats),
        "bias": bias(frame, prefixed, stats),
        "linguistic_quality": linguistic(frame, stats),
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
