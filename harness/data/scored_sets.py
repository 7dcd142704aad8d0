"""Every set of pairs a model is scored on, in one registry: name, rows, role, metrics and primary metric.

Role ``selection``: may be used to choose things (learning rate, epochs, checkpoints, thresholds, recipes).
Role ``report``: scored and reported, never used to choose anything. The trainer's evaluator must be built
from a selection set (:func:`require_selection`); criteria rows name the set they score on.

Adding a scored set is one entry in :data:`SCORED_SETS`. The rest of the harness refers to sets by the
constants below, never by a bare string.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from harness.data import natural
from harness.data.dataset import Dataset, read_pairs
from harness.data.leakage import leak_free
from harness.data.splits import validation_split
from harness.lookup import lookup

SELECTION, REPORT = "selection", "report"
#: The selection rule (recipes: harness.evaluation.leaderboard.recommend; the fusion weight: harness.models.fusion):
#: the candidates whose validation Spearman is within this of the best, then the highest natural_dev AUC.
SPEARMAN_SLACK = 0.01

VALIDATION = "validation"
EVAL = "eval"
EVAL_LEAK_FREE = "eval_leak_free"
EVAL_EXTRA = "eval_file"
OOD = "ood"
NATURAL_DEV = "natural_dev"
NATURAL_TEST = "natural_test"
NATURAL_TEST_AMBIGUOUS = "natural_test_ambiguous"
NATURAL_UNSEEN = "natural_unseen"
NATURAL_UNSEEN_AMBIGUOUS = "natural_unseen_ambiguous"


@dataclass(frozen=True)
class SetContext:
    """What a scored set's rows depend on: the dataset, and an extra eval file given on the command line."""

    dataset: Dataset
    eval_file: Path | None = None


@dataclass(frozen=True)
class Gap:
    """A set's own difference metric: ``metric = AUC(minus) - AUC(this set)``, with a CI from resampling both sets
    (e.g. the generalisation gap eval - natural test; the cross-writer gap natural_dev - writer-disjoint test)."""

    metric: str
    minus: str  # the other registered set, whose AUC the gap starts from


@dataclass(frozen=True)
class ScoredSet:
    name: str
    role: str
    description: str
    rows: Callable[[SetContext], pd.DataFrame | None]  # None: this set does not exist for this context
    primary_metric: str = "cosine_spearman"
    #: Fields whose values break the metrics down (only those the rows carry are used).
    group_by: tuple[str, ...] = ("pair_type", "category", "bucket", "family", "writer")
    #: UMAP + HDBSCAN cluster purity on this set (expensive; the PRD defines it on the eval set).
    clustering: bool = False
    tags: tuple[str, ...] = field(default_factory=tuple)
    #: The gap metric this set carries (None: none).
    gap: Gap | None = None
    #: The decision threshold is fitted here (best F1); every other set applies it unchanged. Exactly one set.
    fits_threshold: bool = False
    #: The report's side-by-side view (each model's cosines beside the baseline's, pair by pair) shows this set.
    side_by_side: bool = False


def _validation(ctx: SetContext) -> pd.DataFrame:
    """Carved from the dataset's own training file; every model, a curated one included, trains without these
    pairs (:func:`harness.models.training.training_rows`)."""
    return validation_split(ctx.dataset.train).validation


def _eval_file(ctx: SetContext) -> pd.DataFrame | None:
    return read_pairs(ctx.eval_file) if ctx.eval_file else None


def _ood(ctx: SetContext) -> pd.DataFrame | None:
    return ctx.dataset.ood


SCORED_SETS: dict[str, ScoredSet] = {}


def register(scored_set: ScoredSet) -> ScoredSet:
    if scored_set.name in SCORED_SETS:
        raise ValueError(f"scored set {scored_set.name!r} is registered twice")
    if scored_set.role not in (SELECTION, REPORT):
        raise ValueError(f"scored set {scored_set.name!r}: role must be {SELECTION!r} or {REPORT!r}")
    SCORED_SETS[scored_set.name] = scored_set
    return scored_set


