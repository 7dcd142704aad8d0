"""One row per recipe on every scored set, and the recommendation rule (issue #10).

The rule, in code (:func:`recommend`), reads selection sets only: among the recipes whose final validation
Spearman is within ``SPEARMAN_SLACK`` of the best, the one with the highest natural_dev AUC (ties: the higher
validation Spearman, then the name). Eval, leak-free eval and natural_test are shown, never read by the rule.
"""

from __future__ import annotations

from harness.data.scored_sets import (EVAL, EVAL_LEAK_FREE, NATURAL_DEV, NATURAL_TEST, NATURAL_UNSEEN, VALIDATION,
                                      require_selection)
from harness.evaluation import behavioural
from harness.evaluation.formatting import cell
from harness.models.handle import ModelUnavailable

from harness.data.scored_sets import SPEARMAN_SLACK  # noqa: E402 (the rule's slack, shared with the fusion weight)
BUCKETS = ("paraphrase_compatible", "complementary_compatible", "topical_incompatible", "dealbreaker")
#: (column, scored set, metric)
COLUMNS = (
    ("validation Spearman", VALIDATION, "cosine_spearman"),
    ("eval Spearman", EVAL, "cosine_spearman"),
    ("eval AUC", EVAL, "auc_roc"),
    ("leak-free AUC", EVAL_LEAK_FREE, "auc_roc"),
    ("natural_dev AUC", NATURAL_DEV, "auc_roc"),
    ("natural_test AUC", NATURAL_TEST, "auc_roc"),
    ("natural_test margin", NATURAL_TEST, "compatibility_margin"),
    # issue #19: writers the model never met (report only; the rule above never reads it)
    ("writer-disjoint AUC", NATURAL_UNSEEN, "auc_roc"),
    ("cross-writer gap", NATURAL_UNSEEN, "cross_writer_gap_auc"),
)


def worst_writer(metrics: dict | None) -> str:
    """"<writer> <AUC>" for the writer-disjoint set's worst writer, "–" where it was not scored."""
    if not metrics or metrics.get("worst_writer") is None:
        return "–"
    return f"{metrics['worst_writer']} {metrics['worst_writer_auc']:.3f}"


def recommend(selection: dict[str, dict[str, dict]]) -> tuple[str | None, str]:
    """(model, reason) from ``{model: {set name: metrics}}``; reads the validation and natural_dev sets only."""
    for set_name in (VALIDATION, NATURAL_DEV):
        require_selection(set_name)
    scored = {m: (v[VALIDATION]["cosine_spearman"], v[NATURAL_DEV]["auc_roc"]) for m, v in selection.items()
              if m != "baseline" and VALIDATION in v and NATURAL_DEV in v}
    if not scored:
        return None, "no fine-tuned model has both selection sets scored"
    best = max(s for s, _ in scored.values())
    eligible = {m: v for m, v in scored.items() if v[0] >= best - SPEARMAN_SLACK}
    chosen = max(eligible, key=lambda m: (eligible[m][1], eligible[m][0], m))
    return chosen, (f"highest natural_dev AUC ({eligible[chosen][1]:.3f}) among the {len(eligible)} recipes within "
                    f"{SPEARMAN_SLACK} of the best validation Spearman ({best:.3f}): {', '.join(sorted(eligible))}")


def recommend_bi_encoder(scorer) -> tuple[str | None, str]:
    """:func:`recommend` over the run's bi-encoders (models with embeddings) that can run here."""
    selection = {}
    for name in scorer.names:
        try:
            if scorer.ref(name).embeds:
                selection[name] = {s: scorer.metrics(name, s) for s in (VALIDATION, NATURAL_DEV)}
        except ModelUnavailable:
            continue
    return recommend(selection)


RERANK_TITLE = "Retrieve-then-rerank (issue #20): the recommended bi-encoder's top-k per query reordered by the pair scorer; mean over queries [95% bootstrap CI]"
#: retrieve-then-rerank columns: (metric, header)
RERANK_METRICS = (("ndcg@10", "NDCG@10"), ("mrr@10", "MRR@10"), ("recall@10", "recall@10"))


