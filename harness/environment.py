"""The process environment the harness runs in, set in one place: no model hub at run time, ever.

:func:`set_offline` is called first thing by every entry point (the CLI, the pytest plugin, the benchmarks), before
anything imports ``huggingface_hub``/``transformers`` (they read these variables once, at import).
:func:`offline_env` is the environment of a child process (a pytest or CLI subprocess in a check or test).
A value the caller already set wins (``setdefault``).
"""

from __future__ import annotations

import importlib.util
import os

#: No hub look-ups (models load from absolute paths with local_files_only), no tokenizer thread pools forked into
#: training workers.
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
#: Library tqdm bars off (weights loading, model-card widgets): a log or pytest gets harness.progress lines instead
#: of carriage returns. tqdm reads it once, when it is first imported.
QUIET = {"TQDM_DISABLE": "1"}


def set_offline(quiet: bool = True) -> None:
    """Set :data:`OFFLINE` (and :data:`QUIET` where ``quiet``) in this process, keeping values already set."""
    for name, value in {**OFFLINE, **(QUIET if quiet else {})}.items():
        os.environ.setdefault(name, value)


def offline_env(**extra: str) -> dict[str, str]:
    """A child's environment: this process's, offline whatever it says (:data:`OFFLINE`), :data:`QUIET` unless set,
    plus ``extra``."""
    return {**QUIET, **os.environ, **OFFLINE, **extra}


# --- MLflow tracking (issue #22): whether it was asked for, and where it writes ---------------------------------------
#: ``--mlflow`` sets it; ``MLFLOW_TRACKING_URI`` alone also turns tracking on. Here, not in harness.history.tracking,
#: so that training (models/) can ask without importing the history package above it.
MLFLOW_ENV = "HARNESS_MLFLOW"
MLFLOW_EXPERIMENT = "dating-embeddings-harness"


def tracking_requested() -> bool:
    return os.environ.get(MLFLOW_ENV, "") not in ("", "0") or bool(os.environ.get("MLFLOW_TRACKING_URI"))


def tracking_installed() -> bool:
    return importlib.util.find_spec("mlflow") is not None


def tracking_uri() -> str:
    from harness.paths import runs_root

    return os.environ.get("MLFLOW_TRACKING_URI") or (runs_root() / "mlruns").as_uri()


def configure_tracking() -> str:
    """The URI, experiment and file-store permission as environment variables, so the harness's own logging and the
    trainer's MLflow callback (which reads them) write to the same place."""
    uri = tracking_uri()
    os.environ.setdefault("MLFLOW_TRACKING_URI", uri)
    os.environ.setdefault("MLFLOW_EXPERIMENT_NAME", MLFLOW_EXPERIMENT)
    if uri.startswith("file:") or "://" not in uri:
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return uri


def trainer_report_to() -> list[str] | str:
    """``report_to`` for the trainer: ``["mlflow"]`` when tracking is on and installed, else ``"none"``."""
    if tracking_requested() and tracking_installed():
        configure_tracking()
        return ["mlflow"]
    return "none"
