"""Learning-rate sweep chosen on the validation split only (a selection set), never on eval.

    python benchmarks/tune.py --dataset ../shared/data/reference --model standard --lr 1e-4 2e-4 3e-4 5e-4
    python benchmarks/tune.py --dataset ../shared/data/reference --model lora --lr 1e-3 2e-3 3e-3

Each variant is the registered spec with another learning rate, trained through the harness (cached like any
model; the registered learning rate is the registered model itself). The table shows the trainer's final
Spearman on the validation split and its best Spearman during training (with the step), and marks the variant a
validation-only rule picks: the highest final validation Spearman. Eval numbers are not shown: they must not
influence the choice.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace

from harness.data.dataset import load_dataset
from harness.models.cache import ensure_trained
from harness.models.registry import get_model_spec


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--lr", type=float, nargs="+", required=True)
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
        rows.append((lr, info["final_spearman"], best["spearman"], best["step"], info["steps"], info["wall_time_s"]))
        print(f"[tune] {args.model} lr {lr:g}: validation Spearman {info['final_spearman']:.4f}", file=sys.stderr, flush=True)
    chosen = max(rows, key=lambda r: r[1])[0]
    print(f"\n{args.model} on {dataset.name}, validation split ({info['validation_split']['validation_rows']} pairs):\n")
    print("| lr | final validation Spearman | best during training (step) | wall time |")
    print("|---|---:|---:|---:|")
    for lr, final, best, step, steps, wall in rows:
        mark = " **(chosen)**" if lr == chosen else ""
        print(f"| {lr:g}{mark} | {final:.4f} | {best:.4f} ({step}/{steps}) | {wall:.0f} s |")
    if chosen != base.config.learning_rate:
        print(f"\nnote: the registry has lr {base.config.learning_rate:g}; validation prefers {chosen:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
