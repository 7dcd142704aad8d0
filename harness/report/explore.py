"""The report's explorable part: one section per model with its verdict badge, an interactive UMAP, an error browser
and a side-by-side view against the baseline. Plain HTML + SVG + a few lines of inline JS (no network, no library).

Pure functions from measured data to HTML strings; :mod:`harness.report.html` puts them into the report's body.

* UMAP: the eval set's pair vectors projected to 2-D (the cached projection the charts use); hovering a point
  shows both texts, the label and the cosine in a tooltip (``#harness-tooltip``).
* Error browser: per scored set, the 25 worst false positives (label 0, highest cosine) and the 25 worst false
  negatives (label 1, lowest cosine) at the threshold fitted on the validation split, with both texts, the label,
  the cosine, the baseline's cosine and the bucket; click a column header to sort.
* Side by side: the same pairs' cosines under the baseline and the model, with the change.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

BADGE_COLOURS = {"DEPLOY": "#1a7f37", "REVIEW": "#9a6700", "FAIL": "#cf222e"}
N_WORST = 25

STYLE = """
<style>
.harness-section{border:1px solid #ccc;margin:1em 0;padding:.5em 1em}
.harness-badge{color:#fff;padding:.1em .5em;border-radius:.3em;font-weight:bold}
.harness-sortable th{cursor:pointer;background:#eee}
.harness-sortable td{max-width:28em;vertical-align:top}
#harness-tooltip{position:fixed;display:none;background:#fffbe6;border:1px solid #999;padding:.4em;max-width:32em;
  font-size:12px;pointer-events:none;z-index:1000}
.harness-umap circle{cursor:pointer}
</style>
"""

SCRIPT = """
<div id="harness-tooltip"></div>
<script>
(function () {
  const tip = document.getElementById('harness-tooltip');
  const pairs = window.HARNESS_PAIRS || {};
  const pair = (set, i) => pairs[set][i];
  document.querySelectorAll('table[data-side]').forEach((table) => {
    const set = table.dataset.side, model = JSON.parse(table.dataset.model), base = JSON.parse(table.dataset.baseline);
    const body = table.tBodies[0];
    model.forEach((m, i) => {
      const [a, b, label, bucket] = pair(set, i);
      const tr = body.insertRow();
      [a, b, label, bucket, base[i].toFixed(3), m.toFixed(3), (m - base[i]).toFixed(3)].forEach((v) => { tr.insertCell().textContent = v; });
    });
  });
  document.addEventListener('mouseover', (e) => {
    const p = e.target.closest && e.target.closest('.harness-umap circle');
    if (!p) { tip.style.display = 'none'; return; }
    const [a, b, label] = pair(p.parentNode.dataset.set, +p.dataset.i);
    tip.textContent = a + '  |  ' + b + '  |  label ' + label + '  |  cosine ' + p.dataset.c;
    tip.style.display = 'block';
    tip.style.left = (e.clientX + 12) + 'px';
    tip.style.top = (e.clientY + 12) + 'px';
  });
  document.addEventListener('click', (e) => {
    const th = e.target.closest && e.target.closest('.harness-sortable th');
    if (!th) return;
    const table = th.closest('table');
    const col = Array.from(th.parentNode.children).indexOf(th);
    const asc = th.dataset.order !== 'asc';
    th.parentNode.querySelectorAll('th').forEach((h) => delete h.dataset.order);
    th.dataset.order = asc ? 'asc' : 'desc';
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    const key = (r) => { const t = r.cells[col].textContent; const n = parseFloat(t); return isNaN(n) ? t : n; };
    rows.sort((a, b) => { const x = key(a), y = key(b); return (x > y ? 1 : x < y ? -1 : 0) * (asc ? 1 : -1); });
    rows.forEach((r) => body.appendChild(r));
  });
})();
</script>
"""


def _slug(model: str) -> str:
    """The model's name as an HTML id fragment (the verdict table links to the model's section)."""
    return "".join(c if c.isalnum() else "-" for c in model)


def badge(decision: str) -> str:
    colour = BADGE_COLOURS.get(decision, "#57606a")
    return f'<span class="harness-badge" style="background:{colour}">{html.escape(decision)}</span>'


def pairs_script(frames: dict[str, pd.DataFrame]) -> str:
    """Every scored set's pairs once (texts, label, bucket), for the tooltips and side-by-side tables of all models."""
    data = {}
    for name, frame in frames.items():
        group = next((c for c in ("bucket", "pair_type") if c in frame.columns), None)
        data[name] = [[a, b, int(l), str(g) if group else ""] for a, b, l, g in
                      zip(frame["text_1"], frame["text_2"], frame["label"], frame[group] if group else [""] * len(frame))]
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return f"<script>window.HARNESS_PAIRS = {payload};</script>"


def umap_svg(points: np.ndarray, frame: pd.DataFrame, scores: np.ndarray, model: str, set_name: str,
             size: int = 420) -> str:
    """A scatter of the 2-D projection; each point names its row of ``HARNESS_PAIRS`` and its cosine, for the tooltip."""
    points = np.asarray(points, dtype=float)
    lo, hi = points.min(axis=0), points.max(axis=0)
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    xy = 10 + (points - lo) / span * (size - 20)
    circles = []
    for i, ((x, y), label, cos) in enumerate(zip(xy, frame["label"], scores)):
        colour = "#1f77b4" if int(label) == 1 else "#d62728"
        circles.append(f'<circle cx="{x:.1f}" cy="{size - y:.1f}" r="4" fill="{colour}" fill-opacity="0.7" '
                       f'data-i="{i}" data-c="{cos:.3f}"/>')
    return (f'<svg class="harness-umap" data-model="{html.escape(model)}" data-set="{html.escape(set_name)}" '
            f'width="{size}" height="{size}" style="border:1px solid #ddd">{"".join(circles)}</svg>'
            '<div><small>UMAP of eval pair vectors; blue compatible, red incompatible; hover a point.</small></div>')


def error_rows(frame: pd.DataFrame, scores: np.ndarray, baseline: np.ndarray | None, threshold: float,
               n: int = N_WORST) -> pd.DataFrame:
    """The n worst false positives and false negatives at ``threshold`` (validation-fit)."""
    group = next((c for c in ("bucket", "pair_type") if c in frame.columns), None)
    table = pd.DataFrame({
        "error": "", "text_1": frame["text_1"].to_numpy(), "text_2": frame["text_2"].to_numpy(),
        "label": frame["label"].to_numpy().astype(int), "cosine": np.round(scores, 3),
        "baseline cosine": np.round(baseline, 3) if baseline is not None else np.nan,
        "bucket": frame[group].to_numpy() if group else "",
    })
    fp = table[(table["label"] == 0) & (table["cosine"] >= threshold)].sort_values("cosine", ascending=False).head(n)
    fn = table[(table["label"] == 1) & (table["cosine"] < threshold)].sort_values("cosine").head(n)
    return pd.concat([fp.assign(error="false positive"), fn.assign(error="false negative")], ignore_index=True)


def side_by_side_table(set_name: str, scores: np.ndarray, baseline: np.ndarray, css_id: str) -> str:
    """The set's pairs under the baseline and the model (rows filled in the browser from ``HARNESS_PAIRS``)."""
    head = "".join(f"<th>{c}</th>" for c in ("text_1", "text_2", "label", "bucket", "baseline cosine", "model cosine", "change"))
    model = json.dumps([round(float(v), 4) for v in scores])
    base = json.dumps([round(float(v), 4) for v in baseline])
    return (f'<table id="{html.escape(css_id)}" class="harness-sortable" border="1" cellpadding="3" '
            f'data-side="{html.escape(set_name)}" data-model="{model}" data-baseline="{base}">'
            f"<thead><tr>{head}</tr></thead><tbody></tbody></table>")


def sortable_table(table: pd.DataFrame, css_id: str) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if pd.isna(v) else str(v))}</td>" for v in row) + "</tr>"
                   for row in table.itertuples(index=False))
    return (f'<table id="{html.escape(css_id)}" class="harness-sortable" border="1" cellpadding="3">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def model_section(model: str, verdict, tables_html: str, umap: str | None, errors: dict[str, pd.DataFrame],
                  side_by_side: tuple[str, np.ndarray, np.ndarray] | None, threshold: float | None) -> str:
    """One model's section: verdict badge and reasons, its metric tables, UMAP, error browser, side by side."""
    slug = _slug(model)
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in (verdict.reasons if verdict else [])[:12])
    parts = [f'<div class="harness-section" id="model-{slug}"><h3>{html.escape(model)} '
             f'{badge(verdict.decision) if verdict else ""}</h3>']
    if reasons:
        parts.append(f"<details><summary>why</summary><ul>{reasons}</ul></details>")
    parts.append(tables_html)
    if umap:
        parts.append(f"<details open><summary>interactive UMAP (eval)</summary>{umap}</details>")
    if errors:
        thr = f" at the validation-fit threshold {threshold:.3f}" if threshold is not None else ""
        parts.append(f"<details><summary>error browser: {N_WORST} worst false positives and negatives per scored set{thr}"
                     "</summary>")
        for set_name, table in errors.items():
            parts.append(f"<p><b>{html.escape(set_name)}</b> ({len(table)} rows; click a header to sort)</p>"
                         + sortable_table(table, f"errors-{slug}-{set_name}"))
        parts.append("</details>")
    if side_by_side:
        set_name, scores, baseline = side_by_side
        parts.append(f"<details><summary>side by side with the baseline: {html.escape(set_name)} ({len(scores)} pairs; "
                     f"click a header to sort)</summary>{side_by_side_table(set_name, scores, baseline, f'side-{slug}-{set_name}')}"
                     "</details>")
    parts.append("</div>")
    return "".join(parts)


