"""Command line: ``python -m harness {generate,quality,leaks,train,export,evaluate,verdict,recommend,results-doc,cache,natural-split,compare,history,accept,expand,candidates,review,apply,audit-eval}``.

Bad input ends with a one-paragraph message naming file:line and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness.environment import set_offline

# no model hub, ever; a log, not a person: periodic lines instead of tqdm bars (both read once, at import)
set_offline(quiet=not sys.stderr.isatty())

from harness.data.dataset import DatasetError, load_dataset
from harness.history.cli import add_accept_parser, add_compare_parser, add_history_parser
from harness.history.tracking import EnableMlflow
from harness.paths import DEFAULT_DATASET, run_dir


def _generate(args: argparse.Namespace) -> int:
    from harness.data.generate import pair_type_counts, write_dataset
    from harness.data.dataset import read_pairs

    paths = write_dataset(args.out, seed=args.seed)
    for name, path in paths.items():
        frame = read_pairs(path)
        print(f"{path}: {len(frame)} rows, labels {frame['label'].value_counts().sort_index().to_dict()}, {pair_type_counts(frame)}")
    return 0


def _quality(args: argparse.Namespace) -> int:
    from harness.data.quality import evaluate_dataset, write_quality_reports

    dataset = load_dataset(args.dataset)
    reports = evaluate_dataset(dataset)
    out = Path(args.out) if args.out else run_dir(dataset)
    json_path, txt_path = write_quality_reports(reports, out, dataset)
    print("\n\n".join(r.summary() for r in reports))
    print(f"\nwrote {json_path} and {txt_path}")
    return 0 if all(r.passed for r in reports) else 1


def _leaks(args: argparse.Namespace) -> int:
    from harness.data.leakage import acknowledge, leak_report
    from harness.paths import LEAK_ACKNOWLEDGEMENTS

    dataset = load_dataset(args.dataset)
    report = leak_report(dataset.train, dataset.eval, dataset.ood)
    print(json.dumps(report.to_dict(), indent=2))
    if args.acknowledge:
        entry = acknowledge(LEAK_ACKNOWLEDGEMENTS, dataset.sha256, report, args.acknowledge)
        print(f"acknowledged {entry['counts']} in {LEAK_ACKNOWLEDGEMENTS}")
    return 0


def _train(args: argparse.Namespace) -> int:
    from harness.models.handle import ModelRef, ModelUnavailable

    dataset = load_dataset(args.dataset)
    try:
        from harness.models import distributed

        ref = ModelRef.resolve(args.model, dataset, args.train_file)
        artifact = ref.artifact()
        if distributed.is_main():  # under torchrun, one line, from rank 0
            print(artifact)
    except ModelUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


def _export(args: argparse.Namespace) -> int:
    """Export a registered model (trained now if absent) to ``models/<artifact>@<format>/``; prints the folder last."""
    from harness.models.handle import ModelRef, ModelUnavailable
    from harness.models.registry import split_export_name

    import importlib.util

    missing = [m for m in ("onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:
        print(f"error: export needs {' and '.join(missing)}: install the export extra with scripts/setup export",
              file=sys.stderr)
        return 2
    name, fmt = split_export_name(args.model)
    if fmt and args.format and fmt != args.format:
        raise ValueError(f"--model {args.model} names format {fmt}, --format says {args.format}; give one of them")
    dataset = load_dataset(args.dataset)
    try:
        ref = ModelRef.resolve(f"{name}@{fmt or args.format or 'onnx-int8'}", dataset)
        folder = ref.artifact()
    except ModelUnavailable as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    info = json.loads((folder / "export_info.json").read_text())
    size = (folder / "model.onnx").stat().st_size
    print(f"{ref.name}: {info['format']} export of {info['source']}, model.onnx {size / 1e6:.1f} MB, probe check {info['probe_check']}")
    print(folder)
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    """The pipeline the checks run, without pytest: metrics, criteria, charts, summary and the HTML report (the one
    ``pytest checks/`` writes, without pytest's rows) into the run folder."""
    from harness.models.registry import resolve_model_names
    from harness.history.record import record_run
    from harness.pipeline import Run, counts_sentence

    dataset = load_dataset(args.dataset)
    run = Run(dataset, resolve_model_names(args.model), Path(args.eval_file).resolve() if args.eval_file else None)
    result = run.evaluate()
    results = result.results
    record_run(run, results)  # the history store (runs/history.sqlite), and MLflow when asked
    width = max(len(r.criterion.id) for r in results)
    for r in results:
        print(f"{r.outcome:>14}  {r.model:<17} {r.criterion.id:<{width}}  {r.message}")
    print(f"\n{counts_sentence(result.counts)}; missing: {result.missing or 'none'}")
    for verdict in result.verdicts.values():
        print(f"verdict {verdict.line()}")
    print(f"report: {run.run_folder / 'report.html'}")
    print(run.run_folder)
    return 1 if any(r.outcome in ("fail", "impossible", "target-met") for r in results) else 0


def _verdict(args: argparse.Namespace) -> int:
    """DEPLOY / REVIEW / FAIL for one model from its criteria on the dataset; exit 0 / 1 / 2, reasons listed."""
    from harness.evaluation.verdict import EXIT_CODES
    from harness.pipeline import Run

    dataset = load_dataset(args.dataset)
    run = Run(dataset, ["baseline", args.model])
    results = run.criteria_results()
    verdict = run.verdicts(results)[args.model]
    print(f"{args.model} on {dataset.name}: {verdict.decision} ({verdict.gates} gates, {verdict.targets} targets judged)")
    for reason in verdict.reasons:
        print(f"  - {reason}")
    print(f"exit {EXIT_CODES[verdict.decision]} (DEPLOY 0, REVIEW 1, FAIL 2)")
    run.write_model_cards({args.model: verdict})  # its card; the run folder's summary stays the full evaluation's
    return verdict.exit_code


def _recommend(args: argparse.Namespace) -> int:
    """The leaderboard of the recipes on every scored set and the model the selection-only rule recommends."""
    from harness.models.registry import resolve_model_names
    from harness.pipeline import Run
    from harness.report.summary import table_markdown

    dataset = load_dataset(args.dataset)
    run = Run(dataset, resolve_model_names(args.model or ["all"]))
    board = run.leaderboard()
    print(table_markdown(board["rows"]))
    if len(board["lora_ratios"]) > 1:
        print()
        print(table_markdown(board["lora_ratios"]))
    if len(board.get("rerank", [])) > 1:
        from harness.evaluation.leaderboard import RERANK_TITLE

        print(f"\n{RERANK_TITLE}:\n")
        print(table_markdown(board["rerank"]))
    for name, reason in board["missing"].items():
        print(f"not run: {reason}")
    print(f"\nrecommended: {board['recommended']} ({board['reason']})")
    return 0 if board["recommended"] else 1


def _results_doc(args: argparse.Namespace) -> int:
    """docs/results.md from the committed run summaries (docs/runs/*.json); --collect copies run folders' first."""
    from harness.report import results_doc

    for folder in args.collect or []:
        print(f"collected {results_doc.collect(Path(folder))}")
    if args.check:
        fresh = results_doc.render(results_doc.load_summaries())
        readme = results_doc.README.read_text()
        if (not results_doc.DOC.is_file() or results_doc.DOC.read_text() != fresh
                or readme != results_doc.readme_with_block(readme, results_doc.load_summaries())):
            print(f"{results_doc.DOC} differs from what docs/runs/*.json give: run python -m harness results-doc",
                  file=sys.stderr)
            return 1
        print(f"{results_doc.DOC} matches docs/runs/*.json")
        return 0
    print(results_doc.write())
    return 0


def _cache(args: argparse.Namespace) -> int:
    from harness.models import cache_admin

    if args.action == "list":
        print(cache_admin.table(cache_admin.entries()))
        return 0
    if args.action == "verify":
        problems = cache_admin.verify()
        print("\n".join(problems) if problems else f"all {len(cache_admin.entries())} cache entries verified")
        return 1 if problems else 0
    stale = cache_admin.prune(yes=args.yes)
    print(cache_admin.table(stale) if stale else "nothing stale")
    print(("removed" if args.yes else "dry run: would remove") + f" {len(stale)} entries" + ("" if args.yes else "; add --yes"))
    return 0


def _natural_split(args: argparse.Namespace) -> int:
    from harness.data.natural import build_files

    for part, path in build_files().items():
        print(f"{part}: {path}")
    return 0


def _expand(args: argparse.Namespace) -> int:
    from harness.data.dataset import read_pairs, write_pairs
    from harness.curation.expand import EXPANDED_FILE, build_expanded
    from harness.data.files import derived_path

    dataset = load_dataset(args.dataset)
    path = write_pairs(build_expanded(dataset, seed=args.seed), derived_path(dataset, EXPANDED_FILE, args.out))
    frame = read_pairs(path)
    print(f"{len(frame)} rows by source: {frame['source'].value_counts().to_dict()}; labels {frame['label'].value_counts().to_dict()}")
    print(path)
    return 0


def _candidates(args: argparse.Namespace) -> int:
    from harness.curation.loop import out_of_fold_scores, review_frame, rule_counts, write_review
    from harness.data.dataset import file_sha256, read_pairs
    from harness.models.embeddings import encode, load_model
    from harness.curation.expand import EXPANDED_FILE, with_ids
    from harness.data.files import derived_path
    from harness.evaluation.metrics import cosine_scores
    from harness.models.registry import FOLD_SPEC, get_model_spec

    dataset = load_dataset(args.dataset)
    source = Path(args.train_file) if args.train_file else derived_path(dataset, EXPANDED_FILE)
    if not source.is_file():
        raise FileNotFoundError(f"{source} not found: run 'python -m harness expand' first or pass --train-file")
    frame = with_ids(read_pairs(source))
    print(f"scoring {len(frame)} pairs out-of-fold ({args.folds} folds)", file=sys.stderr)
    oof = out_of_fold_scores(frame, dataset, FOLD_SPEC, k=args.folds, progress=True)
    base = load_model(get_model_spec("baseline"), None)
    base_cos = cosine_scores(encode(base, frame["text_1"].tolist()), encode(base, frame["text_2"].tolist()))
    review = review_frame(frame, oof, base_cos, file_sha256(source), str(source.resolve()))
    out = Path(args.out) if args.out else derived_path(dataset, f"review_{source.stem}.csv")
    write_review(review, out)
    print(f"{len(review)} candidates by rule: {rule_counts(review)}")
    print(out)
    return 0


def _review(args: argparse.Namespace) -> int:
    from harness.curation.review import review_interactive

    print(review_interactive(args.file))
    return 0


def _apply(args: argparse.Namespace) -> int:
    from harness.curation.loop import apply_review_file

    curated, audit, counts = apply_review_file(args.file, args.out)
    print(f"{counts}\n{curated}\n{audit}")
    return 0


def _audit_eval(args: argparse.Namespace) -> int:
    from harness.curation.loop import review_frame, rule_counts, write_review
    from harness.data.dataset import EVAL_FILE, file_sha256
    from harness.curation.expand import with_ids
    from harness.data.files import derived_path
    from harness.evaluation.comparison import split_scores

    dataset = load_dataset(args.dataset)
    frame = with_ids(dataset.eval)
    trained = split_scores(dataset, args.model, frame)
    base = split_scores(dataset, "baseline", frame)
    source = dataset.root / EVAL_FILE
    review = review_frame(frame, trained, base, file_sha256(source), str(source))
    out = Path(args.out) if args.out else derived_path(dataset, "review_eval_pairs.csv")
    write_review(review, out)
    print(f"{len(review)} eval pairs flagged by rule: {rule_counts(review)} (scored by {args.model}, trained on train only)")
    print(out)
    return 0


# --- arguments shared by the commands (each declared once) -------------------------------------------------------
def add_dataset_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default=str(DEFAULT_DATASET), metavar="DIR",
                        help="dataset folder (default: the project's data/default)")


