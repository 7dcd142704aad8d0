"""The INT8 recipe's smoothing strength, chosen on the selection sets only (never eval or natural test).

    python benchmarks/int8_recipe.py --dataset ../shared/data/reference --model standard --model lora

For each model, its ``onnx`` export (built if absent) is quantised into a scratch folder once per SmoothQuant
``alpha`` (and once unsmoothed), with :func:`harness.models.export.quantize_file`, the function the export uses.
Each variant encodes the texts of the selection sets (the validation split and natural dev), one text per call as
OnnxEncoder runs int8, and is compared with the fp32 export (= the PyTorch model, 1e-7):

* per-text cosine to the fp32 embedding, mean and worst;
* |change of a pair's cosine| over the selection pairs, mean and 99th percentile (what moves Spearman, AUC and a
  fitted threshold).

Rule: the alpha with the lowest mean pair-cosine change averaged over the models (ties: the higher worst text).
``harness.models.export.SMOOTH_ALPHA`` holds the result; the table says whether it still agrees.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def selection_frames(dataset) -> dict:
    """The selection sets' pairs (``require_selection`` refuses a report set)."""
    from harness.data.scored_sets import NATURAL_DEV, VALIDATION, SetContext, require_selection

    return {name: require_selection(name).rows(SetContext(dataset=dataset)) for name in (VALIDATION, NATURAL_DEV)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="data/default")
    parser.add_argument("--model", action="append", help="registered models (default: standard and lora)")
    parser.add_argument("--alpha", type=float, nargs="+", default=[0.5, 0.6, 0.7, 0.8, 0.9])
    args = parser.parse_args()

    from harness.data.dataset import load_dataset
    from harness.evaluation.metrics import auc_roc, cosine_spearman
    from harness.models.export import SMOOTH_ALPHA, calibration_texts, ensure_exported, quantize_file
    from harness.models.handle import ModelRef
    from harness.models.onnx_encoder import OnnxEncoder

    dataset = load_dataset(args.dataset)
    frames = selection_frames(dataset)
    pairs = [pair for frame in frames.values() for pair in zip(frame["text_1"], frame["text_2"])]
    labels = np.concatenate([frame["label"].to_numpy() for frame in frames.values()])
    ends = np.cumsum([len(frame) for frame in frames.values()])
    spans = [slice(end - len(frame), end) for frame, end in zip(frames.values(), ends)]  # each set's pairs
    texts = sorted({t for pair in pairs for t in pair})
    index = {t: i for i, t in enumerate(texts)}
    left, right = np.array([index[a] for a, _ in pairs]), np.array([index[b] for _, b in pairs])
    calibration = calibration_texts()
    variants: list[float | None] = [None, *args.alpha]
    rows, change = [], {v: [] for v in variants}
    for name in args.model or ["standard", "lora"]:
        fp32_folder = ensure_exported(ModelRef.resolve(name, dataset), "onnx")
        reference = OnnxEncoder(fp32_folder).encode(texts, normalize_embeddings=True)
        reference_pairs = (reference[left] * reference[right]).sum(axis=1)
        for alpha in variants:
            with tempfile.TemporaryDirectory(prefix="int8-recipe-") as scratch:
                folder = Path(scratch) / "export"
                shutil.copytree(fp32_folder, folder)
                (folder / "export_info.json").unlink(missing_ok=True)
                quantize_file(fp32_folder / "model.onnx", folder / "model.onnx", calibration, alpha)
                vectors = OnnxEncoder(folder, per_text=True).encode(texts, normalize_embeddings=True)
            cosine = (vectors * reference).sum(axis=1)
            scores = (vectors[left] * vectors[right]).sum(axis=1)
            moved = np.abs(scores - reference_pairs)
            change[alpha].append(moved.mean())
            relative = []
            for span in spans:
                for metric in (cosine_spearman, auc_roc):
                    was = metric(reference_pairs[span], labels[span])
                    relative.append(f"{abs(metric(scores[span], labels[span]) - was) / abs(was):.2%} of {was:.3f}")
            rows.append(f"| {name} | {'none' if alpha is None else alpha} | {cosine.mean():.4f} | {cosine.min():.4f} | "
                        f"{moved.mean():.4f} | {np.quantile(moved, 0.99):.4f} | {' | '.join(relative)} |")
            print(rows[-1], flush=True)
    chosen = min(args.alpha, key=lambda a: np.mean(change[a]))
    print(f"\n{dataset.name}: {len(texts)} selection texts, {len(pairs)} selection pairs (validation + natural_dev); "
          f"calibration on {len(calibration)} training texts\n")
    print("| model | alpha | cosine to fp32, mean | worst text | mean pair-cosine change | p99 | "
          + " | ".join(f"{part} {metric} change" for part in frames for metric in ("Spearman", "AUC")) + " |")
    print("|---|---|---:|---:|---:|---:|" + "---:|" * (2 * len(frames)))
    print("\n".join(rows))
    print(f"\nchosen (lowest mean pair-cosine change over the models): alpha {chosen}; "
          f"SMOOTH_ALPHA is {SMOOTH_ALPHA}{'' if chosen == SMOOTH_ALPHA else ' (differs: update it)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