def rerank_rows(metrics: dict[str, dict[str, dict]]) -> list[list[str]]:
    """Retrieve-then-rerank beside retrieval alone, per scored set with ranking: the pipeline bi-encoder's own NDCG@10,
    MRR@10 and recall@10, then its top-k reordered by each pair scorer (cross-encoder, fusion), k = 10 and 50."""
    header = ["scored set", "pipeline", *(h for _, h in RERANK_METRICS)]
    out = [header]
    scorers = [m for m, by_set in metrics.items() if any("rerank" in v for v in by_set.values())]
    for set_name in dict.fromkeys(s for m in scorers for s in metrics[m]):
        retriever = next((metrics[m][set_name]["rerank"]["retriever"] for m in scorers
                          if "rerank" in metrics[m].get(set_name, {})), None)
        if retriever in metrics and set_name in metrics[retriever]:
            out.append([set_name, f"{retriever} (retrieve only)", *(cell(metrics[retriever][set_name], k) for k, _ in RERANK_METRICS)])
        for model in scorers:
            for depth, row in metrics[model].get(set_name, {}).get("rerank", {}).get("depths", {}).items():
                out.append([set_name, f"{retriever} top-{depth} -> {model}", *(cell(row, k) for k, _ in RERANK_METRICS)])
    return out


def rows(metrics: dict[str, dict[str, dict]], extras: dict[str, dict]) -> list[list[str]]:
    """The leaderboard as rows (header first): metrics per scored set with CIs, natural-test bucket means,
    behavioural pass rate, training time, peak RSS, artifact size and trainable parameters."""
    header = ["model", *(c for c, _, _ in COLUMNS), "worst writer", *(f"cos {b}" for b in BUCKETS), "behavioural pass rate",
              "train time (s)", "peak RSS (MB)", "artifact (MB)", "trainable params"]
    out = [header]
    for model, by_set in metrics.items():
        natural = by_set.get(NATURAL_TEST, {}).get("mean_cosine_by_bucket", {})
        extra = extras.get(model, {})
        out.append([model, *(cell(by_set.get(s), m) for _, s, m in COLUMNS), worst_writer(by_set.get(NATURAL_UNSEEN)),
                    *(f"{natural[b]:.3f}" if b in natural else "–" for b in BUCKETS),
                    f"{extra['behavioural']:.2f}" if extra.get("behavioural") is not None else "–",
                    f"{extra['wall_time_s']:.0f}" if extra.get("wall_time_s") is not None else "–",
                    f"{extra['peak_rss_mb']:.0f}" if extra.get("peak_rss_mb") is not None else "–",
                    f"{extra['artifact_mb']:.1f}" if extra.get("artifact_mb") is not None else "–",
                    f"{extra['trainable']:,}" if extra.get("trainable") is not None else "–"])
    return out


#: LoRA rows and the full fine-tune with the same recipe (LoRA stays a first-class row)
LORA_PAIRS = (("lora", "standard"), ("lora-natural-mix", "natural-mix"))


def lora_ratios(metrics: dict[str, dict[str, dict]]) -> list[list[str]]:
    """LoRA / full fine-tune with the same recipe, per scored set (AUC and Spearman)."""
    out = [["LoRA / full", *(s for s in (VALIDATION, EVAL, EVAL_LEAK_FREE, NATURAL_DEV, NATURAL_TEST))]]
    for lora, full in LORA_PAIRS:
        if lora in metrics and full in metrics:
            row = [f"{lora} / {full} (AUC; Spearman)"]
            for s in out[0][1:]:
                a, b = metrics[lora].get(s), metrics[full].get(s)
                row.append("; ".join(f"{a[m] / b[m]:.3f}" if a and b and a.get(m) is not None and b.get(m) else "–"
                                     for m in ("auc_roc", "cosine_spearman")))
            out.append(row)
    return out


def board(scorer) -> dict:
    """The leaderboard of a run's scorer (:class:`~harness.evaluation.scorer.Scorer`): every selected model on every scored set (issue #10's leaderboard), the recommendation (selection sets
    only) and the LoRA/full ratios. Models that cannot run here are left out and named."""
    metrics, extras = {}, {}
    for name in scorer.names:
        try:
            metrics[name] = {s: scorer.metrics(name, s) for s in scorer.frames.available()}
            info = scorer.training_info(name) or {}
            artifact = scorer.ref(name).artifact()
            rates = behavioural.pass_rates(scorer.behavioural(name))
            extras[name] = {"behavioural": rates["all"]["rate"], "wall_time_s": info.get("wall_time_s"),
                            "peak_rss_mb": info.get("peak_rss_mb"), "trainable": info.get("trainable_parameters"),
                            "artifact_mb": sum(p.stat().st_size for p in artifact.rglob("*") if p.is_file()) / 1e6
                            if artifact else None}
        except ModelUnavailable:
            metrics.pop(name, None)
    # the recommended embedding model: bi-encoders only (a cross-encoder cannot index a corpus; it reranks)
    chosen, reason = recommend({m: v for m, v in metrics.items() if scorer.ref(m).embeds})
    return {"rows": rows(metrics, extras), "recommended": chosen, "reason": reason,
            "lora_ratios": lora_ratios(metrics), "rerank": rerank_rows(metrics), "missing": scorer.missing()}
