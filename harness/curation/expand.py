"""Phase 2's expanded training mix: 70% the train set, 20% natural-phrasing compatible pairs, 10% hard negatives.

``python -m harness expand --dataset DIR`` writes ``dating_pairs_expanded.jsonl`` (beside the source, or
``--out``). Deterministic for a seed. Every row carries ``source`` (synthetic | natural | hard_negative)
and a stable ``id``: a hash of the normalised pair, never a row index.

The natural and hard-negative rows come from the project's own vocabulary with phrasings used nowhere
else (not the OOD set's), and any row whose normalised text occurs in the dataset's eval or OOD file
is dropped, so the mix never touches a scored set.
"""

from __future__ import annotations

import hashlib
import random

import pandas as pd

from harness.data.dataset import Dataset
from harness.data.leakage import normalise_text
from harness.data.schema import PAIR_FIELDS
from harness.data.vocabulary import NEGATIVE_TEMPLATES, POSITIVE_TEMPLATES, TOPICS

EXPANDED_FILE = "dating_pairs_expanded.jsonl"
MIX = {"synthetic": 0.7, "natural": 0.2, "hard_negative": 0.1}

#: Natural phrasings reserved for the expansion pool (the OOD set uses others; see harness.data.generate).
POOL_POSITIVE = ("Weekends are for {x}, if you ask me.", "I could talk about {x} for hours.",
                 "Give me {x} and I'm a happy person.", "{X} always puts me in a good mood.")
POOL_NEGATIVE = ("{X} is honestly not for me.", "I'd rather stay away from {x}.",
                 "Count me out when it comes to {x}.", "{X} makes me want to leave early.")


def pair_id(text_1: str, text_2: str) -> str:
    """Stable id of a pair: 16 hex chars of sha256 over the normalised texts."""
    return hashlib.sha256(f"{normalise_text(text_1)}\x1f{normalise_text(text_2)}".encode()).hexdigest()[:16]


def with_ids(frame: pd.DataFrame, source: str | None = None) -> pd.DataFrame:
    """Add ``id`` (and ``source`` if given) columns, keeping existing provenance."""
    out = frame.copy()
    if source is not None and "source" not in out:
        out["source"] = source
    out["id"] = [pair_id(a, b) for a, b in zip(out["text_1"], out["text_2"])]
    return out


def _phrase(rng: random.Random, templates: tuple[str, ...], item: str) -> str:
    return rng.choice(templates).format(x=item, X=item[0].upper() + item[1:])


def _topic_items(rng: random.Random):
    category = rng.choice(list(TOPICS))
    sub = rng.choice(list(TOPICS[category]))
    return category, sub, TOPICS[category][sub]


def natural_compatible(rng: random.Random) -> dict:
    """Same topic, same stance, natural words (with the speaker prefix the train schema requires)."""
    category, sub, items = _topic_items(rng)
    positive = rng.random() < 0.7
    templates = POOL_POSITIVE if positive else POOL_NEGATIVE
    a, b = rng.sample(["boy", "girl"], 2)
    texts = (f"{a}: {_phrase(rng, templates, rng.choice(items))}", f"{b}: {_phrase(rng, templates, rng.choice(items))}")
    return dict(zip(PAIR_FIELDS, (*texts, 1, category, sub, "compatible")))


def hard_negative(rng: random.Random) -> dict:
    """Same topic and item, opposite stance: the closest incompatible pair there is."""
    category, sub, items = _topic_items(rng)
    item = rng.choice(items)
    a, b = rng.sample(["boy", "girl"], 2)
    texts = (f"{a}: {rng.choice(POSITIVE_TEMPLATES).format(x=item)}", f"{b}: {rng.choice(NEGATIVE_TEMPLATES).format(x=item)}")
    if rng.random() < 0.5:
        texts = (f"{a}: {_phrase(rng, POOL_POSITIVE, item)}", f"{b}: {_phrase(rng, POOL_NEGATIVE, item)}")
    return dict(zip(PAIR_FIELDS, (*texts, 0, category, sub, "incompatible")))


def build_expanded(dataset: Dataset, seed: int = 42) -> pd.DataFrame:
    """The 70/20/10 mix over the dataset's train set, disjoint from its eval and OOD texts."""
    rng = random.Random(seed)
    train = with_ids(dataset.train.reset_index(drop=True), "synthetic")
    total = round(len(train) / MIX["synthetic"])
    scored = [dataset.eval] + ([dataset.ood] if dataset.ood is not None else [])
    forbidden = {normalise_text(t) for f in scored for col in ("text_1", "text_2") for t in f[col]}
    taken = set(train["id"])
    rows: list[dict] = []
    for source, builder in (("natural", natural_compatible), ("hard_negative", hard_negative)):
        wanted, made, attempts = round(total * MIX[source]), 0, 0
        while made < wanted:
            attempts += 1
            if attempts > wanted * 200:
                raise RuntimeError(f"could not build {wanted} distinct {source} rows disjoint from eval/OOD")
            row = builder(rng)
            rid = pair_id(row["text_1"], row["text_2"])
            if rid in taken or normalise_text(row["text_1"]) in forbidden or normalise_text(row["text_2"]) in forbidden:
                continue
            taken.add(rid)
            rows.append({**row, "source": source, "id": rid})
            made += 1
    extra = pd.DataFrame(rows, columns=list(PAIR_FIELDS) + ["source", "id"])
    mixed = pd.concat([train[list(PAIR_FIELDS) + ["source", "id"]], extra], ignore_index=True)
    return mixed.sample(frac=1.0, random_state=seed).reset_index(drop=True)
