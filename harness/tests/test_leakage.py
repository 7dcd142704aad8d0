import pandas as pd
import pytest

from harness.data.leakage import (conflicting_duplicates, duplicate_rows, leak_free, leak_report, normalise_text,
                                  normalise_texts, overlapping_pairs, overlapping_texts, pair_keys, unacknowledged_leaks)

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


def test_bulk_normalisation_equals_normalise_text():
    """The pyarrow path (ASCII) and the per-value path (anything else) give normalise_text's result, index kept."""
    texts = ["Boy:  I LOVE hiking!", "", "   ", "?!", "a\x0bb\x1cc\x1fd", "tab\tand\nnew line", "Café  NAÏVE’s",
             "İstanbul", "\u00a0nbsp\u2028sep", "it's   a—dash", "x_y 42 (z)"]
    for dtype in ("str", object):
        column = pd.Series(texts, dtype=dtype, index=range(10, 10 + len(texts)))
        for _ in range(2):  # the second call may come from the cache
            folded = normalise_texts(column)
            assert list(folded) == [normalise_text(t) for t in texts]
            assert folded.index.equals(column.index)
    changed = pd.Series(texts, dtype="str")
    normalise_texts(changed)
    changed.iloc[0] = "Girl: OTHER"
    assert normalise_texts(changed).iloc[0] == "girl other"


def test_conflicting_duplicates_and_overlaps_fold_case_and_punctuation():
    train = _frame([("boy: a", "girl: b", 1), ("Boy: A!", "girl: b", 0), ("boy: c", "girl: d", 0)])
    eval_ = _frame([("boy: C", "girl: d.", 1), ("boy: b", "girl: a", 1)])
    assert list(conflicting_duplicates(train).index) == [1, 2]
    assert conflicting_duplicates(train, normalised=False).empty
    assert list(overlapping_pairs(train, eval_, normalised=True).index) == [1]
    assert overlapping_pairs(train, eval_).empty
    assert overlapping_texts(train, eval_, normalised=True) == 2 and overlapping_texts(train, eval_) == 0
    assert list(pair_keys(eval_)) == [("boy c", "girl d"), ("boy b", "girl a")]
