"""The PRD's eight before/after charts and the baseline views: each is built from measured values, saved
in the run folder and attached to its own row of the report."""

from __future__ import annotations

import pytest

from harness.report.charts import BASELINE_CHARTS, COMPARISON_CHARTS, GENERALISATION_CHARTS

pytestmark = pytest.mark.model

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("chart", COMPARISON_CHARTS + GENERALISATION_CHARTS)
def test_comparison_chart(chart, store, evidence):
    """A before/after chart over the baseline and every fine-tuned model that ran."""
    if "baseline" not in store.runnable or len(store.runnable) < 2:
        pytest.skip(f"{chart} compares baseline with a fine-tuned model; this run has {store.runnable}")
    png = store.chart(chart)
    evidence.png(chart, png)
    assert png.startswith(PNG_SIGNATURE) and len(png) > 2000, f"{chart}: not a real PNG ({len(png)} bytes)"
    assert (store.run_folder / "charts" / f"{chart}.png").read_bytes() == png


@pytest.mark.parametrize("chart", BASELINE_CHARTS)
def test_baseline_view(chart, store, evidence):
    """A baseline-only view (histogram, UMAP, HDBSCAN clusters, ROC, category margins) of the 'before'."""
    if "baseline" not in store.runnable:
        pytest.skip("baseline not selected (--model baseline or --model all)")
    png = store.chart(chart)
    evidence.png(chart, png)
    assert png.startswith(PNG_SIGNATURE) and len(png) > 2000, f"{chart}: not a real PNG ({len(png)} bytes)"
