"""Optional MLflow tracking: only when asked, by ``--mlflow`` (``python -m harness evaluate``, pytest) or by
``MLFLOW_TRACKING_URI`` in the environment. ``mlflow`` is imported only then; without the ``tracking`` extra
(``scripts/setup tracking``) asking for it gives one clear message, never a traceback.

Per evaluated model, one MLflow run in the experiment ``dating-embeddings-harness`` (``MLFLOW_EXPERIMENT_NAME``
overrides it): the recipe config as params (``config.*``) with the model key, dataset digest, git commit and the
history run id; every scalar metric per scored set under the evaluator's keys (``eval_auc_roc``,
``eval_ci95_auc_roc_low``, ...; ``@`` written ``_at_``, as MLflow refuses it); the monitored validation Spearman
per training step from the artifact's ``training_info.json``; and the run folder's ``summary.md``,
``summary.json``, ``criteria.json``, the model's metrics file and the pytest HTML report as artifacts. A model
trained in the same process with tracking on also reports its training curves through the trainer's own
``report_to=["mlflow"]`` (:func:`trainer_report_to`), as a run of its own in the same experiment.

Without ``MLFLOW_TRACKING_URI`` the runs go to ``runs/mlruns`` (a local file store, git-ignored with ``runs/``).
MLflow 3 keeps its file store only behind ``MLFLOW_ALLOW_FILE_STORE=true`` and mlflow-skinny has no SQL backend, so
for a ``file:`` URI that variable is set for this process.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import re
from pathlib import Path

from harness.data.scored_sets import VALIDATION
from harness.environment import (MLFLOW_ENV as ENV, MLFLOW_EXPERIMENT as EXPERIMENT, configure_tracking as configure_environment,
                                 tracking_installed as installed, tracking_requested as requested, tracking_uri,
                                 trainer_report_to)

_BAD_CHARS = re.compile(r"[^\w\-. :/]")


class TrackingUnavailable(RuntimeError):
    """MLflow was asked for and cannot be used here (not installed, or the tracking URI refused)."""


MISSING = ("MLflow tracking was asked for ({how}) but mlflow is not installed: install the tracking extra with "
           "scripts/setup tracking (requirements/tracking.lock), or drop --mlflow / unset MLFLOW_TRACKING_URI")


def _how() -> str:
    return "--mlflow" if os.environ.get(ENV, "") not in ("", "0") else "MLFLOW_TRACKING_URI is set"


def enable() -> None:
    """Turn tracking on for this process (``--mlflow``); TrackingUnavailable at once if mlflow is missing, so a
    long evaluation does not run first."""
    if not installed():
        raise TrackingUnavailable(MISSING.format(how="--mlflow"))
    os.environ[ENV] = "1"
    configure_environment()


class EnableMlflow(argparse.Action):
    """``--mlflow`` for argparse: turns tracking on, or ends with exit 2 and the install hint."""

    def __init__(self, option_strings, dest, **kwargs):
        kwargs.setdefault("help", "log each evaluated model to MLflow (MLFLOW_TRACKING_URI, default runs/mlruns); "
                                  "needs the tracking extra")
        super().__init__(option_strings, dest, nargs=0, default=False, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        try:
            enable()
        except TrackingUnavailable as err:
            parser.error(str(err))
        setattr(namespace, self.dest, True)


def require():
    """The mlflow module, configured; TrackingUnavailable with the install hint when it is missing."""
    if not installed():
        raise TrackingUnavailable(MISSING.format(how=_how()))
    uri = configure_environment()
    import mlflow

    try:
        mlflow.set_tracking_uri(uri)
        mlflow.set_experiment(os.environ["MLFLOW_EXPERIMENT_NAME"])
    except Exception as err:  # noqa: BLE001 - MLflow raises its own exception types for a refused store
        raise TrackingUnavailable(f"MLflow refused the tracking store {uri}: {err}") from None
    return mlflow


def metric_name(name: str) -> str:
    """A key MLflow accepts: ``@`` as ``_at_``, anything else outside [word - . space : /] as ``_``."""
    return _BAD_CHARS.sub("_", name.replace("@", "_at_"))


def _params(model: str, ref, record) -> dict[str, str]:
    params = {"model": model, "model_key": ref.key if ref else "", "kind": ref.spec.kind if ref else "",
              "dataset": record.dataset_name, "dataset_digest": record.dataset_digest,
              "harness_version": record.harness_version, "git_commit": record.git_commit or "",
              "git_dirty": str(record.git_dirty), "history_run_id": record.run_id}
    config = ref.spec.config.to_dict() if ref is not None and ref.spec.config else {}
    for key, value in config.items():
        params[f"config.{key}"] = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    return {k: v[:6000] for k, v in params.items()}


def log_run(run, results, record, artifacts=()) -> list[str]:
    """One MLflow run per evaluated model of ``run``; returns their MLflow run ids."""
    from harness.evaluation.evaluator import flatten

    mlflow = require()
    verdicts = {m.model: m.verdict for m in record.models}
    logged = []
    folder = Path(run.run_folder)
    shared = [folder / name for name in ("summary.md", "summary.json", "criteria.json")] + [Path(a) for a in artifacts]
    for model, by_set in run.all_metrics().items():
        try:
            ref = run.ref(model)
        except Exception:  # noqa: BLE001 - ModelUnavailable: its metrics are still logged
            ref = None
        with mlflow.start_run(run_name=f"{model} on {record.dataset_name}") as active:
            mlflow.set_tags({"harness.run_id": record.run_id, "harness.source": record.source,
                             "harness.dataset": record.dataset_name, "harness.model": model,
                             "harness.verdict": str(verdicts.get(model))})
            mlflow.log_params(_params(model, ref, record))
            values = {}
            for set_name, metrics in by_set.items():
                for key, value in flatten(set_name, metrics).items():
                    if math.isfinite(value):
                        values[metric_name(key)] = value
            names = sorted(values)
            for start in range(0, len(names), 500):
                mlflow.log_metrics({k: values[k] for k in names[start:start + 500]})
            info = None
            if ref is not None and ref.spec.trains:
                try:
                    info = run.training_info(model)
                except Exception:  # noqa: BLE001 - no curve is no reason to lose the run
                    info = None
            for point in (info or {}).get("spearman_history", []):
                monitored = info.get("monitored_set", VALIDATION)
                mlflow.log_metric(f"eval_{monitored}_spearman_cosine", point["spearman"], step=int(point["step"]))
            for path in shared + [folder / f"{model}_metrics.json"]:
                if path.is_file():
                    mlflow.log_artifact(str(path))
            logged.append(active.info.run_id)
    return logged
