"""The report's summary, generated from measured metrics: the headline sentence and the models x metrics table.

Pure functions over the per-model metrics dicts (``{model: {scored set name: {...}}}``).
"""

from __future__ import annotations

import html

from harness.data.scored_sets import EVAL

HEADLINE_METRICS = ("cosine_spearman", "auc_roc", "compatibility_margin", "cohens_d", "best_f1", "cluster_purity")


def _best_tuned(metrics: dict[str, dict]) -> str | None:
    tuned = [m for m in metrics if m != "baseline"]
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


def _cell(split: dict, metric: str) -> str:
    if metric not in split:
        return "–"
    ci = split.get("ci95", {}).get(metric)
    value = f"{split[metric]:.3f}"
    return f"{value} [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else value


def results_table(metrics: dict[str, dict], split: str = EVAL) -> list[list[str]]:
    """Rows of model x headline metrics (value [95% CI]) for one scored set; first row is the header."""
    rows = [["model", "n", *HEADLINE_METRICS]]
    for model, by_split in metrics.items():
        if split in by_split:
            s = by_split[split]
            rows.append([model, str(s["n"]), *(_cell(s, m) for m in HEADLINE_METRICS)])
    return rows


def table_html(rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows[1:])
    return f'<table class="harness-summary" border="1" cellpadding="4"><tr>{head}</tr>{body}</table>'


def table_markdown(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows[1:]])
