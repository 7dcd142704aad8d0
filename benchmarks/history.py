"""Run-history benchmark (issue #22's targets; measured here, never as timed tests):

    python benchmarks/history.py                                   # all three
    python benchmarks/history.py --only history --runs 10000       # one of compare | history | growth

* ``compare``: ``python -m harness compare --baseline A --candidate B --dataset DIR --no-train`` over every scored set
  of the dataset, as a subprocess (wall, imports included) and in-process (resolve + score + bootstrap). Both models
  must be cached (trained, embeddings warm): the benchmark never trains. Target <= 10 s.
* ``history``: ``python -m harness history`` over a store of ``--runs`` synthesised runs of CI's shape (five models
  x the reference data's eight scored sets, 34 metrics each, per-pair scores, a new cache key every 50 runs;
  ``harness.history.synthetic``), built once through the store's own insert path and kept in ``--store-dir``
  (default ``runs/bench/``). Timed in-process (query + table) and as a subprocess. Target <= 1 s.
* ``growth``: bytes a full run adds to the store (file size after a checkpoint): the first run (its scores included),
  a repeat with the same cache keys, and a run after every key changed. Target <= 1 MB per full run.

Prints each number against its target; ``--json FILE`` writes them too.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

TARGETS = {"compare_s": 10.0, "history_s": 1.0, "growth_mb": 1.0}


def _say(label: str, value: float, target: float, unit: str) -> None:
    print(f"{label:<58} {value:10.3f} {unit:<3} (target <= {target:g} {unit}: {'met' if value <= target else 'MISSED'})",
          flush=True)


def _cli(*args: str, env: dict | None = None) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "harness", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})
    return time.perf_counter() - started, proc


def bench_compare(dataset: str, baseline: str, candidate: str) -> dict:
    from harness.data.dataset import load_dataset
    from harness.history.cli import _open_store
    from harness.history.compare import compare_sides, dataset_rows, resolve_side

    args = ("compare", "--baseline", baseline, "--candidate", candidate, "--dataset", dataset, "--no-train")
    first, proc = _cli(*args)  # may embed what the cache lacks (never trains)
    wall, proc = _cli(*args) if proc.returncode in (0, 1) else (first, proc)
    if proc.returncode not in (0, 1):
        print(f"compare could not run (exit {proc.returncode}): {proc.stderr.strip()[-600:]}\n"
              f"(train and evaluate both models first, e.g. python -m harness evaluate --model {baseline} "
              f"--model {candidate} --dataset {dataset})", flush=True)
        return {"compare_error": proc.stderr.strip()[-600:]}
    print(proc.stdout.rstrip()[-3000:], flush=True)
    started = time.perf_counter()
    loaded = load_dataset(dataset)
    rows = dataset_rows(loaded)
    t_rows = time.perf_counter() - started
    store = _open_store(None)
    started = time.perf_counter()
    a = resolve_side(baseline, loaded, store, allow_train=False)
    b = resolve_side(candidate, loaded, store, other=a.model, allow_train=False)
    comparison = compare_sides(a, b, rows)
    t_compare = time.perf_counter() - started
    started = time.perf_counter()
    compare_sides(a, b, rows)
    t_again = time.perf_counter() - started
    sets = sorted({d.scored_set for d in comparison.deltas})
    print(f"{f'compare {baseline} vs {candidate}: first CLI call (embeds what the cache lacks)':<58} {first:10.3f} s",
          flush=True)
    _say(f"compare {baseline} vs {candidate}, {len(sets)} sets: CLI wall, cached", wall, TARGETS["compare_s"], "s")
    _say("  in-process: dataset + rows of every scored set", t_rows, TARGETS["compare_s"], "s")
    _say("  in-process: resolve, scores, bootstrap (first / again)", t_compare, TARGETS["compare_s"], "s")
    print(f"{'':<58} {t_again:10.3f} s   (again, everything in memory)", flush=True)
    return {"compare_first_cli_s": first, "compare_cli_s": wall, "compare_rows_s": t_rows, "compare_in_process_s": t_compare,
            "compare_again_s": t_again, "compare_sets": sets, "compare_exit": proc.returncode}


def synthetic_store(path: Path, runs: int) -> Path:
    from harness.history.store import HistoryStore
    from harness.history.synthetic import synthetic_record

    if path.exists():
        with HistoryStore(path, create=False) as store:
            if store.count() == runs:
                return path
        path.unlink()
    started = time.perf_counter()
    print(f"building {path} with {runs} synthetic runs (once; kept for later runs) ...", flush=True)
    with HistoryStore(path) as store:
        store.append_many(synthetic_record(i, dataset=("reference", "default")[i % 2]) for i in range(runs))
    print(f"built in {time.perf_counter() - started:.0f} s, {path.stat().st_size / 1e6:.0f} MB", flush=True)
    return path


def bench_history(runs: int, store_dir: Path) -> dict:
    from harness.history.cli import trends_table
    from harness.history.compare import METRICS
    from harness.history.store import HistoryStore

    path = synthetic_store(store_dir / f"history-{runs}.sqlite", runs)
    out = {"history_runs": runs, "history_store_mb": path.stat().st_size / 1e6}
    cases = {"default view (3 metrics, every dataset/model/set)": dict(metrics=METRICS),
             "--dataset reference --model standard": dict(dataset="reference", models=["standard"], metrics=METRICS),
             "--metric all --dataset reference --model standard": dict(dataset="reference", models=["standard"]),
             "--last 100 --source pytest": dict(metrics=METRICS, last_runs=100, source="pytest"),
             "--since (the latest ~10% of runs) --model standard": dict(metrics=METRICS, models=["standard"],
                                                                          since="2027-01-01")}
    for label, kwargs in cases.items():
        times = []
        for _ in range(3):
            started = time.perf_counter()
            with HistoryStore(path, create=False) as store:
                trends = store.trends(**kwargs)
                text = trends_table(trends)
            times.append(time.perf_counter() - started)
        best = min(times)
        _say(f"history {label} ({len(trends)} rows)", best, TARGETS["history_s"], "s")
        out[f"history_s[{label}]"] = best
        assert text
    wall, proc = _cli("history", "--store", str(path))
    if proc.returncode != 0:
        raise SystemExit(f"history CLI failed: {proc.stderr[-800:]}")
    print(f"{'history CLI wall (python start + imports + query + print)':<58} {wall:10.3f} s", flush=True)
    out["history_cli_s"] = wall
    return out


def bench_growth() -> dict:
    from harness.history.store import HistoryStore
    from harness.history.synthetic import synthetic_record

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.sqlite"
        sizes = [0]
        for i, key_every in ((0, 50), (1, 50), (50, 50)):  # first run, same keys, every key new
            with HistoryStore(path) as store:
                store.append(synthetic_record(i, key_every=key_every))
            sizes.append(path.stat().st_size)  # closed: the WAL is checkpointed into the file
        first, repeat, new_keys = (sizes[k + 1] - sizes[k] for k in range(3))
        record = synthetic_record(0)
    _say(f"store growth, first full run ({len(record.metrics)} metric rows + scores)", first / 1e6,
         TARGETS["growth_mb"], "MB")
    _say("store growth, a repeat run (same cache keys)", repeat / 1e6, TARGETS["growth_mb"], "MB")
    _say("store growth, a run after every cache key changed", new_keys / 1e6, TARGETS["growth_mb"], "MB")
    return {"growth_first_mb": first / 1e6, "growth_repeat_mb": repeat / 1e6, "growth_new_keys_mb": new_keys / 1e6}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=["compare", "history", "growth"])
    parser.add_argument("--dataset", default=str(ROOT.parent / "shared" / "data" / "reference"))
    parser.add_argument("--baseline", default="standard")
    parser.add_argument("--candidate", default="natural-mix")
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--store-dir", default=str(ROOT / "runs" / "bench"))
    parser.add_argument("--json", help="also write the numbers to this file")
    args = parser.parse_args()
    results = {}
    if args.only in (None, "growth"):
        results.update(bench_growth())
    if args.only in (None, "history"):
        results.update(bench_history(args.runs, Path(args.store_dir)))
    if args.only in (None, "compare"):
        results.update(bench_compare(args.dataset, args.baseline, args.candidate))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
