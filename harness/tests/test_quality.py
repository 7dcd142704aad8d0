import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from harness.data.quality import cramers_v, evaluate_frame, flesch_reading_ease, mattr, normalised_entropy

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
