import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from harness.evaluation import metrics as m

pytestmark = pytest.mark.unit


@pytest.fixture
def scored():
    rng = np.random.default_rng(0)
    labels = np.array([1] * 158 + [0] * 137)
    scores = np.where(labels == 1, rng.normal(0.7, 0.1, labels.size), rng.normal(0.4, 0.15, labels.size))
    return scores, labels


def test_cosine_scores_match_sklearn():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(20, 8)), rng.normal(size=(20, 8))
    expected = np.diag(skm.pairwise.cosine_similarity(a, b))
    assert np.allclose(m.cosine_scores(a, b), expected, atol=1e-9)


def test_spearman_auc_and_welch_match_scipy_sklearn(scored):
    scores, labels = scored
    assert m.cosine_spearman(scores, labels) == pytest.approx(stats.spearmanr(scores, labels).statistic, abs=1e-12)
    assert m.auc_roc(scores, labels) == pytest.approx(skm.roc_auc_score(labels, scores), abs=1e-12)
    t, p = m.welch_t(scores, labels)
    ref = stats.ttest_ind(scores[labels == 1], scores[labels == 0], equal_var=False)
    assert (t, p) == pytest.approx((ref.statistic, ref.pvalue))


def test_spearman_ceiling_is_0864_for_reference_balance():
    labels = np.array([1] * 158 + [0] * 137)
    assert m.spearman_ceiling(labels) == pytest.approx(0.864, abs=5e-4)
    perfect = labels + np.linspace(0, 0.5, labels.size)
    assert m.cosine_spearman(perfect, labels) == pytest.approx(m.spearman_ceiling(labels), abs=1e-12)


def test_margin_and_cohens_d(scored):
    scores, labels = scored
    a, b = scores[labels == 1], scores[labels == 0]
    assert m.compatibility_margin(scores, labels) == pytest.approx(a.mean() - b.mean())
    pooled = np.sqrt(((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (a.size + b.size - 2))
    assert m.cohens_d(scores, labels) == pytest.approx((a.mean() - b.mean()) / pooled)


def test_threshold_sweep_matches_brute_force_f1(scored):
    scores, labels = scored
    sweep = m.threshold_sweep(scores, labels)
    best = max(skm.f1_score(labels, scores >= t) for t in np.unique(scores))
    assert sweep["best_f1"] == pytest.approx(best, abs=1e-9)
    pred = scores >= sweep["best_threshold"]
    assert sweep["accuracy"] == pytest.approx(skm.accuracy_score(labels, pred))
    assert sweep["precision"] == pytest.approx(skm.precision_score(labels, pred))
    assert sweep["recall"] == pytest.approx(skm.recall_score(labels, pred))


def test_grouped_metrics_and_purity():
    scores = np.array([0.9, 0.8, 0.2, 0.7, 0.1, 0.95])
    labels = np.array([1, 1, 0, 0, 0, 0])
    groups = np.array(["a", "a", "a", "b", "b", "dealbreaker"])
    assert m.false_positives_by(scores, labels, groups, 0.75) == {"dealbreaker": 1}
    assert m.margin_by(scores, labels, groups) == {"a": pytest.approx(0.65), "b": None, "dealbreaker": None}
    assert m.fraction_below(np.array([0.1, 0.5]), 0.3) == 0.5
    assert m.accuracy_by(scores, labels, groups, 0.75) == {"a": 1.0, "b": 1.0, "dealbreaker": 0.0}
    purity = m.cluster_purity(np.array([0, 0, 0, 1, 1, -1]), labels)
    assert purity == {"cluster_purity": pytest.approx(4 / 5), "n_clusters": 2, "noise_ratio": pytest.approx(1 / 6)}


def test_bootstrap_ci_brackets_the_estimate_and_is_deterministic(scored):
    scores, labels = scored
    lo, hi = m.bootstrap_ci(m.auc_roc, scores, labels, n_resamples=200)
    assert lo <= m.auc_roc(scores, labels) <= hi
    assert (lo, hi) == m.bootstrap_ci(m.auc_roc, scores, labels, n_resamples=200)


def test_rank_auc_is_auc_roc_with_ties():
    """The per-group bootstrap's AUC (mid-rank Mann-Whitney) equals scikit-learn's ROC AUC, ties included."""
    from harness.evaluation.metrics import auc_roc, rank_auc

    rng = np.random.default_rng(0)
    for n in (4, 9, 40, 81):
        labels = np.array([0, 1] * (n // 2) + [1] * (n % 2))
        scores = np.round(rng.random(labels.size), 1)  # coarse: many ties
        assert rank_auc(scores, labels) == pytest.approx(auc_roc(scores, labels), abs=1e-12)
