"""The writer-disjoint natural benchmark (``data/unseen_writers``, issue #19): is it what it claims to be?

* valid and big enough, every writer in every bucket in equal numbers (so the writer never predicts the label);
* written by writers who wrote no training or earlier benchmark row, sharing no text and no near copy with any
  training, dev or earlier test text;
* as natural as the first benchmark, and covering every topic family with both labels;
* **no label-writer confound**: a character n-gram classifier reading ONE side of a pair cannot predict the label
  (cross-validated AUC <= 0.65); the same check on the first benchmark, where one writer wrote every compatible
  pair and another every incompatible one, is reported beside it;
* **it measures transfer**: the same kind of classifier tells new-writer texts from training-writer texts
  (AUC >= 0.80), so the new writers really write differently.
"""

from __future__ import annotations

import pandas as pd
import pytest

from harness.data import confound, natural, natural_train
from harness.data.dataset import load_dataset
from harness.data.schema import FAMILIES, NATURAL_BUCKETS
from harness.paths import DEFAULT_DATASET

pytestmark = pytest.mark.data

MIN_PAIRS, MIN_WRITERS = 480, 8
#: Chance (0.5) plus a stated margin: above it, one text of a pair says something about the label.
MAX_ONE_SIDE_AUC = 0.65
#: New-writer texts must be this separable from training-writer texts (the issue's bar).
MIN_STYLE_AUC = 0.80
#: As for the first benchmark (checks/data/test_natural.py).
MAX_CONTENT_JACCARD = 0.6
MIN_DISTINCT_2, MAX_FRAME_REPEATS, WORDS = 0.80, 0.05, (3, 40)


@pytest.fixture(scope="module")
def unseen():
    return natural.load_unseen()


@pytest.fixture(scope="module")
def earlier_texts(dataset):
    """Every text the new writers must not repeat: training files, natural_train, the first benchmark's halves."""
    trains = pd.concat([dataset.train, load_dataset(DEFAULT_DATASET).train])
    train = pd.concat([trains["text_1"], trains["text_2"]]).str.replace(r"^(boy|girl):\s*", "", regex=True)
    bench = natural.read_raw()
    return {"training files": sorted(set(train)), "natural_train": natural_train.all_texts(),
            "natural benchmark (dev + test)": natural.texts_of(bench)}


def test_size_writers_and_balance(unseen, evidence):
    """>= 480 pairs by >= 8 writers; every writer writes every bucket, each in the same number, both labels equally."""
    counts = unseen.groupby(["writer", "bucket"]).size().unstack(fill_value=0)
    evidence.text("pairs per writer x bucket", counts.to_string())
    assert len(unseen) >= MIN_PAIRS and unseen["writer"].nunique() >= MIN_WRITERS, (len(unseen), unseen["writer"].nunique())
    assert list(counts.columns) == sorted(NATURAL_BUCKETS), f"a bucket is missing: {list(counts.columns)}"
    unbalanced = {w: row.to_dict() for w, row in counts.iterrows() if row.nunique() != 1}
    assert not unbalanced, f"writers whose buckets differ in size: {unbalanced}"
    labels = natural.gated(unseen).groupby(["writer", "label"]).size().unstack(fill_value=0)
    assert (labels[0] == labels[1]).all(), labels.to_string()


def test_writers_never_wrote_training_or_benchmark_rows(unseen):
    """No writer of this set wrote a row of natural_train or of the first benchmark."""
    earlier = natural_train.writers() | set(natural.read_raw()["writer"])
    assert not set(unseen["writer"]) & earlier, sorted(set(unseen["writer"]) & earlier)


def test_no_text_or_near_copy_of_any_earlier_text(unseen, earlier_texts, evidence):
    """No text equals (normalised) or nearly copies (content-word Jaccard > 0.6) a training, dev or earlier test text."""
    exact, closest = natural.copies(natural.texts_of(unseen), earlier_texts)
    evidence.json("closest pairs (content-word Jaccard)", closest[:15])
    assert not any(exact.values()), {k: v[:5] for k, v in exact.items() if v}
    assert all(score <= MAX_CONTENT_JACCARD for score, *_ in closest), closest[:5]


