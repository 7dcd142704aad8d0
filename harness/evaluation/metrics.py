"""The PRD's eight metrics as pure functions: arrays in, floats (or small dicts of floats) out.

No I/O and no model here. Direction is recorded in ``GREATER_IS_BETTER``. UMAP and HDBSCAN are
imported lazily (umap's import costs ~10 s). :func:`evaluate_scores` composes everything for one
model on one scored set; :func:`bootstrap_ci` gives a fixed-seed 95% interval for any metric.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats
from sklearn import metrics as skm

GREATER_IS_BETTER = {
    "cosine_spearman": True, "auc_roc": True, "compatibility_margin": True, "cohens_d": True,
    "best_f1": True, "cluster_purity": True, "dealbreakers_below_threshold": True, "noise_ratio": False,
}


# the score of a bi-encoder; it lives with the models (a ModelRef scores pairs with it), importable here as before
from harness.models.similarity import cosine_scores  # noqa: E402,F401


def label_distributions(scores: np.ndarray, labels: np.ndarray) -> dict[str, dict[str, float]]:
    """Metric 1: cosine distribution per label (mean, std, quartiles, n)."""
    out = {}
    for name, value in (("compatible", 1), ("incompatible", 0)):
        s = scores[labels == value]
        out[name] = {"n": int(s.size), "mean": float(s.mean()), "std": float(s.std(ddof=1)) if s.size > 1 else 0.0,
                     "q25": float(np.quantile(s, 0.25)), "median": float(np.median(s)), "q75": float(np.quantile(s, 0.75))}
    return out


def compatibility_margin(scores: np.ndarray, labels: np.ndarray) -> float:
    """Metric 5: mean cosine of compatible pairs minus mean cosine of incompatible pairs."""
    return float(scores[labels == 1].mean() - scores[labels == 0].mean())


def cohens_d(scores: np.ndarray, labels: np.ndarray) -> float:
    """Metric 5: margin over the pooled standard deviation (ddof=1)."""
    a, b = scores[labels == 1], scores[labels == 0]
    pooled = np.sqrt(((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (a.size + b.size - 2))
    return float((a.mean() - b.mean()) / pooled) if pooled > 0 else float("inf") * np.sign(a.mean() - b.mean())


def welch_t(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Metric 5: Welch's t statistic and two-sided p-value, compatible vs incompatible."""
    result = stats.ttest_ind(scores[labels == 1], scores[labels == 0], equal_var=False)
    return float(result.statistic), float(result.pvalue)


def cosine_spearman(scores: np.ndarray, labels: np.ndarray) -> float:
    """Spearman's rho between cosine and the binary label."""
    return float(stats.spearmanr(scores, labels).statistic)


def spearman_ceiling(labels: np.ndarray) -> float:
    """The highest Spearman a score can reach against these labels: perfect separation, no ties in the score.

    With a binary label, rho is bounded by the class balance (0.864 for 158/137).
    """
    labels = np.asarray(labels)
    ranks = np.empty(labels.size)
    ranks[np.argsort(labels, kind="stable")] = np.arange(labels.size)
    return float(stats.spearmanr(ranks, labels).statistic)


def auc_roc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Metric 6: area under the ROC curve of cosine as a compatibility score."""
    return float(skm.roc_auc_score(labels, scores))


def rank_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """The same AUC as :func:`auc_roc` (ties count one half), as the Mann-Whitney U of mid-ranks: ~10x faster on the
    small groups whose bootstrap resamples it thousands of times (AUC per writer and per topic family)."""
    labels = np.asarray(labels).astype(bool)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    ranks = stats.rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def threshold_sweep(scores: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Metric 6: the cosine threshold with the best F1 (predict compatible when score >= threshold)."""
    precision, recall, thresholds = skm.precision_recall_curve(labels, scores)
    precision, recall = precision[:-1], recall[:-1]
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(precision), where=(precision + recall) > 0)
    best = int(np.argmax(f1))
    threshold = float(thresholds[best])
    predicted = scores >= threshold
    return {"best_threshold": threshold, "best_f1": float(f1[best]), "accuracy": float((predicted == (labels == 1)).mean()),
            "precision": float(precision[best]), "recall": float(recall[best])}


