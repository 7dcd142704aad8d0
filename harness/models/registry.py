"""The model registry: every model the gates can walk, with its training config kept as data.

``baseline`` is the bundled pre-trained model, untouched (the "before"). ``standard`` is a full
fine-tune, ``lora`` trains low-rank adapters on query/value, ``qlora`` does the same on a 4-bit NF4
base and exists only where CUDA does. A typo gets a "did you mean".
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass

from harness.data.natural_train import NATURAL_PAIRS, STANCE_TRIPLETS
from harness.data.stance_flip import FLIP_TRIPLETS
from harness.lookup import lookup


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run (PRD section 4, step 3, unless a model's description says why not)."""

    epochs: int = 4
    batch_size: int = 16
    learning_rate: float = 2e-5
    warmup_steps: int = 100
    scheduler: str = "linear"
    optimizer: str = "adamw_torch"
    weight_decay: float = 0.01
    seed: int = 42
    eval_steps: int = 50
    loss: str = "CosineSimilarityLoss"  # label 1 -> target cosine 1.0, label 0 -> 0.0
    lora_r: int | None = None
    lora_alpha: int | None = None
    lora_dropout: float | None = None
    lora_targets: tuple[str, ...] = ()
    quantization: str | None = None
    #: "bf16": mixed precision (autocast; fp32 master weights), also on the CPU, where avx512_bf16 makes a step ~30%
    #: faster than fp32 (measured 0.39 vs 0.55 s per batch of 16 pairs on this machine's 2-core EPYC). "fp32": none.
    precision: str = "bf16"
    #: "pairs": the pairwise ``loss`` on every labelled pair. "mnrl": MultipleNegativesRankingLoss on the label-1 pairs
    #: only (label-0 rows never become positives), each with one hard negative: a label-0 partner of the anchor where
    #: the data has one, else mined with ``sentence_transformers.util.mine_hard_negatives``; no-duplicates batches.
    objective: str = "pairs"
    #: MatryoshkaLoss around the loss at these output dimensions (empty: none)
    matryoshka_dims: tuple[int, ...] = ()
    #: instruction prepended to every text in training (``prompts=``) and saved as the model's default prompt, so a
    #: plain ``SentenceTransformer(path).encode`` applies it as the harness does
    prompt: str | None = None
    #: project data files (under ``data/``) added to the training file: stance triplets and natural pairs
    #: (``harness.data.natural_train``); their sha256 enter the cache key
    extra_train: tuple[str, ...] = ()
    #: start from this registered recipe's trained weights instead of the bundled base (its key enters this key)
    init_from: str | None = None
    #: AugSBERT (issue #20): the registered cross-encoder that labels ``silver_pairs`` silver pairs (its key enters
    #: this key); the bi-encoder trains on gold plus silver
    teacher: str | None = None
    silver_pairs: int = 0

    def to_dict(self) -> dict:
        """Every field, except the knobs added after the first recipes while they hold their defaults: so adding a
        knob does not change the cache key (and retrain) every recipe that does not use it."""
        data = asdict(self)
        for name, default in _LATER_DEFAULTS.items():
            if data[name] == default:
                del data[name]
        return data


_LATER_DEFAULTS = {"objective": "pairs", "matryoshka_dims": (), "prompt": None, "extra_train": (), "init_from": None,
                   "teacher": None, "silver_pairs": 0}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str  # "pretrained" | "full" | "lora" | "cross-encoder" | "fusion"
    description: str
    config: TrainConfig | None = None
    requires_cuda: bool = False
    #: Train on this derived file of the dataset (see ``harness.curation.expand.derived_path``) instead of its train set.
    train_file: str | None = None

    #: fusion only: (bi-encoder, cross-encoder) whose pair scores it combines
    components: tuple[str, ...] = ()

    @property
    def trains(self) -> bool:
        return self.config is not None

    @property
    def embeds(self) -> bool:
        """Whether the model maps each text to a vector (a bi-encoder); a cross-encoder or a fusion scores pairs."""
        return self.kind in ("pretrained", "full", "lora")


LORA_CONFIG = dict(lora_r=8, lora_alpha=16, lora_dropout=0.1, lora_targets=("query", "key", "value"))

MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("baseline", "pretrained", "all-MiniLM-L6-v2 as shipped: the 'before' of every comparison."),
        ModelSpec(
            "standard", "full",
            "Full fine-tune, CosineSimilarityLoss, 4 epochs, batch 16, warmup 100, linear decay, AdamW, lr 2e-4, bf16 "
            "autocast. lr chosen on the validation split only (benchmarks/tune.py, reference data, final validation "
            "Spearman): 2e-4 -> 0.8622, 3e-4 -> 0.8608, 5e-4 -> 0.8134. (Session 1 chose 3e-4 on the eval set.)",
            TrainConfig(learning_rate=2e-4),
        ),
        ModelSpec(
            "lora", "lora",
            "LoRA r=8, alpha=16, dropout 0.1 on query, key and value (PEFT, FEATURE_EXTRACTION; 0.48% of the "
            "parameters trainable); otherwise standard's config except lr 3e-3. With a zero-initialised B matrix, "
            "lr 2e-5 barely moves the adapter in 300 steps. lr chosen on the validation split only (reference data, "
            "final validation Spearman): 1e-3 -> 0.7845, 2e-3 -> 0.7980, 3e-3 -> 0.8199, 5e-3 -> 0.8138.",
            TrainConfig(learning_rate=3e-3, **LORA_CONFIG),
        ),
        ModelSpec(
            "standard-curated", "full",
            "standard's config trained on the Phase 2 curated mix (dating_pairs_expanded_curated.jsonl): expand, "
            "candidates, review and apply must have run for the dataset.",
            TrainConfig(learning_rate=2e-4), train_file="dating_pairs_expanded_curated.jsonl",
        ),
        ModelSpec(
            "qlora", "lora",
            "LoRA as above on a 4-bit NF4 quantised base (bitsandbytes, compute in bf16). CUDA only.",
            TrainConfig(learning_rate=3e-3, quantization="nf4", **LORA_CONFIG),
            requires_cuda=True,
        ),
    )
}

#: the instruction the ``instruct`` recipe trains and encodes with (the objectives' instruction-formatted variant)
INSTRUCTION = "Represent this dating preference for finding a compatible partner: "
MATRYOSHKA_DIMS = (384, 256, 128, 64)
MNRL = dict(objective="mnrl", matryoshka_dims=MATRYOSHKA_DIMS)

#: Recipes for natural phrasing (issue #10): each trained through the same path, scored on every set, chosen on
#: selection sets only (validation and natural_dev; ``harness.evaluation.leaderboard.recommend``).
RECIPES: tuple[ModelSpec, ...] = (
    ModelSpec(
        "standard-cosent", "full",
        "standard with CoSENTLoss (a ranking loss over the order of the pairs' cosines) instead of "
        "CosineSimilarityLoss. lr chosen on natural_dev (selection), GPU sweep 2026-11-26 on the reference data "
        "(scripts/gpu_sweep): 1e-4 -> validation Spearman 0.8618, natural_dev AUC 0.7123; 2e-4 -> 0.8641, 0.6770.",
        TrainConfig(learning_rate=1e-4, loss="CoSENTLoss"),
    ),
    ModelSpec(
        "mnrl-matryoshka", "full",
        "MultipleNegativesRankingLoss in MatryoshkaLoss (384/256/128/64) on the label-1 pairs only, one hard negative "
        "each (a label-0 partner of the anchor, else mined with mine_hard_negatives), no-duplicates batches. lr "
        "chosen on natural_dev, GPU sweep on the reference data: 2e-5 -> validation 0.173 / natural_dev AUC 0.554, "
        "5e-5 -> 0.378 / 0.562, 1e-4 -> 0.432 / 0.577 (the grid's edge; 56 steps, so the 100 warmup steps span the run).",
        TrainConfig(learning_rate=1e-4, **MNRL),
    ),
    ModelSpec(
        "instruct", "full",
        f"standard's recipe with the instruction {INSTRUCTION!r} before every text, in training (prompts=) and at "
        "inference (saved as the model's default prompt, so a plain SentenceTransformer(path) applies it).",
        TrainConfig(learning_rate=2e-4, prompt=INSTRUCTION),
    ),
    ModelSpec(
        "stance-contrast", "full",
        "standard-cosent plus hand-written stance triplets (data/natural_train/raw/stance_triplets.jsonl: anchor, "
        "same stance in other words, same topic with the opposite stance) as labelled pairs (a,p,1), (a,n,0), (p,n,0), "
        "a second portion mixed in by the proportional multi-dataset sampler. Pairwise (CoSENT) because MNRL "
        "trailed on both selection sets in the sweep (with MNRL the same data gave validation 0.457 / natural_dev "
        "0.564 at its best lr). lr 1e-4 as standard-cosent (not re-tuned).",
        TrainConfig(learning_rate=1e-4, loss="CoSENTLoss", extra_train=STANCE_TRIPLETS),
    ),
    ModelSpec(
        "natural-mix", "full",
        "stance-contrast plus the hand-written natural pairs (data/natural_train/raw/pairs_writer_*.jsonl, 675 "
        "pairs), mixed with the training file by the proportional multi-dataset sampler; CoSENT, lr 1e-4 (not "
        "re-tuned). The MNRL version measured validation 0.488 / natural_dev 0.602 at its best lr (GPU sweep).",
        TrainConfig(learning_rate=1e-4, loss="CoSENTLoss", extra_train=(*STANCE_TRIPLETS, *NATURAL_PAIRS)),
    ),
    ModelSpec(
        "lora-natural-mix", "lora",
        "natural-mix's recipe on LoRA (lora's adapter: r=8, alpha=16, q/k/v) at lora's validated lr 3e-3 (not "
        "re-tuned for CoSENT).",
        TrainConfig(learning_rate=3e-3, loss="CoSENTLoss", extra_train=(*STANCE_TRIPLETS, *NATURAL_PAIRS), **LORA_CONFIG),
    ),
)
MODELS.update({spec.name: spec for spec in RECIPES})

