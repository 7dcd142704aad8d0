"""Hyperparameter sweep chosen on the selection sets only (validation split, natural_dev), never on a reported set.

    python benchmarks/tune.py --dataset ../shared/data/reference --model standard --lr 1e-4 2e-4 3e-4 5e-4
    python benchmarks/tune.py --dataset ../shared/data/reference --model stance-contrast --lr 2e-5 5e-5 1e-4
    python benchmarks/tune.py --dataset ../shared/data/reference --model cross-encoder --lr 5e-5 1.5e-4 --epochs 2 4
    python benchmarks/tune.py --dataset ../shared/data/reference --model cross-encoder --variant epochs=4 \
        --variant init_from=none,lr=5e-5,epochs=4
    python benchmarks/tune.py --dataset ../shared/data/reference --model augsbert --loss CoSENTLoss CosineSimilarityLoss \\
        --silver-pairs 20000 30000

Each variant is the registered spec with the values given (every combination of the axes, plus each ``--variant``;
what is not given keeps the registered value; the registered spec itself is always the first row), trained through the harness and cached like any model: the registered values are the
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
from pathlib import Path

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


def parse_variant(text: str) -> list[tuple[str, object]]:
    """'lr=5e-5,epochs=4' -> [("lr", 5e-05), ("epochs", 4)]; a clear error naming the unknown axis or bad value."""
    kinds = {flag: kind for flag, _, kind in AXES}
    out = []
    for part in filter(None, text.split(",")):
        flag, _, value = part.partition("=")
        flag = flag.strip().replace("-", "_")
        if flag not in kinds or not value:
            raise ValueError(f"--variant {text!r}: {part!r} is not AXIS=VALUE with AXIS one of {', '.join(kinds)}")
        try:
            out.append((flag, kinds[flag](value.strip())))
        except ValueError:
            raise ValueError(f"--variant {text!r}: {value!r} is not a valid {flag}") from None
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--model", required=True)
    for flag, _, kind in AXES:
        parser.add_argument(f"--{flag.replace('_', '-')}", dest=flag, type=kind, nargs="+",
                            help=f"values of {flag} to try ('none' for no init)" if flag == "init_from" else None)
    parser.add_argument("--variant", action="append", default=[], metavar="AXIS=VALUE[,AXIS=VALUE]",
                        help="one variant by its changes, e.g. 'lr=5e-5,epochs=4' (repeatable; beside the axes)")
    parser.add_argument("--choose", choices=("rule", "validation", "natural_dev"), default="rule")
    parser.add_argument("--out", type=Path, help="also write the table to this markdown file (with the command, "
                                                 "date and commit behind it), e.g. docs/sweeps/<model>.md")
    args = parser.parse_args()
    dataset = load_dataset(args.dataset)
    base = get_model_spec(args.model)
    axes = [(flag, field, getattr(args, flag)) for flag, field, _ in AXES if getattr(args, flag)]
    variants = [[(flag, value) for (flag, _, _), value in zip(axes, values)]
                for values in itertools.product(*(v for _, _, v in axes))] if axes else []
    try:
        variants += [parse_variant(text) for text in args.variant]
    except ValueError as err:
        parser.error(str(err))
    if not variants:
        parser.error("give an axis (--lr, --epochs, --loss, --silver-pairs, --init-from) or a --variant")
    fields = {flag: field for flag, field, _ in AXES}
    frames = ScoredFrames(SetContext(dataset))
    rows = {}
    # the variants first and the registered spec last (another process may be training it: its cache lock is then
    # waited for only after this process's own variants are trained); the table shows the registered row first
    for variant in [*variants, []]:
        label = ", ".join(f"{flag} {value if value is not None else 'none'}" for flag, value in variant) or "registered"
        spec = replace(base, config=replace(base.config, **{fields[flag]: value for flag, value in variant}))
        if spec == base:
            label = "registered"
        if any(row["config"] == spec.config for row in rows.values()):
            continue
        artifact = ensure_trained(spec, dataset)
        info = json.loads((artifact / "training_info.json").read_text())
        ref = ModelRef(args.model, dataset, spec, dataset.root / TRAIN_FILE)
        rows[label] = {**selection_scores(ref, frames), "wall": info.get("wall_time_s"), "steps": info.get("steps"),
                       "folder": artifact.name, "registered": spec == base, "config": spec.config}
        print(f"[tune] {args.model} {label}: validation Spearman {rows[label][VALIDATION]['cosine_spearman']:.4f}, "
              f"natural_dev AUC {rows[label][NATURAL_DEV]['auc_roc']:.4f} ({artifact.name})", file=sys.stderr, flush=True)
    rows = {label: rows[label] for label in sorted(rows, key=lambda label: not rows[label]["registered"])}
    if args.choose == "rule":
        chosen, why = recommend(rows)
    else:
        set_name, metric = (VALIDATION, "cosine_spearman") if args.choose == "validation" else (NATURAL_DEV, "auc_roc")
        chosen = max(rows, key=lambda r: rows[r][set_name][metric])
        why = f"highest {set_name} {metric}"
    lines = [f"{args.model} on {dataset.name}: rule: {why}", "",
             "| variant | validation Spearman | natural_dev AUC | steps | wall time (training) | artifact |",
             "|---|---:|---:|---:|---:|---|"]
    for label, row in rows.items():
        mark = (" **(chosen)**" if label == chosen else "") + (" (registered)" if row["registered"] and label != "registered" else "")
        wall = f"{row['wall']:.0f} s" if row["wall"] is not None else "–"
        lines.append(f"| {label}{mark} | {row[VALIDATION]['cosine_spearman']:.4f} | {row[NATURAL_DEV]['auc_roc']:.4f} | "
                     f"{row['steps']} | {wall} | {row['folder']} |")
    if not rows[chosen]["registered"]:
        lines += ["", f"note: the selection sets prefer {chosen}, which is not the registered {args.model}"]
    print("\n" + "\n".join(lines))
    if args.out:
        write_doc(args.out, args.model, lines)
    return 0


def write_doc(path: Path, model: str, lines: list[str]) -> None:
    """The table as a generated markdown page naming the command, the date and the commit behind it."""
    import datetime
    import shlex
    import subprocess

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "harness", "benchmarks"],
                           capture_output=True, text=True).stdout.strip()
    commit = f"{commit} + uncommitted changes to harness/ or benchmarks/" if commit and dirty else commit
    header = [f"# Sweep: {model}", "",
              "Generated by `benchmarks/tune.py`; do not edit by hand. Chosen on the selection sets only (the validation "
              "split and natural_dev); reported sets are never read.", "",
              f"- command: `python {shlex.join(sys.argv)}`",
              f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; commit: {commit or 'unknown'}",
              "- wall time: the variant's training, as recorded in its training_info.json (threads and load vary)", ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text("\n".join(header + lines) + "\n")
    partial.replace(path)


if __name__ == "__main__":
    sys.exit(main())