def at_threshold(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, float]:
    """Decisions at a threshold fitted beforehand (validation), under ``BinaryClassificationEvaluator``'s names;
    ``cosine_ap`` (average precision) does not depend on the threshold."""
    predicted = (scores >= threshold).astype(int)
    return {
        "cosine_accuracy": float(skm.accuracy_score(labels, predicted)),
        "cosine_precision": float(skm.precision_score(labels, predicted, zero_division=0)),
        "cosine_recall": float(skm.recall_score(labels, predicted, zero_division=0)),
        "cosine_f1": float(skm.f1_score(labels, predicted, zero_division=0)),
        "cosine_mcc": float(skm.matthews_corrcoef(labels, predicted)),
        "cosine_ap": float(skm.average_precision_score(labels, scores)) if 0 < labels.sum() < labels.size else float("nan"),
    }


def false_positives_by(scores: np.ndarray, labels: np.ndarray, groups: np.ndarray, threshold: float) -> dict[str, int]:
    """Metric 4: incompatible pairs scored at or above the threshold, counted per group (pair_type)."""
    mask = (labels == 0) & (scores >= threshold)
    values, counts = np.unique(np.asarray(groups)[mask], return_counts=True)
    return {str(v): int(c) for v, c in zip(values, counts)}


def accuracy_by(scores: np.ndarray, labels: np.ndarray, groups: np.ndarray, threshold: float) -> dict[str, float]:
    """Share of each group's pairs on the correct side of the threshold (compatible >=, incompatible <)."""
    groups = np.asarray(groups)
    correct = (scores >= threshold) == (labels == 1)
    return {str(g): float(correct[groups == g].mean()) for g in sorted(set(groups.tolist()))}