#: Issue #20, part 5: programmatic stance flips as hard negatives (harness/data/stance_flip.py; audited by hand)
STANCE_FLIPS = ModelSpec(
    "stance-flips", "full",
    "natural-mix plus programmatic stance flips as hard negatives: data/stance_flips/stance_triplets_flips.jsonl "
    "(anchor, positive, flip of the positive by the project's lexicon and negation rules; 230 triplets from the "
    "label-1 natural_train pairs, 87% judged opposite and 97% fluent in a hand audit of 60), as labelled pairs in "
    "natural-mix's natural portion; CoSENT, lr 1e-4 as natural-mix (not re-tuned).",
    TrainConfig(learning_rate=1e-4, loss="CoSENTLoss", extra_train=(*STANCE_TRIPLETS, *NATURAL_PAIRS, *FLIP_TRIPLETS)),
)
RECIPES = (*RECIPES, STANCE_FLIPS)
MODELS[STANCE_FLIPS.name] = STANCE_FLIPS

#: Issue #20: a stance cross-encoder (reads both texts at once), the pipeline that joins it to the recommended
#: bi-encoder, and the bi-encoder distilled from it (AugSBERT). ``CE_TRAIN`` is natural-mix's data: the training file
#: plus every natural_train file (stance triplets as labelled pairs); each pair once, its order drawn at random (seeded),
#: and both orders averaged at scoring time (a cross-encoder is not symmetric).
CE_TRAIN = (*STANCE_TRIPLETS, *NATURAL_PAIRS)
#: The bi-encoder the pipeline retrieves with and fuses: what ``python -m harness recommend`` chose on the reference
#: data (selection sets only; checks/model/test_selection.py fails if the recommendation moves away from it).
PIPELINE_BI_ENCODER = "natural-mix"
CROSS_ENCODERS: tuple[ModelSpec, ...] = (
    ModelSpec(
        "cross-encoder", "cross-encoder",
        "MiniLM cross-encoder (sentence_transformers CrossEncoder, num_labels=1, BinaryCrossEntropyLoss) initialised "
        "from natural-mix's trained weights, on natural-mix's data; lr 1.5e-4, 4 epochs, batch 16; the checkpoint with "
        "the best natural_dev AUC (every 50 steps, both orders averaged) is kept. Initialisation chosen on the selection "
        "sets against cross-encoder-base (2026-12-02, reference data, kept checkpoints, training_info.json): from "
        "natural-mix validation Spearman 0.8525 / natural_dev AUC 0.820; from MiniLM 0.7905 / 0.806 (2 epochs each). "
        "Epochs and lr chosen by the recommendation rule (docs/sweeps/cross-encoder.md): 4 epochs 0.860 / 0.861 "
        "against 2 epochs 0.8525 / 0.820 and lr 5e-5 0.847 / 0.8205; natural_dev was still rising at 4 epochs.",
        TrainConfig(learning_rate=1.5e-4, epochs=4, warmup_steps=30, loss="BinaryCrossEntropyLoss", extra_train=CE_TRAIN,
                    init_from=PIPELINE_BI_ENCODER),
    ),
    ModelSpec(
        "cross-encoder-base", "cross-encoder",
        "cross-encoder's recipe initialised from the bundled MiniLM instead (lr 5e-5): the initialisation it was "
        "compared with on the selection sets.",
        TrainConfig(learning_rate=5e-5, epochs=2, warmup_steps=30, loss="BinaryCrossEntropyLoss", extra_train=CE_TRAIN),
    ),
)
MODELS.update({spec.name: spec for spec in CROSS_ENCODERS})

