"""Data-gate scale benchmark: ``pytest checks/ -m data --dataset DIR`` on 1k, 100k and 1M training pairs.

    python benchmarks/data_scale.py                 # 1k, 100k, 1M
    python benchmarks/data_scale.py --sizes 1000 100000

Each size is a dataset folder made by varying the default rows (the training file is repeated and every
copy after the first gets a distinct numbered phrase, so rows stay unique and valid; eval and OOD are the
default files). Each run is a fresh subprocess; wall time and peak RSS (``wait4``'s ``ru_maxrss``) are its
own. Prints one table; the README shows it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "data" / "default"


def make_dataset(folder: Path, n_pairs: int) -> Path:
    """``n_pairs`` training rows varied from the default ones; eval and OOD copied as they are."""
    folder.mkdir(parents=True, exist_ok=True)
    base = (DEFAULT / "dating_pairs.jsonl").read_bytes().splitlines()
    with open(folder / "dating_pairs.jsonl", "wb") as out:
        for i in range(n_pairs):
            row = json.loads(base[i % len(base)])
            copy = i // len(base)
            if copy:
                row["text_1"] += f" on day {copy}"
                row["text_2"] += f" after week {copy}"
            out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
    for name in ("eval_pairs.jsonl", "ood_pairs.jsonl"):
        shutil.copy(DEFAULT / name, folder / name)
    return folder


def run_gates(dataset: Path, runs_dir: Path) -> dict:
    cmd = [sys.executable, "-m", "pytest", "checks/", "-m", "data", "-q", "-p", "no:randomly", "--dataset", str(dataset),
           f"--html={runs_dir / 'report.html'}"]
    env = {**os.environ, "HARNESS_RUNS_DIR": str(runs_dir)}
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    summary = [line for line in output.splitlines() if " passed" in line or " failed" in line or "error" in line.lower()]
    return {"wall_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024, "exit": os.waitstatus_to_exitcode(status),
            "summary": summary[-1] if summary else output[-500:]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="data-scale-") as tmp:
        for n in args.sizes:
            folder = make_dataset(Path(tmp) / f"pairs-{n}", n)
            size_mb = (folder / "dating_pairs.jsonl").stat().st_size / 1e6
            print(f"[bench] {n:,} pairs ({size_mb:.0f} MB): running the data gates ...", file=sys.stderr, flush=True)
            result = run_gates(folder, Path(tmp) / f"runs-{n}")
            rows.append((n, size_mb, result))
            print(f"[bench] {n:,} pairs: {result['wall_s']:.1f} s, peak RSS {result['peak_rss_mb']:.0f} MB, "
                  f"{result['summary']}", file=sys.stderr, flush=True)
            shutil.rmtree(folder)
    print("| training pairs | file | wall time | peak RSS | gates |")
    print("|---:|---:|---:|---:|---|")
    for n, size_mb, r in rows:
        print(f"| {n:,} | {size_mb:.0f} MB | {r['wall_s']:.1f} s | {r['peak_rss_mb']:,.0f} MB | {r['summary']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
