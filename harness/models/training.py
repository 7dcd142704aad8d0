"""Training with sentence-transformers' ``SentenceTransformerTrainer``: full, LoRA and QLoRA fine-tunes.

One function, :func:`train`, runs a registered spec on a train frame, monitors Spearman on the eval
frame every ``eval_steps`` and saves the model (or adapter) plus ``training_info.json`` into a folder.
:func:`ensure_trained` trains a recipe only when its content-addressed artifact is absent; storing, verifying and
locking that folder are :mod:`harness.models.cache`'s job.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from harness import progress as progress_lines
from harness.models import distributed
from harness.paths import base_model_path
from harness.data.scored_sets import VALIDATION, require_selection
from harness.models.registry import ModelSpec, get_model_spec
from harness.data.dataset import TRAIN_FILE, Dataset, file_sha256, read_pairs
from harness.data.leakage import normalise_text
from harness.data.splits import validation_split
from harness.models.cache import artifact_dir, build_artifact
# LOSSES and make_loss live with the training data (make_objective_loss builds from them); importable here as before
from harness.models.training_data import LOSSES, make_loss, make_objective_loss, training_datasets  # noqa: F401
from harness.models.hardware import cuda_available, effective_precision  # cuda_available: re-exported

# shared with the cross-encoder trainer and the silver pairs (harness/models/base.py); importable here as before
from harness.models.base import (LIBRARIES, PROMPT_NAME, TRAIN_THREADS_ENV, PeakRSS, attach_lora,  # noqa: E402,F401
                                 library_versions, load_base_model, parameter_counts)


def spearman_history(log_history: list[dict], monitored: str = VALIDATION) -> list[dict]:
    """Per-evaluation Spearman on the monitored set from the trainer's log history.

    The evaluator is named after the set, and the trainer prefixes the evaluator's keys with ``eval_``
    (read in sentence-transformers 6.2's trainer: it adds the prefix to keys that lack it), so the key for the
    validation set is ``eval_validation_spearman_cosine``.
    """
    key = f"eval_{monitored}_spearman_cosine"
    return [{"step": e["step"], "epoch": e.get("epoch"), "spearman": e[key]} for e in log_history if key in e]


def train(spec: ModelSpec, train_frame: pd.DataFrame, monitor_frame: pd.DataFrame, out_dir: Path,
          data_sha256: dict[str, str], progress: bool = True, data_name: str = "data", split_record: dict | None = None,
          monitored: str = VALIDATION, init_path: Path | None = None, silver: pd.DataFrame | None = None) -> dict:
    """Fine-tune ``spec`` and save it with ``training_info.json`` into ``out_dir``; returns the info.

    The trainer's evaluator scores ``monitor_frame``, which must be a ``selection`` scored set (``monitored``
    names it): the eval sets are reported on and never watched during training."""
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator
    import torch
    from transformers import set_seed

    from harness.environment import trainer_report_to  # "none" unless MLflow tracking was asked for

    if spec.requires_cuda and not cuda_available():
        raise RuntimeError(f"{spec.name} needs CUDA, and torch.cuda.is_available() is False on this machine")
    require_selection(monitored)
    cfg = spec.config
    set_seed(cfg.seed)
    threads_before = torch.get_num_threads()
    if os.environ.get(TRAIN_THREADS_ENV):  # training is bit-reproducible at a fixed thread count, not across counts
        torch.set_num_threads(int(os.environ[TRAIN_THREADS_ENV]))
    model = load_base_model(quantization=cfg.quantization, path=init_path)
    if cfg.prompt:  # saved with the model: a plain SentenceTransformer(path).encode applies it by default
        model.prompts = {**model.prompts, PROMPT_NAME: cfg.prompt}
        model.default_prompt_name = PROMPT_NAME
    # before the adapter: hard negatives are mined with the untrained base (as the recipe's data, not its weights)
    train_dataset, data_record = training_datasets(cfg, train_frame, model, silver)
    if spec.kind == "lora":
        attach_lora(model, spec)
    trainable, total = parameter_counts(model)
    evaluator = EmbeddingSimilarityEvaluator(
        monitor_frame["text_1"].tolist(), monitor_frame["text_2"].tolist(), monitor_frame["label"].astype(float).tolist(),
        name=monitored, write_csv=False,
    )
    world = distributed.world_size()
    if cfg.batch_size % world:
        raise ValueError(f"batch size {cfg.batch_size} does not split evenly over {world} processes")
    from sentence_transformers.base.sampler import BatchSamplers, MultiDatasetBatchSamplers

    with tempfile.TemporaryDirectory(prefix="harness-trainer-") as scratch:
        args = SentenceTransformerTrainingArguments(
            # the same effective batch on any world size: each of W processes takes batch/W pairs per step
            output_dir=scratch, num_train_epochs=cfg.epochs, per_device_train_batch_size=cfg.batch_size // world,
            ddp_backend="gloo" if world > 1 and not cuda_available() else None,
            learning_rate=cfg.learning_rate, warmup_steps=cfg.warmup_steps, lr_scheduler_type=cfg.scheduler,
            optim=cfg.optimizer, weight_decay=cfg.weight_decay, seed=cfg.seed, data_seed=cfg.seed,
            eval_strategy="steps", eval_steps=cfg.eval_steps, logging_steps=cfg.eval_steps, save_strategy="no",
            report_to=trainer_report_to(), use_cpu=not cuda_available(), disable_tqdm=not (progress and progress_lines.wants_bar()),
            bf16=effective_precision(cfg.precision, cfg.quantization) == "bf16",
            prompts=cfg.prompt or None,
            # MNRL: a text twice in one batch would be its own in-batch negative
            batch_sampler=BatchSamplers.NO_DUPLICATES if cfg.objective == "mnrl" else BatchSamplers.BATCH_SAMPLER,
            multi_dataset_batch_sampler=MultiDatasetBatchSamplers.PROPORTIONAL,
        )
        trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=train_dataset,
                                             loss=make_objective_loss(cfg, model), evaluator=evaluator)
        if progress and not progress_lines.wants_bar():  # a log or pytest: periodic lines instead of a bar
            trainer.add_callback(progress_lines.training_callback(spec.name, data_name))
        if distributed.is_main():
            what = cfg.loss if cfg.objective == "pairs" else "MNRL"
            if cfg.matryoshka_dims:
                what = f"Matryoshka({what}, {'/'.join(map(str, cfg.matryoshka_dims))})"
            sizes = ", ".join(f"{name} {len(part)}" for name, part in
                              (train_dataset.items() if hasattr(train_dataset, "items") else [("rows", train_dataset)]))
            progress_lines.emit(f"training {spec.name} on {data_name}: {sizes}, {cfg.epochs} epochs, "
                                f"lr {cfg.learning_rate:g}, {what}, {trainable:,} of {total:,} parameters trainable"
                                + (f", {world} processes x batch {cfg.batch_size // world}" if world > 1 else ""))
        started = time.perf_counter()
        with PeakRSS() as memory:
            trainer.train()
        wall = time.perf_counter() - started
    history = spearman_history(trainer.state.log_history, monitored)
    if history and history[-1]["step"] == trainer.state.global_step:
        final_spearman = history[-1]["spearman"]  # the trainer already evaluated the final weights
    else:
        final_spearman = float(evaluator(model)[f"{monitored}_spearman_cosine"])
    if not distributed.is_main():  # rank 0 saves; the others only took part in the steps
        return {}
    model.save(str(out_dir))
    info = {
        "model": spec.name,
        "kind": spec.kind,
        "description": spec.description,
        "hyperparameters": cfg.to_dict(),
        "wall_time_s": round(wall, 2),
        "steps": trainer.state.global_step,
        "trainable_parameters": trainable,
        "total_parameters": total,
        "trainable_fraction": trainable / total,
        "monitored_set": monitored,
        "spearman_history": history,
        "final_spearman": final_spearman,
        "train_rows": len(train_frame),
        "validation_split": split_record,
        "data_sha256": data_sha256,
        "base_model": str(base_model_path()),
        "libraries": library_versions(),
        "device": "cuda" if cuda_available() else "cpu",
        "precision": effective_precision(cfg.precision, cfg.quantization),
        "world_size": world,
        "per_device_batch_size": cfg.batch_size // world,
        "effective_batch_size": cfg.batch_size,
        "loss": cfg.loss if cfg.objective == "pairs" else "MultipleNegativesRankingLoss",
        "objective": cfg.objective,
        "matryoshka_dims": list(cfg.matryoshka_dims),
        "prompt": cfg.prompt,
        "init_from": cfg.init_from,
        "teacher": cfg.teacher,
        "training_data": data_record,
        "peak_rss_mb": memory.peak_mb,
        # torch's intra-op threads: training is bit-reproducible at a fixed count, not across counts (the same key
        # trained with 1 and 2 threads gave validation Spearman 0.8622 / 0.8641, standard on the reference data)
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
    }
    (Path(out_dir) / "training_info.json").write_text(json.dumps(info, indent=2))
    torch.set_num_threads(threads_before)  # scoring afterwards keeps torch's default
    return info


# --- the cached artifact of a recipe -------------------------------------------------------------------------------------

def training_rows(dataset: Dataset, train_path: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """(train, validation, split record): the training file minus every pair of the dataset's validation split.

    The split is carved from the dataset's own training file; a derived file (a curated mix) contains those
    rows too, so they are removed from it by normalised pair."""
    split = validation_split(dataset.train)
    frame = dataset.train if train_path == dataset.root / TRAIN_FILE else read_pairs(train_path)
    held_out = {(normalise_text(a), normalise_text(b)) for a, b in zip(split.validation["text_1"], split.validation["text_2"])}
    keep = [(normalise_text(a), normalise_text(b)) not in held_out for a, b in zip(frame["text_1"], frame["text_2"])]
    return frame[keep], split.validation, split.record()


def ensure_trained(spec: ModelSpec, dataset: Dataset, train_file: str | Path | None = None, progress: bool = True,
                   verify: bool = False) -> Path:
    """Return the artifact folder for ``spec`` on ``dataset`` (or ``train_file``), training only if absent: the
    training starts here, the cache (:func:`harness.models.cache.build_artifact`) places, verifies and locks it."""
    if not spec.trains:
        raise ValueError(f"{spec.name} is not trained; it is the pre-trained base model")
    train_path = Path(train_file).resolve() if train_file else dataset.root / TRAIN_FILE
    train_sha = file_sha256(train_path)
    final = artifact_dir(spec, train_sha, dataset.sha256[TRAIN_FILE])

    def build(partial: Path) -> None:
        frame, validation, record = training_rows(dataset, train_path)
        data_name = f"{dataset.name}/{train_path.name}"
        # a recipe that starts from (or learns from) another one trains that one first, on the same file
        init = ensure_trained(get_model_spec(spec.config.init_from), dataset, train_file, progress, verify) \
            if spec.config.init_from else None
        if spec.kind == "cross-encoder":
            from harness.data import natural
            from harness.models.cross_encoder import train_cross_encoder

            train_cross_encoder(spec, frame, validation, natural.gated(natural.load("dev")), partial, init,
                                progress=progress, data_name=data_name)
            info_path = partial / "training_info.json"
            info = json.loads(info_path.read_text())
            info.update({"dataset": str(dataset.root), "train_file": str(train_path), "validation_split": record,
                         "data_sha256": {"train": train_sha, **dataset.sha256}})
            info_path.write_text(json.dumps(info, indent=2))
            return
        silver = None
        if spec.config.teacher:
            from harness.models.silver import silver_pairs

            teacher = ensure_trained(get_model_spec(spec.config.teacher), dataset, train_file, progress, verify)
            silver = silver_pairs(spec.config, frame, init, teacher, dataset)
        train(spec, frame, validation, partial, {"train": train_sha, **dataset.sha256}, progress=progress,
              data_name=data_name, split_record=record, init_path=init, silver=silver)
        info_path = partial / "training_info.json"
        if not distributed.is_main():
            return
        info = json.loads(info_path.read_text())
        info.update({"dataset": str(dataset.root), "train_file": str(train_path)})
        info_path.write_text(json.dumps(info, indent=2))

    return build_artifact(final, build, verify)
