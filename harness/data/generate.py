"""Deterministic synthetic generator for the project's own default dataset.

``python -m harness generate --out DIR --seed N`` writes ``dating_pairs.jsonl`` (~1,200 train),
``eval_pairs.jsonl`` (~300 eval) and ``ood_pairs.jsonl`` (natural phrasing, no speaker prefix).

The labelling rules are consistent, so a model can learn them and an evaluator can trust them:

* same topic, same stance -> compatible; same topic, opposite stance -> incompatible;
* one person's dealbreaker is the other's habit -> incompatible (always label 0);
* different hobbies (subtle mismatch) are compatible unless the two lifestyles clash;
* where values and hobbies pull apart (complex and scored pairs), values decide.

Train and eval are disjoint at the text level by construction: every phrased clause is assigned to
exactly one split before any pair is built, so eval tests the same preferences in words the model
never saw. OOD texts use different phrasings and no ``boy:``/``girl:`` prefix.
"""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from harness.data.dataset import EVAL_FILE, OOD_FILE, TRAIN_FILE, write_pairs
from harness.data.schema import PAIR_FIELDS
from harness.data.vocabulary import (
    CLASHING_TOPICS,
    CONNECTIVES,
    DEALBREAKER_TEMPLATES,
    DEALBREAKERS,
    NEGATIVE_TEMPLATES,
    POSITIVE_TEMPLATES,
    REALISTIC,
    TOPICS,
)

#: Share of each pair family in train and eval (curated realistic pairs fill the remainder).
PAIR_MIX: dict[str, float] = {
    "compatible": 0.20,
    "incompatible": 0.15,
    "dealbreaker": 0.15,
    "subtle_mismatch": 0.19,
    "scored": 0.20,
    "complex": 0.10,
}
EVAL_CLAUSE_SHARE = 0.25
SUBTLE_CLASH_RATE = 0.2

SUBCATEGORY_OF: dict[str, str] = {sub: cat for cat, subs in TOPICS.items() for sub in subs}
HOBBY_TOPICS = [s for s, c in SUBCATEGORY_OF.items() if c in ("lifestyle", "interests")]
VALUE_TOPICS = list(TOPICS["values"])
DEALBREAKER_OF: dict[str, str] = {name: group for group, names in DEALBREAKERS.items() for name in names}


def _split_items(rng: random.Random, items: list[str]) -> dict[str, list[str]]:
    """Assign each phrasing to train or eval (at least one each)."""
    items = items[:]
    rng.shuffle(items)
    n_eval = max(1, round(len(items) * EVAL_CLAUSE_SHARE))
    return {"eval": items[:n_eval], "train": items[n_eval:]}


class ClausePool:
    """Every phrased clause, already split into train and eval so the splits never share text."""

    def __init__(self, rng: random.Random):
        self.stance: dict[str, dict[tuple[str, str, bool], list[str]]] = {"train": {}, "eval": {}}
        for sub, cat in SUBCATEGORY_OF.items():
            for item, positive in itertools.product(TOPICS[cat][sub], (True, False)):
                templates = POSITIVE_TEMPLATES if positive else NEGATIVE_TEMPLATES
                for split, chosen in _split_items(rng, [t.format(x=item) for t in templates]).items():
                    self.stance[split][(sub, item, positive)] = chosen
        self.refusal: dict[str, dict[str, list[str]]] = {"train": {}, "eval": {}}
        self.habit: dict[str, dict[str, list[str]]] = {"train": {}, "eval": {}}
        for name in DEALBREAKER_OF:
            refusals, habits = DEALBREAKERS[DEALBREAKER_OF[name]][name]
            phrased = [t.format(x=r) for t in DEALBREAKER_TEMPLATES for r in refusals]
            for split, chosen in _split_items(rng, phrased).items():
                self.refusal[split][name] = chosen
            for split, chosen in _split_items(rng, list(habits)).items():
                self.habit[split][name] = chosen

    def clause(self, rng: random.Random, split: str, sub: str, positive: bool, item: str | None = None) -> str:
        item = item or rng.choice(TOPICS[SUBCATEGORY_OF[sub]][sub])
        return rng.choice(self.stance[split][(sub, item, positive)])


