"""The hand-written natural-language benchmark (``data/natural/``) and the naturalness measures.

``raw/*.jsonl`` hold the pairs as written; :func:`build_files` splits them 40% dev (role ``selection``) and 60%
test (role ``report``), stratified by bucket x label with a fixed seed, into ``dev.jsonl`` and ``test.jsonl``
(committed; a unit test proves they are exactly what the split gives). Naturalness measures compare any
two sets of texts: distinct-2 on fixed-size samples, the share of texts whose skeleton (content words
masked) repeats another's, and the spread of lengths.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from harness.data.dataset import read_pairs, write_pairs
from harness.data.leakage import normalise_text
from harness.data.schema import NaturalPairSchema
from harness.paths import PROJECT_ROOT

NATURAL_DIR = PROJECT_ROOT / "data" / "natural"
#: The writer-disjoint benchmark (issue #19): pairs by writers who never wrote or read any training, dev or
#: earlier test text, one file per writer under ``raw/``. All of it is test (role ``report``); nothing is split.
UNSEEN_DIR = PROJECT_ROOT / "data" / "unseen_writers"
DEV_FILE, TEST_FILE = "dev.jsonl", "test.jsonl"
DEV_FRACTION = 0.40
SEED = 42
UNGATED_BUCKETS = ("ambiguous",)

_TOKEN = re.compile(r"[a-z0-9']+")
_PREFIX = re.compile(r"^(boy|girl):\s*", re.I)
#: Function words kept in a skeleton: scikit-learn's English stop words plus contractions and pronoun forms.
_FUNCTION = frozenset(ENGLISH_STOP_WORDS) | {"i'm", "i'd", "i'll", "i've", "don't", "can't", "won't", "it's", "that's",
                                             "isn't", "doesn't", "didn't", "you're", "we're", "they're", "let's", "im"}


def pair_id(text_1: str, text_2: str) -> str:
    return hashlib.sha256(f"{normalise_text(text_1)}\x1f{normalise_text(text_2)}".encode()).hexdigest()[:12]


def read_raw(folder: Path = NATURAL_DIR / "raw") -> pd.DataFrame:
    frames = [read_pairs(path, NaturalPairSchema) for path in sorted(folder.glob("*.jsonl"))]
    if not frames:
        raise FileNotFoundError(f"no *.jsonl under {folder}")
    frame = pd.concat(frames, ignore_index=True)
    frame.insert(0, "id", [pair_id(a, b) for a, b in zip(frame["text_1"], frame["text_2"])])
    return frame


def split_dev_test(frame: pd.DataFrame, dev_fraction: float = DEV_FRACTION, seed: int = SEED) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratified by bucket x label: ``dev_fraction`` of each stratum (rounded) to dev, the rest to test."""
    rng = np.random.default_rng(seed)
    dev_ids: set[str] = set()
    for _, group in sorted(frame.groupby(["bucket", "label"]), key=lambda kv: kv[0]):
        ids = sorted(group["id"])
        take = int(round(dev_fraction * len(ids)))
        dev_ids.update(ids[i] for i in rng.permutation(len(ids))[:take])
    mask = frame["id"].isin(dev_ids)
    return frame[mask].reset_index(drop=True), frame[~mask].reset_index(drop=True)


def build_files(folder: Path = NATURAL_DIR) -> dict[str, Path]:
    dev, test = split_dev_test(read_raw(folder / "raw"))
    return {"dev": write_pairs(dev, folder / DEV_FILE), "test": write_pairs(test, folder / TEST_FILE)}


def load(part: str, folder: Path = NATURAL_DIR) -> pd.DataFrame:
    """``dev`` or ``test``: the committed half, validated."""
    return read_pairs(folder / {"dev": DEV_FILE, "test": TEST_FILE}[part], NaturalPairSchema)


def load_unseen(folder: Path = UNSEEN_DIR) -> pd.DataFrame:
    """The writer-disjoint benchmark: every writer's file under ``raw/``, validated, with pair ids."""
    return read_raw(folder / "raw")


