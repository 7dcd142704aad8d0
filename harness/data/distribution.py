"""Distribution facts of a pair file and the PRD's targets for them, kept as data.

Pure functions over a validated frame (index = line number) so the gates in ``checks/data`` stay
one assertion each.
"""

from __future__ import annotations

import pandas as pd

from harness.data.schema import FIXED_LABEL_PAIR_TYPES

#: min/max label count ratio a file must reach (PRD 3c: "no severe class imbalance").
MIN_LABEL_BALANCE = 0.8

#: PRD 3c "Required %" of each pair-type family, as shares; a file passes within TOLERANCE.
PAIR_TYPE_TARGETS: dict[str, tuple[tuple[str, ...], float]] = {
    "compatible": (("compatible",), 0.20),
    "subtle_mismatch": (("subtle_mismatch",), 0.19),
    "dealbreaker": (("dealbreaker",), 0.15),
    "incompatible": (("incompatible",), 0.15),
    "scored (llm_judged_*)": (("llm_judged_compatible", "llm_judged_incompatible"), 0.20),
    "complex_*": (("complex_compatible", "complex_incompatible"), 0.10),
    "curated_realistic": (("curated_realistic",), 0.01),
}
PAIR_TYPE_TOLERANCE = 0.05

#: The five core domains every train and eval file must cover (alone or inside a compound category).
CORE_CATEGORIES: tuple[str, ...] = ("lifestyle", "interests", "values", "dealbreakers", "realistic_example")


def label_balance(frame: pd.DataFrame) -> float:
    """min/max of the two label counts; 0 when a label is absent."""
    counts = frame["label"].value_counts()
    return float(counts.min() / counts.max()) if len(counts) == 2 else 0.0


def pair_type_shares(frame: pd.DataFrame) -> dict[str, float]:
    """Share of each PRD pair-type family in the file."""
    shares = frame["pair_type"].value_counts(normalize=True)
    return {family: float(sum(shares.get(t, 0.0) for t in types)) for family, (types, _) in PAIR_TYPE_TARGETS.items()}


def pair_type_deviations(frame: pd.DataFrame, tolerance: float = PAIR_TYPE_TOLERANCE) -> dict[str, tuple[float, float]]:
    """Families whose share is further than ``tolerance`` from the PRD target: {family: (share, target)}."""
    shares = pair_type_shares(frame)
    return {f: (shares[f], target) for f, (_, target) in PAIR_TYPE_TARGETS.items() if abs(shares[f] - target) > tolerance}


def fixed_label_violations(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows whose pair_type fixes a label they do not carry (dealbreaker pairs must be 0)."""
    expected = frame["pair_type"].map(FIXED_LABEL_PAIR_TYPES)
    return frame[expected.notna() & (expected != frame["label"])]


def categories_covered(frame: pd.DataFrame) -> dict[str, int]:
    """Rows touching each core domain, counting compound categories ('values_and_interests') for both."""
    parts = frame["category"].str.split("_and_")
    return {core: int(parts.map(lambda p: core in p).sum()) for core in CORE_CATEGORIES}
