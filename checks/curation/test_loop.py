"""Phase 2 end to end, in the terminal as a person would run it, on the dataset under test:
expand -> candidates -> review (scripted answers on stdin) -> apply -> train -> compare, and the eval audit.

Everything is written into a temporary folder (``--out``), never into the dataset folder.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from harness.curation.loop import verify_curated
from harness.data.dataset import EVAL_FILE, file_sha256, read_pairs
from harness.curation.expand import with_ids
from harness.data.leakage import normalise_text
from harness.environment import offline_env
from harness.paths import PROJECT_ROOT

pytestmark = pytest.mark.curation

#: Scripted reviewer: relabel, remove, keep, skip, then three more decisions, then quit.
ANSWERS = "x\nr\nk\ns\nr\nx\nk\nq\n"


def harness(*args: str, stdin: str | None = None) -> str:
    run = subprocess.run([sys.executable, "-m", "harness", *args], cwd=PROJECT_ROOT, env=offline_env(), input=stdin,
                         capture_output=True, text=True, timeout=3000)
    assert run.returncode == 0, f"python -m harness {' '.join(args)} failed ({run.returncode}):\n{run.stderr[-3000:]}"
    return run.stdout


@pytest.fixture(scope="module")
def loop(dataset_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("phase2")
    steps = {"expand": harness("expand", "--dataset", str(dataset_path), "--out", str(out / "dating_pairs_expanded.jsonl"))}
    expanded = out / "dating_pairs_expanded.jsonl"
    steps["candidates"] = harness("candidates", "--dataset", str(dataset_path), "--train-file", str(expanded),
                                  "--out", str(out / "review.csv"))
    steps["review"] = harness("review", str(out / "review.csv"), stdin=ANSWERS)
    steps["apply"] = harness("apply", str(out / "review.csv"))
    curated = out / "dating_pairs_expanded_curated.jsonl"
    steps["train"] = harness("train", "--model", "standard", "--dataset", str(dataset_path), "--train-file", str(curated))
    steps["compare"] = harness("compare", "--dataset", str(dataset_path), "--model", "standard", "--model", "standard",
                               "--train-file", "-", "--train-file", str(curated))
    return out, steps


def test_expanded_mix_is_70_20_10_valid_and_disjoint_from_scored_sets(loop, dataset, evidence):
    """The expanded mix passes the train schema, keeps provenance and stable ids, and never touches eval/OOD text."""
    out, steps = loop
    frame = read_pairs(out / "dating_pairs_expanded.jsonl")
    shares = frame["source"].value_counts(normalize=True).to_dict()
    evidence.json("mix", {"rows": len(frame), "shares": shares})
    assert shares == pytest.approx({"synthetic": 0.7, "natural": 0.2, "hard_negative": 0.1}, abs=0.01)
    assert (frame["id"] == with_ids(frame.drop(columns="id"))["id"]).all(), "ids must be hashes of the normalised pair"
    added = frame[frame["source"] != "synthetic"]
    assert added["id"].is_unique and not set(added["id"]) & set(frame[frame["source"] == "synthetic"]["id"])
    scored = [dataset.eval] + ([dataset.ood] if dataset.ood is not None else [])
    forbidden = {normalise_text(t) for f in scored for c in ("text_1", "text_2") for t in f[c]}
    new = frame[frame["source"] != "synthetic"]
    assert not {normalise_text(t) for c in ("text_1", "text_2") for t in new[c]} & forbidden


def test_review_file_is_ranked_and_counts_rules(loop, evidence):
    """Candidates come from out-of-fold scores, ranked by label-error score, with counts per rule."""
    out, steps = loop
    review = pd.read_csv(out / "review.csv", dtype=str, keep_default_na=False)
    evidence.text("candidates", steps["candidates"])
    scores = review["label_error_score"].astype(float).tolist()
    assert scores == sorted(scores, reverse=True) and len(review) > 0
    assert "candidates by rule" in steps["candidates"]
    assert (review["decision"] != "").sum() == 6, "the scripted reviewer decided six rows and skipped one"


def test_apply_gates_and_reproducibility(loop):
    """Curated set: removed ids absent, relabelled ids label 0, counts match the audit log; re-applying gives the same bytes."""
    out, _ = loop
    curated, audit = out / "dating_pairs_expanded_curated.jsonl", out / "dating_pairs_expanded_curated_audit.jsonl"
    before = (file_sha256(curated), file_sha256(audit))
    harness("apply", str(out / "review.csv"))
    assert (file_sha256(curated), file_sha256(audit)) == before
    log = [json.loads(line) for line in audit.read_text().splitlines()]
    assert not verify_curated(with_ids(read_pairs(out / "dating_pairs_expanded.jsonl")), read_pairs(curated), log)
    decided = pd.read_csv(out / "review.csv", dtype=str, keep_default_na=False).query("decision in ['remove', 'relabel']")
    assert {a["id"] for a in log} == set(decided["id"])  # one entry per affected row (duplicated pairs: each copy)
    assert {a["action"] for a in log} == {"relabel", "remove"}


def test_curated_training_compared_with_paired_bootstrap(loop, evidence):
    """standard on the original vs the curated mix, same eval set, paired bootstrap on each difference."""
    _, steps = loop
    result = json.loads(steps["compare"])
    evidence.json("comparison", result)
    assert len(result["models"]) == 2 and result["a"] != result["b"], f"compared one model with itself: {result['models']}"
    for metric, diff in result["difference_b_minus_a"].items():
        lo, hi = diff["ci95"]
        assert lo <= diff["difference"] <= hi, f"{metric}: point estimate outside its own interval"


def test_eval_audit_review_and_apply(loop, dataset_path, dataset):
    """The eval audit flags eval pairs against a model trained only on train, in the same review format, and the same
    apply step yields a curated eval file with its audit log."""
    out, _ = loop
    harness("audit-eval", "--dataset", str(dataset_path), "--out", str(out / "eval_review.csv"))
    harness("review", str(out / "eval_review.csv"), stdin="r\nk\nq\n")
    harness("apply", str(out / "eval_review.csv"))
    curated = read_pairs(out / "eval_pairs_curated.jsonl")
    log = [json.loads(line) for line in (out / "eval_pairs_curated_audit.jsonl").read_text().splitlines()]
    flagged = pd.read_csv(out / "eval_review.csv", dtype=str, keep_default_na=False)
    assert [a["action"] for a in log] == (["remove"] if len(flagged) else [])
    assert len(curated) == len(dataset.eval) - len(log)
    assert file_sha256(dataset_path / EVAL_FILE) == dataset.sha256[EVAL_FILE]  # the source eval file is untouched