def _speakers(rng: random.Random, first: str, second: str) -> tuple[str, str]:
    a, b = rng.sample(["boy", "girl"], 2)
    return f"{a}: {first}", f"{b}: {second}"


def _row(texts: tuple[str, str], label: int, category: str, subcategory: str, pair_type: str) -> dict:
    return dict(zip(PAIR_FIELDS, (*texts, label, category, subcategory, pair_type)))


def _compound(*categories: str) -> str:
    unique = list(dict.fromkeys(categories))
    return "_and_".join(unique)


def _compatible(rng: random.Random, pool: ClausePool, split: str) -> dict:
    if rng.random() < 0.1:  # both refuse the same dealbreaker: shared standards are compatible
        name = rng.choice(list(DEALBREAKER_OF))
        first, second = rng.sample(pool.refusal[split][name], 2)
        return _row(_speakers(rng, first, second), 1, "dealbreakers", DEALBREAKER_OF[name], "compatible")
    sub = rng.choice(list(SUBCATEGORY_OF))
    positive = rng.random() < 0.7
    texts = _speakers(rng, pool.clause(rng, split, sub, positive), pool.clause(rng, split, sub, positive))
    return _row(texts, 1, SUBCATEGORY_OF[sub], sub, "compatible")


def _incompatible(rng: random.Random, pool: ClausePool, split: str) -> dict:
    sub = rng.choice(list(SUBCATEGORY_OF))
    item = rng.choice(TOPICS[SUBCATEGORY_OF[sub]][sub]) if rng.random() < 0.6 else None
    texts = _speakers(rng, pool.clause(rng, split, sub, True, item), pool.clause(rng, split, sub, False, item))
    return _row(texts, 0, SUBCATEGORY_OF[sub], sub, "incompatible")


def _dealbreaker(rng: random.Random, pool: ClausePool, split: str) -> dict:
    name = rng.choice(list(DEALBREAKER_OF))
    texts = _speakers(rng, rng.choice(pool.refusal[split][name]), rng.choice(pool.habit[split][name]))
    return _row(texts, 0, "dealbreakers", DEALBREAKER_OF[name], "dealbreaker")


def _subtle_mismatch(rng: random.Random, pool: ClausePool, split: str) -> dict:
    if rng.random() < SUBTLE_CLASH_RATE:
        a, b = rng.sample(sorted(rng.choice(sorted(CLASHING_TOPICS, key=sorted))), 2)
    else:
        while True:
            a, b = rng.sample(HOBBY_TOPICS, 2)
            if frozenset((a, b)) not in CLASHING_TOPICS:
                break
    label = 0 if frozenset((a, b)) in CLASHING_TOPICS else 1
    texts = _speakers(rng, pool.clause(rng, split, a, True), pool.clause(rng, split, b, True))
    return _row(texts, label, _compound(SUBCATEGORY_OF[a], SUBCATEGORY_OF[b]), f"{a}_vs_{b}", "subtle_mismatch")


def _complex(rng: random.Random, pool: ClausePool, split: str) -> dict:
    """Hobbies and values pull apart; the values clause decides the label."""
    hobby, value = rng.choice(HOBBY_TOPICS), rng.choice(VALUE_TOPICS)
    values_agree = rng.random() < 0.5
    stance_v = rng.random() < 0.7
    stance_h = rng.random() < 0.5
    people = []
    for hobby_pos, value_pos in ((stance_h, stance_v), (stance_h == values_agree, stance_v == values_agree)):
        first = pool.clause(rng, split, hobby, hobby_pos)
        people.append(f"{first} {rng.choice(CONNECTIVES)} {pool.clause(rng, split, value, value_pos)}")
    label = int(values_agree)
    pair_type = "complex_compatible" if label else "complex_incompatible"
    return _row(_speakers(rng, *people), label, _compound(SUBCATEGORY_OF[hobby], "values"), f"{hobby}_vs_{value}", pair_type)