def gated(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[~frame["bucket"].isin(UNGATED_BUCKETS)]


def ungated(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["bucket"].isin(UNGATED_BUCKETS)]


# --- naturalness --------------------------------------------------------------------------------------------

def tokens(text: str) -> list[str]:
    return _TOKEN.findall(_PREFIX.sub("", text).lower())


def skeleton(text: str) -> str:
    """The sentence frame: function words kept, every content word (and number) masked as X."""
    return " ".join(t if t in _FUNCTION else "X" for t in tokens(text))


def distinct_2(texts: list[str], sample_size: int = 200, repeats: int = 20, seed: int = SEED) -> float:
    """Distinct bigrams / all bigrams over random samples of ``sample_size`` texts (mean of ``repeats``), so
    sets of different sizes compare."""
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(repeats):
        sample = [texts[i] for i in rng.choice(len(texts), size=min(sample_size, len(texts)), replace=False)]
        grams = [tuple(t[i:i + 2]) for t in map(tokens, sample) for i in range(len(t) - 1)]
        values.append(len(set(grams)) / len(grams) if grams else 0.0)
    return float(np.mean(values))


def is_frame(skel: str) -> bool:
    """A skeleton with at least one function word is a sentence frame; an all-content fragment ("X X X") is not."""
    return any(t != "X" for t in skel.split())


def skeleton_repeat_share(texts: list[str]) -> float:
    """Share of texts whose sentence frame (see :func:`is_frame`) is also another text's (1.0: every text fills a
    shared template). Lists of content words ("Barista, latte art obsessed") share no frame."""
    skeletons = [skeleton(t) for t in texts]
    counts = Counter(skeletons)
    return float(sum(1 for s in skeletons if counts[s] > 1 and is_frame(s)) / len(texts))


def length_spread(texts: list[str]) -> dict[str, float]:
    lengths = np.array([len(tokens(t)) for t in texts])
    q1, q3 = np.quantile(lengths, [0.25, 0.75])
    return {"words_mean": float(lengths.mean()), "words_std": float(lengths.std(ddof=1)), "words_iqr": float(q3 - q1),
            "words_min": int(lengths.min()), "words_max": int(lengths.max())}


def naturalness(texts: list[str]) -> dict[str, float]:
    """Every naturalness measure of one set of (distinct) texts."""
    texts = list(dict.fromkeys(texts))
    return {"texts": len(texts), "distinct_2@200": distinct_2(texts), "skeleton_repeat_share": skeleton_repeat_share(texts),
            **length_spread(texts)}


def content_words(text: str) -> frozenset[str]:
    """The content words of a text (no function words, longer than two letters): what a near copy shares."""
    return frozenset(t for t in tokens(text) if t not in _FUNCTION and len(t) > 2)


def closest_overlaps(texts: list[str], against: list[str]) -> list[tuple[float, str, str]]:
    """For every text, the highest content-word Jaccard with any text of ``against`` and that text, highest first."""
    other = [(w, t) for t in against if (w := content_words(t))]
    out = []
    for text in texts:
        words = content_words(text)
        if words:
            best = max(((len(words & b) / len(words | b), t) for b, t in other), default=(0.0, ""))
            out.append((round(best[0], 3), text, best[1]))
    return sorted(out, reverse=True)


def copies(texts: list[str], others: dict[str, list[str]], closest_per_set: int = 5) -> tuple[dict, list]:
    """({set name: texts equal after normalisation}, the closest near copies across the sets, highest first as
    (Jaccard, text, other text, set name)): what a disjointness gate asserts on and shows."""
    from harness.data.leakage import normalise_texts

    mine = set(normalise_texts(pd.Series(texts)))
    exact, closest = {}, []
    for name, other in others.items():
        exact[name] = sorted(mine & set(normalise_texts(pd.Series(other))))
        closest += [(score, text, hit, name) for score, text, hit in closest_overlaps(texts, other)[:closest_per_set]]
    return exact, sorted(closest, reverse=True)


def texts_of(frame: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(list(frame["text_1"]) + list(frame["text_2"])))