for _set in (
    ScoredSet(VALIDATION, SELECTION, "10% of the training file, stratified by label x pair_type, seed 42; the trainer "
              "monitors it and thresholds are fitted on it", _validation, fits_threshold=True),
    ScoredSet(EVAL, REPORT, "the dataset's eval_pairs.jsonl, as the PRD defines the criteria", lambda c: c.dataset.eval,
              clustering=True),
    ScoredSet(EVAL_LEAK_FREE, REPORT, "eval pairs not found in train (normalised)",
              lambda c: leak_free(c.dataset.train, c.dataset.eval)),
    ScoredSet(EVAL_EXTRA, REPORT, "the file given with --eval-file (e.g. a curated eval)", _eval_file),
    ScoredSet(OOD, REPORT, "the dataset's generated ood_pairs.jsonl (template phrasing, prefix-free)", _ood,
              primary_metric="auc_roc"),
    ScoredSet(NATURAL_DEV, SELECTION, "hand-written natural pairs, dev half (40%), ambiguous bucket excluded",
              lambda c: natural.gated(natural.load("dev")), primary_metric="auc_roc"),
    ScoredSet(NATURAL_TEST, REPORT, "hand-written natural pairs, test half (60%), ambiguous bucket excluded; "
              "read by scoring only", lambda c: natural.gated(natural.load("test")), primary_metric="auc_roc",
              gap=Gap("generalisation_gap_auc", EVAL), side_by_side=True),
    ScoredSet(NATURAL_TEST_AMBIGUOUS, REPORT, "the ambiguous bucket of the natural test half: reported, never gated",
              lambda c: natural.ungated(natural.load("test")), primary_metric="auc_roc"),
    ScoredSet(NATURAL_UNSEEN, REPORT, "writer-disjoint natural pairs (data/unseen_writers): writers who never wrote or read "
              "any training, dev or earlier test text, every writer in every bucket; ambiguous bucket excluded",
              lambda c: natural.gated(natural.load_unseen()), primary_metric="auc_roc",
              gap=Gap("cross_writer_gap_auc", NATURAL_DEV)),
    ScoredSet(NATURAL_UNSEEN_AMBIGUOUS, REPORT, "the ambiguous bucket of the writer-disjoint set: reported, never gated",
              lambda c: natural.ungated(natural.load_unseen()), primary_metric="auc_roc"),
):
    register(_set)


def the_set(flag: str) -> str:
    """The name of the one registered set whose ``flag`` is true (``fits_threshold``, ``side_by_side``)."""
    found = [name for name, s in SCORED_SETS.items() if getattr(s, flag)]
    if len(found) != 1:
        raise ValueError(f"exactly one scored set must have {flag}=True; found {found or 'none'}")
    return found[0]


def get_scored_set(name: str) -> ScoredSet:
    return lookup(SCORED_SETS, name, "scored set")


def require_selection(name: str) -> ScoredSet:
    """The set, if its role allows choosing things with it; a ValueError otherwise (e.g. a trainer monitoring eval)."""
    scored_set = get_scored_set(name)
    if scored_set.role != SELECTION:
        raise ValueError(f"{name} is a {scored_set.role} set: it must never be used to choose anything "
                         f"(selection sets: {', '.join(n for n, s in SCORED_SETS.items() if s.role == SELECTION)})")
    return scored_set


class ScoredFrames:
    """The rows of every registered set for one context, each built once."""

    def __init__(self, ctx: SetContext):
        self.ctx = ctx
        self._frames: dict[str, pd.DataFrame | None] = {}

    def frame(self, name: str) -> pd.DataFrame | None:
        if name not in self._frames:
            self._frames[name] = get_scored_set(name).rows(self.ctx)
        return self._frames[name]

    def available(self) -> list[str]:
        """Registered sets that have rows in this context, in registry order."""
        return [name for name in SCORED_SETS if self.frame(name) is not None and len(self.frame(name))]
