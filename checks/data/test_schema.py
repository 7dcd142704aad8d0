"""Schema gate: every file of the dataset validates against its pandera DataFrameModel."""

from __future__ import annotations

import pytest

from harness.data.dataset import EVAL_FILE, OOD_FILE, TRAIN_FILE, DatasetError, read_pairs

pytestmark = pytest.mark.data


@pytest.mark.parametrize("file_name", [TRAIN_FILE, EVAL_FILE, OOD_FILE])
def test_schema(dataset_path, file_name, evidence):
    """Each file parses line by line and passes its pandera schema (validated lazily: every failure is listed)."""
    path = dataset_path / file_name
    if file_name == OOD_FILE and not path.exists():
        pytest.skip(f"{dataset_path} has no {OOD_FILE} (optional in the contract)")
    try:
        frame = read_pairs(path)
    except DatasetError as err:
        if err.failure_cases is not None:
            evidence.html(err.failure_cases.head(200).to_html(index=False))
        evidence.text("problems", "\n".join(map(str, err.problems)))
        pytest.fail(str(err), pytrace=False)
    evidence.json("shape", {"file": str(path), "rows": len(frame), "columns": list(frame.columns)})
    assert len(frame) > 0
