"""The HTML evidence report: one self-contained file that ``python -m harness evaluate`` and ``pytest checks/`` share.

* :func:`summary_parts`: the report's body (headline, outcome counts, leaderboard, verdicts and one explorable
  section per model, writer-disjoint tables, every scored set's table) from a run's scorer and result. pytest puts it
  into pytest-html's summary (``fixtures/report.py``, which adds pytest's own rows of checks);
* :func:`page`: the whole page for the command line, with the same body, a criteria table (one row per criterion x
  model, ``#results-table``, as pytest-html names its table) and every chart embedded as a base64 PNG.

No network: styles and scripts are inline; images are ``data:`` URIs.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

from harness import __version__
from harness.data.scored_sets import NATURAL_UNSEEN, SCORED_SETS, get_scored_set
from harness.evaluation.judge import CriterionResult, RunResult, counts_sentence
from harness.evaluation.leaderboard import RERANK_TITLE
from harness.evaluation.scorer import Scorer
from harness.report.explore import report_sections
from harness.report.summary import group_auc_table, headline, results_table, table_html

TITLE = "Dating-compatibility embeddings: evidence report"
#: The numbers of a criterion row, as columns of the results table (pytest-html's and the command line's)
RESULT_COLUMNS = ("model", "scored set", "metric", "value [95% CI]", "threshold", "ceiling")


def result_cells(result: dict | None) -> list[str]:
    """A criterion row's numbers (``CriterionResult.to_dict()``) as :data:`RESULT_COLUMNS` cells ('' where absent)."""
    if not result:
        return [""] * len(RESULT_COLUMNS)
    value, ci = result.get("value"), result.get("ci95")
    shown = "–" if value is None else f"{value:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
    return [result["model"], result["scored_on"], result["metric"], shown,
            f"{result['op']} {result['threshold']:g} ({result['status']})", result.get("ceiling") or ""]


def summary_parts(scorer: Scorer, result: RunResult, charts_dir: Path) -> list[str]:
    """The report's body from what the run measured and decided (the Matryoshka charts are also saved in
    ``charts_dir``)."""
    metrics = result.metrics
    parts = [f"<p><b>{html.escape(headline(metrics, scorer.dataset.name))}</b></p>",
             f"<p><b>{html.escape(counts_sentence(result.counts))}</b></p>"]
    board = result.leaderboard
    if board:
        parts.append(f"<h2>Leaderboard</h2><p>Recommended: <b>{html.escape(str(board['recommended']))}</b> "
                     f"({html.escape(board['reason'])}). The rule reads selection sets only.</p>" + table_html(board["rows"])
                     + (table_html(board["lora_ratios"]) if len(board["lora_ratios"]) > 1 else "")
                     + (f"<h3>{html.escape(RERANK_TITLE)}</h3>" + table_html(board["rerank"]) if len(board.get("rerank", [])) > 1 else ""))
    parts.append(report_sections(scorer, result, charts_dir))
    for field in ("writer", "family"):  # issue #19: writers the models never met, per writer and topic family
        rows = group_auc_table(metrics, NATURAL_UNSEEN, field)
        if len(rows) > 1:
            parts.append(f"<h2>Writer-disjoint natural test: AUC by {field}</h2><p>value [95% bootstrap CI]; the "
                         f"worst {field} last.</p>" + table_html(rows))
    parts.append("<h2>Scored sets</h2>")
    for name in SCORED_SETS:
        rows = results_table(metrics, name)
        if len(rows) > 1:
            scored = get_scored_set(name)
            parts.append(f"<p>{html.escape(name)} (role <i>{scored.role}</i>: {html.escape(scored.description)}), "
                         f"value [95% bootstrap CI]:</p>" + table_html(rows))
    return parts


def dataset_identity(dataset) -> str:
    files = ", ".join(f"{name} {sha[:12]}…" for name, sha in dataset.sha256.items())
    return (f"<p>Dataset <code>{html.escape(str(dataset.root))}</code> sha256 <code>{dataset.digest}</code> "
            f"({html.escape(files)}); harness {__version__}.</p>")


OUTCOME_CLASS = {"pass": "passed", "target-met": "passed", "reported": "passed", "fail": "failed",
                 "impossible": "failed", "target-missed": "xfailed", "unavailable": "skipped"}


def criteria_table(results: list[CriterionResult]) -> str:
    """One row per criterion x model: outcome, the row's id, its numbers, what it means."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ("result", "criterion", *RESULT_COLUMNS, "message"))
    rows = []
    for r in results:
        cells = [r.outcome, f"{r.model}-{r.criterion.id}", *result_cells(r.to_dict() if r.value is not None else None),
                 r.message]
        rows.append(f'<tr class="collapsible {OUTCOME_CLASS.get(r.outcome, "")}" data-id="{html.escape(cells[1])}">'
                    + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    return (f'<h2>Criteria</h2><table id="results-table" class="harness-criteria" border="1" cellpadding="3">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def charts_section(charts: dict[str, bytes]) -> str:
    images = "".join(f'<figure data-name="{html.escape(name)}"><img alt="{html.escape(name)}" '
                     f'src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}"/>'
                     f"<figcaption>{html.escape(name)}</figcaption></figure>" for name, png in charts.items())
    return f"<h2>Charts</h2>{images}" if images else ""


STYLE = """<style>
body{font-family:sans-serif;margin:1em 2em;font-size:14px}
table{border-collapse:collapse;margin:.5em 0}
td,th{padding:.2em .4em}
tr.failed td:first-child{color:#cf222e;font-weight:bold}
tr.passed td:first-child{color:#1a7f37}
figure{display:inline-block;margin:.5em}
</style>"""


def page(body: list[str]) -> str:
    """A whole self-contained HTML document."""
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"/><title>{html.escape(TITLE)}</title>{STYLE}'
            f"</head><body><h1>{html.escape(TITLE)}</h1>{''.join(body)}</body></html>")
