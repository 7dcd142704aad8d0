"""Learning-rate sweep chosen on the validation split only (a selection set), never on eval.

    python benchmarks/tune.py --dataset ../shared/data/reference --model standard --lr 1e-4 2e-4 3e-4 5e-4
    python benchmarks/tune.py --dataset ../shared/data/reference --model lora --lr 1e-3 2e-3 3e-3

    python benchmarks/tune.py --dataset ../shared/data/reference --model stance-contrast --lr 2e-5 5e-5 1e-4 --choose natural_dev

Each variant is the registered spec with another learning rate, trained through the harness (cached like any
model; the registered learning rate is the registered model itself). The table shows the trainer's final
Spearman on the validation split, its best Spearman during training (with the step) and the AUC on natural_dev
(the natural benchmark's selection half), and marks the variant the rule picks: the highest final validation
Spearman (``--choose validation``), or the highest natural_dev AUC (``--choose natural_dev``, for the recipes whose
purpose is natural phrasing). Both are selection sets; eval and natural_test numbers are not shown: they must not
influence the choice.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from harness.data.dataset import load_dataset
from harness.models.training import ensure_trained
from harness.models.registry import get_model_spec


def natural_dev_auc(spec, artifact) -> float:
    """AUC on the natural benchmark's dev half (a selection set), encoding as the harness does."""
    from sklearn.metrics import roc_auc_score

    from harness.data.scored_sets import NATURAL_DEV, SetContext, get_scored_set, require_selection
    from harness.models.embeddings import encode, load_model

    require_selection(NATURAL_DEV)
    frame = get_scored_set(NATURAL_DEV).rows(SetContext(dataset=None))
    model = load_model(spec, artifact)
    a, b = encode(model, frame["text_1"].tolist()), encode(model, frame["text_2"].tolist())
    return float(roc_auc_score(frame["label"], (a * b).sum(axis=1)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--lr", type=float, nargs="+", required=True)
    parser.add_argument("--choose", choices=("validation", "natural_dev"), default="validation")
    args = parser.parse_args()
    dataset = load_dataset(args.dataset)
    base = get_model_spec(args.model)
    rows = []
    for lr in args.lr:
        # same name, other config: a variant the registry later adopts is already in the cache
        spec = replace(base, config=replace(base.config, learning_rate=lr))
        import json

        info = json.loads((ensure_trained(spec, dataset) / "training_info.json").read_text())
        best = max(info["spearman_history"], key=lambda h: h["spearman"])
        dev_auc = natural_dev_auc(spec, ensure_trained(spec, dataset))
        rows.append((lr, info["final_spearman"], best["spearman"], best["step"], info["steps"], info["wall_time_s"], dev_auc))
        print(f"[tune] {args.model} lr {lr:g}: validation Spearman {info['final_spearman']:.4f}, natural_dev AUC "
              f"{dev_auc:.4f}", file=sys.stderr, flush=True)
    chosen = max(rows, key=lambda r: r[1] if args.choose == "validation" else r[6])[0]
    print(f"\n{args.model} on {dataset.name}, validation split ({info['validation_split']['validation_rows']} pairs):\n")
    print(f"rule: highest {'final validation Spearman' if args.choose == 'validation' else 'natural_dev AUC'}\n")
    print("| lr | final validation Spearman | best during training (step) | natural_dev AUC | wall time |")
    print("|---|---:|---:|---:|---:|")
    for lr, final, best, step, steps, wall, dev_auc in rows:
        mark = " **(chosen)**" if lr == chosen else ""
        print(f"| {lr:g}{mark} | {final:.4f} | {best:.4f} ({step}/{steps}) | {dev_auc:.4f} | {wall:.0f} s |")
    if chosen != base.config.learning_rate:
        print(f"\nnote: the registry has lr {base.config.learning_rate:g}; validation prefers {chosen:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
