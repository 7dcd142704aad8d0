"""Suite-speed benchmark: a fresh clone, an empty cache, then ``pytest checks/`` cold, again warm, and the unit tests.

    python benchmarks/suite.py              # clones HEAD of this repo into a temp dir (commit first)

Uses this venv's interpreter. Each run is a subprocess in the clone (its own ``models/`` and ``runs/``, so the
first run is truly cold). Prints wall times against the targets (cold <= 6 min, warm <= 30 s, unit <= 60 s) and a
phase breakdown from pytest's per-test durations (setup + call + teardown, summed by suite folder; training happens
inside the first model check that needs it) and from each artifact's training_info.json.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from harness.environment import offline_env  # noqa: E402
TARGETS = {"cold": 360, "warm": 30, "unit": 60}
DURATION = re.compile(r"^([\d.]+)s (setup|call|teardown)\s+(\S+)", re.M)


def run(label: str, args: list[str], cwd: Path) -> dict:
    print(f"[bench] {label}: python -m pytest {' '.join(args)}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", *args, "--durations=0", "-q"], cwd=cwd,
                          capture_output=True, text=True, env=offline_env())
    wall = time.perf_counter() - started
    phases: dict[str, float] = defaultdict(float)
    for seconds, _, nodeid in DURATION.findall(proc.stdout):
        parts = nodeid.split("::")[0].split("/")
        phases["/".join(parts[:2]) if parts[0] == "checks" else parts[0]] += float(seconds)
    last = [line for line in proc.stdout.splitlines() if re.search(r"\d+ (passed|failed)", line)]
    print(f"[bench] {label}: {wall:.1f} s ({last[-1] if last else 'no summary'})", file=sys.stderr, flush=True)
    return {"wall": wall, "phases": dict(phases), "summary": last[-1] if last else proc.stdout[-800:], "rc": proc.returncode}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="suite-bench-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True).stdout.strip()
        results = {"cold": run("cold", ["checks/"], clone), "warm": run("warm", ["checks/"], clone),
                   "unit": run("unit", ["harness/tests"], clone)}
        keep = os.environ.get("SUITE_KEEP_RUNS")  # copy the clone's run folders out (README numbers trace to them)
        if keep:
            import shutil

            shutil.copytree(clone / "runs", Path(keep), dirs_exist_ok=True)
        training = {}
        for info in (clone / "models").glob("*/training_info.json"):
            data = json.loads(info.read_text())
            training[data["model"]] = data["wall_time_s"]
    print(f"\nsuite benchmark, commit {head}, {os.cpu_count()} CPUs\n")
    print("| run | wall time | target | met | result |")
    print("|---|---:|---:|---|---|")
    for name, r in results.items():
        met = "yes" if r["wall"] <= TARGETS[name] else f"no (+{r['wall'] - TARGETS[name]:.0f} s)"
        print(f"| {name} | {r['wall']:.1f} s | {TARGETS[name]} s | {met} | {r['summary']} |")
    print("\n| phase (sum of per-test durations) | cold | warm |")
    print("|---|---:|---:|")
    for phase in sorted(set(results["cold"]["phases"]) | set(results["warm"]["phases"])):
        print(f"| {phase} | {results['cold']['phases'].get(phase, 0):.1f} s | {results['warm']['phases'].get(phase, 0):.1f} s |")
    overhead = {k: results[k]["wall"] - sum(results[k]["phases"].values()) for k in ("cold", "warm")}
    print(f"| start-up, collection, report writing | {overhead['cold']:.1f} s | {overhead['warm']:.1f} s |")
    for model, seconds in sorted(training.items()):
        print(f"| of which training {model} (training_info.json) | {seconds:.1f} s | 0 |")
    return 0 if all(r["rc"] in (0, 5) for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
