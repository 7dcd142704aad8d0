"""The success criteria as one table: metric, comparison, threshold, models, scored set and source.

One parametrised check (``checks/model/test_criteria.py``) walks criteria x models. The baseline is
scored against every criterion too, as the "before": it is expected to miss, and meeting a
fine-tuned criterion means the wrong model was evaluated. A criterion whose threshold is above the
metric's ceiling on the scored set is reported as impossible with both numbers.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, replace

from harness.models.registry import CROSS_ENCODERS, DISTILLED, FINE_TUNED as REGISTRY_FINE_TUNED, RECIPES
from harness.data.scored_sets import EVAL, EVAL_EXTRA, EVAL_LEAK_FREE, NATURAL_TEST, NATURAL_UNSEEN

GATE, TARGET = "gate", "target"
#: A pseudo scored set: the hand-written behavioural cases (harness/evaluation/behavioural.py).
BEHAVIOURAL = "behavioural"

OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}
NEGATED = {">=": "<", ">": "<=", "<=": ">", "<": ">="}

#: Every trained model of the registry (the PRD's criteria apply to each), and the issue #10 recipes among them
FINE_TUNED = REGISTRY_FINE_TUNED
RECIPE_NAMES = tuple(spec.name for spec in RECIPES)
#: Issue #20: the cross-encoders (and the fusion that uses one) and the bi-encoders distilled from one
CROSS_ENCODER_NAMES = tuple(spec.name for spec in CROSS_ENCODERS)
DISTILLED_NAMES = tuple(spec.name for spec in DISTILLED)
#: Recipes that met the issue #10 reference-eval targets (the rows were promoted to gates for them)
PROMOTED_EVAL = ("stance-contrast", "natural-mix", "standard-cosent", "instruct", "stance-flips", "augsbert")


def _others(models: tuple[str, ...], excluded: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(m for m in models if m not in excluded)


@dataclass(frozen=True)
class Criterion:
    metric: str
    op: str
    threshold: float
    models: tuple[str, ...]
    scored_on: str  # a registered scored set (harness/data/scored_sets.py), or BEHAVIOURAL
    source: str
    #: Whether the baseline meeting this criterion means the wrong model was scored. False only where a
    #: measurement showed the pre-trained model meets it for reasons unrelated to compatibility.
    baseline_must_miss: bool = True
    #: Which data the row applies to: "any", "default" (this project's data/default) or "external" (any other
    #: dataset, such as the reference data the PRD was written for).
    datasets: str = "any"
    #: GATE: a miss fails the check and CI. TARGET: no model meets it yet; a miss is a strict xfail that shows
    #: value, CI and threshold, and a model that starts meeting it fails the check until it is promoted to a gate.
    status: str = GATE

    @property
    def id(self) -> str:
        return f"{self.metric}{self.op}{self.threshold:g}@{self.scored_on}"

    def holds(self, value: float) -> bool:
        return OPS[self.op](value, self.threshold)


CRITERIA: tuple[Criterion, ...] = (
    Criterion("cosine_spearman", ">=", 0.86, ("standard", "standard-curated"), EVAL,
              "PRD §1 success criteria: fine-tuned Spearman >= 0.86. A target since the learning rate is chosen on the "
              "validation split (2e-4): standard measures 0.856 [0.845, 0.863] on the reference eval (ceiling 0.864). "
              "Session 1 met it (0.861) with lr 3e-4, chosen on this eval set itself; validation prefers 2e-4 "
              "(0.8622 vs 0.8608), so that pass was selection on the test set", datasets="external", status=TARGET),
    Criterion("cosine_spearman", ">=", 0.83, ("lora", "qlora"), EVAL,
              "PRD §15 expects LoRA >= 0.83. After tuning rank, targets and lr (see the lora model's description) "
              "LoRA reached 0.857 on the reference eval, short of 0.86 (ceiling 0.864), so it is gated at 0.83.",
              datasets="external"),
    Criterion("cosine_spearman", ">=", 0.75, FINE_TUNED, EVAL,
              "Default data only. The PRD's 0.86 (99.5% of the 0.864 ceiling, i.e. AUC >= 0.998) was written for the "
              "reference eval, which shares 290 of 590 texts and 42 pairs with its training set. The default eval "
              "shares no text with train: every phrasing is new, so Spearman measures generalisation. Measured "
              "standard 0.834, lora 0.786 (ceiling 0.864); gated at 0.75 as a regression guard, not as the PRD's bar.",
              datasets="default"),
    Criterion("compatibility_margin", ">=", 0.20, FINE_TUNED, EVAL, "PRD §1: margin >= 0.20"),
    Criterion("cohens_d", ">", 0.8, FINE_TUNED, EVAL, "PRD §1: Cohen's d > 0.8 (large effect)"),
    Criterion("auc_roc", ">=", 0.80, FINE_TUNED, EVAL, "PRD §4 step 5: AUC-ROC 0.80+"),
    Criterion("dealbreakers_below_threshold", ">=", 1.0, FINE_TUNED, EVAL,
              "PRD §15: dealbreakers near-perfect separation; every dealbreaker pair scores below the decision "
              "threshold fitted on the validation split (not the eval set's own best-F1 threshold, an oracle)"),
    Criterion("cluster_purity", ">=", 0.70, FINE_TUNED, EVAL,
              "PRD §15: cluster purity 70%+ (HDBSCAN on UMAP of pair vectors). The baseline measured 0.756 on the "
              "reference eval: HDBSCAN groups pairs by topic and topics are label-skewed (dealbreakers are all 0), "
              "so purity alone does not tell before from after; the baseline's value is reported, not a tripwire.",
              baseline_must_miss=False),
    # The leak-free subset: metrics without a class-balance ceiling are gated there too.
    Criterion("auc_roc", ">=", 0.80, FINE_TUNED, EVAL_LEAK_FREE, "leak-free eval subset (issue #3): AUC has no balance ceiling"),
    Criterion("compatibility_margin", ">=", 0.20, FINE_TUNED, EVAL_LEAK_FREE, "leak-free eval subset: margin"),
    Criterion("cohens_d", ">", 0.8, FINE_TUNED, EVAL_LEAK_FREE, "leak-free eval subset: Cohen's d"),
    # Issue #10: a recipe for natural phrasing must not trade the reference eval for it
    # Promoted to gates for the recipes that met them (2026-11-26, reference: stance-contrast 0.857 [0.848, 0.863] /
    # AUC 0.996, natural-mix 0.860 [0.854, 0.863] / 0.998; 2026-12-02, fp32 retrains: standard-cosent 0.856 / 0.996,
    # instruct 0.856 / 0.995, stance-flips 0.861 / 0.998, augsbert 0.860 / 0.998, and 0.857 / 0.996 at 30,000 silver
    # pairs); still targets for the others. augsbert-lora met both at 20,000 silver pairs (0.859 [0.851, 0.864] /
    # 0.997) and misses them at 30,000, augsbert's size, which its selection sets also prefer (validation 0.8525 vs
    # 0.850, natural_dev AUC 0.867 vs 0.856): 0.853 [0.840, 0.862] / 0.994, so they stay targets for it.
    Criterion("cosine_spearman", ">=", 0.855, PROMOTED_EVAL, EVAL,
              "issue #10: the natural-phrasing recipes keep reference eval Spearman >= 0.855 (met and promoted)",
              datasets="external"),
    Criterion("auc_roc", ">=", 0.995, PROMOTED_EVAL, EVAL,
              "issue #10: the natural-phrasing recipes keep reference eval AUC >= 0.995 (met and promoted)",
              datasets="external"),
    Criterion("cosine_spearman", ">=", 0.855, _others(RECIPE_NAMES + DISTILLED_NAMES, PROMOTED_EVAL), EVAL,
              "issue #10: the natural-phrasing recipes keep reference eval Spearman >= 0.855 (issue #20: augsbert too)",
              datasets="external", status=TARGET),
    Criterion("auc_roc", ">=", 0.995, _others(RECIPE_NAMES + DISTILLED_NAMES, PROMOTED_EVAL), EVAL,
              "issue #10: the natural-phrasing recipes keep reference eval AUC >= 0.995 (issue #20: augsbert too)",
              datasets="external", status=TARGET),
    # Natural phrasing (issue #9): the hand-written test half, ambiguous bucket excluded. No model meets these yet.
    Criterion("auc_roc", ">=", 0.85, ("natural-mix",), NATURAL_TEST,
              "issue #9: compatible people land close 'even when they say it in different words'; met by natural-mix on "
              "the reference data once natural_train had nine writers (2026-12-01: 0.859 [0.820, 0.896], fp32, 1 thread) "
              "and promoted to a gate for it there", datasets="external"),
    Criterion("auc_roc", ">=", 0.85, ("augsbert",), NATURAL_TEST,
              "issue #9's bar; augsbert met it with 20,000 silver pairs (2026-12-02: 0.855 [0.814, 0.893]) and was a "
              "gate; with 30,000, the silver size chosen on the selection sets (docs/sweeps/augsbert.md: natural_dev "
              "0.862 vs 0.858), it measures 0.843 [0.800, 0.883], so it is a target again: the silver size is not "
              "re-chosen on a report set", datasets="external", status=TARGET),
    Criterion("auc_roc", ">=", 0.85, ("fusion",), NATURAL_TEST,
              "issue #9's bar; the fusion met it with the 2-epoch cross-encoder (0.868 [0.831, 0.902], weight 0.75) and "
              "was a gate; with the 4-epoch cross-encoder chosen on the selection sets (docs/sweeps/cross-encoder.md) it "
              "measures 0.843 [0.801, 0.882] (2026-12-02), so it is a target again: the teacher is not re-chosen on a "
              "report set", datasets="external", status=TARGET),
    Criterion("auc_roc", ">=", 0.85, ("natural-mix", "fusion", "augsbert"), NATURAL_TEST,
              "issue #9: compatible people land close 'even when they say it in different words'", datasets="default",
              status=TARGET),
    Criterion("auc_roc", ">=", 0.85, _others(FINE_TUNED, ("natural-mix", "fusion", "augsbert")), NATURAL_TEST,
              "issue #9: compatible people land close 'even when they say it in different words'", status=TARGET),
    Criterion("compatibility_margin", ">=", 0.20, ("natural-mix",), NATURAL_TEST,
              "issue #9: PRD margin on natural phrasing; met by natural-mix (reference 0.247 [0.204, 0.286], default "
              "0.280 [0.236, 0.324]) and promoted to a gate for it"),
    Criterion("compatibility_margin", ">=", 0.20, ("stance-contrast", "stance-flips"), NATURAL_TEST,
              "issue #9: PRD margin on natural phrasing; met on the reference data by stance-contrast once natural_train "
              "had nine writers (2026-12-01: 0.227 [0.184, 0.268], fp32) and by stance-flips (2026-12-02: 0.313 [0.253, "
              "0.367]) and promoted to a gate for them there", datasets="external"),
    Criterion("compatibility_margin", ">=", 0.20, ("stance-contrast", "stance-flips"), NATURAL_TEST,
              "issue #9: PRD margin on natural phrasing", datasets="default", status=TARGET),
    Criterion("compatibility_margin", ">=", 0.20, _others(FINE_TUNED, ("natural-mix", "stance-contrast", "stance-flips")),
              NATURAL_TEST, "issue #9: PRD margin on natural phrasing", status=TARGET),
    Criterion("generalisation_gap_auc", "<=", 0.10, _others(FINE_TUNED, ("mnrl-matryoshka",)), NATURAL_TEST,
              "issue #9: eval AUC - natural-test AUC (CI from resampling both sets); a model that separates the "
              "synthetic eval set but not natural phrasing has not done the job. 0.10 allows natural AUC 0.89 "
              "beside eval 0.99. The baseline is reported, not a tripwire: it is as bad on eval as on natural phrasing, so its "
              "gap is small for the wrong reason; mnrl-matryoshka is left out for the same reason (default: gap 0.078 "
              "with eval AUC 0.671: it fails the eval gates instead)", baseline_must_miss=False, status=TARGET),
    # Issue #19: the writer-disjoint natural test (writers who never wrote or read any training, dev or earlier test
    # text). The natural-test bar applies there too, and the cross-writer gap says how much of natural_dev's AUC
    # holds for new writers.
    Criterion("auc_roc", ">=", 0.85, FINE_TUNED, NATURAL_UNSEEN,
              "issue #19: the natural-test AUC bar on writers the model never met", status=TARGET),
    Criterion("cross_writer_gap_auc", "<=", 0.05, FINE_TUNED, NATURAL_UNSEEN,
              "issue #19: natural_dev AUC - writer-disjoint test AUC (CI from resampling both sets): a recipe fitted to "
              "its writers' style loses AUC on new writers. The baseline is reported, not a tripwire (no fitting, so "
              "no gap to lose)", baseline_must_miss=False, status=TARGET),
)

#: Issue #20: the stance cross-encoder, the pipeline and the bi-encoder distilled from the cross-encoder.
CROSS_ENCODER_CRITERIA: tuple[Criterion, ...] = (
    Criterion("auc_roc", ">=", 0.93, CROSS_ENCODER_NAMES + ("fusion",), NATURAL_TEST,
              "issue #20: a model that reads both texts at once should handle stance far better (NevIR; Reuver et "
              "al. 2024): natural-test AUC >= 0.93", status=TARGET),
    Criterion("auc_roc", ">=", 0.90, CROSS_ENCODER_NAMES + ("fusion",), NATURAL_UNSEEN,
              "issue #20: the cross-encoder on writers it never met: AUC >= 0.90", status=TARGET),
    Criterion("auc_roc", ">=", 0.90, DISTILLED_NAMES, NATURAL_TEST,
              "issue #20: AugSBERT (gold + cross-encoder-labelled silver pairs) on natural phrasing: AUC >= 0.90",
              status=TARGET),
    Criterion("behavioural_inv_pass_rate", ">=", 0.90, DISTILLED_NAMES, BEHAVIOURAL,
              "issue #20: the distilled bi-encoder keeps INV behavioural cases at >= 0.90 (natural-mix dropped to 0.74); "
              "met on the reference data by augsbert (2026-12-02: 0.98, 49 of 50) and augsbert-lora (0.98) and "
              "promoted there", baseline_must_miss=False, datasets="external"),
    Criterion("behavioural_inv_pass_rate", ">=", 0.90, DISTILLED_NAMES, BEHAVIOURAL,
              "issue #20: the distilled bi-encoder keeps INV behavioural cases at >= 0.90", baseline_must_miss=False,
              datasets="default", status=TARGET),
)

#: Behavioural checks (hand-written cases): pass rate per kind, >= 95% (the issue #10 target). No model meets any kind
#: with the validation-chosen recipes (2026-11-26, README): reference INV standard 0.94 / lora 0.88, DIR 0.73 / 0.82,
#: MFT 0.68 / 0.91. (With session 1's eval-chosen learning rates LoRA had met INV 0.96 and MFT 1.00 on the reference.)
BEHAVIOURAL_KINDS = ("INV", "DIR", "MFT")
_BEHAVIOURAL_MEASURED = {"INV": "reference 0.94 standard / 0.88 lora", "DIR": "reference 0.73 / 0.82",
                         "MFT": "reference 0.68 / 0.91"}


def _behavioural(kind: str, models: tuple[str, ...], status: str = TARGET, datasets: str = "any", note: str = "") -> Criterion:
    return Criterion(f"behavioural_{kind.lower()}_pass_rate", ">=", 0.95, models, BEHAVIOURAL,
                     f"issue #9: {kind} behavioural cases (data/behavioural/cases.jsonl) pass at >= 95%; "
                     f"{note or _BEHAVIOURAL_MEASURED[kind]}", baseline_must_miss=False, status=status, datasets=datasets)


BEHAVIOURAL_CRITERIA: tuple[Criterion, ...] = (
    # met by lora-natural-mix on the default data (0.96, 48 of 50) and promoted to a gate there
    _behavioural("INV", ("lora-natural-mix",), GATE, "default", "met by lora-natural-mix on the default data (0.96) and promoted"),
    _behavioural("INV", _others(FINE_TUNED, ("lora-natural-mix",)), datasets="default"),
    # met on the reference data (2026-12-02: lora-natural-mix 0.96, augsbert 0.98, augsbert-lora 0.98) and promoted there
    _behavioural("INV", ("lora-natural-mix", "augsbert", "augsbert-lora"), GATE, "external",
                 "met on the reference data by lora-natural-mix (0.96), augsbert (0.98) and augsbert-lora (0.98) and "
                 "promoted"),
    _behavioural("INV", _others(FINE_TUNED, ("lora-natural-mix", "augsbert", "augsbert-lora")), datasets="external"),
    _behavioural("DIR", FINE_TUNED),
    # met by natural-mix on the reference data (2026-12-01: 1.00, 22 of 22) and promoted to a gate there, by the fusion
    # (1.00) and by the 4-epoch cross-encoder (2026-12-02: 0.955, 21 of 22)
    _behavioural("MFT", ("natural-mix", "fusion", "cross-encoder", "augsbert-lora"), GATE, "external",
                 "met on the reference data by natural-mix (1.00), fusion (1.00), cross-encoder (0.955) and "
                 "augsbert-lora (1.00, 22 of 22, 30,000 silver pairs) and promoted"),
    # augsbert met it with the 2-epoch teacher (0.955) and was a gate; distilled from the 4-epoch teacher chosen on the
    # selection sets it measures 0.818 (18 of 22, 2026-12-02), and 0.591 (13 of 22) with 30,000 silver pairs: a target
    _behavioural("MFT", ("augsbert",), TARGET, "external",
                 "augsbert: 0.955 with the 2-epoch teacher, 0.818 with the 4-epoch teacher chosen on the selection sets, "
                 "0.591 with 30,000 silver pairs (chosen there too)"),
    _behavioural("MFT", ("natural-mix", "fusion", "augsbert", "cross-encoder", "augsbert-lora"), datasets="default"),
    _behavioural("MFT", _others(FINE_TUNED, ("natural-mix", "fusion", "augsbert", "cross-encoder", "augsbert-lora"))),
)

#: Every row: the PRD's and the issues' criteria, the behavioural checks, the cross-encoder's (issue #20)
ALL_CRITERIA = CRITERIA + BEHAVIOURAL_CRITERIA + CROSS_ENCODER_CRITERIA

#: The charts behind each metric, attached to its criterion's row in the report.
CHARTS_FOR_METRIC: dict[str, tuple[str, ...]] = {
    "cosine_spearman": ("training_curves", "roc_overlay"),
    "compatibility_margin": ("cosine_overlay", "category_margin_heatmap"),
    "cohens_d": ("cohens_d_bars",),
    "auc_roc": ("roc_overlay", "writer_auc", "family_auc"),
    "cross_writer_gap_auc": ("writer_auc",),
    "dealbreakers_below_threshold": ("false_positives_by_pair_type",),
    "cluster_purity": ("purity_bars", "umap_side_by_side"),
    "generalisation_gap_auc": ("natural_buckets",),
    "behavioural_inv_pass_rate": ("behavioural_pass_rates",),
}

#: The scored set whose rows a chart is drawn from (the charts show the eval set unless named here).
CHART_SET = {"natural_buckets": NATURAL_TEST, "behavioural_pass_rates": BEHAVIOURAL, "writer_auc": NATURAL_UNSEEN,
             "family_auc": NATURAL_UNSEEN}


def charts_deciding(criterion: Criterion) -> tuple[str, ...]:
    """The charts behind this criterion's number: its metric's charts, drawn from the set it is scored on."""
    return tuple(c for c in CHARTS_FOR_METRIC.get(criterion.metric, ()) if CHART_SET.get(c, EVAL) == criterion.scored_on)


#: Metrics bounded by the labels of the scored set, with the key of their ceiling in the metrics dict.
CEILINGS = {"cosine_spearman": "spearman_ceiling"}


def cases(models: list[str], extra_split: bool = False, default_data: bool = False,
          table: tuple[Criterion, ...] | None = None) -> list[tuple[Criterion, str]]:
    """(criterion, model) pairs for the selected models; the baseline joins every criterion as 'before'.

    ``extra_split`` repeats the full-eval criteria on another scored set (``--eval-file``), beside them.
    ``default_data`` picks the rows scoped to this project's own data instead of the external ones.
    """
    scope = "default" if default_data else "external"
    criteria = [c for c in (table or ALL_CRITERIA) if c.datasets in ("any", scope)]
    if extra_split:
        criteria += [replace(c, scored_on=EVAL_EXTRA, source=f"{c.source} (on --eval-file)") for c in list(criteria)
                     if c.scored_on == EVAL and c.metric != "cluster_purity"]
    out, seen = [], set()
    for criterion in criteria:
        for model in models:
            # a criterion split into a gate row (models that met it) and a target row (the rest) has one id: the
            # baseline joins it once
            if (model in criterion.models or model == "baseline") and (criterion.id, model) not in seen:
                seen.add((criterion.id, model))
                out.append((criterion, model))
    return out
