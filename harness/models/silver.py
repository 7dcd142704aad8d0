"""AugSBERT's silver pairs (issue #20; Thakur et al., 2021): unlabelled pairs of training texts, labelled by the
cross-encoder, for the bi-encoder to train on beside the gold pairs.

Which texts: every text of the recipe's training rows (the training file minus the validation split) and of its
natural_train files, minus every text of every registered scored set (validation, eval, natural dev/test, the
writer-disjoint set, ...): a silver pair never holds a dev, test or scored-set text (the reference eval shares texts
with its training file; those are dropped here).

Which pairs, mostly hard: each text with its ``NEIGHBOURS`` nearest texts by the starting bi-encoder (cosine; the
hard pairs, mostly within a topic, some across) and ``RANDOM`` random partners (across topics); gold pairs (either
order) and repeats are dropped; then a seeded sample of ``silver_pairs`` with the hard share kept. The teacher
labels each pair with its symmetric probability (both orders averaged), cached like every pair score.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from harness import progress

NEIGHBOURS = 8
RANDOM = 3


def scored_texts(dataset) -> set[str]:
    """Every text of every registered scored set of ``dataset`` (the ``--eval-file`` set has no file here)."""
    from harness.data.scored_sets import ScoredFrames, SetContext

    frames = ScoredFrames(SetContext(dataset))
    texts: set[str] = set()
    for name in frames.available():
        frame = frames.frame(name)
        texts.update(frame["text_1"])
        texts.update(frame["text_2"])
    return texts


def candidate_pairs(texts: list[str], vectors: np.ndarray, gold: set[tuple[str, str]], size: int,
                    seed: int = 42) -> pd.DataFrame:
    """(text_1, text_2, source) for ``size`` distinct unordered pairs: nearest neighbours ("hard") and random partners
    ("random"), no gold pair, no self pair; a seeded sample keeping the hard/random proportions of the pool."""
    rng = np.random.default_rng(seed)
    sims = vectors @ vectors.T
    np.fill_diagonal(sims, -np.inf)
    k = min(NEIGHBOURS, len(texts) - 1)
    nearest = np.argpartition(-sims, k, axis=1)[:, :k] if k > 0 else np.zeros((len(texts), 0), dtype=int)
    pool: dict[tuple[int, int], str] = {}
    for i in range(len(texts)):
        for j in nearest[i]:
            pool.setdefault((min(i, j), max(i, j)), "hard")
        for j in rng.choice(len(texts), size=min(RANDOM, len(texts) - 1), replace=False):
            if j != i:
                pool.setdefault((min(i, j), max(i, j)), "random")
    keys = [key for key in pool if (texts[key[0]], texts[key[1]]) not in gold and (texts[key[1]], texts[key[0]]) not in gold]
    if len(keys) < size:
        raise ValueError(f"only {len(keys)} candidate silver pairs from {len(texts)} texts; {size} asked for")
    chosen = sorted(rng.choice(len(keys), size=size, replace=False))
    rows = [(texts[keys[c][0]], texts[keys[c][1]], pool[keys[c]]) for c in chosen]
    return pd.DataFrame(rows, columns=["text_1", "text_2", "source"])


def silver_pairs(cfg, train_frame: pd.DataFrame, init_path: Path | None, teacher_path: Path, dataset=None) -> pd.DataFrame:
    """``cfg.silver_pairs`` teacher-labelled pairs (text_1, text_2, label in [0, 1], source)."""
    from harness.data import natural_train
    from harness.models.cross_encoder import cached_pair_scores, load_cross_encoder
    from harness.models.embeddings import encode
    from harness.models.base import load_base_model

    extra = natural_train.extra_pairs(cfg.extra_train)
    gold = set(zip(train_frame["text_1"], train_frame["text_2"])) | set(zip(extra["text_1"], extra["text_2"]))
    texts = sorted({t for a, b in gold for t in (a, b)} - (scored_texts(dataset) if dataset is not None else set()))
    with progress.step(f"silver pairs: embedding {len(texts)} training texts for nearest neighbours"):
        vectors = encode(load_base_model(device="cpu", path=init_path), texts)
    pairs = candidate_pairs(texts, vectors, gold, cfg.silver_pairs, cfg.seed)
    with progress.step(f"silver pairs: the teacher labels {len(pairs)} pairs in both orders"):
        # the harness's pair-score cache, keyed by the teacher's artifact and the pairs: variants of a recipe over the
        # same silver pairs (another loss, the LoRA twin) find the labels already computed
        pairs["label"] = cached_pair_scores(teacher_path.name, list(zip(pairs["text_1"], pairs["text_2"])),
                                            lambda: load_cross_encoder(teacher_path))
    return pairs
