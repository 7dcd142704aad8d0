"""``python -m harness history | compare | accept``: the parsers and their run functions.

``harness/__main__.py`` registers them with one call each (``add_history_parser(sub)`` ...). Exit codes: ``history``
0 (1 for ``--check`` that finds damage); ``compare`` 0 no regression, 1 regressed (ADR 006); ``accept`` 0; every
command 2 for a usage error, a damaged or foreign store, or a baseline file that does not match its schema.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from harness.paths import DEFAULT_DATASET

SPARK = "▁▂▃▄▅▆▇█"


def table_text(rows: list[list[str]]) -> str:
    """Fixed-width columns (``harness.report.summary.table_text``'s layout; that module imports the scored sets, ~2 s
    that ``history`` does not need)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _store_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", metavar="FILE", help="history store (default: runs/history.sqlite, or HARNESS_HISTORY)")


# --- history ------------------------------------------------------------------------------------------------

def add_history_parser(sub) -> argparse.ArgumentParser:
    history = sub.add_parser("history", help="trends per model x scored set x metric across recorded runs, with CIs "
                             "(filters: --dataset, --model, --set, --metric, --source, --since, --last)")
    history.add_argument("--dataset", help="a dataset folder or name (default: every dataset recorded)")
    history.add_argument("--model", action="append", help="repeatable")
    history.add_argument("--set", action="append", dest="sets", metavar="SET", help="scored set; repeatable")
    history.add_argument("--metric", action="append", help="repeatable, or 'all' (default: cosine_spearman, auc_roc, "
                         "compatible_above_incompatible: the metrics compare labels)")
    history.add_argument("--source", choices=["evaluate", "pytest"], help="only runs recorded by this")
    history.add_argument("--since", metavar="DATE", help="only runs finished at or after this ISO date/time (UTC)")
    history.add_argument("--last", type=int, metavar="N", help="only the latest N runs (of the dataset filter)")
    history.add_argument("--points", type=int, default=12, metavar="K", help="latest values shown per row (default 12)")
    history.add_argument("--runs", action="store_true", help="list the runs (id, time, commit, models, verdicts) instead")
    history.add_argument("--json", action="store_true", help="machine-readable output")
    history.add_argument("--chart", metavar="PNG", help="also draw one model's primary metrics across runs (needs one --model)")
    history.add_argument("--check", action="store_true", help="run SQLite's integrity check on the store (exit 1 on damage)")
    _store_arg(history)
    history.set_defaults(func=run_history)
    return history


def _dataset_name(value: str | None) -> str | None:
    if not value:
        return None
    path = Path(value).expanduser()
    return path.resolve().name if path.is_dir() else value


def spark(values: list[float | None]) -> str:
    finite = [v for v in values if v is not None]
    if not finite:
        return ""
    low, high = min(finite), max(finite)
    if high - low < 1e-12:
        return SPARK[3] * len(values)
    return "".join(" " if v is None else SPARK[min(7, int((v - low) / (high - low) * 8))] for v in values)


def _value(point) -> str:
    if point.value is None:
        return "–"
    return f"{point.value:.4f}" + (f" [{point.ci[0]:.4f}, {point.ci[1]:.4f}]" if point.ci else "")


def trends_table(trends) -> str:
    parts = []
    for dataset in sorted({t.dataset for t in trends}):
        rows = [["model", "scored set", "metric", "runs", "first", "latest [95% CI]", "Δ vs previous", "min", "max",
                 "recent"]]
        for t in (t for t in trends if t.dataset == dataset):
            previous = t.previous
            change = "–" if previous is None or previous.value is None or t.last.value is None else \
                f"{t.last.value - previous.value:+.4f}"
            rows.append([t.model, t.scored_set, t.metric, str(t.runs), _value(t.first).split(" [")[0], _value(t.last),
                         change, "–" if t.minimum is None else f"{t.minimum:.4f}",
                         "–" if t.maximum is None else f"{t.maximum:.4f}", spark([p.value for p in t.recent])])
        parts.append(f"[{dataset}]\n{table_text(rows)}")
    return "\n\n".join(parts)


def runs_table(runs: list[dict], store) -> str:
    rows = [["run id", "finished (UTC)", "source", "dataset", "commit", "models (verdict)"]]
    for run in runs:
        models = store.run_models(run["seq"])
        said = ", ".join(f"{m['model']} ({m['verdict'] or ('unavailable' if m['unavailable'] else '–')})" for m in models)
        commit = (run["git_commit"] or "–")[:10] + ("+dirty" if run["git_dirty"] else "")
        rows.append([run["run_id"], run["finished_at"], run["source"], run["dataset_name"], commit, said])
    return table_text(rows)


