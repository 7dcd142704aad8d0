"""docs/results.md is what ``python -m harness results-doc`` generates from the committed run summaries
(docs/runs/*.json), and the generator is a list of small section functions."""

from __future__ import annotations

import json

import pytest

from harness.report import results_doc

pytestmark = pytest.mark.unit


def test_the_committed_document_is_what_the_committed_summaries_give():
    summaries = results_doc.load_summaries()
    assert summaries, f"no committed run summaries in {results_doc.SUMMARIES}"
    assert results_doc.DOC.read_text() == results_doc.render(summaries), (
        "docs/results.md differs from what docs/runs/*.json give: run python -m harness results-doc and commit it")


def test_the_readme_table_is_what_the_committed_summaries_give():
    text = results_doc.README.read_text()
    assert all(marker in text for marker in results_doc.README_MARKERS), "the README lost its results markers"
    assert text == results_doc.readme_with_block(text, results_doc.load_summaries()), (
        "README.md's results table differs from what docs/runs/*.json give: run python -m harness results-doc")


def test_collect_keeps_provenance_and_a_section_can_be_added(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_RUNS_DIR", str(tmp_path / "runs"))
    folder = tmp_path / "runs" / "tiny-0123456789ab"
    folder.mkdir(parents=True)
    summary = {"headline": "Fine-tuning (standard) improved ...", "missing": {},
               "counts": {"gates": 2, "gates_passed": 1, "targets": 1, "targets_met": 0, "unavailable": 0},
               "verdicts": {"standard": {"model": "standard", "verdict": "FAIL", "reasons": ["eval AUC 0.70 < 0.85"]}},
               "leaderboard": None,
               "metrics": {"standard": {"eval": {"n": 24, "auc_roc": 0.7, "matryoshka": {"64": {}},
                                                 "ci95": {"auc_roc": [0.6, 0.8], "ndcg@10": [0, 1]}}}}}
    (folder / "summary.json").write_text(json.dumps(summary))
    kept = json.loads(results_doc.collect(folder, tmp_path / "docs").read_text())
    assert kept["dataset"] == "tiny" and kept["run_folder"] == "runs/tiny-0123456789ab"
    assert kept["dataset_digest"] == "0123456789ab" and "commit" in kept
    # kept: the metrics the document shows (ranking ones too, with their CIs); dropped: the rest (Matryoshka curves)
    assert kept["metrics"]["standard"]["eval"] == {"n": 24, "auc_roc": 0.7, "ci95": {"auc_roc": [0.6, 0.8], "ndcg@10": [0, 1]}}

    def extra_section(s: dict) -> str:
        return f"### Extra\n\n{len(s['metrics'])} models"

    text = results_doc.render([kept], results_doc.SECTIONS + [extra_section])
    assert "## tiny" in text and "runs/tiny-0123456789ab" in text and "0.700 [0.600, 0.800]" in text
    assert "| standard | FAIL | eval AUC 0.70 < 0.85 |" in text and text.rstrip().endswith("1 models")