def page_script() -> str:
    """The tooltip and sorting code; placed after the sections and ``pairs_script`` (it fills tables on load)."""
    return SCRIPT


def verdict_overview(verdicts: dict) -> str:
    rows = "".join(f'<tr><td><a href="#model-{_slug(m)}">{html.escape(m)}</a></td>'
                   f"<td>{badge(v.decision)}</td><td>{html.escape(v.summary())}</td></tr>"
                   for m, v in verdicts.items())
    return ('<table class="harness-verdicts" border="1" cellpadding="4"><tr><th>model</th><th>verdict</th>'
            f"<th>deciding row</th></tr>{rows}</table>") + f"<!-- {html.escape(json.dumps({m: v.decision for m, v in verdicts.items()}))} -->"


def report_sections(scorer, result, charts_dir: Path) -> str:
    """The whole explorable part from a run's :class:`~harness.evaluation.scorer.Scorer` (scores, projections,
    thresholds) and :class:`~harness.evaluation.judge.RunResult` (verdicts): verdict overview, then one section per
    model. The Matryoshka charts are also saved in ``charts_dir``."""
    from harness.data.scored_sets import EVAL, the_set
    from harness.models.handle import ModelUnavailable
    from harness.report import charts
    from harness.report.summary import (RANKING_COLUMNS, TRANSFER_COLUMNS, TRANSFER_LABELS, matryoshka_table,
                                        metric_table, table_html)

    verdicts = result.verdicts
    metrics = scorer.all_metrics()
    sets = [s for s in scorer.frames.available() if any(s in v for v in metrics.values())]
    frames = {s: scorer.frame(s) for s in sets}
    baseline = "baseline" if "baseline" in scorer.runnable else None
    parts = [STYLE, "<h2>Verdicts</h2>", verdict_overview(verdicts), pairs_script(frames)]
    curves_html = []
    for s in sets:
        curves = {m: metrics[m][s]["matryoshka"] for m in metrics if s in metrics[m] and "matryoshka" in metrics[m][s]}
        if curves:
            png = charts.matryoshka_curves(curves, s)
            charts.save(png, charts_dir, f"matryoshka_{s}")
            curves_html.append(f'<img alt="Matryoshka curves {html.escape(s)}" src="data:image/png;base64,'
                               f'{base64.b64encode(png).decode()}"/>')
    if curves_html:
        parts.append("<details><summary>Matryoshka curves (one chart per scored set)</summary>" + "".join(curves_html)
                     + "</details>")
    for model in [m for m in scorer.runnable if m != "baseline"]:
        mine = {model: metrics.get(model, {})}
        tables = []
        for s in sets:
            if s not in mine[model]:
                continue
            tables.append(f"<p><b>{html.escape(s)}</b>: ranking (value [95% CI over queries])</p>"
                          + table_html(metric_table(mine, s, RANKING_COLUMNS))
                          + "<p>at the validation-fit threshold (oracle best F1 on the set itself last)</p>"
                          + table_html(metric_table(mine, s, TRANSFER_COLUMNS, TRANSFER_LABELS, with_ci=False))
                          + "<p>Matryoshka: AUC / Spearman / NDCG@10 by truncate_dim</p>"
                          + "".join(table_html(matryoshka_table(mine, s, m)) for m in ("auc_roc", "cosine_spearman", "ndcg@10")))
        try:
            threshold = scorer.threshold(model)
            umap = (umap_svg(scorer.projection(model, EVAL), frames[EVAL], scorer.scores(model, EVAL), model, EVAL)
                    if EVAL in frames and scorer.ref(model).embeds else None)  # a cross-encoder has no vectors
            errors = {s: error_rows(frames[s], scorer.scores(model, s), scorer.scores(baseline, s) if baseline else None, threshold)
                      for s in sets if s in mine[model]}
            shown = the_set("side_by_side")
            side = (shown, scorer.scores(model, shown), scorer.scores(baseline, shown)) if baseline and shown in frames else None
        except ModelUnavailable:
            continue
        parts.append(model_section(model, verdicts.get(model), "<details><summary>metrics by scored set</summary>"
                                   + "".join(tables) + "</details>", umap, errors, side, threshold))
    parts.append(page_script())
    return "".join(parts)
