"""Programmatic stance flips (``data/stance_flips``, issue #20 part 5): generated, valid, natural, leak-free, measured.

* the committed triplet file is exactly what ``python -m harness.data.stance_flip`` makes now;
* it validates against ``StanceTripletSchema`` and its sources are label-1 natural *training* pairs only;
* the flipped texts pass the naturalness bars of the hand-written data (``checks/data/test_natural.py``);
* no flipped text equals or nearly copies a natural benchmark, writer-disjoint, eval, OOD or behavioural text;
* **the flip is measured, not assumed**: a seeded sample of 60 triplets was judged by hand (``audit.jsonl``: does the
  negative state the opposite preference of the positive, and does it read fluently?); both shares must be >= 0.80,
  and the audit must cover the current file's sample (a changed file means a new audit).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from checks.data.test_natural import MAX_CONTENT_JACCARD, MAX_FRAME_REPEATS, MIN_DISTINCT_2, WORDS
from harness.data import natural, natural_train, stance_flip
from harness.data.dataset import dumps_pairs, load_dataset
from harness.evaluation.behavioural import load_cases
from harness.paths import DEFAULT_DATASET

pytestmark = pytest.mark.data

#: The issue's bar: at least 80% of the audited flips state the opposite preference, and 80% read fluently.
MIN_OPPOSITE, MIN_FLUENT = 0.80, 0.80


@pytest.fixture(scope="module")
def flips() -> pd.DataFrame:
    return natural_train.read_triplets(stance_flip.output_path())


def test_file_is_what_the_generator_makes(flips):
    """The committed file equals a fresh in-memory run of the generator (``python -m harness.data.stance_flip``)."""
    assert dumps_pairs(stance_flip.generate()) == stance_flip.output_path().read_bytes(), \
        "data/stance_flips/stance_triplets_flips.jsonl is stale: run python -m harness.data.stance_flip (and re-audit)"


def test_valid_triplets_from_training_pairs_only(flips, evidence):
    """Schema-valid triplets (read through ``read_triplets``) by the programmatic writer, outside ``natural_train/raw``
    (whose globs key every older recipe), each built from a label-1 natural training pair."""
    counts = {"triplets": len(flips), **flips["rule_kind"].value_counts().to_dict()}
    evidence.json("stance flips", counts)
    print(f"\nstance flips: {counts}")
    assert len(flips) >= 100, counts
    assert set(flips["writer"]) == {stance_flip.WRITER}
    assert natural_train.is_triplet_file(stance_flip.FLIP_TRIPLETS[0])
    assert not set(stance_flip.FLIP_TRIPLETS) & set(natural_train.STANCE_TRIPLETS + natural_train.NATURAL_PAIRS)
    sources = stance_flip.source_pairs()
    label_1 = set(zip(sources.loc[sources["label"] == 1, "text_1"], sources.loc[sources["label"] == 1, "text_2"]))
    foreign = [(a, p) for a, p in zip(flips["anchor"], flips["positive"]) if (a, p) not in label_1]
    assert not foreign, foreign[:5]


def test_flipped_texts_are_natural(flips, evidence):
    """The negatives (the only new texts) pass the hand-written data's bars: distinct-2 >= 0.80, frame repeats <= 5%,
    3-40 words. The whole file is shown beside them: a flip shares its positive's frame by construction."""
    negatives = natural.naturalness(list(flips["negative"]))
    whole = natural.naturalness(list(flips["anchor"]) + list(flips["positive"]) + list(flips["negative"]))
    evidence.json("naturalness", {"negatives": negatives, "anchor + positive + negative (information)": whole})
    print(f"\nnegatives: distinct-2 {negatives['distinct_2@200']:.3f}, frame repeats "
          f"{negatives['skeleton_repeat_share']:.1%}, words {negatives['words_min']}-{negatives['words_max']}")
    assert negatives["distinct_2@200"] >= MIN_DISTINCT_2
    assert negatives["skeleton_repeat_share"] <= MAX_FRAME_REPEATS
    assert WORDS[0] <= negatives["words_min"] and negatives["words_max"] <= WORDS[1]


def _unprefixed(frame: pd.DataFrame | None) -> list[str]:
    if frame is None:
        return []
    texts = pd.concat([frame["text_1"], frame["text_2"]]).str.replace(r"^(boy|girl):\s*", "", regex=True)
    return list(dict.fromkeys(texts))


def test_no_flip_equals_or_nearly_copies_a_scored_text(flips, dataset, evidence):
    """No negative equals (normalised) or nearly copies (content-word Jaccard > 0.6) a text of the natural benchmark,
    the writer-disjoint benchmark, the --dataset's or the default eval/OOD files, or the behavioural cases."""
    default = load_dataset(DEFAULT_DATASET)
    scored = {"natural benchmark (dev + test)": natural.texts_of(natural.read_raw()),
              "writer-disjoint benchmark": natural.texts_of(natural.load_unseen()),
              "--dataset eval + ood": _unprefixed(dataset.eval) + _unprefixed(dataset.ood),
              "default eval + ood": _unprefixed(default.eval) + _unprefixed(default.ood),
              "behavioural cases": list(dict.fromkeys(t for c in load_cases() for t in (*c.a, *(c.b or ()))))}
    exact, closest = natural.copies(list(flips["negative"]), scored)
    evidence.json("closest pairs (content-word Jaccard)", closest[:15])
    assert not any(exact.values()), {k: v[:5] for k, v in exact.items() if v}
    assert all(score <= MAX_CONTENT_JACCARD for score, *_ in closest), closest[:5]


def test_flips_are_measured_by_a_hand_audit(flips, evidence):
    """>= 80% of the audited flips state the opposite preference and >= 80% read fluently; the audit covers exactly
    the seeded sample of the current file."""
    text = stance_flip.AUDIT_FILE.read_text(encoding="utf-8")
    audit = [json.loads(line) for line in text.splitlines() if line.strip()]
    in_file = set(zip(flips["anchor"], flips["positive"], flips["negative"]))
    audited = {(r["anchor"], r["positive"], r["negative"]) for r in audit}
    sample = stance_flip.audit_sample(flips)
    expected = set(zip(sample["anchor"], sample["positive"], sample["negative"]))
    gone = audited - in_file
    assert not gone, f"{len(gone)} audited triplets are no longer in the file: re-audit ({sorted(gone)[:3]})"
    assert audited == expected, \
        f"the audit does not cover the file's seeded sample ({len(expected - audited)} rows unaudited): re-audit"
    assert all(isinstance(r["opposite"], bool) and isinstance(r["fluent"], bool) and r.get("note") for r in audit)
    opposite = sum(r["opposite"] for r in audit) / len(audit)
    fluent = sum(r["fluent"] for r in audit) / len(audit)
    failures = [{k: r[k] for k in ("negative", "opposite", "fluent", "note")} for r in audit
                if not (r["opposite"] and r["fluent"])]
    evidence.json("hand audit", {"audited": len(audit), "opposite": opposite, "fluent": fluent, "failures": failures})
    print(f"\nhand audit of {len(audit)} flips: opposite {opposite:.1%}, fluent {fluent:.1%}")
    assert len(audit) == stance_flip.AUDIT_SIZE
    assert opposite >= MIN_OPPOSITE, f"opposite {opposite:.3f} < {MIN_OPPOSITE} (n={len(audit)})"
    assert fluent >= MIN_FLUENT, f"fluent {fluent:.3f} < {MIN_FLUENT} (n={len(audit)})"
