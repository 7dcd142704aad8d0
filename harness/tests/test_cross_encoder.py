"""Issue #20's pieces in seconds: the cross-encoder's training path, symmetric scoring, the fusion weight rule, silver
pair sampling, retrieve-then-rerank, the threshold metrics' bootstrap, and 'not applicable' rows."""

from __future__ import annotations

import json
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from sklearn import metrics as skm

from harness.evaluation.criteria import Criterion
from harness.evaluation.judge import Judge, outcome_counts
from harness.evaluation.metrics import at_threshold, decisions
from harness.evaluation.ranking import ranking_metrics, rerank_metrics
from harness.models.cross_encoder import ce_training_pairs, load_cross_encoder, symmetric_scores, train_cross_encoder
from harness.models.fusion import WEIGHTS, choose_weight, fuse
from harness.models.registry import FINE_TUNED, PAIR_SCORERS, get_model_spec
from harness.models.silver import candidate_pairs

pytestmark = pytest.mark.unit

PAIRS = pd.DataFrame({
    "text_1": ["I love hiking", "I smoke every day", "Family comes first", "I go to church weekly"] * 2,
    "text_2": ["Mountains every weekend", "I can't stand smoke", "My family is everything", "I'm an atheist"] * 2,
    "label": [1, 0, 1, 0] * 2,
})


def test_cross_encoder_trains_saves_and_loads_with_a_plain_cross_encoder(tmp_path):
    """The real trainer on 8 pairs (1 epoch): the folder loads with ``CrossEncoder(path)``, scores are probabilities,
    and the record names the selection sets behind the checkpoint."""
    from sentence_transformers.cross_encoder import CrossEncoder

    spec = get_model_spec("cross-encoder-base")
    spec = replace(spec, config=replace(spec.config, epochs=1, batch_size=4, warmup_steps=0, eval_steps=1, extra_train=()))
    info = train_cross_encoder(spec, PAIRS, PAIRS.head(4), PAIRS.head(4), tmp_path, None, progress=False)
    assert info["steps"] == 2 and info["checkpoint_chosen_on"] == ["natural_dev"]
    assert json.loads((tmp_path / "training_info.json").read_text())["kind"] == "cross-encoder"
    plain = CrossEncoder(str(tmp_path), local_files_only=True)
    scores = symmetric_scores(load_cross_encoder(tmp_path), [("I love hiking", "I smoke every day")])
    assert plain.num_labels == 1 and 0.0 < scores[0] < 1.0


def test_symmetric_scores_average_both_orders():
    class Model:
        def predict(self, pairs, **_):
            return np.array([len(a) / (len(a) + len(b)) for a, b in pairs])

    scores = symmetric_scores(Model(), [("ab", "abcd"), ("abcd", "ab")])
    assert scores == pytest.approx([0.5, 0.5])


def test_many_pairs_are_scored_in_chunks_with_progress_lines(monkeypatch):
    """Over CHUNK pairs: the same scores, in order, and a progress line that reaches the total."""
    from harness import progress
    from harness.models import cross_encoder

    class Model:  # a different symmetric score per pair, so that order mistakes show
        def predict(self, pairs, **_):
            return np.array([len(a) / (len(a) + len(b)) + len(a + b) / 100 for a, b in pairs])

    pairs = [("a" * i, "b" * (i + 1)) for i in range(1, 9)]
    whole = symmetric_scores(Model(), pairs)  # 8 pairs: one chunk
    lines = []
    monkeypatch.setattr(cross_encoder, "CHUNK", 3)
    progress.set_sink(lines.append)
    try:
        scores = symmetric_scores(Model(), pairs)
    finally:
        progress.set_sink(None)
    assert whole == pytest.approx([0.5 + (2 * i + 1) / 100 for i in range(1, 9)])
    assert scores == pytest.approx(whole)
    assert lines and lines[-1].startswith("[harness] cross-encoder: pairs scored in both orders: 8/8"), lines