AUGSBERT = dict(loss="CoSENTLoss", extra_train=CE_TRAIN, init_from=PIPELINE_BI_ENCODER, teacher="cross-encoder",
                silver_pairs=30000, epochs=1, warmup_steps=100)
DISTILLED: tuple[ModelSpec, ...] = (
    ModelSpec(
        "augsbert", "full",
        "AugSBERT: natural-mix's weights trained 1 epoch (CoSENT, lr 2e-5) on gold (natural-mix's data) plus 30,000 "
        "silver pairs labelled by cross-encoder (both orders averaged): each training/natural_train text with its "
        "nearest neighbours by natural-mix among those texts (hard, within and across topics) and random partners; "
        "never a dev, test or scored-set text (harness/models/silver.py). Loss and silver size chosen by the "
        "recommendation rule (docs/sweeps/augsbert.md; validation Spearman / natural_dev AUC): 30,000 silver pairs "
        "0.850 / 0.862 against 20,000 0.850 / 0.858 and 40,000 0.850 / 0.862 (a tie within noise; 30,000 is also the "
        "cheaper); CoSENT against MSE on the teacher's scores (CosineSimilarityLoss, 20,000) 0.853 / 0.845.",
        TrainConfig(learning_rate=2e-5, **AUGSBERT),
    ),
    ModelSpec(
        "augsbert-lora", "lora",
        "augsbert's data, teacher and silver pairs (30,000, chosen for augsbert) on a LoRA adapter (lora's r=8, "
        "alpha=16, q/k/v) over natural-mix's weights, lr 1e-3.",
        TrainConfig(learning_rate=1e-3, **AUGSBERT, **LORA_CONFIG),
    ),
)
MODELS.update({spec.name: spec for spec in DISTILLED})

#: Score fusion: the pipeline bi-encoder's cosine and the cross-encoder's probability, w * cos + (1 - w) * p, with w
#: chosen on the selection sets (harness/models/fusion.py). Retrieve-then-rerank (top-k of the bi-encoder reordered by
#: the cross-encoder) is reported in the cross-encoder's ranking rows.
FUSION = ModelSpec("fusion", "fusion", "w * cosine(natural-mix) + (1 - w) * P(cross-encoder), w from the selection sets",
                   components=(PIPELINE_BI_ENCODER, "cross-encoder"))
MODELS[FUSION.name] = FUSION

FINE_TUNED = tuple(name for name, spec in MODELS.items() if spec.trains or spec.components)
#: Models that score a pair jointly (no vectors): metrics defined on cosines of two embeddings do not apply to them
PAIR_SCORERS = tuple(name for name, spec in MODELS.items() if not spec.embeds)

#: The fold models behind out-of-fold label review: standard's recipe, 2 epochs (they only rank pairs).
FOLD_SPEC = ModelSpec("fold", "full", "k-fold scorer for label review (harness.curation.loop)",
                      TrainConfig(learning_rate=3e-4, epochs=2))


def get_model_spec(name: str) -> ModelSpec:
    """The registered spec, or a KeyError that suggests the closest names."""
    return lookup(MODELS, name, "model")


#: Formats a registered model can be exported to (``harness.models.export``); ``NAME@FORMAT`` names the export.
EXPORT_FORMATS = ("onnx", "onnx-int8")


def split_export_name(name: str) -> tuple[str, str | None]:
    """``"standard@onnx-int8"`` -> ``("standard", "onnx-int8")``; ``"standard"`` -> ``("standard", None)``.

    Raises KeyError for an unknown model or format (with the registered ones, and a "did you mean")."""
    base, at, fmt = name.partition("@")
    get_model_spec(base)
    if not at:
        return base, None
    if fmt not in EXPORT_FORMATS:
        close = difflib.get_close_matches(fmt, EXPORT_FORMATS, n=1)
        hint = f" Did you mean {base}@{close[0]}?" if close else ""
        raise KeyError(f"unknown export format {fmt!r} in {name!r}; formats: {', '.join(EXPORT_FORMATS)}.{hint}")
    return base, fmt


def resolve_model_names(requested: list[str] | None) -> list[str]:
    """``--model`` values to registered names: none -> baseline, standard, lora; 'all' -> every model.

    ``NAME@FORMAT`` (e.g. ``standard@onnx-int8``) selects the model's export; 'all' never includes exports."""
    if not requested:
        return ["baseline", "standard", "lora"]
    names: list[str] = []
    for value in requested:
        for name in (MODELS if value == "all" else [value]):
            split_export_name(name)
            if name not in names:
                names.append(name)
    return names
