"""Checks on the evidence report itself, built from a small real run (baseline + standard, cached models).

There are two ways to the same report, and every check runs on both: a pytest subprocess over the criteria and chart
checks writing a self-contained pytest-html file, and ``python -m harness evaluate`` writing ``report.html`` into
its run folder (the same body, a criteria table instead of pytest's rows). The checks read each file as a person's
browser would.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys

import pytest

from harness.report.charts import COMPARISON_CHARTS
from harness.environment import offline_env
from harness.evaluation.criteria import cases
from harness.paths import DEFAULT_DATASET, PROJECT_ROOT

pytestmark = pytest.mark.report

MAX_BYTES = 5 * 1024 * 1024
SMALL_RUN_MODELS = ["baseline", "standard"]
#: Anything the browser would fetch: scripts, images, frames, media, stylesheets, CSS url()/@import. A plain
#: <a href> (pytest-html's footer credits its PyPI page) is a link a person may follow, not a resource.
EXTERNAL_RESOURCE = re.compile(
    r"""<(?:script|img|iframe|source|video|audio|embed|input)\b[^>]*\bsrc\s*=\s*["']?(?:https?:)?//"""
    r"""|<link\b[^>]*\bhref\s*=\s*["']?(?:https?:)?//"""
    r"""|url\(\s*["']?(?:https?:)?//|@import\s+(?:url\()?\s*["']?(?:https?:)?//""", re.I)


@pytest.fixture(scope="module", params=["pytest", "evaluate"])
def small_report(request, store, dataset_path, tmp_path_factory):
    """(path, text, kind): the report of the small run, written by pytest-html or by ``python -m harness evaluate``."""
    store.ref("standard").artifact()  # train (or reuse) in this process first, so the subprocess only reads the cache
    kind = request.param
    out = tmp_path_factory.mktemp(f"report-{kind}")
    env = offline_env(HARNESS_RUNS_DIR=str(out / "runs"))
    models = [f"--model={m}" for m in SMALL_RUN_MODELS]
    if kind == "pytest":
        path = out / "report.html"
        cmd = [sys.executable, "-m", "pytest", "checks/model/test_criteria.py", "checks/model/test_evidence.py", "-m",
               "model", "-q", "-p", "no:cacheprovider", "--dataset", str(dataset_path), f"--html={path}",
               "--self-contained-html", *models]
    else:
        cmd = [sys.executable, "-m", "harness", "evaluate", "--dataset", str(dataset_path), *models]
    run = subprocess.run(cmd, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=1200)
    if kind == "evaluate":
        found = sorted((out / "runs").glob("*/report.html"))
        path = found[0] if found else out / "runs" / "report.html"
    assert path.is_file(), f"the small run wrote no report (exit {run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-2000:]}"
    return path, html.unescape(path.read_text(encoding="utf-8")), kind


def test_every_criterion_row_is_present(small_report, dataset_path, evidence):
    """Each criterion x model of the small run has its own row in the report."""
    _, text, kind = small_report
    default_data = dataset_path.resolve() == DEFAULT_DATASET.resolve()
    row = "test_criterion[{}]" if kind == "pytest" else 'data-id="{}"'
    ids = [row.format(f"{m}-{c.id}") for c, m in cases(SMALL_RUN_MODELS, default_data=default_data)]
    missing = [i for i in ids if i not in text]
    evidence.json("rows", {"expected": len(ids), "missing": missing})
    assert not missing, f"criterion rows missing from the report: {missing}"


def test_all_comparison_charts_are_embedded(small_report):
    """All eight before/after charts are embedded as base64 PNGs (no files beside the report)."""
    _, text, _ = small_report
    images = re.findall(r"data:image/png;base64,[A-Za-z0-9+/=]{500,}", text)
    missing = [c for c in COMPARISON_CHARTS
               if f'"name": "{c}"' not in text and f'"name":"{c}"' not in text and f'data-name="{c}"' not in text]
    assert not missing, f"charts not embedded: {missing}"
    assert len(images) >= len(COMPARISON_CHARTS), f"only {len(images)} embedded PNGs"


def test_summary_has_headline_table_and_identity(small_report):
    """The summary carries the headline sentence with measured numbers, the models table, the sha256 and the version."""
    _, text, _ = small_report
    assert re.search(r"Fine-tuning \(standard\) (?:improved|did not improve) compatibility margin from -?\d\.\d\d to -?\d\.\d\d", text)
    assert "harness-summary" in text and re.search(r"sha256 <code>[0-9a-f]{64}</code>", text)
    assert re.search(r'alt="Matryoshka curves eval" src="data:image/png;base64,', text), "no Matryoshka chart for eval"
    assert "harness-verdicts" in text and re.search(r">(DEPLOY|REVIEW|FAIL)</span>", text), "no verdict badge"


def test_no_external_resources_and_small(small_report):
    """The report is one self-contained file under 5 MB: no external scripts, styles or images."""
    path, text, _ = small_report
    size = path.stat().st_size
    assert size < MAX_BYTES, f"report is {size / 1e6:.1f} MB >= 5 MB"
    assert not EXTERNAL_RESOURCE.findall(text), f"external resources: {EXTERNAL_RESOURCE.findall(text)[:5]}"


def test_explorable_in_headless_chromium(small_report, store, evidence):
    """Debian's Chromium, driven by Playwright with JS on: the page has the project's title and numbers in the results
    table; hovering a UMAP point shows its pair in a tooltip; clicking an error-table header sorts it; the screenshot
    is saved into the run folder."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (Debian package 'chromium'); .ci/run installs it")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra (scripts/setup)")
    path, _, kind = small_report
    shot = store.run.run_folder / ("report-screenshot.png" if kind == "pytest" else f"report-screenshot-{kind}.png")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(path.as_uri())
            assert page.title() == "Dating-compatibility embeddings: evidence report"
            headers = page.locator("#results-table thead th").all_text_contents()
            assert "value [95% CI]" in headers, headers
            value_col = headers.index("value [95% CI]")
            values = [v for v in page.locator(f"#results-table tbody tr.collapsible td:nth-child({value_col + 1})").all_text_contents() if v]
            assert values and all(re.match(r"-?\d+\.\d{3}", v) for v in values), values[:5]
            assert page.locator("text=No log output captured.").count() == 0
            circle = page.locator(".harness-umap circle").last  # painted last: nothing lies on top of it
            circle.scroll_into_view_if_needed()
            circle.hover()
            tip = page.locator("#harness-tooltip")
            tip.wait_for(state="visible", timeout=5000)
            tooltip = tip.text_content()
            assert "label" in tooltip and "cosine" in tooltip and "|" in tooltip, tooltip
            table = page.locator("table.harness-sortable[id^=errors-]").first
            table.evaluate("t => t.closest('details').open = true")
            columns = table.locator("thead th").all_text_contents()
            cosine = columns.index("cosine")
            cells = lambda: [float(v) for v in table.locator(f"tbody td:nth-child({cosine + 1})").all_text_contents()]
            table.locator("thead th").nth(cosine).click()
            ascending = cells()
            table.locator("thead th").nth(cosine).click()
            descending = cells()
            assert ascending == sorted(ascending) and descending == sorted(descending, reverse=True) and len(ascending) > 1
            page.locator(".harness-umap").first.scroll_into_view_if_needed()
            circle.hover()
            page.screenshot(path=str(shot))
        finally:
            browser.close()
    evidence.json("checked", {"title": True, "result columns": headers, "tooltip": tooltip, "sorted rows": len(ascending),
                              "screenshot": str(shot)})
    evidence.png("screenshot", shot.read_bytes())
