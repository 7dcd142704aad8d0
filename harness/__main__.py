"""Command line: ``python -m harness {generate,quality,leaks,train}``.

Bad input ends with a one-paragraph message naming file:line and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness.dataset import DatasetError, load_dataset
from harness.paths import DEFAULT_DATASET, run_dir


def _generate(args: argparse.Namespace) -> int:
    from harness.generate import stance_counts, write_dataset
    from harness.dataset import read_pairs

    paths = write_dataset(args.out, seed=args.seed)
    for name, path in paths.items():
        frame = read_pairs(path)
        print(f"{path}: {len(frame)} rows, labels {frame['label'].value_counts().sort_index().to_dict()}, {stance_counts(frame)}")
    return 0


def _quality(args: argparse.Namespace) -> int:
    from harness.quality import evaluate_dataset, write_quality_reports

    dataset = load_dataset(args.dataset)
    reports = evaluate_dataset(dataset)
    out = Path(args.out) if args.out else run_dir(dataset)
    json_path, txt_path = write_quality_reports(reports, out, dataset)
    print("\n\n".join(r.summary() for r in reports))
    print(f"\nwrote {json_path} and {txt_path}")
    return 0 if all(r.passed for r in reports) else 1


def _leaks(args: argparse.Namespace) -> int:
    from harness.leakage import acknowledge, leak_report
    from harness.paths import LEAK_ACKNOWLEDGEMENTS

    dataset = load_dataset(args.dataset)
    report = leak_report(dataset.train, dataset.eval, dataset.ood)
    print(json.dumps(report.to_dict(), indent=2))
    if args.acknowledge:
        entry = acknowledge(LEAK_ACKNOWLEDGEMENTS, dataset.sha256, report, args.acknowledge)
        print(f"acknowledged {entry['counts']} in {LEAK_ACKNOWLEDGEMENTS}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from harness.registry import get_model_spec
    from harness.cache import ensure_trained

    dataset = load_dataset(args.dataset)
    artifact = ensure_trained(get_model_spec(args.model), dataset, train_file=args.train_file)
    print(artifact)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write the synthetic dataset (train, eval, OOD) into a folder")
    gen.add_argument("--out", required=True, help="output folder")
    gen.add_argument("--seed", type=int, default=42)
    gen.set_defaults(func=_generate)

    quality = sub.add_parser("quality", help="5-dimension data quality report (exit 1 below the gate)")
    quality.add_argument("--dataset", default=str(DEFAULT_DATASET))
    quality.add_argument("--out", help="folder for the JSON report and summary (default: the run folder)")
    quality.set_defaults(func=_quality)

    leaks = sub.add_parser("leaks", help="leakage and duplicate counts as JSON")
    leaks.add_argument("--dataset", default=str(DEFAULT_DATASET))
    leaks.add_argument("--acknowledge", metavar="REASON",
                       help="record the current counts as known for these exact files (commit the JSON file)")
    leaks.set_defaults(func=_leaks)

    train = sub.add_parser("train", help="train a registered model or reuse its cached artifact; prints its folder")
    train.add_argument("--model", required=True)
    train.add_argument("--dataset", default=str(DEFAULT_DATASET))
    train.add_argument("--train-file", help="train on this JSONL instead of the dataset's dating_pairs.jsonl")
    train.set_defaults(func=_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DatasetError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (KeyError, ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
