"""The history chart: one model's primary metric on each scored set across runs, with each run's 95% CI.

In the style of :mod:`harness.report.charts` (plain data in, PNG bytes out, Agg, low dpi). The report shows it for
the recommended model (``fixtures/history.py``); ``python -m harness history --chart FILE --model NAME`` writes it.
"""

from __future__ import annotations

import numpy as np

from harness.report import charts

#: Series are drawn with these colours in order (tab10), one per scored set.
_PALETTE = "tab10"


def primary_series(trends) -> dict[str, list]:
    """{"set: metric": [TrendPoint, ...]} from :meth:`HistoryStore.trends` rows of one model, oldest first, keeping
    each set's primary metric only."""
    from harness.history.compare import primary_metric

    return {f"{t.scored_set}: {t.metric}": list(t.recent) for t in trends if t.metric == primary_metric(t.scored_set)}


def history_chart(series: dict[str, list], title: str) -> bytes:
    """One line per series over the runs (x: run, labelled by date), a shaded band for each point's 95% CI."""
    import matplotlib
    import matplotlib.pyplot as plt

    runs = sorted({(p.finished_at, p.run_id) for points in series.values() for p in points})
    index = {run_id: i for i, (_, run_id) in enumerate(runs)}
    fig, ax = plt.subplots(figsize=(max(6.0, 0.35 * len(runs) + 3.5), 3.8))
    colours = matplotlib.colormaps[_PALETTE]
    for i, (name, points) in enumerate(sorted(series.items())):
        xs = np.array([index[p.run_id] for p in points])
        ys = np.array([np.nan if p.value is None else p.value for p in points], dtype=float)
        lo = np.array([p.ci[0] if p.ci else np.nan for p in points], dtype=float)
        hi = np.array([p.ci[1] if p.ci else np.nan for p in points], dtype=float)
        colour = colours(i % 10)
        ax.plot(xs, ys, marker="o", markersize=3, color=colour, label=name)
        if np.isfinite(lo).any():
            ax.fill_between(xs, lo, hi, color=colour, alpha=0.15, linewidth=0)
    step = max(1, len(runs) // 12)
    ax.set_xticks(range(0, len(runs), step), [runs[i][0][:10] for i in range(0, len(runs), step)], rotation=30,
                  ha="right", fontsize=7)
    ax.set(title=title, xlabel="run", ylabel="value (95% CI band)")
    if series:
        ax.legend(fontsize=7, loc="best")
    return charts._png(fig)
