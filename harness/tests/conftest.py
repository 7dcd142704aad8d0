"""Shared fixtures of the harness's unit tests."""

from __future__ import annotations

import pytest

from harness.data.dataset import TRAIN_FILE
from harness.paths import DEFAULT_DATASET


@pytest.fixture
def tiny_dataset(tmp_path):
    """A dataset folder with the first 24 rows of the default train and eval files."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    for name in (TRAIN_FILE, "eval_pairs.jsonl"):
        lines = (DEFAULT_DATASET / name).read_text().splitlines()
        (folder / name).write_text("\n".join(lines[:24]) + "\n")
    return folder
