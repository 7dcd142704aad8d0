"""Ranking metrics through sentence-transformers' InformationRetrievalEvaluator, on hand-made vectors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.evaluation.ranking import (compatible_above_incompatible, per_query_metrics, ranking_metrics,
                                        truncated)

pytestmark = pytest.mark.unit


def unit(*v):
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)


FRAME = pd.DataFrame({"text_1": ["a", "a", "b", "b"], "text_2": ["x", "y", "y", "x"], "label": [1, 0, 1, 0]})
VECTORS = {"a": unit(1, 0, 0), "b": unit(0, 1, 0), "x": unit(0.9, 0.1, 0), "y": unit(0.1, 0.9, 0.2)}


def test_perfect_ranking_scores_one_and_the_query_itself_is_not_a_hit():
    per_query, aggregate = per_query_metrics(FRAME, VECTORS)
    # without dropping the query's own text, it would rank first (cosine 1) and recall@1 would be 0
    assert aggregate["recall@1"] == 1.0 and aggregate["mrr@10"] == 1.0 and aggregate["ndcg@10"] == pytest.approx(1.0)
    assert len(per_query) == 2


def test_per_query_values_average_to_the_evaluators_aggregate():
    rng = np.random.default_rng(0)
    texts = [f"t{i}" for i in range(30)]
    frame = pd.DataFrame({"text_1": rng.choice(texts[:10], 40), "text_2": rng.choice(texts[10:], 40),
                          "label": rng.integers(0, 2, 40)})
    vectors = {t: v / np.linalg.norm(v) for t, v in zip(texts, rng.normal(size=(30, 8)))}
    per_query, aggregate = per_query_metrics(frame, vectors)
    for name, value in aggregate.items():
        assert per_query[name].mean() == pytest.approx(value), name


def test_compatible_above_incompatible_counts_orderings_per_text():
    scores = np.array([0.9, 0.2, 0.3, 0.5])  # a: x(1) > y(0) right; b: y(1) 0.3 < x(0) 0.5 wrong
    rates = compatible_above_incompatible(FRAME, scores)
    # a right, b wrong (as text_1); x: a(1) .9 > b(0) .5 right; y: b(1) .3 > a(0) .2 right (as text_2)
    assert sorted(rates) == [0.0, 1.0, 1.0, 1.0]


def test_ranking_metrics_carry_intervals_and_truncation_renormalises():
    e1 = np.stack([VECTORS[t] for t in FRAME["text_1"]])
    e2 = np.stack([VECTORS[t] for t in FRAME["text_2"]])
    out = ranking_metrics(FRAME, e1, e2)
    assert out["n_queries"] == 2 and out["ci95"]["ndcg@10"] == [1.0, 1.0]
    assert np.allclose(np.linalg.norm(truncated(e1, 2), axis=1), 1.0)
