"""Quality gate: the PRD's 5-dimension evaluator scores every row of every file; overall must reach 60."""

from __future__ import annotations

import pytest

from harness.data.quality import QUALITY_THRESHOLD, evaluate_dataset, write_quality_reports

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def quality_reports(dataset, run_folder):
    reports = evaluate_dataset(dataset)
    write_quality_reports(reports, run_folder, dataset)
    return {r.file: r for r in reports}


@pytest.mark.parametrize("file_name", ["dating_pairs.jsonl", "eval_pairs.jsonl", "ood_pairs.jsonl"])
def test_quality_score(quality_reports, file_name, evidence):
    """Overall quality (mean of data quality, diversity, bias, linguistic quality) >= 60 on all rows."""
    if file_name not in quality_reports:
        pytest.skip(f"dataset has no {file_name}")
    report = quality_reports[file_name]
    evidence.text("summary", report.summary())
    evidence.json("scores", {"dimensions": report.dimensions, "details": report.details, "overall": report.overall})
    assert report.overall >= QUALITY_THRESHOLD, f"{file_name}: overall quality {report.overall:.1f} < {QUALITY_THRESHOLD:.0f}"
