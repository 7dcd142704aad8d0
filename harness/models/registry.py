"""The model registry: every model the gates can walk, with its training config kept as data.

``baseline`` is the bundled pre-trained model, untouched (the "before"). ``standard`` is a full
fine-tune, ``lora`` trains low-rank adapters on query/value, ``qlora`` does the same on a 4-bit NF4
base and exists only where CUDA does. A typo gets a "did you mean".
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass

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

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str  # "pretrained" | "full" | "lora"
    description: str
    config: TrainConfig | None = None
    requires_cuda: bool = False
    #: Train on this derived file of the dataset (see ``harness.curation.expand.derived_path``) instead of its train set.
    train_file: str | None = None

    @property
    def trains(self) -> bool:
        return self.config is not None


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

FINE_TUNED = tuple(name for name, spec in MODELS.items() if spec.trains)

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
