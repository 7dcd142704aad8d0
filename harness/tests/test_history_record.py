"""Recording a run (``record_run``, the call ``evaluate`` and the pytest session end make), the ``history`` command,
the report's history chart, MLflow tracking against a local file store, and the red regression row end to end.

The run here is a stand-in with the pipeline's interface over a real tiny dataset (computing real metrics would
embed every scored set: the pipeline's own tests cover that); the MLflow tests skip without the tracking extra."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from harness.data.dataset import load_dataset
from harness.data.scored_sets import EVAL, VALIDATION, ScoredFrames, SetContext
from harness.evaluation.metrics import evaluate_scores
from harness.history import tracking
from harness.history.record import HistoryWarning, record_run
from harness.history.store import HistoryStore
from harness.models.registry import get_model_spec
from harness.paths import PROJECT_ROOT

pytestmark = pytest.mark.unit

HAS_MLFLOW = tracking.installed()
NO_MLFLOW = "the tracking extra is not installed (scripts/setup tracking installs mlflow-skinny)"


class StandInRun:
    """What ``record_run`` reads of a :class:`harness.pipeline.Run`: names, dataset, frames, scores, metrics, keys."""

    def __init__(self, dataset, folder: Path, shift: float = 0.0):
        self.dataset, self.run_folder, self.names = dataset, folder, ["baseline", "standard"]
        self.frames = ScoredFrames(SetContext(dataset))
        self.shift = shift
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "summary.md").write_text("summary")

    def frame(self, set_name):
        return self.frames.frame(set_name)

    def scores(self, name, set_name):
        labels = self.frame(set_name)["label"].to_numpy()
        rng = np.random.default_rng(len(name))
        return 0.1 + (0.1 if name == "baseline" else 0.6 + self.shift) * labels + rng.normal(0, 0.2, labels.size)

    def all_metrics(self):
        out = {}
        for name in self.names:
            out[name] = {}
            for set_name in (VALIDATION, EVAL):
                labels = self.frame(set_name)["label"].to_numpy()
                m = evaluate_scores(self.scores(name, set_name), labels, ci=False)
                m["ci95"] = {"auc_roc": [m["auc_roc"] - 0.05, min(1.0, m["auc_roc"] + 0.05)]}
                m["ndcg@10"] = 0.5
                out[name][set_name] = m
        return out

    def failure(self, name):
        return None

    def ref(self, name):
        return SimpleNamespace(key=f"{name}-{'0' * 15}{len(name) % 10}", spec=get_model_spec(name))

    def verdicts(self, results):
        return {}

    def training_info(self, name):
        return {"monitored_set": VALIDATION, "spearman_history": [{"step": 10, "spearman": 0.5},
                                                                  {"step": 20, "spearman": 0.7}]}


@pytest.fixture
def run(tiny_dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_HISTORY", str(tmp_path / "history.sqlite"))
    for name in ("HARNESS_MLFLOW", "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_ALLOW_FILE_STORE"):
        monkeypatch.delenv(name, raising=False)  # restored afterwards, whatever the code under test sets
    return StandInRun(load_dataset(tiny_dataset), tmp_path / "run")


def test_record_run_keeps_keys_metrics_cis_scores_and_environment(run, tmp_path, monkeypatch):
    from harness import progress

    lines = []
    monkeypatch.setattr(progress, "_sink", lines.append)
    run_id = record_run(run, [], strict=True)
    with HistoryStore(tmp_path / "history.sqlite", create=False) as store:
        recorded = store.find_run(run_id)
        assert recorded["dataset_name"] == "tiny" and recorded["dataset_digest"] == run.dataset.digest
        assert recorded["source"] == "evaluate" and recorded["environment"]["packages"]["numpy"]
        assert "torch_threads" in recorded["environment"] and recorded["git_dirty"] in (0, 1, None)
        assert {m["model"]: m["model_key"] for m in recorded["models"]} == {n: run.ref(n).key for n in run.names}
        auc = store.trends(models=["standard"], sets=[EVAL], metrics=["auc_roc"])[0]
        assert auc.last.value == pytest.approx(run.all_metrics()["standard"][EVAL]["auc_roc"])
        assert auc.last.ci is not None and auc.last.n == len(run.frame(EVAL))
        scores = store.scores_for_run(recorded["seq"], "standard")[EVAL]
        np.testing.assert_allclose(scores.scores, run.scores("standard", EVAL), atol=1e-6)
    assert any(f"history: run {run_id} recorded" in line for line in lines)


def test_history_command_shows_trends_runs_and_a_chart(run, tmp_path, capsys):
    from harness.__main__ import main

    for shift in (0.0, -0.1, 0.1):
        run.shift = shift
        record_run(run, [], source="pytest", strict=True)
    assert main(["history"]) == 0
    out = capsys.readouterr().out
    assert "[tiny]" in out and "standard  eval" in out and "auc_roc" in out
    assert main(["history", "--model", "standard", "--set", "eval", "--metric", "all", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["metric"] for r in rows} >= {"auc_roc", "cosine_f1", "ndcg@10"} and all(r["runs"] == 3 for r in rows)
    assert main(["history", "--runs", "--last", "2"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3  # header + 2 runs
    chart = tmp_path / "standard.png"
    assert main(["history", "--model", "standard", "--chart", str(chart)]) == 0
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert main(["history", "--check"]) == 0
    assert main(["history", "--dataset", "nope"]) == 0 and "no recorded values" in capsys.readouterr().out


def test_the_report_history_section_shows_earlier_runs_and_this_one(run):
    from fixtures.history import history_section

    record_run(run, [], strict=True)
    section = history_section(run)
    assert "<h2>History</h2>" in section and "standard" in section and "data:image/png;base64," in section
    assert "2 runs of tiny" in section  # the recorded one and this one


def test_nothing_is_logged_to_mlflow_unless_asked(run, tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_RUNS_DIR", str(tmp_path / "runs"))
    record_run(run, [], strict=True)
    assert not (tmp_path / "runs" / "mlruns").exists() and not tracking.requested()
    assert tracking.trainer_report_to() == "none"


def test_asking_for_mlflow_without_it_installed_says_how_to_install(run, monkeypatch, capsys):
    import argparse

    monkeypatch.setattr(tracking, "installed", lambda: False)
    parser = argparse.ArgumentParser(prog="python -m harness evaluate")
    parser.add_argument("--mlflow", action=tracking.EnableMlflow)
    with pytest.raises(SystemExit) as caught:
        parser.parse_args(["--mlflow"])
    assert caught.value.code == 2 and "scripts/setup tracking" in capsys.readouterr().err
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "file:///nowhere")
    with pytest.warns(HistoryWarning, match="mlflow is not installed"):
        assert record_run(run, []) is not None  # the run is still recorded in the store


@pytest.mark.skipif(not HAS_MLFLOW, reason=NO_MLFLOW)
def test_mlflow_logs_each_model_with_config_metrics_curves_and_artifacts(run, tmp_path, monkeypatch):
    uri = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    report = tmp_path / "report.html"
    report.write_text("<html>report</html>")
    assert tracking.trainer_report_to() == ["mlflow"]
    run_id = record_run(run, [], artifacts=(report,), strict=True)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(tracking.EXPERIMENT)
    logged = {r.data.tags["harness.model"]: r for r in client.search_runs([experiment.experiment_id])}
    assert set(logged) == {"baseline", "standard"}
    standard = logged["standard"]
    assert standard.data.params["config.learning_rate"] == "0.0002" and standard.data.params["history_run_id"] == run_id
    assert standard.data.metrics["eval_auc_roc"] == pytest.approx(run.all_metrics()["standard"][EVAL]["auc_roc"])
    assert "eval_ndcg_at_10" in standard.data.metrics and "eval_ci95_auc_roc_low" in standard.data.metrics
    curve = client.get_metric_history(standard.info.run_id, "eval_validation_spearman_cosine")
    assert [(m.step, m.value) for m in curve] == [(10, 0.5), (20, 0.7)]
    assert {a.path for a in client.list_artifacts(standard.info.run_id)} >= {"summary.md", "report.html"}


def test_a_degraded_accepted_comparison_makes_the_regression_row_red(tiny_dataset, tmp_path, monkeypatch):
    """End to end through pytest: the accepted entry separates the eval pairs perfectly, the current pre-trained model
    does not, so its regression row fails (exit 1) naming the regressed metric."""
    from harness.history.baseline import AcceptedModel, AcceptedSet, write_file
    from harness.history.compare import pair_set, quantize
    from harness.models.handle import ModelRef

    dataset = load_dataset(tiny_dataset)
    monkeypatch.setenv("HARNESS_MODELS_DIR", str(tmp_path / "m"))
    ModelRef.resolve("baseline", dataset).pair_embeddings(dataset.eval)  # warm here: the child never loads the model
    pairs = pair_set(EVAL, dataset.eval)
    perfect = quantize(pairs.labels.astype(float), "float16")
    entry = AcceptedModel("baseline", "baseline-0000000000000000", "a model that cannot be matched", "2026-12-01T00:00:00Z",
                          None, None, dataset.digest, "0.1.0",
                          {EVAL: AcceptedSet(EVAL, pairs.rows_digest, pairs.n, {}, perfect)})
    write_file(tmp_path / "baselines" / "tiny.json", {"baseline": entry})
    env = {**os.environ, "HARNESS_BASELINES_DIR": str(tmp_path / "baselines"), "HARNESS_MODELS_DIR": str(tmp_path / "m"),
           "HARNESS_RUNS_DIR": str(tmp_path / "runs"), "HARNESS_HISTORY": str(tmp_path / "history.sqlite"),
           "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "checks/model/test_regression.py", "--dataset", str(tiny_dataset),
                           "--model", "baseline", "-q", "-p", "no:cacheprovider", "-o", "addopts=", "-m", "model"],
                          cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "baseline regressed against accepted baseline-0000000000000000" in proc.stdout
    assert "eval_cosine_spearman" in proc.stdout


def test_an_error_while_recording_never_escapes_into_the_run(run, monkeypatch):
    monkeypatch.setattr(run, "all_metrics", lambda: 1 / 0)
    with pytest.warns(HistoryWarning, match="not recorded in the history store: ZeroDivisionError"):
        assert record_run(run, []) is None


def test_compare_runs_and_cache_keys_from_the_store_alone(run, capsys):
    """Run ids (a prefix, RUN:MODEL) and recorded cache keys are compared from stored scores: no dataset, no model."""
    from harness.__main__ import main

    first = record_run(run, [], strict=True)
    run.shift = -0.45  # the same model key, much worse scores: a later run of a broken change
    second = record_run(run, [], strict=True)
    shared = len(os.path.commonprefix([first, second]))  # two runs in one second share the timestamp part
    assert main(["compare", "--baseline", f"{first[:shared + 1]}:standard", "--candidate", f"{second}:standard",
                 "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert "eval_cosine_spearman" in result["regressed"]
    assert main(["compare", "--baseline", second, "--candidate", first]) == 0  # the run's one fine-tuned model
    assert "improved" in capsys.readouterr().out
    run.names = ["baseline", "standard", "lora"]
    third = record_run(run, [], strict=True)
    assert main(["compare", "--baseline", third, "--candidate", first]) == 2  # two fine-tuned models: name one
    assert "name one as" in capsys.readouterr().err
    key = run.ref("baseline").key
    assert main(["compare", "--baseline", key, "--candidate", f"{first}:baseline"]) == 0
    assert "no regression" in capsys.readouterr().out


def test_the_curation_form_of_compare_is_unchanged(monkeypatch, capsys, tiny_dataset):
    from harness.__main__ import main
    from harness.evaluation import comparison

    seen = {}

    def fake(dataset, a, b, train_files=None, eval_file=None):
        seen.update(a=a, b=b, train_files=train_files, eval_file=eval_file, dataset=dataset.name)
        return {"models": {a: {}, f"{b} on x": {}}, "a": a, "b": f"{b} on x", "difference_b_minus_a": {}}

    monkeypatch.setattr(comparison, "compare_models", fake)
    args = ["compare", "--dataset", str(tiny_dataset), "--model", "standard", "--model", "standard", "--train-file", "-",
            "--train-file", "curated.jsonl"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["b"] == "standard on x"
    assert seen == {"a": "standard", "b": "standard", "train_files": ["-", "curated.jsonl"], "eval_file": None,
                    "dataset": "tiny"}
    assert main(["compare", "--model", "standard", "--baseline", "lora"]) == 2