def margin_by(scores: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> dict[str, float | None]:
    """Metric 7: compatibility margin per group; None where a group lacks one of the labels."""
    groups = np.asarray(groups)
    out: dict[str, float | None] = {}
    for g in sorted(set(groups.tolist())):
        m = groups == g
        out[str(g)] = compatibility_margin(scores[m], labels[m]) if len(set(labels[m].tolist())) == 2 else None
    return out


def mean_by(scores: np.ndarray, groups: np.ndarray) -> dict[str, float]:
    """Mean cosine per group (for single-label groups such as dealbreakers)."""
    groups = np.asarray(groups)
    return {str(g): float(scores[groups == g].mean()) for g in sorted(set(groups.tolist()))}


def auc_by(scores: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> dict[str, dict]:
    """AUC per group with its bootstrap 95% CI and counts; None where a group lacks one of the labels."""
    out = {}
    for g in sorted(set(groups.tolist())):
        mask = groups == g
        s, y = scores[mask], labels[mask]
        both = 0 < y.sum() < y.size
        out[str(g)] = {"auc_roc": auc_roc(s, y) if both else None, "ci95": bootstrap_ci(rank_auc, s, y) if both else None,
                       "n": int(y.size), "n_compatible": int(y.sum())}
    return out


def worst_group(by_group: dict[str, dict]) -> tuple[str, float] | None:
    """The group with the lowest AUC (ties: name), or None where none has one."""
    scored = {g: v["auc_roc"] for g, v in by_group.items() if v["auc_roc"] is not None}
    return min(scored.items(), key=lambda kv: (kv[1], kv[0])) if scored else None


def fraction_below(scores: np.ndarray, threshold: float) -> float:
    """Share of scores strictly below a threshold (dealbreaker separation: should be 1.0)."""
    return float((scores < threshold).mean()) if scores.size else float("nan")


def pair_vectors(e1: np.ndarray, e2: np.ndarray) -> np.ndarray:
    """One vector per pair for UMAP/HDBSCAN: the element-wise product, whose sum is the pair's cosine."""
    return e1 * e2


def umap_projection(vectors: np.ndarray, seed: int = 42) -> np.ndarray:
    """Metric 2: 2-d UMAP (cosine, n_neighbors 15, min_dist 0.1, fixed seed); duplicate rows share a point."""
    import umap

    unique, inverse = np.unique(vectors, axis=0, return_inverse=True)
    reducer = umap.UMAP(n_neighbors=min(15, len(unique) - 1), min_dist=0.1, metric="cosine", random_state=seed, n_jobs=1)
    return reducer.fit_transform(unique)[inverse.ravel()]


def hdbscan_clusters(points: np.ndarray) -> np.ndarray:
    """Metric 3: HDBSCAN labels of the 2-d projection (min_cluster_size 10, min_samples 5, eom); -1 is noise."""
    import hdbscan

    return hdbscan.HDBSCAN(min_cluster_size=10, min_samples=5, cluster_selection_method="eom").fit_predict(points)


def cluster_purity(clusters: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """Metric 3: share of clustered points that carry their cluster's majority label; clusters; noise ratio."""
    clusters = np.asarray(clusters)
    kept = clusters >= 0
    majority = sum(np.bincount(labels[clusters == c]).max() for c in np.unique(clusters[kept]))
    return {"cluster_purity": float(majority / kept.sum()) if kept.any() else 0.0,
            "n_clusters": int(len(np.unique(clusters[kept]))), "noise_ratio": float(1 - kept.mean())}


def bootstrap_ci(metric: Callable[[np.ndarray, np.ndarray], float], scores: np.ndarray, labels: np.ndarray,
                 n_resamples: int = 1000, seed: int = 42, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric(scores, labels)``, resampling pairs within each label."""
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    values = []
    for _ in range(n_resamples):
        idx = np.concatenate([rng.choice(pos, pos.size), rng.choice(neg, neg.size)])
        values.append(metric(scores[idx], labels[idx]))
    lo, hi = np.nanquantile(values, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def paired_bootstrap_diff(metric: Callable[[np.ndarray, np.ndarray], float], scores_a: np.ndarray, scores_b: np.ndarray,
                          labels: np.ndarray, n_resamples: int = 1000, seed: int = 42) -> dict[str, float]:
    """metric(b) - metric(a) on the same pairs, with a paired (same resample for both) 95% interval and
    the share of resamples where b is not better (a one-sided bootstrap p)."""
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    diffs = []
    for _ in range(n_resamples):
        idx = np.concatenate([rng.choice(pos, pos.size), rng.choice(neg, neg.size)])
        diffs.append(metric(scores_b[idx], labels[idx]) - metric(scores_a[idx], labels[idx]))
    lo, hi = np.nanquantile(diffs, [0.025, 0.975])
    return {"difference": metric(scores_b, labels) - metric(scores_a, labels), "ci95": [float(lo), float(hi)],
            "p_not_better": float(np.mean(np.asarray(diffs) <= 0))}


CI_METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "cosine_spearman": cosine_spearman, "auc_roc": auc_roc, "compatibility_margin": compatibility_margin, "cohens_d": cohens_d,
}


GROUP_FIELDS = ("pair_type", "category", "bucket", "family", "writer")
#: Groups that get their own AUC with a bootstrap CI (issue #19: per writer and per topic family).
AUC_GROUP_FIELDS = ("family", "writer")
#: Where a group value marks dealbreaker pairs (generated data: pair_type; natural data: bucket).
DEALBREAKER = "dealbreaker"


def evaluate_scores(scores: np.ndarray, labels: np.ndarray, groups: dict[str, np.ndarray] | None = None,
                    ci: bool = True, threshold: float | None = None) -> dict:
    """Every scalar metric of one model on one scored set (clustering is separate: it needs embeddings).

    ``threshold`` is the decision threshold fitted beforehand on a selection set (validation); the per-group
    accuracies, false positives and dealbreaker separation use it. Without one, the set's own best-F1 threshold
    is used, which is an oracle (``threshold_source`` says which). ``best_threshold``/``best_f1`` are always the
    oracle values on this set.
    """
    labels = np.asarray(labels).astype(int)
    groups = {k: np.asarray(v) for k, v in (groups or {}).items() if v is not None}
    sweep = threshold_sweep(scores, labels)
    applied = sweep["best_threshold"] if threshold is None else float(threshold)
    t, p = welch_t(scores, labels)
    out = {
        "n": int(labels.size), "n_compatible": int(labels.sum()), "n_incompatible": int((labels == 0).sum()),
        "cosine_spearman": cosine_spearman(scores, labels), "spearman_ceiling": spearman_ceiling(labels),
        "auc_roc": auc_roc(scores, labels), "compatibility_margin": compatibility_margin(scores, labels),
        "cohens_d": cohens_d(scores, labels), "welch_t": t, "welch_p": p,
        # the oracle: the best F1 over thresholds chosen on this very set (labelled as such in the report)
        "best_threshold": sweep["best_threshold"], "best_f1": sweep["best_f1"], "oracle_accuracy": sweep["accuracy"],
        "oracle_precision": sweep["precision"], "oracle_recall": sweep["recall"],
        **at_threshold(scores, labels, applied),
        "distributions": label_distributions(scores, labels),
        "threshold": applied, "threshold_source": "oracle (this set)" if threshold is None else "fitted on a selection set",
        "accuracy_at_threshold": float(((scores >= applied) == (labels == 1)).mean()),
    }
    dealbreaker = np.zeros(labels.size, dtype=bool)
    for name, values in groups.items():
        out[f"margin_by_{name}"] = margin_by(scores, labels, values)
        out[f"accuracy_by_{name}"] = accuracy_by(scores, labels, values, applied)
        out[f"mean_cosine_by_{name}"] = mean_by(scores, values)
        out[f"false_positives_by_{name}"] = false_positives_by(scores, labels, values, applied)
        dealbreaker |= values == DEALBREAKER
        if name in AUC_GROUP_FIELDS:
            out[f"auc_by_{name}"] = auc_by(scores, labels, values)
            worst = worst_group(out[f"auc_by_{name}"])
            if worst is not None:
                out[f"worst_{name}"], out[f"worst_{name}_auc"] = worst
    if dealbreaker.any():
        out.update({"dealbreaker_pairs": int(dealbreaker.sum()),
                    "dealbreakers_below_threshold": fraction_below(scores[dealbreaker], applied),
                    "dealbreaker_max_cosine": float(scores[dealbreaker].max())})
    if ci:
        out["ci95"] = {name: bootstrap_ci(fn, scores, labels) for name, fn in CI_METRICS.items()}
        out["ci95"].update({name: bootstrap_ci(lambda s, y, name=name: decisions(s, y, applied)[name], scores, labels)
                            for name in DECISION_METRICS})
        if 0 < labels.sum() < labels.size:
            out["ci95"]["cosine_ap"] = bootstrap_ci(lambda s, y: float(skm.average_precision_score(y, s)), scores, labels)
    return out


DECISION_METRICS = ("cosine_accuracy", "cosine_precision", "cosine_recall", "cosine_f1", "cosine_mcc")


def decisions(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, float]:
    """:func:`at_threshold`'s decision metrics from the confusion counts in numpy (equal to sklearn's, zero_division=0;
    fast enough to bootstrap)."""
    predicted, actual = scores >= threshold, labels == 1
    tp, fp = float(np.sum(predicted & actual)), float(np.sum(predicted & ~actual))
    fn, tn = float(np.sum(~predicted & actual)), float(np.sum(~predicted & ~actual))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    denominator = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return {"cosine_accuracy": (tp + tn) / labels.size, "cosine_precision": precision, "cosine_recall": recall,
            "cosine_f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
            "cosine_mcc": float((tp * tn - fp * fn) / denominator) if denominator else 0.0}


def difference_ci(metric: Callable[[np.ndarray, np.ndarray], float], scores_a: np.ndarray, labels_a: np.ndarray,
                  scores_b: np.ndarray, labels_b: np.ndarray, n_resamples: int = 1000, seed: int = 42) -> dict:
    """metric(a) - metric(b) on two independent sets, with a 95% interval from resampling each set on its own
    (within label), e.g. the generalisation gap eval AUC - natural-test AUC."""
    rng = np.random.default_rng(seed)

    def resample(labels):
        pos, neg = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
        return np.concatenate([rng.choice(pos, pos.size), rng.choice(neg, neg.size)])

    diffs = []
    for _ in range(n_resamples):
        ia, ib = resample(labels_a), resample(labels_b)
        diffs.append(metric(scores_a[ia], labels_a[ia]) - metric(scores_b[ib], labels_b[ib]))
    lo, hi = np.nanquantile(diffs, [0.025, 0.975])
    return {"value": metric(scores_a, labels_a) - metric(scores_b, labels_b), "ci95": [float(lo), float(hi)]}
