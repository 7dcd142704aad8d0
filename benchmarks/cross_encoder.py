"""Cross-encoder cost on this CPU (issue #20): throughput, rerank latency, and the AugSBERT chain against 20 minutes.

    python benchmarks/cross_encoder.py --dataset ../shared/data/reference --threads 2 --repeats 5

Three parts, each printed as a markdown table under a one-line environment header:

1. **Throughput.** The cross-encoder (``--model``) scores ``--pairs`` real pairs from the dataset's eval file (cycled
   when the file has fewer), batch 64: one order (``CrossEncoder.predict``), and both orders averaged as the harness
   scores (``harness.models.cross_encoder.symmetric_scores``). Beside it the bi-encoder (``--bi-encoder``) on the same
   pairs: texts/s encoding both sides (batch 64, no cache), and cosine pairs/s (encode both sides + cosine). Round-robin
   passes, median of ``--repeats``, and the ratio bi-encoder / cross-encoder.
2. **Latency of one query over k candidates** (k = 1, 10, 50): retrieve (the bi-encoder encodes the query, cosine
   against the pre-encoded corpus of the dataset's distinct texts, top-k) then rerank (the cross-encoder scores the
   query against the k candidates in both orders, as the harness does); median and p90 wall ms over ``--repeats``
   queries (eval texts; the query's own text is never a candidate), after one warm-up query per k.
3. **The chain** (cross-encoder training, silver labelling, bi-encoder training): the two trainings read from their
   artifacts' ``training_info.json`` (``wall_time_s``, ``threads``); the silver step measured now: embedding the
   silver texts with the bi-encoder AugSBERT starts from, drawing the candidate pairs, and labelling ``--silver-sample``
   of them with ``symmetric_scores``, extrapolated to the silver count augsbert recorded (or its configured count
   while it is not trained). A part not trained yet is printed as such and the sum is marked partial.

Nothing is trained: an artifact that is missing stops the script with the command that trains it (exit 2);
``--train`` lets the harness train it first instead.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from harness.environment import set_offline  # noqa: E402

set_offline()
# Idle OpenMP threads sleep instead of spinning (see benchmarks/encode.py): on a small CPU shared with training jobs,
# torch's spin-waiting collapses when a core is taken. Set before torch is imported; a value already set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REFERENCE = ROOT.parent / "shared" / "data" / "reference"
DEFAULT_DATASET = REFERENCE if REFERENCE.is_dir() else ROOT / "data" / "default"
TARGET_S = 20 * 60
BATCH = 64
KS = (1, 10, 50)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def shown_path(path: Path) -> str:
    """``path`` relative to the repository root where it is near it (as a command line would name it)."""
    try:
        return os.path.relpath(path, ROOT)
    except ValueError:
        return str(path)


def require_trained(ref, dataset_arg: str, train: bool) -> Path:
    """The artifact folder of ``ref``; without ``train``, a missing one stops the script (exit 2) with the command."""
    from harness.models.cache import is_complete
    from harness.paths import models_dir

    folder = models_dir() / ref.key
    if is_complete(folder):
        return folder
    if train:
        return ref.artifact()
    partial = sorted(models_dir().glob(f".partial-{ref.key}-*"))
    print(f"{ref.name} is not trained on this dataset (no {shown_path(folder)}"
          + (f"; {partial[0].name} exists: a training is in progress, or was interrupted" if partial else "") + ").\n"
          f"Train it with:  python -m harness train --model {ref.name} --dataset {dataset_arg}\n"
          f"(or run this script with --train). Nothing was trained.", file=sys.stderr)
    raise SystemExit(2)


def trained_folder(ref) -> Path | None:
    from harness.models.cache import is_complete
    from harness.paths import models_dir

    folder = models_dir() / ref.key
    return folder if is_complete(folder) else None


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def p90(values: list[float]) -> float:
    import numpy as np

    return float(np.percentile(values, 90))


def fmt_s(seconds: float) -> str:
    return f"{seconds:,.1f} s ({seconds / 60:.1f} min)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=str(DEFAULT_DATASET),
                        help="dataset folder (default: ../shared/data/reference if it exists, else data/default)")
    parser.add_argument("--model", default="cross-encoder", help="the registered cross-encoder")
    parser.add_argument("--bi-encoder", default="natural-mix", help="the registered bi-encoder it is compared with and "
                        "that retrieves (the pipeline's, natural-mix)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes / queries per measurement (median)")
    parser.add_argument("--pairs", type=int, default=2000, help="eval pairs timed for throughput (cycled if fewer)")
    parser.add_argument("--silver-sample", type=int, default=2000, help="silver pairs labelled now to time the step")
    parser.add_argument("--no-train", dest="no_train", action="store_true", default=True,
                        help="the default: a missing artifact stops the script with the command that trains it (exit 2)")
    parser.add_argument("--train", dest="no_train", action="store_false", help="train missing artifacts first")
    parser.add_argument("--export", nargs="*", default=[], choices=("onnx", "onnx-int8"),
                        help="also time the cross-encoder's ONNX exports (built if absent; the export extra) in the "
                             "throughput table, round-robin with the rest")
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args()

    import numpy as np
    import torch

    torch.set_num_threads(args.threads)

    from harness.data.dataset import load_dataset
    from harness.models.cross_encoder import load_cross_encoder, symmetric_scores
    from harness.models.embeddings import encode
    from harness.models.handle import ModelRef, ModelUnavailable

    dataset = load_dataset(args.dataset)
    dataset_arg = shown_path(dataset.root)
    ce_ref = ModelRef.resolve(args.model, dataset)
    bi_ref = ModelRef.resolve(args.bi_encoder, dataset)
    if ce_ref.spec.kind != "cross-encoder":
        parser.error(f"--model {args.model} is a {ce_ref.spec.kind} model, not a cross-encoder")
    if not bi_ref.embeds:
        parser.error(f"--bi-encoder {args.bi_encoder} has no embeddings (a {bi_ref.spec.kind})")
    ce_folder = require_trained(ce_ref, dataset_arg, train=not args.no_train)
    require_trained(bi_ref, dataset_arg, train=not args.no_train)
    from harness.models.registry import get_model_spec

    init_ref = ModelRef.resolve(get_model_spec("augsbert").config.init_from, dataset)  # the silver step's embedder
    init_folder = require_trained(init_ref, dataset_arg, train=not args.no_train)
    ce_info = json.loads((ce_folder / "training_info.json").read_text())

    import sentence_transformers

    load_before = os.getloadavg()
    started_at = datetime.now(timezone.utc)
    cross = load_cross_encoder(ce_folder)
    bi = bi_ref.load()
    header = (f"{cpu_model()}, {os.cpu_count()} CPUs; torch {torch.__version__} with {torch.get_num_threads()} "
              f"thread(s) "
              f"(OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}), sentence-transformers "
              f"{sentence_transformers.__version__}; dataset {dataset.name}; cross-encoder {ce_ref.key}, bi-encoder "
              f"{bi_ref.key}; {started_at:%Y-%m-%d %H:%M} UTC; load average {load_before[0]:.2f} at start")
    print(header, flush=True)

    def predict(pairs):
        return cross.predict([list(p) for p in pairs], batch_size=BATCH, show_progress_bar=False)

    exported = {}
    for fmt in args.export:
        from harness.models.onnx_cross_encoder import OnnxCrossEncoder

        try:
            exported[fmt] = OnnxCrossEncoder(ModelRef.resolve(f"{args.model}@{fmt}", dataset).artifact(),
                                             intra_op_num_threads=args.threads)
        except (ModelUnavailable, ImportError) as err:
            parser.error(f"--export {fmt}: {err} (the export extra: scripts/setup export)")

    # --- 1. throughput ------------------------------------------------------------------------------------------------
    eval_pairs = list(zip(dataset.eval["text_1"], dataset.eval["text_2"]))
    pairs = [eval_pairs[i % len(eval_pairs)] for i in range(args.pairs)]
    cycled = (f"{len(eval_pairs)} eval pairs cycled to {len(pairs):,}" if len(eval_pairs) < len(pairs)
              else f"{len(pairs):,} eval pairs")
    left, right = [a for a, _ in pairs], [b for _, b in pairs]

    def bi_pass() -> tuple[float, float]:
        """(encode seconds, cosine seconds) for both sides of every pair, no cache."""
        t0 = time.perf_counter()
        e1, e2 = encode(bi, left, BATCH), encode(bi, right, BATCH)
        t1 = time.perf_counter()
        (e1 * e2).sum(axis=1)
        return t1 - t0, time.perf_counter() - t1

    warm = pairs[:BATCH * 2]  # warm-up: first-call allocations and kernels
    predict(warm), symmetric_scores(cross, warm, BATCH), encode(bi, [a for a, _ in warm], BATCH)
    for model in exported.values():
        symmetric_scores(model, warm, BATCH)
    seconds = {"ce_one": [], "ce_both": [], "bi_encode": [], "bi_pairs": [], **{f"{f}_both": [] for f in exported}}
    for _ in range(args.repeats):  # round-robin: drift in machine load hits every scorer alike
        seconds["ce_one"].append(timed(lambda: predict(pairs)))
        seconds["ce_both"].append(timed(lambda: symmetric_scores(cross, pairs, BATCH)))
        for fmt, model in exported.items():
            seconds[f"{fmt}_both"].append(timed(lambda: symmetric_scores(model, pairs, BATCH)))
        enc, cos = bi_pass()
        seconds["bi_encode"].append(enc)
        seconds["bi_pairs"].append(enc + cos)
    med = {k: statistics.median(v) for k, v in seconds.items()}
    rate = {"ce_one": len(pairs) / med["ce_one"], "ce_both": len(pairs) / med["ce_both"],
            "bi_texts": 2 * len(pairs) / med["bi_encode"], "bi_pairs": len(pairs) / med["bi_pairs"],
            **{f"{f}_both": len(pairs) / med[f"{f}_both"] for f in exported}}
    print(f"\n### Throughput ({cycled}, batch {BATCH}, median of {args.repeats} round-robin passes after a warm-up)\n")
    rows = [
        ("cross-encoder, one order", f"predict {len(pairs):,} pairs", med["ce_one"], f"{rate['ce_one']:,.1f} pairs/s",
         rate["bi_pairs"] / rate["ce_one"]),
        ("cross-encoder, both orders (as the harness scores)", f"{2 * len(pairs):,} predictions, averaged",
         med["ce_both"], f"{rate['ce_both']:,.1f} pairs/s", rate["bi_pairs"] / rate["ce_both"]),
        *((f"cross-encoder@{f}, both orders ({'one pair per call, ' if m.per_pair else ''}{args.threads} threads)",
           f"{2 * len(pairs):,} predictions, averaged", med[f"{f}_both"], f"{rate[f'{f}_both']:,.1f} pairs/s",
           rate["bi_pairs"] / rate[f"{f}_both"]) for f, m in exported.items()),
        ("bi-encoder, encode", f"encode {2 * len(pairs):,} texts (both sides)", med["bi_encode"],
         f"{rate['bi_texts']:,.1f} texts/s", None),
        ("bi-encoder, cosine pairs", "encode both sides + cosine", med["bi_pairs"], f"{rate['bi_pairs']:,.1f} pairs/s",
         None),
    ]
    print("| scorer | one pass | median s | rate | bi-encoder pairs/s ÷ this |")
    print("|---|---|---:|---:|---:|")
    for name, what, sec, shown, ratio in rows:
        print(f"| {name} | {what} | {sec:.2f} | {shown} | {'' if ratio is None else f'{ratio:.1f}x'} |")
    print(f"\nbi-encoder / cross-encoder, pairs/s: {rate['bi_pairs'] / rate['ce_one']:.1f}x one order, "
          f"{rate['bi_pairs'] / rate['ce_both']:.1f}x both orders (no embedding cache on either side; with cached "
          f"vectors a bi-encoder pair is one dot product)", flush=True)
    for fmt in exported:
        print(f"cross-encoder@{fmt} / PyTorch cross-encoder, both orders: {rate[f'{fmt}_both'] / rate['ce_both']:.2f}x")

    # --- 2. latency: one query, k candidates ----------------------------------------------------------------------
    corpus = sorted({t for frame in (dataset.train, dataset.eval) for col in ("text_1", "text_2") for t in frame[col]})
    corpus_vectors = encode(bi, corpus, BATCH)
    queries = list(dict.fromkeys(t for col in ("text_1", "text_2") for t in dataset.eval[col]))
    queries = [queries[i] for i in np.random.default_rng(0).permutation(len(queries))]
    position = {t: i for i, t in enumerate(corpus)}

    def one_query(query: str, k: int) -> tuple[float, float]:
        t0 = time.perf_counter()
        q = encode(bi, [query], 1)[0]
        sims = corpus_vectors @ q
        if query in position:  # the query's own text is never its candidate
            sims[position[query]] = -np.inf
        top = np.argpartition(-sims, k)[:k]
        top = top[np.argsort(-sims[top])]
        t1 = time.perf_counter()
        symmetric_scores(cross, [(query, corpus[j]) for j in top], BATCH)
        return t1 - t0, time.perf_counter() - t1

    latency = {}
    next_query = iter(queries * (1 + (len(KS) * (args.repeats + 1)) // max(len(queries), 1)))
    for k in KS:
        one_query(next(next_query), k)  # warm-up at this k
        runs = [one_query(next(next_query), k) for _ in range(args.repeats)]
        ms = {"retrieve": [r * 1e3 for r, _ in runs], "rerank": [c * 1e3 for _, c in runs],
              "total": [(r + c) * 1e3 for r, c in runs]}
        latency[k] = {part: {"median": statistics.median(v), "p90": p90(v)} for part, v in ms.items()}
    print(f"\n### Latency, one query over k candidates (corpus {len(corpus):,} distinct dataset texts pre-encoded; "
          f"{args.repeats} queries per k after a warm-up, each a different eval text; rerank = 2k predictions, both "
          f"orders; p90 interpolated over {args.repeats} runs)\n")
    print("| k | retrieve median ms | rerank median ms | total median ms | retrieve p90 ms | rerank p90 ms | "
          "total p90 ms |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for k in KS:
        m = latency[k]
        print(f"| {k} | {m['retrieve']['median']:.1f} | {m['rerank']['median']:.1f} | {m['total']['median']:.1f} | "
              f"{m['retrieve']['p90']:.1f} | {m['rerank']['p90']:.1f} | {m['total']['p90']:.1f} |", flush=True)

    # --- 3. the chain -------------------------------------------------------------------------------------------
    from harness.data import natural_train
    from harness.models.base import load_base_model
    from harness.models.silver import candidate_pairs, scored_texts
    from harness.models.training import training_rows

    try:
        aug_ref = ModelRef.resolve("augsbert", dataset)
    except ModelUnavailable as err:
        aug_ref, aug_error = None, err.reason
    else:
        aug_error = None
    aug_spec = get_model_spec("augsbert")
    cfg = aug_spec.config
    aug_folder = trained_folder(aug_ref) if aug_ref is not None else None
    aug_info = json.loads((aug_folder / "training_info.json").read_text()) if aug_folder else None
    silver_record = (aug_info or {}).get("training_data", {}).get("silver") if aug_info else None
    silver_count = silver_record["pairs"] if silver_record else cfg.silver_pairs
    silver_count_source = (f"the {silver_count:,} pairs augsbert's training_info.json records" if silver_record
                           else f"augsbert's configured silver_pairs, {silver_count:,} (no augsbert record yet)")
    teacher_note = "" if cfg.teacher == args.model else f" (augsbert's teacher is {cfg.teacher}, not {args.model})"

    # the silver step as harness.models.silver.silver_pairs runs it: the texts, their vectors by the bi-encoder augsbert
    # starts from, the candidate pairs, then the teacher's labels (timed on a sample, extrapolated)
    frame, _, _ = training_rows(dataset, (aug_ref or ce_ref).train_path)
    extra = natural_train.extra_pairs(cfg.extra_train)
    gold = set(zip(frame["text_1"], frame["text_2"])) | set(zip(extra["text_1"], extra["text_2"]))
    silver_texts = sorted({t for a, b in gold for t in (a, b)} - scored_texts(dataset))
    t0 = time.perf_counter()
    starter = load_base_model(device="cpu", path=init_folder)
    vectors = encode(starter, silver_texts)
    embed_s = time.perf_counter() - t0
    sample = min(args.silver_sample, silver_count)
    t0 = time.perf_counter()
    candidates = candidate_pairs(silver_texts, vectors, gold, sample, cfg.seed)
    candidates_s = time.perf_counter() - t0
    sample_pairs = list(zip(candidates["text_1"], candidates["text_2"]))
    label_sample_s = timed(lambda: symmetric_scores(cross, sample_pairs, BATCH))
    label_s = label_sample_s * silver_count / sample
    silver_s = embed_s + candidates_s + label_s
    init_info = json.loads((init_folder / "training_info.json").read_text())

    def threads_of(info: dict) -> str:
        return str(info.get("threads", "not recorded"))

    chain = [
        ("cross-encoder training", f"{ce_info['wall_time_s']:,.1f}", f"read: {ce_folder.name}/training_info.json "
         f"wall_time_s ({ce_info.get('steps')} steps, {ce_info.get('precision')})", threads_of(ce_info)),
        (f"silver: embed {len(silver_texts):,} texts ({cfg.init_from})", f"{embed_s:,.1f}", "measured now",
         str(args.threads)),
        (f"silver: draw candidate pairs (sample of {sample:,})", f"{candidates_s:,.1f}",
         "measured now (all texts' neighbours, so nearly size-independent)", str(args.threads)),
        (f"silver: label {silver_count:,} pairs, both orders{teacher_note}", f"{label_s:,.1f}",
         f"extrapolated: {sample:,} labelled now in {label_sample_s:.1f} s, scaled to {silver_count_source}",
         str(args.threads)),
    ]
    if aug_info:
        chain.append(("augsbert training (bi-encoder)", f"{aug_info['wall_time_s']:,.1f}",
                      f"read: {aug_folder.name}/training_info.json wall_time_s ({aug_info.get('steps')} steps, "
                      f"{aug_info.get('precision')})", threads_of(aug_info)))
        total = ce_info["wall_time_s"] + silver_s + aug_info["wall_time_s"]
        partial = False
    else:
        from harness.paths import models_dir

        reason = aug_error or (f"no {shown_path(models_dir() / aug_ref.key)}; python -m harness train --model "
                               f"augsbert --dataset {dataset_arg}")
        chain.append(("augsbert training (bi-encoder)", "not trained yet", reason, "-"))
        total = ce_info["wall_time_s"] + silver_s
        partial = True
    print(f"\n### The chain: cross-encoder training, silver labelling, bi-encoder training (target <= "
          f"{TARGET_S // 60} min)\n")
    print("| step | seconds | source | threads |")
    print("|---|---:|---|---:|")
    for step, sec, source, threads in chain:
        print(f"| {step} | {sec} | {source} | {threads} |")
    sum_label = "**sum, partial (augsbert not trained yet)**" if partial else "**sum**"
    if partial:  # the missing part can only add time: over the target already is a verdict, under it is not
        verdict = ("not met: over the target before augsbert's training is added" if total > TARGET_S
                   else "a lower bound only: no verdict until augsbert is trained")
    else:
        verdict = "met" if total <= TARGET_S else "not met"
    print(f"| {sum_label} | **{total:,.1f}** | {fmt_s(total)} against {TARGET_S} s: {verdict} | |")
    print(f"| (prerequisite, outside the issue's chain) {cfg.init_from} training, which the cross-encoder and augsbert "
          f"start from | {init_info['wall_time_s']:,.1f} | read: {init_folder.name}/training_info.json wall_time_s | "
          f"{threads_of(init_info)} |")
    print(f"\nwall_time_s is the trainer's loop as training_info.json records it (not loading, the final evaluation, "
          f"saving). Parts measured now ran on {args.threads} thread(s); parts read from training_info.json ran on "
          f"the threads shown, under whatever load the machine had then.")
    load_after = os.getloadavg()
    print(f"load average {load_before[0]:.2f} at start, {load_after[0]:.2f} at the end", flush=True)

    if args.json:
        payload = {"header": header, "dataset": str(dataset.root), "threads": args.threads, "repeats": args.repeats,
                   "throughput": {"pairs": len(pairs), "distinct_eval_pairs": len(eval_pairs), "median_s": med,
                                  "rates": rate, "seconds": seconds},
                   "latency_ms": {str(k): v for k, v in latency.items()}, "corpus": len(corpus),
                   "chain": {"cross_encoder_s": ce_info["wall_time_s"], "cross_encoder_threads": ce_info.get("threads"),
                             "silver_embed_s": embed_s, "silver_candidates_s": candidates_s,
                             "silver_label_sample": sample, "silver_label_sample_s": label_sample_s,
                             "silver_count": silver_count, "silver_count_recorded": bool(silver_record),
                             "silver_label_extrapolated_s": label_s,
                             "augsbert_s": aug_info["wall_time_s"] if aug_info else None,
                             "augsbert_threads": aug_info.get("threads") if aug_info else None,
                             "sum_s": total, "partial": partial, "target_s": TARGET_S,
                             "init_s": init_info["wall_time_s"]},
                   "load_average": [load_before, load_after]}
        Path(args.json).write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
