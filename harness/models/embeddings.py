"""Loading a registered model (base, full fine-tune or adapter) and turning pairs into cosine scores.

A LoRA artifact holds only the adapter; it is loaded onto the bundled base by absolute path with
``load_adapter``, never resolved through the adapter config's stored base path (which names the
machine it was trained on).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness.models.cache import cached_embeddings, unique_texts
from harness.models.registry import ModelSpec
from harness.models.base import load_base_model


def load_model(spec: ModelSpec, artifact: Path | None, init: Path | None = None):
    """The model to encode with: the base for ``baseline``, else the trained artifact (an adapter goes onto the
    weights it was trained on: ``init``, another recipe's artifact, or the bundled base)."""
    from sentence_transformers import SentenceTransformer

    if artifact is None:
        return load_base_model(device="cpu")
    if spec.kind == "lora":
        model = load_base_model(quantization=spec.config.quantization, path=init)
        model.load_adapter(str(artifact))
        return model
    return SentenceTransformer(str(artifact), device="cpu", local_files_only=True)


def encode(model, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Unit-norm embeddings (normalised here, whatever the model's own modules do)."""
    return model.encode(texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True,
                        show_progress_bar=False)


def pair_embeddings(model_key: str, model_loader, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(E1, E2): embeddings of text_1 and text_2 for every row, from the on-disk cache where possible."""
    texts = unique_texts(frame)
    state = {}

    def _encode(batch):
        state.setdefault("model", model_loader())
        return encode(state["model"], batch)

    vectors = cached_embeddings(model_key, texts, _encode)
    index = {t: i for i, t in enumerate(texts)}
    return vectors[[index[t] for t in frame["text_1"]]], vectors[[index[t] for t in frame["text_2"]]]
