"""What every trainer here shares: the bundled base model (by path, never from a hub), LoRA adapters, parameter counts,
the peak-memory probe, the library versions recorded with each artifact, and the training-threads setting.

Kept apart from :mod:`harness.models.training` so that the bi-encoder trainer, the cross-encoder trainer
(:mod:`harness.models.cross_encoder`) and AugSBERT's silver pairs (:mod:`harness.models.silver`) use one copy.
"""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

from harness import __version__
from harness.models.hardware import cuda_available
from harness.models.registry import ModelSpec
from harness.paths import base_model_path

#: torch intra-op threads for training only (e.g. 1 in CI, where the accepted baselines were trained with 1 thread:
#: the same key then gives the same weights; scoring keeps torch's default). Unset: torch's default.
TRAIN_THREADS_ENV = "HARNESS_TRAIN_THREADS"

LIBRARIES = ("torch", "transformers", "sentence-transformers", "peft", "accelerate", "datasets")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "harness": __version__}
    for name in LIBRARIES + ("bitsandbytes",):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def load_base_model(device: str | None = None, quantization: str | None = None, path: Path | None = None):
    """The bundled all-MiniLM-L6-v2, by absolute path, never from a hub (or a trained full fine-tune's folder:
    ``path``, where a recipe starts from another recipe's weights)."""
    from sentence_transformers import SentenceTransformer

    model_kwargs = {}
    if quantization == "nf4":
        import torch
        from transformers import BitsAndBytesConfig

        model_kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16,
            bnb_4bit_use_double_quant=True,
        )
    device = device or ("cuda" if cuda_available() else "cpu")
    return SentenceTransformer(str(path or base_model_path()), device=device, local_files_only=True, model_kwargs=model_kwargs)


def attach_lora(model, spec: ModelSpec) -> None:
    from peft import LoraConfig, TaskType

    cfg = spec.config
    model.add_adapter(LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                                 target_modules=list(cfg.lora_targets), task_type=TaskType.FEATURE_EXTRACTION))


def parameter_counts(model) -> tuple[int, int]:
    """(trainable, total) parameters."""
    params = list(model.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


#: the name under which a recipe's instruction is saved as the model's default prompt
PROMPT_NAME = "dating"


class PeakRSS:
    """The process's peak resident memory while the block runs (sampled every 0.2 s with psutil, MB)."""

    def __enter__(self):
        import threading

        import psutil

        self._process, self._stop, self.peak_mb = psutil.Process(), threading.Event(), 0.0
        self._sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        self.peak_mb = max(self.peak_mb, round(self._process.memory_info().rss / 2**20, 1))

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
