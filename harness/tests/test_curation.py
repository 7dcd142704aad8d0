import numpy as np
import pandas as pd
import pytest

from harness.curation.loop import (apply_decisions, apply_review_file, read_review, review_frame, rule_counts, verify_curated,
                              write_review)
from harness.data.dataset import DatasetError, dumps_pairs, file_sha256, read_pairs
from harness.curation.expand import pair_id, with_ids
from harness.curation.review import review_interactive

pytestmark = pytest.mark.unit


@pytest.fixture
def source(tmp_path):
    rows = [("boy: I love hiking", "girl: I adore hiking", 1, "compatible"),
            ("boy: I love jazz", "girl: I hate jazz", 0, "incompatible"),
            ("boy: I value family time", "girl: I avoid family time", 1, "compatible"),
            ("boy: I love cooking at home", "girl: I love baking bread", 1, "compatible")]
    frame = pd.DataFrame([dict(text_1=a, text_2=b, label=l, category="lifestyle", subcategory="x", pair_type=t) for a, b, l, t in rows])
    path = tmp_path / "dating_pairs_expanded.jsonl"
    path.write_bytes(dumps_pairs(frame))
    return path


@pytest.fixture
def review_path(source, tmp_path):
    frame = with_ids(read_pairs(source))
    oof = np.array([0.9, 0.8, 0.1, 0.3])  # row 2 and 3 look mislabelled
    review = review_frame(frame, oof, np.zeros(4), file_sha256(source), str(source))
    return write_review(review, tmp_path / "review.csv")


def test_ids_are_stable_hashes_of_normalised_pairs():
    assert pair_id("boy: I love Jazz!", "girl: x") == pair_id("boy:  i love jazz", "girl: X")
    assert len(pair_id("a", "b")) == 16


def test_review_ranks_and_counts_rules(review_path):
    review = pd.read_csv(review_path, dtype=str, keep_default_na=False)
    assert list(review["label_error_score"].astype(float)) == sorted(review["label_error_score"].astype(float), reverse=True)
    counts = rule_counts(review)
    assert counts["low-scoring positive"] == 2 and counts["high-scoring negative"] == 1
    assert counts["contains a value keyword"] == 1


def _decide(review_path, decisions):
    review = pd.read_csv(review_path, dtype=str, keep_default_na=False)
    for i, d in decisions.items():
        review.loc[i, "decision"] = d
        review.loc[i, "decided_at"] = "2026-11-24T00:00:00+00:00"
    write_review(review, review_path)
    return review


def test_apply_is_reproducible_and_passes_its_gates(review_path, source, tmp_path):
    review = _decide(review_path, {0: "relabel", 1: "remove", 2: "keep"})
    before = source.read_bytes()
    curated, audit, counts = apply_review_file(review_path, tmp_path / "out" / "curated.jsonl")
    first = (curated.read_bytes(), audit.read_bytes())
    apply_review_file(review_path, tmp_path / "out" / "curated.jsonl")
    assert (curated.read_bytes(), audit.read_bytes()) == first
    assert source.read_bytes() == before
    assert counts == {"rows": 3, "removed": 1, "relabelled": 1}
    frame = with_ids(read_pairs(curated))
    assert review.loc[1, "id"] not in set(frame["id"])
    assert frame.set_index("id").loc[review.loc[0, "id"], "label"] == 0


def test_verify_curated_catches_tampering(source):
    frame = with_ids(read_pairs(source))
    review = pd.DataFrame({"id": [frame.id.iloc[0], frame.id.iloc[2]], "decision": ["remove", "relabel"], "reasons": ["", ""], "decided_at": ["", ""]})
    applied = apply_decisions(frame, review)
    assert verify_curated(frame, applied.curated, applied.audit) == []
    tampered = pd.concat([applied.curated, frame.iloc[[0]]])
    assert any("still present" in p for p in verify_curated(frame, tampered, applied.audit))


@pytest.mark.parametrize("corrupt, message", [
    (lambda r: r.assign(decision=["maybe"] + [""] * (len(r) - 1)), "unknown decision 'maybe'"),
    (lambda r: pd.concat([r, r.iloc[[0]]]), "duplicated id"),
    (lambda r: r.assign(id=["0" * 16] + list(r.id[1:])), "is not in the dataset"),
    (lambda r: r.assign(source_sha256="f" * 64), "made for another version of the data"),
])
def test_bad_review_files_are_refused(review_path, source, corrupt, message):
    review = pd.read_csv(review_path, dtype=str, keep_default_na=False)
    write_review(corrupt(review), review_path)
    with pytest.raises(DatasetError, match=message) as caught:
        read_review(review_path, with_ids(read_pairs(source)), file_sha256(source))
    assert f"{review_path}:2" in str(caught.value) or f"{review_path}:" in str(caught.value)


def test_interactive_review_saves_every_answer_and_resumes(review_path):
    answers = iter(["x", "?", "s", "q"])
    said = []
    counts = review_interactive(review_path, ask=lambda _: next(answers), say=said.append, now=lambda: "T")
    assert counts == {"keep": 0, "remove": 0, "relabel": 1, "skipped": 1}
    review = pd.read_csv(review_path, dtype=str, keep_default_na=False)
    assert list(review["decision"][:2]) == ["relabel", ""] and review["decided_at"][0] == "T"
    assert any("unknown key" in s for s in said)
    answers = iter(["k", "r"])
    review_interactive(review_path, ask=lambda _: next(answers), say=said.append, now=lambda: "T")
    review = pd.read_csv(review_path, dtype=str, keep_default_na=False)
    assert list(review["decision"]) == ["relabel", "keep", "remove"]