def _scored(rng: random.Random, pool: ClausePool, split: str) -> dict:
    """Three preferences each; a 1-10 score weights values 4, lifestyle 2, interests 1; label = score >= 6."""
    topics = (rng.choice(list(TOPICS["interests"])), rng.choice(list(TOPICS["lifestyle"])), rng.choice(VALUE_TOPICS))
    stances = [[rng.random() < 0.6 for _ in topics] for _ in range(2)]
    people = []
    for person in stances:
        a, b, c = (pool.clause(rng, split, t, s) for t, s in zip(topics, person))
        people.append(f"{a}, {b} and {c}")
    agree = [int(x == y) for x, y in zip(*stances)]
    score = round(1 + 9 * (agree[0] * 1 + agree[1] * 2 + agree[2] * 4) / 7)
    label = int(score >= 6)
    pair_type = "llm_judged_compatible" if label else "llm_judged_incompatible"
    category = _compound(rng.choice(("lifestyle", "interests")), "values")
    return _row(_speakers(rng, *people), label, category, f"score_{score}", pair_type)


BUILDERS: dict[str, Callable[[random.Random, ClausePool, str], dict]] = {
    "compatible": _compatible,
    "incompatible": _incompatible,
    "dealbreaker": _dealbreaker,
    "subtle_mismatch": _subtle_mismatch,
    "scored": _scored,
    "complex": _complex,
}


def _realistic_rows(rng: random.Random) -> dict[str, list[dict]]:
    rows = [_row((t1, t2), label, "realistic_example", sub, "curated_realistic") for label, sub, t1, t2 in REALISTIC]
    rng.shuffle(rows)
    n_eval = len(rows) // 4
    return {"eval": rows[:n_eval], "train": rows[n_eval:]}


def _build_split(rng: random.Random, pool: ClausePool, split: str, total: int, realistic: list[dict]) -> pd.DataFrame:
    seen: set[tuple[str, str]] = {(r["text_1"], r["text_2"]) for r in realistic}
    rows = list(realistic)
    budget = total - len(rows)
    counts = {family: round(budget * share / sum(PAIR_MIX.values())) for family, share in PAIR_MIX.items()}
    counts["compatible"] += budget - sum(counts.values())
    for family, count in counts.items():
        made, attempts = 0, 0
        while made < count:
            attempts += 1
            if attempts > count * 200:
                raise RuntimeError(f"generator could not find {count} distinct {family} pairs for {split}")
            row = BUILDERS[family](rng, pool, split)
            key = (row["text_1"], row["text_2"])
            if key in seen or row["text_1"][5:].strip() == row["text_2"][5:].strip():
                continue
            seen.add(key)
            rows.append(row)
            made += 1
    rng.shuffle(rows)
    return pd.DataFrame(rows, columns=list(PAIR_FIELDS))


NATURAL_POSITIVE = (
    "Honestly, {x}? That's how I recharge.",
    "Ask my friends: I'm always up for {x}.",
    "Nothing makes me happier than {x}.",
    "{X}? That's a big part of who I am.",
    "My ideal weekend is full of {x}.",
)
NATURAL_NEGATIVE = (
    "Please don't plan {x} for our first date.",
    "{X}? That just drains me.",
    "You won't catch me anywhere near {x}.",
    "Honestly, {x}? Never been my thing.",
    "I'd pay good money to never deal with {x} again.",
)
NATURAL_REFUSAL = ("Someone who {x} is an instant no for me.", "If you {x2}, we're not a match.")


def _natural(rng: random.Random, sub: str, positive: bool, item: str | None = None) -> str:
    item = item or rng.choice(TOPICS[SUBCATEGORY_OF[sub]][sub])
    template = rng.choice(NATURAL_POSITIVE if positive else NATURAL_NEGATIVE)
    return template.format(x=item, X=item[0].upper() + item[1:])


def _second_person(refusal: str) -> str:
    """'smokes every day' -> 'smoke every day' (enough for this vocabulary's verbs)."""
    verb, _, rest = refusal.partition(" ")
    irregular = {"is": "are", "does": "do", "has": "have"}
    verb = irregular.get(verb) or (verb[:-2] if verb.endswith(("sses", "xes", "shes", "ches")) else verb[:-1])
    return f"{verb} {rest}".strip().replace(" their ", " your ")


