"""Ranking metrics of a scored set: sentence-transformers' ``InformationRetrievalEvaluator`` on cached embeddings.

A matching system ranks candidates for a person. On every scored set:

* queries are the distinct ``text_1``; the corpus is every text of the set; a query's relevant documents are its
  label-1 partners (queries without one are left out, as the evaluator does);
* a query's own text is removed from its ranking (as TREC/BEIR/MTEB do; the evaluator leaves that to the caller);
* recall@1/5/10, MRR@10, NDCG@10 and MAP@100 come from the evaluator's own ``compute_metrics``, per query, so that
  a bootstrap over queries gives each a 95% interval; the mean of the per-query values is the evaluator's number;
* ``compatible_above_incompatible``: for a text with partners of both labels (on either side of its pairs), the share of (label-1, label-0)
  partner pairs that the model orders correctly (ties count half), averaged over those queries.

The evaluator receives the harness's cached, unit-norm embeddings through ``compute_all_metrics(..., corpus_embeddings=)``
and a two-method stand-in for the model, so nothing is encoded twice and an instruction prompt stays applied.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

RANKING_METRICS = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10", "map@100")
N_RESAMPLES = 1000


class _CachedQueries:
    """What the evaluator calls to embed queries, answered from vectors the harness already has."""

    def __init__(self, vectors: dict[str, np.ndarray]):
        self.vectors = vectors

    def encode_query(self, texts, **_):
        import torch

        return torch.from_numpy(np.stack([self.vectors[t] for t in texts]).astype(np.float32))


def _evaluator(queries: dict, corpus: dict, relevant: dict):
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator
    from sentence_transformers.util import cos_sim

    return InformationRetrievalEvaluator(
        queries, corpus, relevant, mrr_at_k=[10], ndcg_at_k=[10], accuracy_at_k=[1, 5, 10],
        precision_recall_at_k=[1, 5, 10], map_at_k=[100], write_csv=False, score_functions={"cosine": cos_sim},
    )


def per_query_metrics(frame: pd.DataFrame, vectors: dict[str, np.ndarray], per_query: bool = True,
                      rerank=None) -> tuple[pd.DataFrame, dict]:
    """One row per query with each ranking metric (the evaluator's definitions), and the evaluator's aggregate
    (``per_query=False``: the aggregate only). ``rerank``: ``(k, score_pairs)``: each query's top-k hits (after its
    own text is removed) reordered by ``score_pairs([(query, candidate), ...])``, the rest left in place."""
    import torch

    texts = sorted(set(frame["text_1"]) | set(frame["text_2"]))
    corpus_id = {t: f"c{i}" for i, t in enumerate(texts)}
    queries, relevant = {}, {}
    for i, text in enumerate(sorted(set(frame["text_1"]))):
        partners = frame.loc[(frame["text_1"] == text) & (frame["label"] == 1), "text_2"]
        qid = f"q{i}"
        queries[qid] = text
        relevant[qid] = {corpus_id[t] for t in partners if t != text}
    evaluator = _evaluator(queries, {corpus_id[t]: t for t in texts}, relevant)
    if not evaluator.queries_ids:
        return pd.DataFrame(columns=["query", *RANKING_METRICS]), {}
    captured = {}
    compute = evaluator.compute_metrics

    def drop_self_hits(results):
        for qid, hits in zip(evaluator.queries_ids, results):
            own = corpus_id[queries[qid]]
            hits[:] = sorted((h for h in hits if h["corpus_id"] != own), key=lambda h: -h["score"])
        if rerank is not None:
            _rerank(results, [queries[q] for q in evaluator.queries_ids], {v: k for k, v in corpus_id.items()}, *rerank)
        captured["results"] = results
        return compute(results)

    evaluator.compute_metrics = drop_self_hits
    corpus = torch.from_numpy(np.stack([vectors[t] for t in texts]).astype(np.float32))
    aggregate = evaluator.compute_all_metrics(_CachedQueries(vectors), corpus_embeddings=corpus)["cosine"]
    rows = []
    if not per_query:
        return pd.DataFrame(rows), _flat(aggregate)
    all_ids, all_queries = evaluator.queries_ids, evaluator.queries
    try:
        for qid, query, hits in zip(all_ids, all_queries, captured["results"]):
            evaluator.queries_ids, evaluator.queries = [qid], [query]
            one = compute([hits])
            rows.append({"query": query, **_flat(one)})
    finally:
        evaluator.queries_ids, evaluator.queries = all_ids, all_queries
    return pd.DataFrame(rows), _flat(aggregate)


def _rerank(results: list[list[dict]], query_texts: list[str], text_of: dict[str, str], k: int, score_pairs) -> None:
    """Reorder each query's top-k hits by the pair scorer (one call for every query's pairs), in place."""
    pairs = [(q, text_of[h["corpus_id"]]) for q, hits in zip(query_texts, results) for h in hits[:k]]
    scores = iter(np.asarray(score_pairs(pairs), dtype=float)) if pairs else iter(())
    for hits in results:
        top = [dict(h, score=float(next(scores)) + 2.0) for h in hits[:k]]  # +2: above every cosine left below
        hits[:k] = sorted(top, key=lambda h: -h["score"])


def _flat(scores: dict) -> dict:
    return {"recall@1": float(scores["recall@k"][1]), "recall@5": float(scores["recall@k"][5]),
            "recall@10": float(scores["recall@k"][10]), "mrr@10": float(scores["mrr@k"][10]),
            "ndcg@10": float(scores["ndcg@k"][10]), "map@100": float(scores["map@k"][100])}


def compatible_above_incompatible(frame: pd.DataFrame, scores: np.ndarray) -> np.ndarray:
    """Per text with partners of both labels (as text_1 or text_2: a person's candidates, whichever side of the pair
    they were written on): the share of (label-1, label-0) partner pairs ordered right."""
    both = pd.concat([frame.assign(score=scores), frame.rename(columns={"text_1": "text_2", "text_2": "text_1"}).assign(score=scores)])
    rates = []
    for _, group in both.groupby("text_1", sort=True):
        pos, neg = group.loc[group["label"] == 1, "score"].to_numpy(), group.loc[group["label"] == 0, "score"].to_numpy()
        if pos.size and neg.size:
            diff = pos[:, None] - neg[None, :]
            rates.append(float(((diff > 0) + 0.5 * (diff == 0)).mean()))
    return np.asarray(rates)


def bootstrap_mean_ci(values: np.ndarray, n_resamples: int = N_RESAMPLES, seed: int = 42) -> list[float] | None:
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        return None
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(n_resamples, values.size))].mean(axis=1)
    return [float(q) for q in np.quantile(means, [0.025, 0.975])]


def ranking_metrics(frame: pd.DataFrame, e1: np.ndarray, e2: np.ndarray) -> dict:
    """Every ranking metric of one model on one scored set, with bootstrap 95% intervals over queries."""
    vectors = {**dict(zip(frame["text_1"], e1)), **dict(zip(frame["text_2"], e2))}
    per_query, aggregate = per_query_metrics(frame, vectors)
    out: dict = {"n_queries": int(len(per_query)), "ci95": {}}
    for name in RANKING_METRICS:
        if len(per_query):
            out[name] = aggregate[name]
            out["ci95"][name] = bootstrap_mean_ci(per_query[name].to_numpy())
    out.update(order_metrics(frame, (e1 * e2).sum(axis=1), out["ci95"]))
    return out


def order_metrics(frame: pd.DataFrame, scores: np.ndarray, ci95: dict) -> dict:
    """``compatible_above_incompatible`` (mean over texts with partners of both labels) and its count; its 95%
    interval goes into ``ci95``."""
    order = compatible_above_incompatible(frame, scores)
    out = {"n_queries_both_labels": int(order.size)}
    if order.size:
        out["compatible_above_incompatible"] = float(order.mean())
        ci95["compatible_above_incompatible"] = bootstrap_mean_ci(order)
    return out


def rerank_metrics(frame: pd.DataFrame, e1: np.ndarray, e2: np.ndarray, score_pairs, k: int) -> dict:
    """Retrieve-then-rerank: the bi-encoder's (``e1``, ``e2``) ranking with each query's top-k reordered by
    ``score_pairs``; the same metrics and 95% intervals as :func:`ranking_metrics`."""
    vectors = {**dict(zip(frame["text_1"], e1)), **dict(zip(frame["text_2"], e2))}
    per_query, aggregate = per_query_metrics(frame, vectors, rerank=(k, score_pairs))
    out: dict = {"k": k, "n_queries": int(len(per_query)), "ci95": {}}
    for name in RANKING_METRICS:
        if len(per_query):
            out[name] = aggregate[name]
            out["ci95"][name] = bootstrap_mean_ci(per_query[name].to_numpy())
    return out


def truncated(e: np.ndarray, dim: int) -> np.ndarray:
    """The first ``dim`` components, re-normalised (what ``truncate_dim`` + cosine gives)."""
    part = e[:, :dim]
    return part / np.clip(np.linalg.norm(part, axis=1, keepdims=True), 1e-12, None)


MATRYOSHKA_DIMS = (384, 256, 128, 64)


def matryoshka_curve(frame: pd.DataFrame, e1: np.ndarray, e2: np.ndarray, dims=MATRYOSHKA_DIMS) -> dict:
    """Spearman, AUC and NDCG@10 with the embeddings truncated to each dimension (re-normalised)."""
    from harness.evaluation.metrics import auc_roc, cosine_spearman

    labels = frame["label"].to_numpy().astype(int)
    curve = {}
    for dim in dims:
        a, b = truncated(e1, dim), truncated(e2, dim)
        scores = (a * b).sum(axis=1)
        vectors = {**dict(zip(frame["text_1"], a)), **dict(zip(frame["text_2"], b))}
        _, aggregate = per_query_metrics(frame, vectors, per_query=False)
        curve[str(dim)] = {"cosine_spearman": cosine_spearman(scores, labels), "auc_roc": auc_roc(scores, labels),
                           "ndcg@10": aggregate.get("ndcg@10")}
    return curve
