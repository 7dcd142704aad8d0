"""The report's summary, generated from measured metrics: the headline sentence and the models x metrics table.

Pure functions over the per-model metrics dicts (``{model: {scored set name: {...}}}``).
"""

from __future__ import annotations

import html

from harness.data.scored_sets import EVAL
from harness.evaluation.formatting import cell

HEADLINE_METRICS = ("cosine_spearman", "auc_roc", "compatibility_margin", "cohens_d", "cosine_f1", "cluster_purity")
#: Ranking (InformationRetrievalEvaluator over the set's texts; CIs over queries)
RANKING_COLUMNS = ("ndcg@10", "mrr@10", "recall@1", "recall@5", "recall@10", "map@100", "compatible_above_incompatible")
#: Decisions at the validation-fit threshold, applied unchanged (BinaryClassificationEvaluator's names); the
#: oracle best F1 on the set itself last, labelled as such
TRANSFER_COLUMNS = ("threshold", "cosine_accuracy", "cosine_precision", "cosine_recall", "cosine_f1", "cosine_mcc",
                    "cosine_ap", "best_f1")
TRANSFER_LABELS = {"threshold": "validation threshold", "best_f1": "oracle best F1 (this set)"}


def _best_tuned(metrics: dict[str, dict]) -> str | None:
    # bi-encoders: the headline is about cosines of embeddings (a cross-encoder has no margin; issue #20)
    tuned = [m for m in metrics if m != "baseline" and "compatibility_margin" in metrics[m].get(EVAL, {})]
    return max(tuned, key=lambda m: metrics[m][EVAL]["cosine_spearman"]) if tuned else None


def headline(metrics: dict[str, dict], dataset_name: str) -> str:
    """'Fine-tuning improved compatibility margin from X to Y (Cohen's d from A to B); ... <best> ... <worst> ...'."""
    model = _best_tuned(metrics)
    if model is None or "baseline" not in metrics:
        return "No before/after comparison: run the baseline and at least one fine-tuned model (--model all)."
    before, after = metrics["baseline"][EVAL], metrics[model][EVAL]
    verb = "improved" if after["compatibility_margin"] > before["compatibility_margin"] else "did not improve"
    accuracy = after["accuracy_by_pair_type"]
    best = max(accuracy, key=lambda t: (accuracy[t], t == "dealbreaker"))
    worst = min(accuracy, key=accuracy.get)
    return (
        f"Fine-tuning ({model}) {verb} compatibility margin from {before['compatibility_margin']:.2f} to "
        f"{after['compatibility_margin']:.2f} (Cohen's d from {before['cohens_d']:.2f} to {after['cohens_d']:.2f}, "
        f"Spearman from {before['cosine_spearman']:.3f} to {after['cosine_spearman']:.3f}) on {dataset_name} eval "
        f"(n={after['n']}); pair-type analysis shows {best} achieves {accuracy[best]:.0%} correct at the validation-fit threshold "
        f"while {worst} remains hardest ({accuracy[worst]:.0%})."
    )


def results_table(metrics: dict[str, dict], split: str = EVAL) -> list[list[str]]:
    """Rows of model x headline metrics (value [95% CI]) for one scored set; first row is the header."""
    rows = [["model", "n", *HEADLINE_METRICS]]
    for model, by_split in metrics.items():
        if split in by_split:
            s = by_split[split]
            rows.append([model, str(s["n"]), *(cell(s, m) for m in HEADLINE_METRICS)])
    return rows


def table_html(rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows[1:])
    return f'<table class="harness-summary" border="1" cellpadding="4"><tr>{head}</tr>{body}</table>'


def table_markdown(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows[1:]])


def metric_table(metrics: dict[str, dict], split: str, columns: tuple[str, ...], labels: dict | None = None,
                 with_ci: bool = True) -> list[list[str]]:
    """Rows of model x ``columns`` for one scored set (value [95% CI] where an interval exists)."""
    labels = labels or {}
    rows = [["model", *(labels.get(c, c) for c in columns)]]
    for model, by_split in metrics.items():
        if split in by_split:
            s = by_split[split]
            rows.append([model, *(cell(s, c, with_ci) for c in columns)])
    return rows


def matryoshka_table(metrics: dict[str, dict], split: str, metric: str = "auc_roc") -> list[list[str]]:
    """Rows of model x truncation dimension for one metric (Spearman, AUC or NDCG@10)."""
    dims = None
    rows = []
    for model, by_split in metrics.items():
        curve = by_split.get(split, {}).get("matryoshka")
        if curve:
            dims = dims or list(curve)
            rows.append([model, *(f"{curve[d][metric]:.3f}" if curve[d].get(metric) is not None else "–" for d in dims)])
    return [["model", *(f"{metric}@{d}" for d in dims or [])], *rows] if rows else [["model"]]


def _group_metrics(group: dict | None) -> dict | None:
    """A group's entry of ``auc_by_<field>`` ({auc_roc, ci95: [lo, hi], n}) in the shape :func:`cell` reads."""
    if not group:
        return None
    return {"auc_roc": group.get("auc_roc"), "ci95": {"auc_roc": group["ci95"]} if group.get("ci95") else {}}


def group_auc_table(metrics: dict[str, dict], split: str, field: str) -> list[list[str]]:
    """Rows of model x group (writer or topic family): AUC [95% CI] per group, then the worst group (issue #19)."""
    groups = sorted({g for v in metrics.values() for g in v.get(split, {}).get(f"auc_by_{field}", {})})
    rows = [["model", *groups, f"worst {field}"]]
    for model, by_split in metrics.items():
        by_group = by_split.get(split, {}).get(f"auc_by_{field}")
        if by_group:
            rows.append([model, *(cell(_group_metrics(by_group.get(g)), "auc_roc") for g in groups),
                         f"{by_split[split]['worst_' + field]} {by_split[split]['worst_' + field + '_auc']:.3f}"
                         if by_split[split].get(f"worst_{field}") else "–"])
    return rows


def table_text(rows: list[list[str]]) -> str:
    """A fixed-width text table (the terminal summary)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def evidence_text(metrics: dict[str, dict], sets: list[str]) -> str:
    """Ranking, transfer-threshold and Matryoshka tables per scored set, as text."""
    parts = []
    for split in sets:
        if not any(split in v for v in metrics.values()):
            continue
        parts.append(f"[{split}] ranking (value [95% CI over queries])\n" + table_text(metric_table(metrics, split, RANKING_COLUMNS)))
        parts.append(f"[{split}] at the validation-fit threshold\n"
                     + table_text(metric_table(metrics, split, TRANSFER_COLUMNS, TRANSFER_LABELS, with_ci=False)))
        parts.append(f"[{split}] Matryoshka (AUC by truncate_dim)\n" + table_text(matryoshka_table(metrics, split)))
    return "\n\n".join(parts)
