"""The stance cross-encoder (issue #20): sentence-transformers' ``CrossEncoder`` trained with ``CrossEncoderTrainer``.

A cross-encoder reads both texts of a pair at once and outputs one logit (``num_labels=1``; ``predict`` applies the
sigmoid, so scores are probabilities of "compatible"). It is not symmetric, so every pair is scored in both orders
and the two probabilities averaged (:func:`symmetric_scores`); in training each pair appears once, its order drawn
at random (seeded), so that neither order is favoured.

Initialisation: the bundled MiniLM (``CrossEncoder`` converts a SentenceTransformer folder, adding a fresh
classifier head) or a registered recipe's trained weights (``TrainConfig.init_from``). The checkpoint kept is the one
with the best natural_dev AUC (a selection set), evaluated every ``eval_steps``; validation Spearman is logged beside
it. The artifact loads with a plain ``CrossEncoder(path)``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from harness import progress as progress_lines
from harness.data.scored_sets import NATURAL_DEV, VALIDATION, require_selection
from harness.models.cache import cached_array, texts_digest

CE_LOSSES = ("BinaryCrossEntropyLoss",)
#: the trainer's key for the checkpoint metric (evaluator name + metric, prefixed "eval_" by the trainer)
BEST_METRIC = f"eval_{NATURAL_DEV}_auc"


def load_cross_encoder(path: Path | str):
    from sentence_transformers.cross_encoder import CrossEncoder

    return CrossEncoder(str(path), device="cpu", local_files_only=True)


#: pairs per ``predict`` call when many are scored at once: progress lines between chunks (the silver labelling
#: scores 20,000+ pairs in both orders, minutes on this CPU); a scored set (a few thousand pairs) is one chunk
CHUNK = 8192


def symmetric_scores(model, pairs: list[tuple[str, str]], batch_size: int = 64) -> np.ndarray:
    """P(compatible) for each pair: the mean of the model's sigmoid over (a, b) and (b, a). More than :data:`CHUNK`
    pairs are scored chunk by chunk with progress lines (done/total, ETA)."""
    if not pairs:
        return np.zeros(0)

    def both_orders(chunk) -> np.ndarray:
        forward = model.predict([list(p) for p in chunk], batch_size=batch_size, show_progress_bar=False)
        backward = model.predict([[b, a] for a, b in chunk], batch_size=batch_size, show_progress_bar=False)
        return (np.asarray(forward, dtype=np.float64) + np.asarray(backward, dtype=np.float64)) / 2

    if len(pairs) <= CHUNK:
        return both_orders(pairs)
    count = progress_lines.Count("cross-encoder: pairs scored in both orders", len(pairs))
    scores = []
    edges = np.linspace(0, len(pairs), -(-len(pairs) // CHUNK) + 1).astype(int)  # equal chunks, each <= CHUNK pairs
    for start, stop in zip(edges[:-1], edges[1:]):
        scores.append(both_orders(pairs[start:stop]))
        count.advance(stop - start)
    return np.concatenate(scores)


def cached_pair_scores(model_key: str, pairs: list[tuple[str, str]], loader, known: dict | None = None) -> np.ndarray:
    """Scores of ``pairs`` from ``models/pair_scores/<key>-<pairs>.npy``, computed once (distinct pairs only). The file
    is named by the request's pairs, so a warm run finds it whatever it scored before; ``known`` (pairs this process
    scored already) spares recomputing those when the file is absent."""
    unique = list(dict.fromkeys(pairs))
    digest = texts_digest([f"{a}\x1e{b}" for a, b in unique])
    known = known or {}

    def compute() -> np.ndarray:
        missing = [p for p in unique if p not in known]
        fresh = dict(zip(missing, symmetric_scores(loader(), missing))) if missing else {}
        return np.array([known[p] if p in known else fresh[p] for p in unique], dtype=np.float64)

    values = cached_array("pair_scores", f"{model_key}-{digest}", compute, rows=len(unique))
    index = {p: i for i, p in enumerate(unique)}
    return values[[index[p] for p in pairs]]


class PairAUCEvaluator:
    """A sentence-transformers evaluator for the trainer: AUC and Spearman of the symmetric scores on one selection set
    (the library's ``CrossEncoderClassificationEvaluator`` reports accuracy, F1 and AP at its own best threshold, not
    AUC, the harness's primary metric for natural sets)."""

    def __new__(cls, frame: pd.DataFrame, name: str):
        from sentence_transformers.base.evaluation.evaluator import BaseEvaluator

        from scipy.stats import spearmanr
        from sklearn.metrics import roc_auc_score

        require_selection(name)

        class _Evaluator(BaseEvaluator):
            def __init__(self):
                super().__init__()
                self.name, self.primary_metric = name, "auc"
                self.pairs = list(zip(frame["text_1"], frame["text_2"]))
                self.labels = frame["label"].to_numpy().astype(int)

            def __call__(self, model, output_path=None, epoch: int = -1, steps: int = -1) -> dict[str, float]:
                scores = symmetric_scores(model, self.pairs)
                metrics = {"auc": float(roc_auc_score(self.labels, scores)),
                           "spearman": float(spearmanr(scores, self.labels).statistic)}
                metrics = self.prefix_name_to_metrics(metrics, self.name)
                self.store_metrics_in_model_card_data(model, metrics, epoch, steps)
                return metrics

        return _Evaluator()


def ce_training_pairs(train_frame: pd.DataFrame, extra: pd.DataFrame, seed: int) -> pd.DataFrame:
    """The training file's pairs plus the recipe's extra pairs, each once, its text order drawn at random (seeded)."""
    pairs = pd.concat([train_frame[["text_1", "text_2", "label"]], extra[["text_1", "text_2", "label"]]], ignore_index=True)
    swap = np.random.default_rng(seed).random(len(pairs)) < 0.5
    first = np.where(swap, pairs["text_2"], pairs["text_1"])
    second = np.where(swap, pairs["text_1"], pairs["text_2"])
    return pd.DataFrame({"text_1": first, "text_2": second, "label": pairs["label"].astype(float)})


def read_info(info: dict) -> dict:
    """A cross-encoder's training record in today's fields: the first artifacts (trained 2026-12-02 before the record
    was split) say ``"monitored_set": "natural_dev (checkpoint), validation"``; their checkpoint was chosen on
    natural_dev by the same ``BEST_METRIC``, so the record is read as such (the artifact's bytes stay as hashed)."""
    if "checkpoint_chosen_on" not in info and "(checkpoint)" in str(info.get("monitored_set", "")):
        info = {**info, "monitored_set": VALIDATION, "checkpoint_chosen_on": [NATURAL_DEV]}
    return info


def history(log_history: list[dict]) -> list[dict]:
    """Per-evaluation validation Spearman and natural_dev AUC from the trainer's log."""
    keys = {"spearman": f"eval_{VALIDATION}_spearman", "natural_dev_auc": BEST_METRIC}
    return [{"step": e["step"], "epoch": e.get("epoch"), **{k: e[v] for k, v in keys.items() if v in e}}
            for e in log_history if BEST_METRIC in e]


def train_cross_encoder(spec, train_frame: pd.DataFrame, validation: pd.DataFrame, natural_dev: pd.DataFrame,
                        out_dir: Path, init_path: Path | None, progress: bool = True, data_name: str = "data") -> dict:
    """Train ``spec`` (kind ``cross-encoder``) and save it with ``training_info.json`` into ``out_dir``."""
    import torch
    from datasets import Dataset
    from sentence_transformers.base.evaluation import SequentialEvaluator
    from sentence_transformers.cross_encoder import CrossEncoder, CrossEncoderTrainer, CrossEncoderTrainingArguments
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss
    from transformers import set_seed

    from harness.data import natural_train
    from harness.models.hardware import cuda_available, effective_precision
    from harness.models.base import TRAIN_THREADS_ENV, PeakRSS, library_versions, parameter_counts
    from harness.paths import base_model_path

    cfg = spec.config
    if cfg.loss not in CE_LOSSES:
        raise ValueError(f"{spec.name}: unknown cross-encoder loss {cfg.loss!r}; known: {', '.join(CE_LOSSES)}")
    set_seed(cfg.seed)
    threads_before = torch.get_num_threads()
    if os.environ.get(TRAIN_THREADS_ENV):
        torch.set_num_threads(int(os.environ[TRAIN_THREADS_ENV]))
    source = init_path or base_model_path()
    model = CrossEncoder(str(source), num_labels=1, local_files_only=True,
                         device="cuda" if cuda_available() else "cpu")
    pairs = ce_training_pairs(train_frame, natural_train.extra_pairs(cfg.extra_train), cfg.seed)
    dataset = Dataset.from_dict({"sentence1": pairs["text_1"].tolist(), "sentence2": pairs["text_2"].tolist(),
                                 "label": pairs["label"].tolist()})
    evaluator = SequentialEvaluator([PairAUCEvaluator(validation, VALIDATION), PairAUCEvaluator(natural_dev, NATURAL_DEV)])
    trainable, total = parameter_counts(model)
    with tempfile.TemporaryDirectory(prefix="harness-ce-") as scratch:
        args = CrossEncoderTrainingArguments(
            output_dir=scratch, num_train_epochs=cfg.epochs, per_device_train_batch_size=cfg.batch_size,
            learning_rate=cfg.learning_rate, warmup_steps=cfg.warmup_steps, lr_scheduler_type=cfg.scheduler,
            optim=cfg.optimizer, weight_decay=cfg.weight_decay, seed=cfg.seed, data_seed=cfg.seed,
            eval_strategy="steps", eval_steps=cfg.eval_steps, logging_steps=cfg.eval_steps,
            # the checkpoint: best natural_dev AUC (selection set); the last one if nothing beats it
            save_strategy="steps", save_steps=cfg.eval_steps, save_total_limit=2, load_best_model_at_end=True,
            metric_for_best_model=BEST_METRIC, greater_is_better=True, save_only_model=True,
            report_to="none", use_cpu=not cuda_available(), disable_tqdm=not (progress and progress_lines.wants_bar()),
            bf16=effective_precision(cfg.precision) == "bf16",
        )
        trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=dataset,
                                      loss=BinaryCrossEntropyLoss(model), evaluator=evaluator)
        if progress and not progress_lines.wants_bar():
            trainer.add_callback(progress_lines.training_callback(spec.name, data_name))
        if progress:
            progress_lines.emit(f"training {spec.name} (cross-encoder) on {data_name}: {len(pairs)} pairs, {cfg.epochs} epochs, "
                                f"lr {cfg.learning_rate:g}, from {'the bundled MiniLM' if init_path is None else cfg.init_from}, "
                                f"{trainable:,} parameters trainable")
        started = time.perf_counter()
        with PeakRSS() as memory:
            trainer.train()
        wall = time.perf_counter() - started
        best_checkpoint = trainer.state.best_model_checkpoint
    final = evaluator(model)
    model.save_pretrained(str(out_dir))
    log = history(trainer.state.log_history)
    info = {
        "model": spec.name, "kind": spec.kind, "description": spec.description, "hyperparameters": cfg.to_dict(),
        "init_from": cfg.init_from, "init_path": str(source), "wall_time_s": round(wall, 2),
        "steps": trainer.state.global_step, "best_step": int(best_checkpoint.rsplit("-", 1)[-1]) if best_checkpoint else None,
        "trainable_parameters": trainable, "total_parameters": total, "trainable_fraction": trainable / total,
        "monitored_set": VALIDATION, "checkpoint_chosen_on": [NATURAL_DEV], "history": log,
        # charts and the leaderboard read validation Spearman per step under this name, as for every recipe
        "spearman_history": [{"step": e["step"], "epoch": e["epoch"], "spearman": e["spearman"]} for e in log if "spearman" in e],
        "final_spearman": final[f"{VALIDATION}_spearman"], "final_natural_dev_auc": final[f"{NATURAL_DEV}_auc"],
        "train_rows": len(pairs), "loss": cfg.loss, "base_model": str(base_model_path()),
        "libraries": library_versions(), "device": "cuda" if cuda_available() else "cpu",
        "precision": effective_precision(cfg.precision), "peak_rss_mb": memory.peak_mb, "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
    }
    (Path(out_dir) / "training_info.json").write_text(json.dumps(info, indent=2))
    torch.set_num_threads(threads_before)
    return info