def add_model_argument(parser: argparse.ArgumentParser, help: str | None = None, many: bool = False,
                       required: bool = False, default: str | None = None) -> None:
    """``--model NAME``: one registered model, or (``many``) repeatable, 'all' for every registered model."""
    parser.add_argument("--model", action="append" if many else "store", required=required, default=default,
                        metavar="NAME", help=help)


def add_out_argument(parser: argparse.ArgumentParser, help: str | None = None, required: bool = False) -> None:
    parser.add_argument("--out", required=required, help=help)


def add_seed_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=42)


def add_train_file_argument(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--train-file", help=help)


def add_eval_file_argument(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument("--eval-file", help=help)


# --- one parser per command ----------------------------------------------------------------------------------
def add_generate_parser(sub) -> None:
    gen = sub.add_parser("generate", help="write the synthetic dataset (train, eval, OOD) into a folder")
    add_out_argument(gen, "output folder", required=True)
    add_seed_argument(gen)
    gen.set_defaults(func=_generate)


def add_quality_parser(sub) -> None:
    quality = sub.add_parser("quality", help="5-dimension data quality report (exit 1 below the gate)")
    add_dataset_argument(quality)
    add_out_argument(quality, "folder for the JSON report and summary (default: the run folder)")
    quality.set_defaults(func=_quality)


def add_leaks_parser(sub) -> None:
    leaks = sub.add_parser("leaks", help="leakage and duplicate counts as JSON")
    add_dataset_argument(leaks)
    leaks.add_argument("--acknowledge", metavar="REASON",
                       help="record the current counts as known for these exact files (commit the JSON file)")
    leaks.set_defaults(func=_leaks)


def add_train_parser(sub) -> None:
    train = sub.add_parser("train", help="train a registered model or reuse its cached artifact; prints its folder")
    add_model_argument(train, required=True)
    add_dataset_argument(train)
    add_train_file_argument(train, "train on this JSONL instead of the dataset's dating_pairs.jsonl")
    train.set_defaults(func=_train)


def add_export_parser(sub) -> None:
    export = sub.add_parser("export", help="export a model to ONNX (fp32) or ONNX INT8 beside it in models/ (trained first "
                            "if absent); prints the folder")
    add_model_argument(export, "a registered model, e.g. standard (or standard@onnx-int8)", required=True)
    export.add_argument("--format", choices=["onnx", "onnx-int8"], help="default: onnx-int8")
    add_dataset_argument(export)
    export.set_defaults(func=_export)


def add_evaluate_parser(sub) -> None:
    evaluate = sub.add_parser("evaluate", help="score models on every scored set, judge the criteria, draw the charts; "
                              "writes the run folder and HTML report the checks write (exit 1 if a gate fails)")
    add_model_argument(evaluate, "repeatable, or 'all' (default: baseline, standard, lora)", many=True)
    add_dataset_argument(evaluate)
    add_eval_file_argument(evaluate, "also score the criteria on this eval JSONL")
    evaluate.add_argument("--mlflow", action=EnableMlflow)
    evaluate.set_defaults(func=_evaluate)


def add_verdict_parser(sub) -> None:
    verdict = sub.add_parser("verdict", help="DEPLOY/REVIEW/FAIL for a model with the rows that decided it "
                             "(exit 0 DEPLOY, 1 REVIEW, 2 FAIL)")
    add_model_argument(verdict, required=True)
    add_dataset_argument(verdict)
    verdict.set_defaults(func=_verdict)


def add_recommend_parser(sub) -> None:
    recommend = sub.add_parser("recommend", help="leaderboard of the recipes on every scored set; prints the model "
                               "the selection-only rule recommends")
    add_model_argument(recommend, "repeatable (default: all)", many=True)
    add_dataset_argument(recommend)
    recommend.set_defaults(func=_recommend)


def add_results_doc_parser(sub) -> None:
    doc = sub.add_parser("results-doc", help="write docs/results.md from the committed run summaries (docs/runs/*.json)")
    doc.add_argument("--collect", action="append", metavar="RUN_FOLDER",
                     help="first copy this run folder's summary.json into docs/runs/<dataset>.json (repeatable)")
    doc.add_argument("--check", action="store_true", help="write nothing; exit 1 if docs/results.md is out of date")
    doc.set_defaults(func=_results_doc)


def add_cache_parser(sub) -> None:
    cache = sub.add_parser("cache", help="list, verify (hash every file) or prune (stale artifacts; dry run unless --yes) "
                           "the models/ cache")
    cache.add_argument("action", choices=["list", "verify", "prune"])
    cache.add_argument("--yes", action="store_true", help="prune: really delete")
    cache.set_defaults(func=_cache)


def add_natural_split_parser(sub) -> None:
    natural = sub.add_parser("natural-split", help="rebuild data/natural/{dev,test}.jsonl from data/natural/raw/")
    natural.set_defaults(func=_natural_split)


def add_expand_parser(sub) -> None:
    expand = sub.add_parser("expand", help="write the 70/20/10 expanded training mix (dating_pairs_expanded.jsonl)")
    add_dataset_argument(expand)
    add_out_argument(expand, "output file or folder (default: beside the source, or the run folder for outside data)")
    add_seed_argument(expand)
    expand.set_defaults(func=_expand)


def add_candidates_parser(sub) -> None:
    cand = sub.add_parser("candidates", help="k-fold out-of-fold label review file (CSV, ranked by label-error score)")
    add_dataset_argument(cand)
    add_train_file_argument(cand, "pairs to review (default: the expanded mix)")
    cand.add_argument("--folds", type=int, default=3)
    add_out_argument(cand)
    cand.set_defaults(func=_candidates)


def add_review_parser(sub) -> None:
    review = sub.add_parser("review", help="decide candidates one at a time in the terminal (k/r/x/s/q; resumable)")
    review.add_argument("file")
    review.set_defaults(func=_review)


def add_apply_parser(sub) -> None:
    apply = sub.add_parser("apply", help="apply a review file: curated JSONL + audit log; the source is untouched")
    apply.add_argument("file")
    add_out_argument(apply, "curated file (default: <source>_curated.jsonl beside the review file)")
    apply.set_defaults(func=_apply)


def add_audit_eval_parser(sub) -> None:
    audit = sub.add_parser("audit-eval", help="flag eval pairs whose label disagrees with a model trained on train only")
    add_dataset_argument(audit)
    add_model_argument(audit, default="standard")
    add_out_argument(audit)
    audit.set_defaults(func=_audit_eval)


#: Every command, in the order ``--help`` lists them (compare, history and accept: harness/history/cli.py).
COMMANDS = (add_generate_parser, add_quality_parser, add_leaks_parser, add_train_parser, add_export_parser,
            add_evaluate_parser, add_verdict_parser, add_recommend_parser, add_results_doc_parser, add_cache_parser,
            add_natural_split_parser,
            add_compare_parser, add_history_parser, add_accept_parser, add_expand_parser, add_candidates_parser,
            add_review_parser, add_apply_parser, add_audit_eval_parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m harness", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in COMMANDS:
        add(sub)
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