def run_history(args: argparse.Namespace) -> int:
    from harness.history.compare import METRICS
    from harness.history.store import HistoryError, HistoryStore

    try:
        with HistoryStore(args.store, create=False) as store:
            if args.check:
                problems = store.check()
                print("\n".join(problems) if problems else
                      f"{store.path}: integrity ok, schema version {store.schema_version}, {store.count()} runs")
                return 1 if problems else 0
            dataset = _dataset_name(args.dataset)
            if args.runs:
                runs = store.runs(dataset, args.source, args.since, args.last)
                print(json.dumps(runs, indent=1) if args.json else runs_table(runs, store))
                return 0
            metrics = [] if args.metric and "all" in args.metric else (args.metric or list(METRICS))
            trends = store.trends(dataset, args.model or (), args.sets or (), metrics, args.source, args.since,
                                  args.last, args.points)
            if args.chart:
                if not args.model or len(args.model) != 1:
                    return _error("--chart draws one model: give exactly one --model")
                from harness.history.charts import history_chart, primary_series

                chart_trends = store.trends(dataset, args.model, args.sets or (), (), args.source, args.since, args.last,
                                            max(args.points, 50))
                Path(args.chart).write_bytes(history_chart(primary_series(chart_trends),
                                                           f"{args.model[0]}: primary metric per scored set across runs"))
            if args.json:
                print(json.dumps([t.to_dict() for t in trends], indent=1))
            elif not trends:
                print(f"no recorded values match these filters in {store.path} ({store.count()} runs recorded)")
            else:
                print(f"{store.path}: {store.count()} runs; value [95% CI] per model x scored set x metric, the "
                      f"latest {args.points} runs in 'recent'")
                print(trends_table(trends))
            if args.chart:
                print(f"chart: {args.chart}")
    except HistoryError as err:
        return _error(str(err))
    return 0


# --- compare ------------------------------------------------------------------------------------------------

def add_compare_parser(sub) -> argparse.ArgumentParser:
    compare = sub.add_parser(
        "compare", help="paired comparison of two models on every scored set: bootstrap delta of Spearman, AUC and the "
        "ranking metric with 95%% CIs, labelled by ADR 006 (exit 0 no regression, 1 regressed)",
        description="--baseline X --candidate Y: X and Y are model names, 'accepted[:NAME]' (baselines/<dataset>.json), "
        "run ids (or unique prefixes, RUN:MODEL) or cache keys recorded in the history store. The curation form "
        "--model A --model B [--train-file ...] [--eval-file ...] prints the eval-set comparison as JSON (exit 0).")
    compare.add_argument("--baseline", metavar="X", help="what the candidate is compared with")
    compare.add_argument("--candidate", metavar="Y", help="what is judged")
    compare.add_argument("--dataset", help=f"dataset folder (default: {DEFAULT_DATASET} where a model name needs one)")
    compare.add_argument("--set", action="append", dest="sets", metavar="SET", help="only these scored sets; repeatable")
    compare.add_argument("--no-train", action="store_true", help="never train: a model without an artifact is an error")
    compare.add_argument("--json", action="store_true", help="machine-readable output")
    _store_arg(compare)
    legacy = compare.add_argument_group("curation form (two models on one eval set, JSON)")
    legacy.add_argument("--model", action="append", help="exactly two, e.g. --model standard --model standard-curated")
    legacy.add_argument("--train-file", action="append", help="per model, in order: train file ('-' for the model's own)")
    legacy.add_argument("--eval-file", help="score on this eval JSONL instead of the dataset's (e.g. a curated eval)")
    compare.set_defaults(func=run_compare)
    return compare


def _curation_compare(args: argparse.Namespace) -> int:
    from harness.data.dataset import load_dataset
    from harness.evaluation.comparison import compare_models

    if len(args.model) != 2:
        return _error(f"--model needs exactly two models, got {len(args.model)}")
    dataset = load_dataset(args.dataset or DEFAULT_DATASET)
    result = compare_models(dataset, args.model[0], args.model[1], train_files=args.train_file or [],
                            eval_file=args.eval_file)
    print(json.dumps(result, indent=2))
    return 0


def _needs_dataset(spec: str) -> bool:
    from harness.models.registry import split_export_name

    if spec == "accepted" or spec.startswith("accepted:"):
        return True
    try:
        split_export_name(spec)
        return True
    except KeyError:
        return False


def _open_store(path: str | None):
    """The store if it exists (None if there is no history yet); HistoryError if it is damaged or foreign."""
    from harness.history.store import HistoryStore, default_path

    target = Path(path) if path else default_path()
    return HistoryStore(target, create=False) if target.exists() else None