def test_naturalness(unseen, evidence):
    """The first benchmark's bars: distinct-2 >= 0.80, frame repeats <= 5%, 3-40 words."""
    measured = natural.naturalness(natural.texts_of(unseen))
    evidence.json("naturalness", measured)
    assert measured["distinct_2@200"] >= MIN_DISTINCT_2
    assert measured["skeleton_repeat_share"] <= MAX_FRAME_REPEATS
    assert WORDS[0] <= measured["words_min"] and measured["words_max"] <= WORDS[1]


def test_every_family_with_both_labels_here_and_in_training(unseen, evidence):
    """Every topic family is in this set with both labels, and in the natural training portion."""
    here = natural.gated(unseen).groupby(["family", "label"]).size().unstack(fill_value=0)
    training = natural_train.extra_pairs_with(natural_train.NATURAL_PAIRS, "family").groupby("family").size()
    evidence.text("pairs per family x label (this set)", here.to_string())
    evidence.text("natural_train pairs per family", training.to_string())
    assert set(here.index) == set(FAMILIES) and (here > 0).all().all(), here.to_string()
    assert set(training.index) == set(FAMILIES), sorted(set(FAMILIES) - set(training.index))


def test_training_writers_write_every_bucket_in_balance(evidence):
    """The training portion's writers (issue #19's six, and the three before them) each write every bucket; the new
    six in equal numbers."""
    pairs = natural_train.extra_pairs_with(natural_train.NATURAL_PAIRS, "writer", "bucket")
    counts = pairs.groupby(["writer", "bucket"]).size().unstack(fill_value=0)
    evidence.text("natural_train pairs per writer x bucket", counts.to_string())
    assert (counts > 0).all().all(), counts.to_string()
    new = counts[counts.index.str.startswith("r-")]
    assert len(new) >= 6 and (new.nunique(axis=1) == 1).all(), new.to_string()


#: The first benchmark fails the confound check (measured 2026-12-01: text_2 AUC 0.658 [0.614, 0.701]): one writer
#: wrote every compatible pair and another every incompatible one. Kept visible as a strict xfail, not hidden.
CONFOUND_SETS = [
    pytest.param("unseen_writers", id="unseen_writers"),
    pytest.param("natural", id="natural (first benchmark)", marks=pytest.mark.xfail(
        strict=True, reason="the first benchmark's label is predictable from one side (one writer per label)")),
]


@pytest.mark.parametrize("set_name", CONFOUND_SETS)
def test_label_not_predictable_from_one_side(set_name, unseen, evidence):
    """Character n-grams + logistic regression, 5-fold cross-validated, reading text_1 alone and text_2 alone: the
    label must not be predictable better than AUC 0.65 from either side (ambiguous bucket left out)."""
    frame = natural.gated(unseen if set_name == "unseen_writers" else natural.read_raw())
    found = confound.label_predictability(list(frame["text_1"]), list(frame["text_2"]), frame["label"].to_numpy())
    evidence.json(f"label from one side: {set_name}", found)
    worst = found[found["worst"]]
    print(f"\n{set_name}: label from {found['worst']} alone AUC {worst['auc_roc']:.3f} "
          f"[{worst['ci95'][0]:.3f}, {worst['ci95'][1]:.3f}] (n={worst['n']})")
    assert worst["auc_roc"] <= MAX_ONE_SIDE_AUC, (
        f"{set_name}: the label is predictable from {found['worst']} alone: AUC {worst['auc_roc']:.3f} "
        f"[{worst['ci95'][0]:.3f}, {worst['ci95'][1]:.3f}] > {MAX_ONE_SIDE_AUC}")


def test_new_writers_write_differently_from_training_writers(unseen, evidence):
    """The same kind of classifier tells new-writer texts from natural_train texts (AUC >= 0.80), equal-sized sets."""
    found = confound.separability(natural.texts_of(unseen), natural_train.all_texts())
    evidence.json("new writers vs training writers", found)
    print(f"\nnew vs training writers: AUC {found['auc_roc']:.3f} [{found['ci95'][0]:.3f}, {found['ci95'][1]:.3f}]")
    assert found["auc_roc"] >= MIN_STYLE_AUC, found
