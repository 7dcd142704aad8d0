"""One registered model on one dataset: its cache key, its artifact (trained on demand), its scores on pairs.

Everything that scores a model goes through :class:`ModelRef` (the evaluator, the CLI, comparison, the pytest
fixtures), so the training file is resolved in one place and every cosine comes from the same embedding cache.
A model that cannot run here raises :class:`ModelUnavailable` with the reason; the caller decides whether that
is a skip (QLoRA without CUDA) or a failure of that model's rows only.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.dataset import TRAIN_FILE, Dataset
from harness.data.files import resolve_train_file
from harness.models.cache import model_key
from harness.models.embeddings import load_model, pair_embeddings
from harness.models.registry import ModelSpec, get_model_spec, split_export_name


class ModelUnavailable(Exception):
    """This model cannot be trained, loaded or scored here; ``expected`` marks a known limit (no CUDA, no curated
    file yet), as opposed to a breakage."""

    def __init__(self, name: str, reason: str, expected: bool = True):
        super().__init__(f"{name}: {reason}")
        self.name, self.reason, self.expected = name, reason, expected


def cuda_available() -> bool:
    from harness.models.training import cuda_available as available

    return available()


@dataclass
class ModelRef:
    name: str
    dataset: Dataset
    spec: ModelSpec
    train_path: Path | None  # None for the untrained baseline
    _artifact: Path | None = field(default=None, repr=False)
    _model: object = field(default=None, repr=False)
    #: ``NAME@FORMAT`` (``harness.models.export``): the model ``source`` exported to this format, exported on demand
    export_format: str | None = None
    source: "ModelRef | None" = field(default=None, repr=False)
    #: a fusion's components (bi-encoder, cross-encoder)
    parts: tuple["ModelRef", ...] = field(default=(), repr=False)
    #: a cross-encoder's scores of the pairs it has scored in this process
    _pair_memo: dict = field(default_factory=dict, repr=False)

    @classmethod
    def resolve(cls, name: str, dataset: Dataset, train_file: str | Path | None = None,
                known: dict[str, "ModelRef"] | None = None) -> "ModelRef":
        """The model ``name`` on ``dataset``; ModelUnavailable where this machine cannot run it. A fusion's parts
        are taken from ``known`` (models already resolved in this run) where there, so that one cross-encoder is
        loaded, and scores each pair, once per run."""
        base, export_format = split_export_name(name)
        if export_format:
            source = cls.resolve(base, dataset, train_file)
            return cls(name, dataset, source.spec, source.train_path, export_format=export_format, source=source)
        spec = get_model_spec(name)
        if spec.components:
            known = known or {}
            return cls(name, dataset, spec, None, parts=tuple(known[c] if isinstance(known.get(c), cls) else
                                                              cls.resolve(c, dataset, train_file) for c in spec.components))
        if spec.requires_cuda and not cuda_available():
            raise ModelUnavailable(name, "needs CUDA (4-bit NF4 via bitsandbytes); torch.cuda.is_available() is False here")
        if not spec.trains:
            return cls(name, dataset, spec, None)
        try:
            path = resolve_train_file(dataset, spec.train_file, train_file)
        except FileNotFoundError as err:
            raise ModelUnavailable(name, str(err)) from None
        return cls(name, dataset, spec, path)

    @property
    def _own_file(self) -> bool:
        return self.train_path is None or self.spec.train_file is not None or self.train_path == self.dataset.root / TRAIN_FILE

    @property
    def label(self) -> str:
        """The name, or "name on FILE" where it trains on a file other than its own."""
        return self.name if self._own_file else f"{self.name} on {self.train_path.name}"

    @functools.cached_property
    def key(self) -> str:
        """Computed once: it hashes the training file, and every embedding and metrics look-up asks for it."""
        if self.source is not None:
            from harness.models.export import export_name

            return export_name(self.source.key, self.export_format)
        if self.parts:
            from harness.models.fusion import fusion_key

            return fusion_key(self.name, [p.key for p in self.parts])
        return model_key(self.spec, self.dataset, self.train_path)

    def artifact(self) -> Path | None:
        """The trained folder (trained now if absent); None for the baseline; the export folder for NAME@FORMAT."""
        if self.source is not None and self._artifact is None:
            from harness.models.export import ensure_exported

            try:
                self._artifact = ensure_exported(self.source, self.export_format)
            except (OSError, RuntimeError, ValueError, ImportError) as err:
                raise ModelUnavailable(self.name, f"export failed: {err.__class__.__name__}: {err}", expected=False) from err
        if self.spec.trains and self._artifact is None:
            from harness.models.training import ensure_trained

            try:
                self._artifact = ensure_trained(self.spec, self.dataset, train_file=self.train_path)
            except (OSError, RuntimeError, ValueError) as err:
                raise ModelUnavailable(self.name, f"training failed: {err.__class__.__name__}: {err}", expected=False) from err
        return self._artifact

    def load(self):
        if self._model is None:
            artifact = self.artifact()
            try:
                if self.source is not None and self.spec.kind == "cross-encoder":
                    from harness.models.onnx_cross_encoder import OnnxCrossEncoder

                    self._model = OnnxCrossEncoder(artifact)
                elif self.source is not None:
                    from harness.models.onnx_encoder import OnnxEncoder

                    self._model = OnnxEncoder(artifact)
                elif self.spec.kind == "cross-encoder":
                    from harness.models.cross_encoder import load_cross_encoder

                    self._model = load_cross_encoder(artifact)
                elif self.parts:
                    raise ModelUnavailable(self.name, "a fusion has no model of its own; it combines its parts' scores")
                else:
                    self._model = load_model(self.spec, artifact, self._init_artifact())
            except (OSError, RuntimeError, ValueError) as err:
                raise ModelUnavailable(self.name, f"loading {artifact} failed: {err.__class__.__name__}: {err}",
                                       expected=False) from err
        return self._model

    def _init_artifact(self) -> Path | None:
        """The artifact a recipe started from (``init_from``): an adapter is loaded onto it."""
        if self.spec.kind == "lora" and self.spec.config.init_from:
            return ModelRef.resolve(self.spec.config.init_from, self.dataset, self.train_path).artifact()
        return None

    @property
    def embeds(self) -> bool:
        """Whether this model has vectors (a bi-encoder or its export); a cross-encoder (or its export) or a fusion
        scores pairs."""
        return self.spec.embeds

    def pair_embeddings(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        if not self.embeds:
            raise ValueError(f"{self.name} is a {self.spec.kind}: it scores pairs and has no embeddings")
        if self.spec.trains or self.source is not None:
            self.artifact()  # train (export) before computing the key-based cache path, so failures name training
        return pair_embeddings(self.key, self.load, frame)

    def pair_scores(self, frame: pd.DataFrame) -> np.ndarray:
        """One compatibility score per row: the cosine of a bi-encoder's embeddings, a cross-encoder's probability
        (both orders averaged), or a fusion of the two."""
        if self.embeds:
            from harness.models.similarity import cosine_scores

            return cosine_scores(*self.pair_embeddings(frame))
        if self.parts:
            from harness.models.fusion import fuse

            return fuse(self.fusion()["weight"], *(p.pair_scores(frame) for p in self.parts))
        from harness.models.cross_encoder import cached_pair_scores

        self.artifact()
        pairs = list(zip(frame["text_1"], frame["text_2"]))
        # a pair scored once in this process is not scored again (reranks of overlapping sets share many pairs)
        scores = cached_pair_scores(self.key, pairs, self.load, known=self._pair_memo)
        self._pair_memo.update(zip(pairs, scores))
        return scores

    def fusion(self) -> dict:
        """A fusion's weight, chosen on the selection sets (cached by its parts' keys)."""
        from harness.models.fusion import chosen_weight

        return chosen_weight(self)

    def training_info(self) -> dict | None:
        if self.parts:
            return self.fusion()
        if self.source is not None:
            return self.source.training_info()
        artifact = self.artifact()
        if not artifact:
            return None
        info = json.loads((artifact / "training_info.json").read_text())
        if self.spec.kind == "cross-encoder":
            from harness.models.cross_encoder import read_info

            info = read_info(info)
        return info
