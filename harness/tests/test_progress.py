"""Training progress under pytest: on an empty model cache, ``pytest checks/ -m model`` prints the trainer's periodic
lines (step/total, elapsed, ETA) into its output even when stdout is a log file, not a terminal. The plugin wires the
progress sink after pytest's terminal reporter exists; this runs pytest in a subprocess, as a person or CI would."""

from __future__ import annotations

import re

import pytest

from harness.tests.test_plugin import _pytest

pytestmark = pytest.mark.unit


def test_training_progress_reaches_a_log_under_pytest(tiny_dataset, tmp_path):
    """Empty model cache, stdout a pipe: the model gates print the trainer's periodic lines (step/total, ETA)."""
    run = _pytest(["checks/", "-m", "model", "--model", "standard", "--dataset", str(tiny_dataset), "-q",
                   "-k", "test_trainer_monitored_a_selection_set"], tmp_path, timeout=900,
                  HARNESS_MODELS_DIR=str(tmp_path / "models"))
    out = run.stdout
    assert run.returncode == 0, out[-3000:]
    lines = re.findall(r"^\[harness\] training standard on tiny/dating_pairs\.jsonl: step (\d+)/(\d+) .*ETA (\S+)$", out, re.M)
    assert lines, f"no training progress lines in the output:\n{out[-3000:]}"
    assert any(step == total and step != "0" and eta != "?" for step, total, eta in lines), lines
