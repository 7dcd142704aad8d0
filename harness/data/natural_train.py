"""The natural-phrasing training portion (``data/natural_train/``): hand-written, disjoint from the natural benchmark.

Two kinds of file, both read through pandera schemas with file/line errors:

* stance triplets (``StanceTripletSchema``): anchor, positive (same stance, other words), negative (same topic,
  opposite stance, other words). They teach stance where the generated and reference data teach topic.
* natural pairs (``NaturalPairSchema``, the benchmark's own row format): text_1, text_2, label, bucket, topic.

A recipe names the files it adds in ``TrainConfig.extra_train`` (paths relative to ``data/``); their bytes enter
the cache key. ``checks/data/test_natural_train.py`` gates them: naturalness, and no text or near copy shared with
the natural benchmark (either half) or a training file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.data.dataset import read_pairs
from harness.data.schema import NaturalPairSchema, StanceTripletSchema
from harness.paths import PROJECT_ROOT

DATA_DIR = PROJECT_ROOT / "data"
NATURAL_TRAIN_DIR = DATA_DIR / "natural_train"


def _portion(pattern: str) -> tuple[str, ...]:
    """Every file of one kind under ``natural_train/raw/`` (one per writer), as paths relative to ``data/``."""
    return tuple(str(p.relative_to(DATA_DIR)) for p in sorted((NATURAL_TRAIN_DIR / "raw").glob(pattern)))


#: Every writer's stance triplets and natural pairs (issue #19 widened the portion to more writers, one file each).
STANCE_TRIPLETS = _portion("stance_triplets*.jsonl")
NATURAL_PAIRS = _portion("pairs_writer_*.jsonl")


def extra_path(relative: str) -> Path:
    path = (DATA_DIR / relative).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"extra training file {relative!r} not found under {DATA_DIR}")
    return path


def is_triplet_file(relative: str) -> bool:
    return Path(relative).name.startswith("stance_triplets")


def read_triplets(path: str | Path) -> pd.DataFrame:
    return read_pairs(path, StanceTripletSchema)


def read_natural_pairs(path: str | Path) -> pd.DataFrame:
    return read_pairs(path, NaturalPairSchema)


def triplets_as_pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """Labelled pairs of a triplet file: (anchor, positive, 1), (anchor, negative, 0), (positive, negative, 0)."""
    parts = [
        pd.DataFrame({"text_1": frame["anchor"], "text_2": frame["positive"], "label": 1}),
        pd.DataFrame({"text_1": frame["anchor"], "text_2": frame["negative"], "label": 0}),
        pd.DataFrame({"text_1": frame["positive"], "text_2": frame["negative"], "label": 0}),
    ]
    return pd.concat(parts, ignore_index=True)


def extra_pairs(files: tuple[str, ...]) -> pd.DataFrame:
    """Every extra file of a recipe as labelled pairs (text_1, text_2, label)."""
    frames = []
    for relative in files:
        path = extra_path(relative)
        frame = triplets_as_pairs(read_triplets(path)) if is_triplet_file(relative) else read_natural_pairs(path)
        frames.append(frame[["text_1", "text_2", "label"]])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["text_1", "text_2", "label"])


def extra_pairs_with(files: tuple[str, ...], *fields: str) -> pd.DataFrame:
    """The natural pair files (not triplets) with provenance fields kept (``writer``, ``family``, ``bucket``...)."""
    frames = [read_natural_pairs(extra_path(r))[["text_1", "text_2", "label", *fields]] for r in files
              if not is_triplet_file(r)]
    return pd.concat(frames, ignore_index=True)


def extra_triplets(files: tuple[str, ...]) -> pd.DataFrame:
    """The triplet files of a recipe as (anchor, positive, negative) rows."""
    frames = [read_triplets(extra_path(r))[["anchor", "positive", "negative"]] for r in files if is_triplet_file(r)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["anchor", "positive", "negative"])


def writers(files: tuple[str, ...] = (*STANCE_TRIPLETS, *NATURAL_PAIRS)) -> set[str]:
    """Writer ids of the training portion's files."""
    return {w for f in files for w in (read_triplets(extra_path(f)) if is_triplet_file(f)
                                       else read_natural_pairs(extra_path(f)))["writer"]}


def all_texts(files: tuple[str, ...] = (*STANCE_TRIPLETS, *NATURAL_PAIRS)) -> list[str]:
    pairs = extra_pairs(tuple(f for f in files if extra_path(f).is_file()))
    return sorted(set(pairs["text_1"]) | set(pairs["text_2"]))