def test_training_pairs_keep_every_pair_once_in_a_seeded_order():
    out = ce_training_pairs(PAIRS, PAIRS.head(0), seed=42)
    assert len(out) == len(PAIRS) and out["label"].tolist() == PAIRS["label"].astype(float).tolist()
    assert {frozenset(p) for p in zip(out["text_1"], out["text_2"])} == {frozenset(p) for p in zip(PAIRS["text_1"], PAIRS["text_2"])}
    assert out.equals(ce_training_pairs(PAIRS, PAIRS.head(0), seed=42))


def test_fusion_weight_follows_the_selection_rule():
    labels = np.array([1, 1, 0, 0, 1, 0])
    good, bad = np.array([0.9, 0.8, 0.1, 0.2, 0.7, 0.3]), np.array([0.2, 0.1, 0.9, 0.8, 0.3, 0.7])
    # validation cannot tell the weights apart (both parts perfect); natural_dev: only the cross-encoder ranks right
    chosen = choose_weight((good, good, labels), (bad, good, labels), slack=0.01)
    assert chosen["weight"] < 0.5 and chosen["natural_dev_auc"] == 1.0 and len(chosen["grid"]) == len(WEIGHTS)
    # validation rules out any weight that leans on the cross-encoder
    chosen = choose_weight((good, bad, labels), (bad, good, labels), slack=0.01)
    assert chosen["weight"] > 0.5
    assert fuse(0.25, np.array([1.0]), np.array([0.0])) == pytest.approx([0.25])


def test_silver_candidates_are_distinct_and_never_gold():
    rng = np.random.default_rng(0)
    texts = [f"text {i}" for i in range(40)]
    vectors = rng.normal(size=(40, 8))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    gold = {("text 0", "text 1"), ("text 2", "text 3")}
    pairs = candidate_pairs(texts, vectors, gold, size=150)
    unordered = {frozenset(p) for p in zip(pairs["text_1"], pairs["text_2"])}
    assert len(unordered) == 150 and all(len(p) == 2 for p in unordered)
    assert not unordered & {frozenset(g) for g in gold}
    assert set(pairs["source"]) <= {"hard", "random"} and (pairs["source"] == "hard").mean() > 0.5
    with pytest.raises(ValueError, match="candidate silver pairs"):
        candidate_pairs(texts, vectors, gold, size=10_000)


def _ranking_frame():
    rng = np.random.default_rng(1)
    queries, docs, rows = [f"q{i}" for i in range(12)], [f"d{i}" for i in range(30)], []
    for i, q in enumerate(queries):
        for j in rng.choice(30, size=5, replace=False):
            rows.append((q, docs[j], int((i + j) % 3 == 0)))
    frame = pd.DataFrame(rows, columns=["text_1", "text_2", "label"])
    vectors = {t: v / np.linalg.norm(v) for t, v in zip(queries + docs, rng.normal(size=(42, 16)))}
    e1, e2 = np.stack([vectors[t] for t in frame["text_1"]]), np.stack([vectors[t] for t in frame["text_2"]])
    return frame, e1, e2, vectors


def test_rerank_by_the_retrievers_own_cosine_changes_nothing_and_an_oracle_helps():
    frame, e1, e2, vectors = _ranking_frame()
    plain = ranking_metrics(frame, e1, e2)
    same = rerank_metrics(frame, e1, e2, lambda pairs: [float(vectors[a] @ vectors[b]) for a, b in pairs], k=10)
    assert same["ndcg@10"] == pytest.approx(plain["ndcg@10"]) and same["mrr@10"] == pytest.approx(plain["mrr@10"])
    relevant = set(zip(frame.loc[frame["label"] == 1, "text_1"], frame.loc[frame["label"] == 1, "text_2"]))
    oracle = rerank_metrics(frame, e1, e2, lambda pairs: [float((a, b) in relevant) for a, b in pairs], k=50)
    assert oracle["recall@10"] >= plain["recall@10"] and oracle["ndcg@10"] >= plain["ndcg@10"]
    assert oracle["mrr@10"] == pytest.approx(1.0)  # every query with a relevant document in its top 50 ranks it first


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.integers(0, 1)), min_size=2, max_size=40), st.floats(0, 1))
def test_decision_metrics_equal_sklearn(rows, threshold):
    scores, labels = np.array([s for s, _ in rows]), np.array([y for _, y in rows])
    ours, theirs = decisions(scores, labels, threshold), at_threshold(scores, labels, threshold)
    for name, value in ours.items():
        assert value == pytest.approx(theirs[name], abs=1e-9), name
    assert ours["cosine_accuracy"] == pytest.approx(skm.accuracy_score(labels, scores >= threshold))


