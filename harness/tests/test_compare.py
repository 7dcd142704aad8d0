"""Paired comparisons (ADR 006), accepted baselines and the regression row's function.

The vectorised bootstrap is held equal to ``paired_bootstrap_diff`` and the ranking metric to
``harness.evaluation.ranking``; the rule is tested on its boundaries; a degraded model fails the regression row
and the accepted model passes, through the function ``checks/model/test_regression.py`` calls; baseline files with
a wrong schema are refused naming file and field; ``accept`` and ``compare`` run end to end on tiny data with the
pre-trained model (no training)."""

from __future__ import annotations

import base64
import json

import numpy as np
import pandas as pd
import pytest

from harness.evaluation.metrics import auc_roc, cosine_spearman, paired_bootstrap_diff
from harness.evaluation.ranking import compatible_above_incompatible
from harness.history.accept import summary_metrics
from harness.history.baseline import AcceptedModel, AcceptedSet, BaselineError, encode_scores, load_file, write_file
from harness.history.compare import (IMPROVED, NO_CHANGE, REGRESSED, check_against_accepted, label, pair_set,
                                     paired_deltas, person_rates, quantize)

pytestmark = pytest.mark.unit


def frame_of(n: int, seed: int = 0, texts: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.45).astype(int)
    names = [f"boy: I like thing {i}" for i in range(texts)]
    return pd.DataFrame({"text_1": rng.choice(names[: texts // 2], n), "text_2": rng.choice(names[texts // 2:], n),
                         "label": labels})


def tuned_scores(labels: np.ndarray, separation: float, seed: int) -> np.ndarray:
    """Cosines like a fine-tuned model's: compatible pairs high, incompatible low, overlap set by ``separation``."""
    rng = np.random.default_rng(seed)
    return np.clip(0.1 + separation * labels + rng.normal(0, 0.2, labels.size), -1, 1)


# --- the statistics -----------------------------------------------------------------------------------------

def test_vectorised_bootstrap_equals_paired_bootstrap_diff():
    frame = frame_of(120)
    labels = frame["label"].to_numpy()
    a = np.round(tuned_scores(labels, 0.5, 1), 2)  # rounded: ties, which AUC and Spearman must count as the originals
    b = np.round(tuned_scores(labels, 0.6, 2), 2)
    deltas = {d.metric: d for d in paired_deltas("eval", pair_set("eval", frame), a, b, n_resamples=200)}
    for metric, fn in (("auc_roc", auc_roc), ("cosine_spearman", cosine_spearman)):
        reference = paired_bootstrap_diff(fn, a, b, labels, n_resamples=200)
        assert deltas[metric].delta == pytest.approx(reference["difference"], abs=1e-12)
        assert deltas[metric].ci == pytest.approx(tuple(reference["ci95"]), abs=1e-12)
        assert deltas[metric].baseline == pytest.approx(fn(a, labels), abs=1e-12)


def test_person_rates_equal_the_harness_ranking_metric():
    frame = frame_of(200, seed=3, texts=30)
    scores = np.round(tuned_scores(frame["label"].to_numpy(), 0.4, 4), 1)
    ours = person_rates(pair_set("eval", frame).codes, frame["label"].to_numpy(), scores)
    theirs = compatible_above_incompatible(frame, scores)
    assert ours.size == theirs.size > 5
    assert ours.mean() == pytest.approx(theirs.mean(), abs=1e-12)


@pytest.mark.parametrize("ci, greater, expected", [
    ((-0.03, -0.001), True, REGRESSED), ((0.001, 0.02), True, IMPROVED), ((-0.01, 0.01), True, NO_CHANGE),
    ((-0.01, 0.0), True, NO_CHANGE), ((0.0, 0.0), True, NO_CHANGE), ((float("nan"), float("nan")), True, NO_CHANGE),
    ((-0.03, -0.001), False, IMPROVED), ((0.001, 0.02), False, REGRESSED),
])
def test_the_adr_006_rule_on_its_boundaries(ci, greater, expected):
    assert label(ci, greater) == expected


def test_a_model_against_its_own_float16_scores_is_exactly_unchanged():
    frame = frame_of(150)
    scores = tuned_scores(frame["label"].to_numpy(), 0.5, 5)
    pairs = pair_set("eval", frame)
    for d in paired_deltas("eval", pairs, quantize(scores, "float16"), quantize(scores, "float16")):
        assert d.delta == 0 and d.ci == (0.0, 0.0) and d.label == NO_CHANGE


# --- the regression row -------------------------------------------------------------------------------------

SETS = {"validation": (120, 11), "eval": (300, 12), "natural_test": (330, 13)}


def accepted_entry(frames: dict[str, pd.DataFrame], scores: dict[str, np.ndarray], model="standard") -> AcceptedModel:
    sets = {}
    for name, frame in frames.items():
        pairs = pair_set(name, frame)
        q = quantize(scores[name], "float16")
        sets[name] = AcceptedSet(name, pairs.rows_digest, pairs.n, summary_metrics(pairs, q), q)
    return AcceptedModel(model, f"{model}-0123456789abcdef", "accepted for the test", "2026-12-01T00:00:00Z", None,
                         None, "0" * 64, "0.1.0", sets)


@pytest.fixture
def accepted_run():
    frames = {name: frame_of(n, seed) for name, (n, seed) in SETS.items()}
    scores = {name: tuned_scores(f["label"].to_numpy(), 0.55, seed) for (name, f), seed in zip(frames.items(), (1, 2, 3))}
    return frames, scores, accepted_entry(frames, scores)


def test_the_accepted_model_passes_its_regression_row(accepted_run):
    frames, scores, entry = accepted_run
    comparison = check_against_accepted(entry, scores.get, frames.get)
    assert not comparison.regressed and not comparison.improved and not comparison.skipped
    assert {d.scored_set for d in comparison.deciding} == set(SETS)
    assert all(d.delta == 0 for d in comparison.deltas)


def test_a_degraded_model_fails_its_regression_row(accepted_run):
    """An early checkpoint's scores (less separation), and the accepted scores under noise: the primary metric falls
    with the paired CI below zero on every set."""
    frames, scores, entry = accepted_run
    for degrade in (lambda s, y, k: 0.3 * s + 0.7 * tuned_scores(y, 0.05, 40 + k),  # an early checkpoint
                    lambda s, y, k: s + np.random.default_rng(50 + k).normal(0, 0.35, s.size)):  # noise
        degraded = {name: degrade(scores[name], f["label"].to_numpy(), k) for k, (name, f) in enumerate(frames.items())}
        comparison = check_against_accepted(entry, degraded.get, frames.get)
        assert {d.scored_set for d in comparison.regressed} == set(SETS), comparison.table()
        assert all(d.ci[1] < 0 for d in comparison.regressed)
        assert "regressed on 3 of 3 deciding rows" in comparison.summary()


def test_an_improvement_is_reported_and_does_not_fail(accepted_run):
    frames, scores, entry = accepted_run
    better = {name: scores[name] + 0.25 * f["label"].to_numpy() for name, f in frames.items()}
    comparison = check_against_accepted(entry, better.get, frames.get)
    assert not comparison.regressed and comparison.exit_code == 0
    assert {d.scored_set for d in comparison.improved} == set(SETS)
    assert "improved:" in comparison.summary()


def test_changed_rows_are_named_and_not_compared(accepted_run):
    frames, scores, entry = accepted_run
    changed = dict(frames, eval=frames["eval"].iloc[:-1])
    comparison = check_against_accepted(entry, scores.get, changed.get)
    assert "eval" in comparison.skipped and "data changed" in comparison.skipped["eval"]
    assert {d.scored_set for d in comparison.deltas} == {"validation", "natural_test"}


# --- the baseline file --------------------------------------------------------------------------------------

def test_a_baseline_file_reads_back_what_was_written(accepted_run, tmp_path):
    _, scores, entry = accepted_run
    path = write_file(tmp_path / "reference.json", {"standard": entry})
    again = load_file(path)["standard"]
    assert again.model_key == entry.model_key and again.reason == entry.reason
    for name, accepted in entry.sets.items():
        assert (again.sets[name].scores == accepted.scores).all()  # float16 both ways: exact
    assert path.stat().st_size < 12_000  # ~750 pairs: small enough to commit


def _mutate(payload: dict, dotted: str, value) -> dict:
    *parents, last = dotted.split(".")
    target = payload
    for key in parents:
        target = target[key]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return payload


@pytest.mark.parametrize("field, value, message", [
    ("models.standard.model_key", KeyError, "models.standard.model_key: missing"),
    ("models.standard.sets.eval.n", "300", 'models.standard.sets.eval.n: "300" is not an integer'),
    ("models.standard.sets.eval.scores.data", "not base64!", "models.standard.sets.eval.scores.data: not valid base64"),
    ("models.standard.sets.eval.scores.data", base64.b64encode(b"\0" * 10).decode(), "10 bytes, expected 600"),
    ("models.standard.sets.eval.scores.encoding", "f64le", "is not one of f16le-base64"),
    ("models.standard.sets.eval.rows_digest", "XYZ", "is not 16 lowercase hex"),
    ("models.standard.sets.eval.metrics.auc_roc", "high", "is not a finite number or null"),
    ("models.standard.reason", "  ", "models.standard.reason: is empty"),
    ("models.standard.accepted_at", "yesterday", "is not an ISO 8601 time"),
    ("models.standard.modelkey", "x", "models.standard.modelkey: unknown field"),
    ("format", "something-else", "format: .* not a harness baseline file"),
    ("version", 7, "version: 7: written by a newer harness"),
    ("dataset", "default", "does not match the file name"),
])
def test_a_baseline_file_with_a_wrong_schema_names_file_and_field(accepted_run, tmp_path, field, value, message):
    _, _, entry = accepted_run
    path = write_file(tmp_path / "reference.json", {"standard": entry})
    path.write_text(json.dumps(_mutate(json.loads(path.read_text()), field, value)))
    with pytest.raises(BaselineError, match=message) as caught:
        load_file(path)
    assert f"{path}: {field.split('.')[0]}" in str(caught.value)


def test_a_baseline_file_that_is_not_json_names_the_line(tmp_path):
    path = tmp_path / "reference.json"
    path.write_text('{"format": "harness-baseline",\n  "version": 1,,\n}')
    with pytest.raises(BaselineError, match=rf"{path}: line 2 column \d+: not valid JSON"):
        load_file(path)


def test_scores_encoding_is_compact():
    scores = np.linspace(-0.2, 1.0, 300)
    encoded = encode_scores(scores)
    assert len(encoded["data"]) == 800  # 600 bytes of float16 as base64
    assert np.abs(np.frombuffer(base64.b64decode(encoded["data"]), "<f2") - scores).max() < 1e-3


# --- accept and compare on tiny data (the pre-trained model: nothing trains) ----------------------------------

@pytest.fixture
def isolated(tmp_path, monkeypatch, tiny_dataset):
    monkeypatch.setenv("HARNESS_BASELINES_DIR", str(tmp_path / "baselines"))
    monkeypatch.setenv("HARNESS_HISTORY", str(tmp_path / "history.sqlite"))
    return tiny_dataset


def test_accept_then_compare_exit_codes(isolated, capsys):
    from harness.__main__ import main
    from harness.data.dataset import load_dataset

    tiny = str(isolated)
    sets = ["--set", "eval", "--set", "validation"]
    assert main(["accept", "--model", "baseline", "--dataset", tiny, "--reason", "the pre-trained model", *sets]) == 0
    out = capsys.readouterr().out
    assert "accepted baseline = baseline-" in out and "first accepted entry" in out
    path = isolated.parent / "baselines" / "tiny.json"
    entry = load_file(path)["baseline"]
    assert set(entry.sets) == {"eval", "validation"} and entry.reason == "the pre-trained model"

    assert main(["compare", "--baseline", "accepted", "--candidate", "baseline", "--dataset", tiny, *sets]) == 0
    out = capsys.readouterr().out
    assert "eval_cosine_spearman *" in out and "result: no regression" in out

    # an accepted entry that separated perfectly: the current model is worse by the rule, exit 1
    payload = json.loads(path.read_text())
    labels = load_dataset(isolated).eval["label"].to_numpy()
    payload["models"]["baseline"]["sets"]["eval"]["scores"] = encode_scores(labels.astype(float))
    path.write_text(json.dumps(payload))
    assert main(["compare", "--baseline", "accepted", "--candidate", "baseline", "--dataset", tiny, "--set", "eval"]) == 1
    assert "regressed" in capsys.readouterr().out

    assert main(["compare", "--candidate", "baseline", "--dataset", tiny]) == 2
    assert main(["compare", "--baseline", "no-such-model", "--candidate", "baseline", "--dataset", tiny]) == 2
    assert "not a registered model" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:  # argparse: --reason is required
        main(["accept", "--model", "baseline", "--dataset", tiny])
    assert usage.value.code == 2
