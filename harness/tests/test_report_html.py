"""The HTML report's pieces (harness/report/html.py) and the summary tables it shows, on hand-made numbers."""

from __future__ import annotations

import re
from html import escape

import pytest

from harness.evaluation.criteria import CRITERIA
from harness.evaluation.judge import CriterionResult
from harness.report.html import TITLE, charts_section, criteria_table, page, result_cells
from harness.report.summary import group_auc_table

pytestmark = pytest.mark.unit


def test_group_auc_table_reads_the_per_group_entries_as_measured():
    """``auc_by_writer`` entries carry their CI as a [lo, hi] list (metrics.auc_by): one cell per writer, worst last."""
    metrics = {"baseline": {"natural_unseen": {
        "auc_by_writer": {"w-a": {"auc_roc": 0.8, "ci95": [0.7, 0.9], "n": 40}, "w-b": {"auc_roc": None, "ci95": None, "n": 3}},
        "worst_writer": "w-a", "worst_writer_auc": 0.8}}}
    assert group_auc_table(metrics, "natural_unseen", "writer") == [
        ["model", "w-a", "w-b", "worst writer"], ["baseline", "0.800 [0.700, 0.900]", "–", "w-a 0.800"]]


def test_the_criteria_table_and_page_are_self_contained():
    criterion = CRITERIA[0]
    rows = [CriterionResult(criterion, "standard", 0.91234, (0.9, 0.92), 295, "pass", "standard: fine"),
            CriterionResult(criterion, "lora", None, None, None, "unavailable", "lora: no CUDA")]
    table = criteria_table(rows)
    assert 'id="results-table"' in table and "value [95% CI]" in table
    assert f'data-id="standard-{escape(criterion.id)}"' in table and "0.912 [0.900, 0.920]" in table
    assert result_cells(None) == [""] * 6  # an unavailable row shows no numbers
    html = page([table, charts_section({"cosine_overlay": b"\x89PNG fake"})])
    assert f"<title>{TITLE}</title>" in html and 'data-name="cosine_overlay"' in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html)
