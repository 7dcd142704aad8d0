"""Encode-speed benchmark: PyTorch fp32 (SentenceTransformer) vs the ONNX fp32 and ONNX INT8 exports (onnxruntime),
and the fp32 export under OpenVINO where it is installed.

    python benchmarks/encode.py --dataset ../shared/data/reference --model standard

Sentences per second at batch 1 and batch 32 on the dataset's eval texts (each distinct text once), all the
backends loaded side by side in one process and timed round-robin (a warm-up pass each, then the median of
``--runs`` passes), with the ratio to PyTorch. The exports are built on demand (``python -m harness export``
builds the same folders); the model is trained if its artifact is absent, so run ``python -m harness train`` first.

Memory, two ways: the RSS growth of this process while each backend loads and encodes (psutil), and the peak RSS
(``VmHWM``) of a fresh subprocess that loads one backend alone and encodes the texts at batch 32; the ONNX
children import only ``harness.models.onnx_encoder`` (onnxruntime + tokenizers, no torch), as a service would.
On-disk size: the files each backend loads (for a LoRA model, the base model plus the adapter).

Prints a markdown table; ``--json FILE`` also writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from importlib.util import find_spec
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from harness.environment import set_offline  # noqa: E402

set_offline()
# Idle OpenMP threads sleep instead of spinning, as onnxruntime's do in OnnxEncoder. On a small CPU shared with other
# work, torch's default (active spin-wait at every parallel region's barrier) collapses when a core is taken:
# measured here at load ~3.5 on 2 cores, 2 threads: batch 1 2-12 sentences/s spinning vs 40-48 passive (55 with
# 1 thread). Set before torch is imported; an explicit OMP_WAIT_POLICY in the environment wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

FORMATS = ("onnx", "onnx-int8")
#: "openvino": the ``onnx`` (fp32) export run by OpenVINO's CPU plugin at its default precision (bf16 on a CPU with
#: AVX512-BF16 or AMX); a row only where ``openvino`` is installed (the export extra). OpenVINO cannot convert the
#: int8 file (onnxruntime's QAttention), so there is no OpenVINO int8 row.
OPENVINO = "openvino"

CHILD = r'''
import json, sys, time
backend, target, texts_file = sys.argv[1], sys.argv[2], sys.argv[3]
texts = json.loads(open(texts_file).read())
if backend == "pytorch":
    from harness.data.dataset import load_dataset
    from harness.models.handle import ModelRef
    model = ModelRef.resolve(target, load_dataset(sys.argv[4])).load()
else:
    from harness.models.onnx_encoder import OnnxEncoder
    model = OnnxEncoder(target, runtime="openvino" if backend == "openvino" else "onnxruntime")
started = time.perf_counter()
model.encode(texts, batch_size=32)
seconds = time.perf_counter() - started
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a child would report its forking parent's peak
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"peak_rss_mb": peak / 1024, "encode_s": seconds, "torch_imported": "torch" in sys.modules}))
'''


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def folder_mb(paths: list[Path]) -> float:
    total = 0
    for path in paths:
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file() and p.name != "README.md"]
        total += sum(p.stat().st_size for p in files)
    return total / 1e6


def time_passes(encode, texts: list[str], batch: int) -> float:
    """Seconds for one pass over ``texts`` in batches of ``batch`` (one encode call per batch, as a service would)."""
    started = time.perf_counter()
    for start in range(0, len(texts), batch):
        encode(texts[start:start + batch], batch)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="data/default")
    parser.add_argument("--model", default="standard", help="a registered model (trained first if absent)")
    parser.add_argument("--batch", type=int, action="append", help="batch sizes (default: 1 and 32)")
    parser.add_argument("--runs", type=int, default=5, help="timed passes per backend and batch size (median)")
    parser.add_argument("--batch1-texts", type=int, default=200,
                        help="texts timed at batch 1 (the first N eval texts; all of them at larger batches)")
    parser.add_argument("--no-subprocess", action="store_true", help="skip the per-backend peak-RSS subprocesses")
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args()
    batches = args.batch or [1, 32]

    import numpy as np
    import torch

    from harness.data.dataset import load_dataset
    from harness.models.handle import ModelRef
    from harness.models.onnx_encoder import default_threads
    from harness.paths import base_model_path

    dataset = load_dataset(args.dataset)
    texts = list(dict.fromkeys(t for col in ("text_1", "text_2") for t in dataset.eval[col]))
    load_before = os.getloadavg()

    refs = {"pytorch": ModelRef.resolve(args.model, dataset)}
    refs.update({fmt: ModelRef.resolve(f"{args.model}@{fmt}", dataset) for fmt in FORMATS})
    backends = ["pytorch", *FORMATS]
    if find_spec("openvino") is not None:
        backends.append(OPENVINO)
        refs[OPENVINO] = refs["onnx"]
    for ref in refs.values():
        ref.artifact()  # train / export before anything is timed
    artifact = refs["pytorch"].artifact()
    disk = {"pytorch": folder_mb([base_model_path()] if artifact is None else
                                 ([base_model_path(), artifact] if refs["pytorch"].spec.kind == "lora" else [artifact]))}
    disk.update({name: folder_mb([refs[name].artifact()]) for name in backends[1:]})

    models, rss_growth = {}, {}
    for name in backends:
        before = rss_mb()
        if name == OPENVINO:
            from harness.models.onnx_encoder import OnnxEncoder

            models[name] = OnnxEncoder(refs[name].artifact(), runtime="openvino")
        else:
            models[name] = refs[name].load()
        models[name].encode(texts[:64], batch_size=32)  # warm-up: first-call allocations, ORT's arena, torch's kernels
        rss_growth[name] = rss_mb() - before

    def encoder(name):
        model = models[name]
        return lambda batch, size: model.encode(batch, batch_size=size, convert_to_numpy=True, show_progress_bar=False)

    # agreement with PyTorch on every eval text (unit vectors), as a sanity line beside the speed
    vectors = {n: np.asarray(models[n].encode(texts, batch_size=32, convert_to_numpy=True, normalize_embeddings=True,
                                              show_progress_bar=False)) for n in backends}
    cosine = {n: (vectors[n] * vectors["pytorch"]).sum(axis=1) for n in backends}

    results = {}
    for batch in batches:
        subset = texts[:args.batch1_texts] if batch == 1 else texts
        for name in backends:  # warm-up pass at this batch size
            time_passes(encoder(name), subset[:max(batch * 4, 16)], batch)
        seconds = {name: [] for name in backends}
        for _ in range(args.runs):
            for name in backends:  # round-robin, so drift in machine load hits every backend alike
                seconds[name].append(time_passes(encoder(name), subset, batch))
        for name in backends:
            median = statistics.median(seconds[name])
            results[(name, batch)] = {"texts": len(subset), "median_s": median, "sentences_per_s": len(subset) / median,
                                      "spread": (min(seconds[name]), max(seconds[name]))}

    peak = {}
    if not args.no_subprocess:
        import tempfile

        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(texts, handle)
        try:
            for name in backends:
                target = args.model if name == "pytorch" else str(refs[name].artifact())
                out = subprocess.run([sys.executable, "-c", CHILD, name, target, handle.name, str(dataset.root)],
                                     capture_output=True, text=True, cwd=ROOT, check=True)
                peak[name] = json.loads(out.stdout.strip().splitlines()[-1])
        finally:
            os.unlink(handle.name)

    load_after = os.getloadavg()
    lines = [f"model {args.model} ({refs['pytorch'].key}), dataset {dataset.name}: {len(texts)} distinct eval texts "
             f"(batch 1: first {min(args.batch1_texts, len(texts))}); median of {args.runs} passes after a warm-up; "
             f"torch threads {torch.get_num_threads()} (OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}), "
             f"onnxruntime {default_threads()} cores (fp32: intra-op threads per batch; int8: one text per call, "
             f"{default_threads()} texts at once on 1 thread each; no spinning), "
             f"{os.cpu_count()} CPUs; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after",
             "",
             "| backend | batch | sentences/s | x PyTorch | on disk (MB) | RSS growth in-process (MB) | peak RSS alone (MB) | "
             "cosine to PyTorch (mean / min) |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for batch in batches:
        for name in backends:
            r = results[(name, batch)]
            ratio = r["sentences_per_s"] / results[("pytorch", batch)]["sentences_per_s"]
            alone = f"{peak[name]['peak_rss_mb']:.0f}" + (" (torch)" if peak[name]["torch_imported"] else "") if name in peak else "-"
            label = f"{name} ({models[name].precision})" if name == OPENVINO else name
            lines.append(f"| {label} | {batch} | {r['sentences_per_s']:.1f} | {ratio:.2f}x | {disk[name]:.1f} | "
                         f"{rss_growth[name]:.0f} | {alone} | {cosine[name].mean():.4f} / {cosine[name].min():.4f} |")
    print("\n".join(lines))
    if args.json:
        payload = {"model": args.model, "key": refs["pytorch"].key, "dataset": str(dataset.root), "texts": len(texts),
                   "runs": args.runs, "load_average": [load_before, load_after],
                   "results": [{"backend": n, "batch": b, **r} for (n, b), r in results.items()],
                   "disk_mb": disk, "rss_growth_mb": rss_growth, "peak_rss_alone": peak,
                   "cosine_to_pytorch": {n: {"mean": float(c.mean()), "min": float(c.min())} for n, c in cosine.items()}}
        Path(args.json).write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
