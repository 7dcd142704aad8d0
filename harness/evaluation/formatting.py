"""One table cell for a measured value: the formatter every table shares (leaderboard, summary, report, model card).

It sits in ``evaluation/`` so that the leaderboard can build its rows without importing from ``report/``
(``report/`` stands above ``evaluation/`` and imports from it, never the other way round).
"""

from __future__ import annotations


def cell(metrics: dict | None, name: str, ci: bool = True) -> str:
    """One table cell: "–" where the value is absent, a count as is, else the value to 3 decimals with its 95% interval
    (``ci`` and one was computed). The one formatter of the summary, leaderboard, report and model-card tables."""
    if not metrics or metrics.get(name) is None:
        return "–"
    value = metrics[name]
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    interval = metrics.get("ci95", {}).get(name) if ci else None
    return f"{value:.3f}" + (f" [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else "")
