"""What a recipe trains on: labelled pairs for a pairwise loss, or (anchor, positive, negative) triplets for MNRL.

* ``pairs``: the training file's labelled pairs, plus the recipe's extra files as labelled pairs.
* ``mnrl``: label-1 pairs only become (anchor, positive); label-0 rows never become positives. Each gets one hard
  negative: a label-0 partner of the anchor (or of the positive) where the data has one, else one mined from the
  training texts with ``sentence_transformers.util.mine_hard_negatives`` (top-ranked, at most 95% of the
  positive's similarity: ``relative_margin=0.05``, the library's documented guard against false negatives). The
  recipe's stance triplets are added as written.

Extra files go into a second dataset, so the trainer mixes the portions with sentence-transformers' multi-dataset
batch sampler (``PROPORTIONAL``: each batch comes from one portion, portions drawn in proportion to their size).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.data import natural_train
from harness.models.registry import TrainConfig

#: The pairwise losses a recipe may name (label 1 -> similar, 0 -> dissimilar).
LOSSES = ("CosineSimilarityLoss", "CoSENTLoss", "AnglELoss")
TRAIN_PORTION = "train"
NATURAL_PORTION = "natural"


def _dataset(frame: pd.DataFrame, columns: dict[str, str]):
    from datasets import Dataset

    return Dataset.from_dict({new: frame[old].tolist() for old, new in columns.items()})


def pair_portions(cfg: TrainConfig, frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    portions = {TRAIN_PORTION: frame[["text_1", "text_2", "label"]]}
    if cfg.extra_train:
        portions[NATURAL_PORTION] = natural_train.extra_pairs(cfg.extra_train)
    return portions


def label_zero_partners(frame: pd.DataFrame) -> dict[str, list[str]]:
    """text -> the texts it is paired with at label 0 (both directions), in file order."""
    partners: dict[str, list[str]] = {}
    for a, b in zip(frame.loc[frame["label"] == 0, "text_1"], frame.loc[frame["label"] == 0, "text_2"]):
        partners.setdefault(a, []).append(b)
        partners.setdefault(b, []).append(a)
    return partners


def hard_negative_triplets(pairs: pd.DataFrame, model, seed: int = 42) -> tuple[pd.DataFrame, dict]:
    """(anchor, positive, negative) for every label-1 pair of ``pairs``, and counts of where negatives came from."""
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives

    rng = np.random.default_rng(seed)
    partners = label_zero_partners(pairs)
    positives = pairs[pairs["label"] == 1]
    rows, to_mine = [], []
    for a, p in zip(positives["text_1"], positives["text_2"]):
        options = [t for t in partners.get(a, []) or partners.get(p, []) if t not in (a, p)]
        if options:
            rows.append((a, p, options[int(rng.integers(len(options)))]))
        else:
            to_mine.append((a, p))
    mined = pd.DataFrame(columns=["anchor", "positive", "negative"])
    if to_mine:
        corpus = sorted(set(pairs["text_1"]) | set(pairs["text_2"]))
        result = mine_hard_negatives(
            Dataset.from_dict({"anchor": [a for a, _ in to_mine], "positive": [p for _, p in to_mine]}), model,
            corpus=corpus, num_negatives=1, relative_margin=0.05, sampling_strategy="top", output_format="triplet",
            batch_size=64, verbose=False,
        )
        mined = result.to_pandas()
        mined.columns = ["anchor", "positive", "negative"]
    triplets = pd.concat([pd.DataFrame(rows, columns=["anchor", "positive", "negative"]), mined], ignore_index=True)
    counts = {"positives": len(positives), "label0_partner": len(rows), "mined": len(mined),
              "dropped": len(to_mine) - len(mined)}
    return triplets, counts


def mnrl_portions(cfg: TrainConfig, frame: pd.DataFrame, model) -> tuple[dict[str, pd.DataFrame], dict]:
    triplets, counts = hard_negative_triplets(frame, model, cfg.seed)
    portions, record = {TRAIN_PORTION: triplets}, {TRAIN_PORTION: counts}
    if cfg.extra_train:
        natural_pairs = [f for f in cfg.extra_train if not natural_train.is_triplet_file(f)]
        parts, extra = [natural_train.extra_triplets(cfg.extra_train)], {"stance_triplets": 0}
        extra["stance_triplets"] = len(parts[0])
        if natural_pairs:
            mined, natural_counts = hard_negative_triplets(natural_train.extra_pairs(tuple(natural_pairs)), model, cfg.seed)
            parts.append(mined)
            extra.update({f"natural_pairs_{k}": v for k, v in natural_counts.items()})
        portions[NATURAL_PORTION] = pd.concat(parts, ignore_index=True)
        record[NATURAL_PORTION] = extra
    return portions, record


SILVER_PORTION = "silver"


def training_datasets(cfg: TrainConfig, frame: pd.DataFrame, model, silver: pd.DataFrame | None = None):
    """(train_dataset for the trainer, record for training_info): one Dataset, or a DatasetDict of portions.
    ``silver``: AugSBERT's teacher-labelled pairs (scores in [0, 1]), a third portion of a pairwise recipe."""
    from datasets import DatasetDict

    if cfg.objective == "pairs":
        portions = pair_portions(cfg, frame)
        if silver is not None:
            portions[SILVER_PORTION] = silver[["text_1", "text_2", "label"]]
        record = {name: {"pairs": len(part)} for name, part in portions.items()}
        if silver is not None:
            record[SILVER_PORTION].update({**silver["source"].value_counts().to_dict(),
                                           "label_mean": float(silver["label"].mean()),
                                           "share_above_0.5": float((silver["label"] > 0.5).mean())})
        columns = {"text_1": "sentence1", "text_2": "sentence2", "label": "score"}
        datasets = {name: _dataset(part.assign(label=part["label"].astype(float)), columns)
                    for name, part in portions.items()}
    elif silver is not None:
        raise ValueError("silver pairs (AugSBERT) need a pairwise objective, not MNRL")
    elif cfg.objective == "mnrl":
        portions, record = mnrl_portions(cfg, frame, model)
        columns = {"anchor": "anchor", "positive": "positive", "negative": "negative"}
        datasets = {name: _dataset(part, columns) for name, part in portions.items()}
    else:
        raise ValueError(f"unknown training objective {cfg.objective!r}; known: pairs, mnrl")
    if len(datasets) == 1:
        return datasets[TRAIN_PORTION], record
    return DatasetDict(datasets), record


def make_loss(name: str, model):
    """A pairwise loss of sentence-transformers by name (label 1 -> similar, 0 -> dissimilar)."""
    from sentence_transformers.sentence_transformer import losses

    if name not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; the pairwise losses the harness trains with: {', '.join(LOSSES)}")
    return getattr(losses, name)(model)


def make_objective_loss(cfg: TrainConfig, model):
    """The loss of a recipe: the pairwise ``cfg.loss``, or MNRL; wrapped in MatryoshkaLoss where dims are set."""
    from sentence_transformers.sentence_transformer import losses

    loss = losses.MultipleNegativesRankingLoss(model) if cfg.objective == "mnrl" else make_loss(cfg.loss, model)
    if cfg.matryoshka_dims:
        loss = losses.MatryoshkaLoss(model, loss, matryoshka_dims=list(cfg.matryoshka_dims))
    return loss