def run_compare(args: argparse.Namespace) -> int:
    from harness.data.dataset import load_dataset
    from harness.history.baseline import BaselineError
    from harness.history.compare import compare_sides, dataset_rows, resolve_side, stored_rows
    from harness.history.store import HistoryError

    if args.model:
        if args.baseline or args.candidate:
            return _error("give either --baseline/--candidate or the curation form --model A --model B, not both")
        return _curation_compare(args)
    if args.train_file or args.eval_file:
        return _error("--train-file and --eval-file belong to the curation form (--model A --model B)")
    if not args.baseline or not args.candidate:
        return _error("compare needs --baseline X and --candidate Y (model names, accepted[:NAME], run ids or cache keys)")
    store = None
    try:
        store = _open_store(args.store)
        needs = args.dataset or _needs_dataset(args.baseline) or _needs_dataset(args.candidate)
        dataset = load_dataset(args.dataset or DEFAULT_DATASET) if needs else None
        candidate = resolve_side(args.candidate, dataset, store, other=None if args.baseline.startswith("accepted")
                                 else args.baseline, allow_train=not args.no_train)
        baseline = resolve_side(args.baseline, dataset, store, other=candidate.model, allow_train=not args.no_train)
        if dataset is not None:
            rows = dataset_rows(dataset, args.sets)
        else:
            rows = stored_rows(baseline, store, args.sets)
        comparison = compare_sides(baseline, candidate, rows)
    except (HistoryError, BaselineError) as err:
        return _error(str(err))
    except KeyError as err:
        return _error(err.args[0] if err.args else str(err))
    except Exception as err:  # noqa: BLE001 - ModelUnavailable (no CUDA, no curated file): said, not a traceback
        from harness.models.handle import ModelUnavailable

        if not isinstance(err, ModelUnavailable):
            raise
        return _error(str(err))
    finally:
        if store is not None:
            store.close()
    if not comparison.deltas:
        return _error(comparison.summary())
    print(json.dumps(comparison.to_dict(), indent=1) if args.json else comparison.table())
    return comparison.exit_code


# --- accept -------------------------------------------------------------------------------------------------

def add_accept_parser(sub) -> argparse.ArgumentParser:
    accept = sub.add_parser("accept", help="write a model's current scores and metrics as the accepted baseline of "
                            "its dataset (baselines/<dataset>.json), with a reason line; commit the file")
    accept.add_argument("--model", required=True, help="a registered model (its current cache key is accepted)")
    accept.add_argument("--dataset", default=str(DEFAULT_DATASET))
    accept.add_argument("--reason", required=True, help="one line: why this model is the accepted one")
    accept.add_argument("--set", action="append", dest="sets", metavar="SET",
                        help="only these scored sets (default: every set the dataset has); repeatable")
    accept.add_argument("--no-train", action="store_true", help="never train: a model without an artifact is an error")
    _store_arg(accept)
    accept.set_defaults(func=run_accept)
    return accept


def run_accept(args: argparse.Namespace) -> int:
    from harness.data.dataset import load_dataset
    from harness.history.accept import accept
    from harness.history.baseline import BaselineError
    from harness.history.store import HistoryError
    store = None
    try:
        store = _open_store(args.store)
        dataset = load_dataset(args.dataset)
        done = accept(dataset, args.model, args.reason, args.sets, store, allow_train=not args.no_train)
    except (HistoryError, BaselineError) as err:
        return _error(str(err))
    except Exception as err:  # noqa: BLE001 - ModelUnavailable (no CUDA, no curated file): said, not a traceback
        from harness.models.handle import ModelUnavailable

        if not isinstance(err, ModelUnavailable):
            raise
        return _error(str(err))
    finally:
        if store is not None:
            store.close()
    entry = done.entry
    rows = [["scored set", "n", "cosine_spearman", "auc_roc", "compatible_above_incompatible"]]
    for name, s in entry.sets.items():
        rows.append([name, str(s.n), *("–" if s.metrics.get(m) is None else f"{s.metrics[m]:.4f}"
                                       for m in ("cosine_spearman", "auc_roc", "compatible_above_incompatible"))])
    was = f" (was {done.previous.model_key}, accepted {done.previous.accepted_at[:10]}: {done.previous.reason})" \
        if done.previous else " (first accepted entry for this model)"
    print(f"accepted {entry.model} = {entry.model_key} on {dataset.name}{was}\nreason: {entry.reason}\n")
    print(table_text(rows))
    if done.comparison is not None and done.comparison.deltas:
        print("\nprevious accepted entry -> this one (paired, same rows):\n" + done.comparison.table())
    print(f"\nwrote {done.path}; commit it to make it the baseline of the regression rows")
    return 0
