import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from harness.data.quality import cramers_v, evaluate_frame, flesch_reading_ease, mattr, normalised_entropy, text_stats, words

pytestmark = pytest.mark.unit


def test_mattr_equals_ttr_below_window_and_is_one_for_unique_tokens():
    assert mattr(["a", "b", "a"], window=10) == pytest.approx(2 / 3)
    assert mattr([str(i) for i in range(300)], window=100) == 1.0
    assert mattr(["a"] * 300, window=100) == pytest.approx(1 / 100)


def test_entropy_is_normalised():
    assert normalised_entropy(pd.Series(list("aabb"))) == pytest.approx(1.0)
    assert normalised_entropy(pd.Series(list("aaab"))) == pytest.approx(stats.entropy([3, 1]) / math.log(2))


def test_cramers_v_matches_scipy_association():
    a = pd.Series(list("xxyyxy") * 5)
    b = pd.Series([0, 1, 1, 1, 0, 0] * 5)
    v, _ = cramers_v(a, b)
    expected = stats.contingency.association(pd.crosstab(a, b).to_numpy(), method="cramer", correction=False)
    assert v == pytest.approx(expected, abs=1e-9)


def test_flesch_simple_statement_is_easy():
    assert flesch_reading_ease("boy: I love my dog") > 90
    assert flesch_reading_ease("boy: I appreciate institutional sustainability considerations") < 30


def test_evaluator_penalises_duplicates_and_artifacts():
    clean = pd.DataFrame({"text_1": ["boy: I love hiking", "girl: I hate jazz"], "text_2": ["girl: I adore hiking", "boy: I love jazz"],
                          "label": [1, 0], "category": ["lifestyle", "interests"], "subcategory": ["a", "b"],
                          "pair_type": ["compatible", "incompatible"]})
    dirty = pd.concat([clean, clean.assign(text_1="boy: I i love hiking")], ignore_index=True)
    good, bad = evaluate_frame(clean, "clean"), evaluate_frame(dirty, "dirty")
    assert good.details["linguistic_quality"]["naturalness"] == 1.0
    assert bad.details["linguistic_quality"]["naturalness"] < 1.0
    assert 0 <= bad.overall <= good.overall <= 100
    assert np.isfinite(good.overall)


def _sliding_mattr(tokens, window):
    """The definition, window by window: the reference the closed form must equal exactly."""
    if len(tokens) <= window:
        return len(set(tokens)) / max(1, len(tokens))
    windows = [len(set(tokens[s:s + window])) for s in range(len(tokens) - window + 1)]
    return sum(windows) / (len(windows) * window)


def test_mattr_closed_form_equals_the_sliding_windows():
    rng = np.random.default_rng(0)
    for _ in range(200):
        vocabulary = int(rng.integers(1, 12))
        tokens = [f"w{t}" for t in rng.integers(0, vocabulary, size=int(rng.integers(0, 300)))]
        window = int(rng.choice([1, 2, 7, 50, 100]))
        assert mattr(tokens, window) == _sliding_mattr(tokens, window)


def test_text_stats_match_the_per_text_definitions():
    texts_1 = ["boy: I love hiking. Really!", "girl: the the dog", "boy:i think so", "Boy: Café naïve ÉTÉ", "girl: "]
    texts_2 = ["girl: I adore hiking", "boy: i'm fine", "girl: Jazz jazz", "boy: x_y 42 don't", "boy: ok"]
    frame = pd.DataFrame({"text_1": texts_1, "text_2": texts_2, "label": [1, 0, 1, 0, 1]})
    stats = text_stats(frame)
    texts = texts_1 + texts_2
    assert stats.word_counts.tolist() == [len(words(t)) for t in texts]
    assert stats.readability.tolist() == [flesch_reading_ease(t) for t in texts]
    assert stats.natural.tolist() == [True, False, False, True, True, True, False, False, True, True]
    lowered = [w.lower() for t in texts for w in words(t)]
    assert len(stats.token_ids) == len(lowered)
    assert len(set(stats.token_ids.tolist())) == len(set(lowered))
    assert stats.word_rows["hiking"] == 1 and stats.word_label_sums["hiking"] == 1
    content = [({w.lower() for w in words(a)} - ENGLISH_STOP_WORDS, {w.lower() for w in words(b)} - ENGLISH_STOP_WORDS)
               for a, b in zip(texts_1, texts_2)]
    assert stats.coherent.tolist() == [bool(a & b) or not (a and b) for a, b in content]
