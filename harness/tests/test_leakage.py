import pandas as pd
import pytest

from harness.data.leakage import duplicate_rows, leak_free, leak_report, normalise_text, unacknowledged_leaks

pytestmark = pytest.mark.unit


def _frame(rows):
    return pd.DataFrame(rows, columns=["text_1", "text_2", "label"], index=pd.RangeIndex(1, len(rows) + 1, name="line"))


def test_normalise_folds_case_space_and_punctuation():
    assert normalise_text("Boy:  I LOVE hiking!") == normalise_text("boy: i love hiking") == "boy i love hiking"


def test_report_counts_overlaps_and_duplicates():
    train = _frame([("boy: a", "girl: b", 1), ("boy: a", "girl: b", 1), ("boy: c", "girl: d", 0)])
    eval_ = _frame([("Boy: A!", "girl: b", 1), ("boy: x", "girl: d", 0)])
    report = leak_report(train, eval_)
    assert report.eval_pairs_in_train == 0 and report.eval_pairs_in_train_normalised == 1
    assert report.eval_texts_in_train_normalised == 3
    assert report.duplicate_train_rows == 1
    assert list(duplicate_rows(train).index) == [2]
    assert list(leak_free(train, eval_).index) == [2]


def test_acknowledgement_must_cover_every_count():
    train = _frame([("boy: a", "girl: b", 1), ("boy: a", "girl: b", 1)])
    eval_ = _frame([("boy: a", "girl: b", 1), ("boy: c", "girl: d", 0)])
    report = leak_report(train, eval_)
    sha = {"dating_pairs.jsonl": "x", "eval_pairs.jsonl": "y"}
    assert unacknowledged_leaks(report, sha, {}) != []
    key = "dating_pairs.jsonl:x;eval_pairs.jsonl:y"
    assert unacknowledged_leaks(report, sha, {key: {"counts": report.gated()}}) == []
    smaller = {k: max(0, v - 1) for k, v in report.gated().items()}
    assert unacknowledged_leaks(report, sha, {key: {"counts": smaller}})
