"""The pipeline without pytest fixtures: a model that cannot run fails only its own rows; the baseline and the
charts go on without it, naming it."""

from __future__ import annotations

import pytest

from harness.data.dataset import load_dataset
from harness.data.scored_sets import EVAL_LEAK_FREE
from harness.evaluation.criteria import CRITERIA
from harness.models.handle import ModelRef, ModelUnavailable
from harness.pipeline import Run

pytestmark = pytest.mark.unit


@pytest.fixture
def tiny(tiny_dataset):
    return load_dataset(tiny_dataset)


def test_a_broken_model_fails_only_its_own_rows(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_MODELS_DIR", str(tmp_path / "models"))  # cold: nothing cached
    real = ModelRef.artifact

    def broken(self):
        if self.name != "lora":
            return real(self)
        raise ModelUnavailable(self.name, "loading failed: OSError: no file named model.safetensors", expected=False)

    monkeypatch.setattr(ModelRef, "artifact", broken)
    run = Run(tiny, ["baseline", "lora"], run_folder=tmp_path / "run")
    assert run.runnable == ["baseline"]
    assert "lora" in run.missing() and "model.safetensors" in run.missing()["lora"]
    margin = next(c for c in CRITERIA if c.metric == "compatibility_margin" and c.scored_on == EVAL_LEAK_FREE)
    assert run.judge(margin, "lora").outcome == "unavailable"
    assert run.judge(margin, "baseline").outcome in ("pass", "fail")  # measured, whatever it is
    png = run.chart("cosine_overlay")  # draws what exists, with a note naming the missing model
    assert png.startswith(b"\x89PNG") and (tmp_path / "run" / "charts" / "cosine_overlay.png").is_file()
    results = [run.judge(margin, "baseline"), run.judge(margin, "lora")]
    run.write_summary(results)
    assert (tmp_path / "run" / "criteria.json").is_file() and (tmp_path / "run" / "baseline_metrics.json").is_file()
    assert "lora" in (tmp_path / "run" / "summary.json").read_text()
