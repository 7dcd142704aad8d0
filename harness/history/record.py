"""Recording a finished run: :func:`record_run` is the one call, made where a run ends (``python -m harness evaluate``
and the pytest session end, ``fixtures/history.py``).

It appends the run to the history store (one transaction) and, when asked (``--mlflow`` or ``MLFLOW_TRACKING_URI``),
logs each evaluated model to MLflow. A store that cannot be written (damaged, foreign, read-only) never changes a
run's result: the run's gates stand, and a :class:`HistoryWarning` says what was not recorded and why.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import secrets
import subprocess
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

from harness import __version__, progress
from harness.history.store import (CriterionRow, HistoryError, HistoryStore, MetricRow, ModelRow, RunRecord,
                                   ScoreRow)
from harness.paths import PROJECT_ROOT

#: Versions recorded with every run (those that change numbers: the model stack and the numeric libraries).
PACKAGES = ("torch", "transformers", "sentence-transformers", "peft", "accelerate", "tokenizers", "numpy", "scipy",
            "scikit-learn", "pandas", "umap-learn", "hdbscan", "onnxruntime", "mlflow-skinny")


class HistoryWarning(UserWarning):
    """The run was not recorded in the history store (the reason is in the message); its results stand."""


def new_run_id(now: datetime | None = None) -> str:
    """``YYYYMMDDTHHMMSS-xxxxxx``: sortable by time, unique across processes (24 random bits)."""
    return f"{(now or datetime.now(timezone.utc)).strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def git_state(root: Path = PROJECT_ROOT) -> tuple[str | None, bool | None]:
    """(HEAD commit, whether tracked files differ from it); (None, None) outside a git checkout or without git."""
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=20, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit or None, bool(status.strip())


def environment() -> dict:
    """Package versions, Python, platform, torch threads (where torch is loaded), CPU count, argv."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    torch = sys.modules.get("torch")
    return {"harness": __version__, "python": platform.python_version(), "platform": platform.platform(),
            "packages": versions, "torch_threads": torch.get_num_threads() if torch is not None else None,
            "cpu_count": os.cpu_count(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "argv": [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv else []}


def _process_start() -> datetime:
    try:
        import psutil

        return datetime.fromtimestamp(psutil.Process().create_time(), timezone.utc)
    except Exception:  # noqa: BLE001 - a start time is nice to have, never worth failing a record for
        return datetime.now(timezone.utc)


def _scalar(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def build_record(run, results, source: str = "evaluate", session: str | None = None,
                 run_id: str | None = None) -> RunRecord:
    """Everything :class:`~harness.history.store.RunRecord` holds, read from a finished :class:`harness.pipeline.Run`
    and its judged criteria: models and keys, verdicts, every scalar metric with its CI, criteria outcomes, and the
    per-pair scores of each (model, scored set) this run measured."""
    from harness.history.compare import pair_set
    from harness.models.handle import ModelUnavailable

    now = datetime.now(timezone.utc)
    dataset = run.dataset
    commit, dirty = git_state()
    results = list(results)
    try:
        verdicts = run.verdicts(results)
    except Exception:  # noqa: BLE001 - a verdict that cannot be formed is recorded as absent, not as a lost run
        verdicts = {}
    metrics = run.all_metrics()
    record = RunRecord(run_id or new_run_id(now), source, _iso(_process_start()), _iso(now), dataset.name,
                       str(dataset.root), dataset.digest, __version__, commit, dirty, environment(), session)
    keys = {}
    for name in run.names:
        failure = run.failure(name)
        keys[name] = None if failure is not None else run.ref(name).key
        verdict = verdicts.get(name) if any(r.model == name for r in results) else None  # judged here, or none
        record.models.append(ModelRow(name, keys[name], verdict.decision if verdict else None,
                                      tuple(verdict.reasons) if verdict else (), str(failure) if failure else None))
    for model, by_set in metrics.items():
        for set_name, values in by_set.items():
            cis = values.get("ci95") or {}
            n = values.get("n") if _scalar(values.get("n")) else None
            for metric, value in values.items():
                if metric == "n" or not _scalar(value):
                    continue
                ci = cis.get(metric)
                record.metrics.append(MetricRow(model, set_name, metric, float(value),
                                                (float(ci[0]), float(ci[1])) if ci and None not in ci else None, n))
            if keys.get(model) is None:
                continue
            try:
                frame = run.frame(set_name)
                record.scores.append(ScoreRow(model, keys[model], pair_set(set_name, frame), run.scores(model, set_name)))
            except (ModelUnavailable, KeyError):
                continue
    for r in results:
        c = r.criterion
        record.criteria.append(CriterionRow(r.model, c.id, c.scored_on, c.metric, c.status,
                                            None if r.value is None else float(r.value),
                                            (float(r.ci[0]), float(r.ci[1])) if r.ci else None, r.n, r.outcome))
    return record


def record_run(run, results, source: str = "evaluate", path: str | Path | None = None,
               artifacts: tuple[Path, ...] = (), strict: bool = False) -> str | None:
    """Append the finished ``run`` (a :class:`harness.pipeline.Run`) and its judged ``results`` to the history store
    (``runs/history.sqlite``, or ``HARNESS_HISTORY``), then log it to MLflow if asked. Returns the run id, or None
    when it could not be recorded (a :class:`HistoryWarning` says why; ``strict`` raises instead).
    ``artifacts`` are extra files for MLflow (the pytest HTML report)."""
    started = time.perf_counter()
    session = os.environ.get("PYTEST_XDIST_TESTRUNUID")  # xdist workers of one session share it
    try:
        record = build_record(run, results, source, session)
        if not record.metrics and not record.criteria:
            return None  # nothing was measured (e.g. every model unavailable before scoring): nothing to keep
        with HistoryStore(path) as store:
            store.append(record)
            where = store.path
    except Exception as err:  # noqa: BLE001 - recording is a side effect: it never changes a run's result
        if strict:
            raise
        said = str(err) if isinstance(err, (HistoryError, OSError, ValueError)) else f"{err.__class__.__name__}: {err}"
        message = f"this run was not recorded in the history store: {said}"
        warnings.warn(message, HistoryWarning, stacklevel=2)
        progress.emit(f"history: {message}")
        return None
    progress.emit(f"history: run {record.run_id} recorded in {where} ({len(record.metrics)} metric rows, "
                  f"{len(record.scores)} score sets, {time.perf_counter() - started:.1f} s)")
    from harness.history import tracking

    if tracking.requested():
        try:
            logged = tracking.log_run(run, results, record, artifacts)
            progress.emit(f"mlflow: {len(logged)} model run(s) logged to {tracking.tracking_uri()}")
        except Exception as err:  # noqa: BLE001 - MLflow's own errors too: tracking never changes a run's result
            if strict:
                raise
            said = str(err) if isinstance(err, tracking.TrackingUnavailable) else f"{err.__class__.__name__}: {err}"
            warnings.warn(f"not logged to MLflow: {said}", HistoryWarning, stacklevel=2)
            progress.emit(f"mlflow: not logged: {said}")
    return record.run_id
