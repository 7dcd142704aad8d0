"""The validation split: carved from a training file, used for every choice and never reported as a result.

Stratified by label x pair_type (label x bucket, or label alone, where a file has no pair_type), with a fixed
seed. Rows that are the same pair after :func:`~harness.data.leakage.normalise_text` stay on one side, so a
training file with duplicate rows (the reference data has 91) cannot leak a validation pair into training.
The split's line numbers and the sha256 of its rows are recorded in every artifact's ``training_info.json``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.data.dataset import dumps_pairs
from harness.data.leakage import normalise_text

VALIDATION_FRACTION = 0.10
SPLIT_SEED = 42
#: Bump when the splitting rule changes: it is part of every artifact key.
SPLIT_VERSION = 1


@dataclass(frozen=True)
class Split:
    train: pd.DataFrame
    validation: pd.DataFrame
    fraction: float
    seed: int

    def record(self) -> dict:
        """What ``training_info.json`` keeps: which rows, how many, and a digest of exactly those rows."""
        return {
            "fraction": self.fraction, "seed": self.seed, "version": SPLIT_VERSION,
            "stratified_by": list(strata_fields(self.validation)), "train_rows": len(self.train),
            "validation_rows": len(self.validation), "validation_lines": [int(i) for i in self.validation.index],
            "validation_sha256": hashlib.sha256(dumps_pairs(self.validation)).hexdigest(),
        }


def strata_fields(frame: pd.DataFrame) -> tuple[str, ...]:
    return ("label", "pair_type") if "pair_type" in frame else ("label", "bucket") if "bucket" in frame else ("label",)


def split_config() -> dict:
    """The part of the split that decides which rows train: goes into artifact keys."""
    return {"validation_fraction": VALIDATION_FRACTION, "seed": SPLIT_SEED, "version": SPLIT_VERSION}


def validation_split(frame: pd.DataFrame, fraction: float = VALIDATION_FRACTION, seed: int = SPLIT_SEED) -> Split:
    """``fraction`` of each stratum's distinct pairs (rounded, at least one where a stratum has two or more) go to
    validation; the rest, all copies of their pairs included, stay in training. Row order is kept on both sides."""
    if not 0 < fraction < 1:
        raise ValueError(f"validation fraction must be in (0, 1), got {fraction}")
    keys = [f"{normalise_text(a)}\x1f{normalise_text(b)}" for a, b in zip(frame["text_1"], frame["text_2"])]
    fields = strata_fields(frame)
    strata = frame[list(fields)].astype(str).agg("|".join, axis=1).tolist()
    first_stratum: dict[str, str] = {}
    for key, stratum in zip(keys, strata):
        first_stratum.setdefault(key, stratum)
    by_stratum: dict[str, list[str]] = {}
    for key, stratum in first_stratum.items():
        by_stratum.setdefault(stratum, []).append(key)
    rng = np.random.default_rng(seed)
    chosen: set[str] = set()
    for stratum in sorted(by_stratum):
        members = by_stratum[stratum]
        take = int(round(fraction * len(members)))
        if len(members) >= 2:
            take = max(take, 1)
        chosen.update(members[i] for i in rng.permutation(len(members))[:take])
    mask = np.array([k in chosen for k in keys])
    return Split(train=frame[~mask], validation=frame[mask], fraction=fraction, seed=seed)
