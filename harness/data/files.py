"""Which file a model trains on, and where derived files go: one place for both (CLI, fixtures, comparison)."""

from __future__ import annotations

from pathlib import Path

from harness.data.dataset import TRAIN_FILE, Dataset


def derived_path(dataset: Dataset, name: str, out: str | Path | None = None) -> Path:
    """Where a derived file goes: ``out`` if given; beside the source for datasets inside this project;
    otherwise the dataset's run folder, so third-party data folders (../shared) are never written to."""
    from harness.paths import PROJECT_ROOT, run_dir

    if out:
        path = Path(out)
        return path / name if path.is_dir() else path
    inside = dataset.root.is_relative_to(PROJECT_ROOT)
    return (dataset.root if inside else run_dir(dataset)) / name


def resolve_train_file(dataset: Dataset, derived_name: str | None = None, override: str | Path | None = None) -> Path:
    """The training file: ``override`` if given, else the dataset's derived file ``derived_name`` (a curated mix),
    else the dataset's own ``dating_pairs.jsonl``. A derived file that does not exist yet is a FileNotFoundError
    that says how to make it."""
    if override and str(override) != "-":
        path = Path(override).resolve()
    elif derived_name:
        path = derived_path(dataset, derived_name)
    else:
        return dataset.root / TRAIN_FILE
    if not path.is_file():
        raise FileNotFoundError(f"training file {path} does not exist"
                                + (": run python -m harness expand, candidates, review and apply for this dataset"
                                   if derived_name and not override else ""))
    return path