def _lower_first(text: str) -> str:
    return text[0].lower() + text[1:]


def generate_ood(rng: random.Random, total: int) -> pd.DataFrame:
    """Natural phrasing, no prefix; buckets: paraphrase compatible/incompatible, dealbreaker, values over hobbies."""
    rows: list[dict] = []
    seen: set[tuple[str, str]] = set()
    buckets = ("paraphrase_compatible", "paraphrase_incompatible", "dealbreaker", "values_over_hobbies")
    per_bucket = -(-total // len(buckets))
    for bucket in buckets:
        made = 0
        while made < per_bucket:
            if bucket == "dealbreaker":
                name = rng.choice(list(DEALBREAKER_OF))
                refusals, habits = DEALBREAKERS[DEALBREAKER_OF[name]][name]
                refusal = rng.choice(refusals)
                first = rng.choice(NATURAL_REFUSAL).format(x=refusal, x2=_second_person(refusal))
                row = {"text_1": first, "text_2": f"Full disclosure, {rng.choice(habits)}.", "label": 0}
            elif bucket == "values_over_hobbies":
                hobby, value = rng.choice(HOBBY_TOPICS), rng.choice(VALUE_TOPICS)
                agree = rng.random() < 0.5
                h, v = rng.random() < 0.5, rng.random() < 0.7
                people = [f"{_natural(rng, hobby, hp)} Still, {_lower_first(_natural(rng, value, vp))}"
                          for hp, vp in ((h, v), (not h, v if agree else not v))]
                row = {"text_1": people[0], "text_2": people[1], "label": int(agree)}
            else:
                sub = rng.choice(list(SUBCATEGORY_OF))
                same = bucket == "paraphrase_compatible"
                positive = rng.random() < 0.7
                row = {"text_1": _natural(rng, sub, positive), "text_2": _natural(rng, sub, positive if same else not positive),
                       "label": int(same)}
            key = (row["text_1"], row["text_2"])
            if key in seen or row["text_1"] == row["text_2"]:
                continue
            seen.add(key)
            rows.append({**row, "bucket": bucket})
            made += 1
    rng.shuffle(rows)
    return pd.DataFrame(rows[:total], columns=["text_1", "text_2", "label", "bucket"])


def generate(seed: int = 42, n_train: int = 1200, n_eval: int = 300, n_ood: int = 120) -> dict[str, pd.DataFrame]:
    """Build train, eval and OOD frames; the same seed always gives the same rows."""
    rng = random.Random(seed)
    pool = ClausePool(rng)
    realistic = _realistic_rows(rng)
    frames = {
        TRAIN_FILE: _build_split(rng, pool, "train", n_train, realistic["train"]),
        EVAL_FILE: _build_split(rng, pool, "eval", n_eval, realistic["eval"]),
        OOD_FILE: generate_ood(rng, n_ood),
    }
    train_texts = set(frames[TRAIN_FILE].text_1) | set(frames[TRAIN_FILE].text_2)
    eval_texts = set(frames[EVAL_FILE].text_1) | set(frames[EVAL_FILE].text_2)
    ood_texts = set(frames[OOD_FILE].text_1) | set(frames[OOD_FILE].text_2)
    shared = (train_texts & eval_texts) | ((train_texts | eval_texts) & ood_texts)
    if shared:  # by construction this cannot happen; fail loudly rather than ship a leaky default
        raise RuntimeError(f"generator produced {len(shared)} texts shared across splits, e.g. {sorted(shared)[:3]}")
    return frames


def write_dataset(out: str | Path, seed: int = 42) -> dict[str, Path]:
    """Generate and write a dataset folder atomically, file by file."""
    out = Path(out)
    return {name: write_pairs(frame, out / name) for name, frame in generate(seed).items()}


def pair_type_counts(frame: pd.DataFrame) -> dict[str, int]:
    """Rows per pair_type (or OOD bucket), the summary the generate command prints."""
    counts: dict[str, int] = defaultdict(int)
    for pair_type in frame.get("pair_type", frame.get("bucket", pd.Series(dtype=str))):
        counts[pair_type] += 1
    return dict(sorted(counts.items()))
