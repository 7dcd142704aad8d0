"""Distribution gates: label balance, pair-type shares (PRD 3c targets), dealbreaker sanity, category coverage."""

from __future__ import annotations

import pytest

from harness.data import distribution as dist

pytestmark = pytest.mark.data

SPLITS = ["train", "eval"]


@pytest.mark.parametrize("split", SPLITS)
def test_label_balance(dataset, split, evidence):
    """min/max label count >= 0.8, so neither label dominates training or scoring."""
    frame = getattr(dataset, split)
    balance = dist.label_balance(frame)
    evidence.json("labels", {"counts": frame["label"].value_counts().to_dict(), "balance": balance})
    assert balance >= dist.MIN_LABEL_BALANCE, f"{split}: label balance {balance:.3f} < {dist.MIN_LABEL_BALANCE}"


@pytest.mark.parametrize("split", SPLITS)
def test_pair_type_shares(dataset, split, evidence):
    """Each PRD pair-type family is within 5 points of its target share (compatible 20%, dealbreaker 15%, ...)."""
    frame = getattr(dataset, split)
    shares = dist.pair_type_shares(frame)
    evidence.json("shares", {f: {"share": shares[f], "target": t} for f, (_, t) in dist.PAIR_TYPE_TARGETS.items()})
    off = dist.pair_type_deviations(frame)
    assert not off, f"{split}: " + "; ".join(f"{f} {s:.1%} vs target {t:.0%}" for f, (s, t) in off.items())


@pytest.mark.parametrize("split", SPLITS)
def test_fixed_labels_hold(dataset, split, evidence):
    """Every dealbreaker pair is label 0, and every other pair type that fixes a label carries it."""
    frame = getattr(dataset, split)
    bad = dist.fixed_label_violations(frame)
    dealbreakers = frame[frame["pair_type"] == "dealbreaker"]
    evidence.json("dealbreakers", {"pairs": len(dealbreakers), "label_counts": dealbreakers["label"].value_counts().to_dict(),
                                   "violations": len(bad)})
    assert len(dealbreakers) > 0, f"{split}: no dealbreaker pairs at all"
    assert bad.empty, f"{split}: {len(bad)} rows contradict their pair_type, lines {list(bad.index[:20])}"


@pytest.mark.parametrize("split", SPLITS)
def test_category_coverage(dataset, split, evidence):
    """All five core domains (lifestyle, interests, values, dealbreakers, realistic examples) occur."""
    covered = dist.categories_covered(getattr(dataset, split))
    evidence.json("coverage", covered)
    missing = [c for c, n in covered.items() if n == 0]
    assert not missing, f"{split}: no rows for {missing}"