def test_a_vector_metric_on_a_pair_scorer_is_not_applicable_never_a_pass():
    metrics = {"n": 10, "auc_roc": 0.9, "not_applicable": {"cohens_d": "not applicable to a cross-encoder: no embeddings"}}
    scorer = SimpleNamespace(metrics=lambda model, set_name: metrics, dataset=SimpleNamespace(name="tiny"))
    judge = Judge(scorer)
    row = judge.judge(Criterion("cohens_d", ">", 0.8, ("cross-encoder",), "eval", "PRD"), "cross-encoder")
    assert row.outcome == "not-applicable" and "not applicable" in row.message and row.value is None
    assert judge.judge(Criterion("auc_roc", ">=", 0.8, ("cross-encoder",), "eval", "PRD"), "cross-encoder").outcome == "pass"
    counts = outcome_counts(list(judge.judged.values()))
    assert counts["gates"] == 1 and counts["not_applicable"] == 1


def test_pair_scorers_are_registered_and_judged_like_every_model():
    assert {"cross-encoder", "cross-encoder-base", "fusion"} <= set(PAIR_SCORERS)
    assert {"cross-encoder", "fusion", "augsbert", "augsbert-lora"} <= set(FINE_TUNED)
    assert not get_model_spec("cross-encoder").embeds and get_model_spec("augsbert").embeds


def test_pair_scores_are_cached_by_the_request_and_known_pairs_are_not_rescored(tmp_path, monkeypatch):
    """The cache file is named by the pairs asked for (a warm run finds it whatever it scored before); pairs this
    process already scored are taken as known, not predicted again."""
    from harness.models.cross_encoder import cached_pair_scores

    monkeypatch.setenv("HARNESS_MODELS_DIR", str(tmp_path))
    predicted = []

    class Model:
        def predict(self, pairs, **_):
            predicted.extend(map(tuple, pairs))
            return np.full(len(pairs), 0.5)

    pairs = [("a", "b"), ("c", "d"), ("a", "b")]
    first = cached_pair_scores("ce", pairs, Model, known={("a", "b"): 0.9})
    assert first.tolist() == [0.9, 0.5, 0.9] and set(predicted) == {("c", "d"), ("d", "c")}
    predicted.clear()
    assert cached_pair_scores("ce", pairs, Model).tolist() == [0.9, 0.5, 0.9] and not predicted


def test_a_fusion_uses_the_runs_own_cross_encoder_not_a_second_copy():
    """The scorer hands its resolved models to the fusion: one cross-encoder object (one load, one pair memo) per
    run, whichever of the two is asked for first."""
    from harness.data.dataset import load_dataset
    from harness.evaluation.scorer import Scorer
    from harness.paths import DEFAULT_DATASET

    dataset = load_dataset(DEFAULT_DATASET)
    for order in (("cross-encoder", "fusion"), ("fusion", "cross-encoder")):
        scorer = Scorer(dataset, list(order))
        refs = {name: scorer.ref(name) for name in order}
        assert refs["fusion"].parts[1] is refs["cross-encoder"]
        assert refs["fusion"].parts[0] is scorer.ref("natural-mix")
