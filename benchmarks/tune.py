"""Hyperparameter sweep chosen on the selection sets only (validation split, natural_dev), never on a reported set.

    python benchmarks/tune.py --dataset ../shared/data/reference --model standard --lr 1e-4 2e-4 3e-4 5e-4
    python benchmarks/tune.py --dataset ../shared/data/reference --model stance-contrast --lr 2e-5 5e-5 1e-4
    python benchmarks/tune.py --dataset ../shared/data/reference --model cross-encoder --lr 5e-5 1.5e-4 --epochs 2 4
    python benchmarks/tune.py --dataset ../shared/data/reference --model augsbert --loss CoSENTLoss CosineSimilarityLoss \\
        --silver-pairs 20000 30000

Each variant is the registered spec with the values given (every combination of the axes; an axis not given keeps
the registered value), trained through the harness and cached like any model: the registered values are the
registered model itself, and a variant the registry later adopts is already in the cache. Any model kind: a
bi-encoder's scores are cosines, a cross-encoder's its probabilities (both orders averaged), exactly as the
harness scores them.

The table shows, per variant, the Spearman of its scores on the validation split and the AUC on natural_dev (the
natural benchmark's selection half), and marks the variant the rule picks. ``--choose rule`` (the default) is the
harness's recommendation rule (``harness.evaluation.leaderboard.recommend``: the variants within SPEARMAN_SLACK of
the best validation Spearman, then the highest natural_dev AUC); ``validation`` or ``natural_dev`` pick on one set.
Eval, natural_test and the writer-disjoint set are never shown: they must not influence the choice. Run variants in
separate processes (one per core) and then once more with every axis: trained variants come from the cache.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from dataclasses import replace

from harness.data.dataset import TRAIN_FILE, load_dataset
from harness.data.scored_sets import NATURAL_DEV, VALIDATION, ScoredFrames, SetContext, require_selection
from harness.evaluation.leaderboard import recommend
from harness.models.handle import ModelRef
from harness.models.registry import get_model_spec
from harness.models.training import ensure_trained

#: (flag, TrainConfig field, parser) of each axis
AXES = (
    ("lr", "learning_rate", float),
    ("epochs", "epochs", int),
    ("loss", "loss", str),
    ("silver_pairs", "silver_pairs", int),
    ("init_from", "init_from", lambda v: None if v.lower() == "none" else v),
)


def selection_scores(ref: ModelRef, frames: ScoredFrames) -> dict[str, dict]:
    """{set: {"cosine_spearman" | "auc_roc": value}} on the validation split and natural_dev, scored as the harness
    scores the model (the metric keys are the leaderboard's; "cosine_spearman" is the Spearman of the pair scores)."""
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    out = {}
    for name in (VALIDATION, NATURAL_DEV):
        require_selection(name)
        frame = frames.frame(name)
        scores, labels = ref.pair_scores(frame), frame["label"].to_numpy()
        out[name] = {"cosine_spearman": float(spearmanr(scores, labels).statistic),
                     "auc_roc": float(roc_auc_score(labels, scores))}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--model", required=True)
    for flag, _, kind in AXES:
        parser.add_argument(f"--{flag.replace('_', '-')}", dest=flag, type=kind, nargs="+",
                            help=f"values of {flag} to try ('none' for no init)" if flag == "init_from" else None)
    parser.add_argument("--choose", choices=("rule", "validation", "natural_dev"), default="rule")
    args = parser.parse_args()
    dataset = load_dataset(args.dataset)
    base = get_model_spec(args.model)
    axes = [(flag, field, getattr(args, flag)) for flag, field, _ in AXES if getattr(args, flag)]
    if not axes:
        parser.error("give at least one axis (--lr, --epochs, --loss, --silver-pairs, --init-from)")
    frames = ScoredFrames(SetContext(dataset))
    rows = {}
    for values in itertools.product(*(v for _, _, v in axes)):
        changes = {field: value for (_, field, _), value in zip(axes, values)}
        label = ", ".join(f"{flag} {value if value is not None else 'none'}" for (flag, _, _), value in zip(axes, values))
        spec = replace(base, config=replace(base.config, **changes))
        artifact = ensure_trained(spec, dataset)
        info = json.loads((artifact / "training_info.json").read_text())
        ref = ModelRef(args.model, dataset, spec, dataset.root / TRAIN_FILE)
        rows[label] = {**selection_scores(ref, frames), "wall": info.get("wall_time_s"), "steps": info.get("steps"),
                       "folder": artifact.name, "registered": spec == base}
        print(f"[tune] {args.model} {label}: validation Spearman {rows[label][VALIDATION]['cosine_spearman']:.4f}, "
              f"natural_dev AUC {rows[label][NATURAL_DEV]['auc_roc']:.4f} ({artifact.name})", file=sys.stderr, flush=True)
    if args.choose == "rule":
        chosen, why = recommend(rows)
    else:
        set_name, metric = (VALIDATION, "cosine_spearman") if args.choose == "validation" else (NATURAL_DEV, "auc_roc")
        chosen = max(rows, key=lambda r: rows[r][set_name][metric])
        why = f"highest {set_name} {metric}"
    print(f"\n{args.model} on {dataset.name}: rule: {why}\n")
    print("| variant | validation Spearman | natural_dev AUC | steps | wall time | artifact |")
    print("|---|---:|---:|---:|---:|---|")
    for label, row in rows.items():
        mark = (" **(chosen)**" if label == chosen else "") + (" (registered)" if row["registered"] else "")
        wall = f"{row['wall']:.0f} s" if row["wall"] is not None else "–"
        print(f"| {label}{mark} | {row[VALIDATION]['cosine_spearman']:.4f} | {row[NATURAL_DEV]['auc_roc']:.4f} | "
              f"{row['steps']} | {wall} | {row['folder']} |")
    if not rows[chosen]["registered"]:
        print(f"\nnote: the selection sets prefer {chosen}, which is not the registered {args.model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
