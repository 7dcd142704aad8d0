"""The PRD's before/after charts and the baseline-only views, as small PNGs (matplotlib, Agg, low dpi).

Every function takes plain arrays/dicts (no model, no pytest) and returns PNG bytes; :func:`save`
writes them into the run folder too. Colours: compatible = green, incompatible = red; baseline is
always drawn first and faded.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402

DPI = 72
COMPATIBLE, INCOMPATIBLE = "#2a9d4b", "#d1495b"
MODEL_COLOURS = {"baseline": "#8d99ae", "standard": "#1d3557", "lora": "#e76f51", "qlora": "#9b5de5"}

#: The eight before/after comparison charts (PRD §4 step 5), in order.
COMPARISON_CHARTS = ("cosine_overlay", "umap_side_by_side", "purity_bars", "roc_overlay", "category_margin_heatmap",
                     "cohens_d_bars", "training_curves", "false_positives_by_pair_type")
BASELINE_CHARTS = ("baseline_histogram", "baseline_umap", "baseline_clusters", "baseline_roc", "baseline_category_margins")
#: Natural phrasing and behaviour (issue #9).
GENERALISATION_CHARTS = ("natural_buckets", "behavioural_pass_rates", "writer_auc", "family_auc")


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=DPI)
    plt.close(fig)
    return buffer.getvalue()


def save(png: bytes, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    path.write_bytes(png)
    return path


def _colour(model: str) -> str:
    """A fixed colour per model: the four originals by name, every other model from tab10 by a stable hash."""
    import zlib

    if model in MODEL_COLOURS:
        return MODEL_COLOURS[model]
    return matplotlib.colormaps["tab10"](zlib.crc32(model.encode()) % 10)


def cosine_overlay(scored: dict[str, tuple[np.ndarray, np.ndarray]]) -> bytes:
    """1. Cosine histograms by label: baseline (faded outline) under each fine-tuned model (solid)."""
    tuned = [m for m in scored if m != "baseline"] or ["baseline"]
    fig, axes = plt.subplots(1, len(tuned), figsize=(5 * len(tuned), 3.4), squeeze=False)
    bins = np.linspace(-0.4, 1.0, 36)
    for ax, model in zip(axes[0], tuned):
        if "baseline" in scored and model != "baseline":
            s, y = scored["baseline"]
            ax.hist(s[y == 1], bins, histtype="step", color=COMPATIBLE, alpha=0.6, linestyle="--", label="baseline compatible")
            ax.hist(s[y == 0], bins, histtype="step", color=INCOMPATIBLE, alpha=0.6, linestyle="--", label="baseline incompatible")
        s, y = scored[model]
        ax.hist(s[y == 1], bins, color=COMPATIBLE, alpha=0.55, label=f"{model} compatible")
        ax.hist(s[y == 0], bins, color=INCOMPATIBLE, alpha=0.55, label=f"{model} incompatible")
        ax.set(title=f"cosine by label: baseline vs {model}", xlabel="cosine", ylabel="pairs")
        ax.legend(fontsize=7)
    return _png(fig)


def umap_side_by_side(projections: dict[str, tuple[np.ndarray, np.ndarray]]) -> bytes:
    """2. UMAP of pair vectors per model, coloured by label."""
    fig, axes = plt.subplots(1, len(projections), figsize=(4.2 * len(projections), 4), squeeze=False)
    for ax, (model, (points, labels)) in zip(axes[0], projections.items()):
        ax.scatter(points[labels == 0, 0], points[labels == 0, 1], s=7, c=INCOMPATIBLE, alpha=0.7, label="incompatible")
        ax.scatter(points[labels == 1, 0], points[labels == 1, 1], s=7, c=COMPATIBLE, alpha=0.7, label="compatible")
        ax.set(title=f"UMAP: {model}", xticks=[], yticks=[])
        ax.legend(fontsize=7, loc="best")
    return _png(fig)


def _bars(values: dict[str, float], title: str, ylabel: str, errors: dict[str, tuple[float, float]] | None = None,
          line: float | None = None) -> bytes:
    fig, ax = plt.subplots(figsize=(1.3 * len(values) + 2.5, 3.4))
    names = list(values)
    heights = [values[n] for n in names]
    yerr = None
    if errors:
        yerr = np.array([[values[n] - errors[n][0], errors[n][1] - values[n]] for n in names]).T
    ax.bar(names, heights, color=[_colour(n) for n in names], yerr=yerr, capsize=5)
    for i, h in enumerate(heights):
        ax.annotate(f"{h:.2f}", (i, h), ha="center", va="bottom", fontsize=8)
    if line is not None:
        ax.axhline(line, color="black", linestyle=":", linewidth=1, label=f"criterion {line:g}")
        ax.legend(fontsize=7)
    ax.set(title=title, ylabel=ylabel)
    return _png(fig)


def purity_bars(purity: dict[str, float], threshold: float = 0.70) -> bytes:
    """3. HDBSCAN cluster purity per model."""
    return _bars(purity, "HDBSCAN cluster purity", "purity", line=threshold)


def roc_overlay(scored: dict[str, tuple[np.ndarray, np.ndarray]], aucs: dict[str, float]) -> bytes:
    """4. ROC curves of every model on one axis, AUC in the legend."""
    fig, ax = plt.subplots(figsize=(4.6, 4))
    for model, (s, y) in scored.items():
        fpr, tpr, _ = roc_curve(y, s)
        ax.plot(fpr, tpr, color=_colour(model), label=f"{model} (AUC {aucs[model]:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
    ax.set(title="ROC: cosine as compatibility score", xlabel="false positive rate", ylabel="true positive rate")
    ax.legend(fontsize=8, loc="lower right")
    return _png(fig)


def margin_heatmap(margins: dict[str, dict[str, float | None]], title: str = "compatibility margin by category") -> bytes:
    """5. Category x model margin heatmap (blank where a category lacks one of the labels)."""
    models = list(margins)
    categories = sorted({c for m in margins.values() for c, v in m.items() if v is not None})
    grid = np.array([[np.nan if margins[m].get(c) is None else margins[m][c] for m in models] for c in categories])
    fig, ax = plt.subplots(figsize=(1.4 * len(models) + 3.2, 0.32 * len(categories) + 1.6))
    image = ax.imshow(grid, cmap="RdYlGn", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(len(models)), models)
    ax.set_yticks(range(len(categories)), categories, fontsize=7)
    for i in range(len(categories)):
        for j in range(len(models)):
            if not np.isnan(grid[i, j]):
                ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(image, ax=ax, shrink=0.8)
    ax.set_title(title)
    return _png(fig)


def cohens_d_bars(d: dict[str, float], ci: dict[str, tuple[float, float]], threshold: float = 0.8) -> bytes:
    """6. Cohen's d per model with its bootstrap 95% CI."""
    return _bars(d, "Cohen's d (95% bootstrap CI)", "d", errors=ci, line=threshold)


def training_curves(histories: dict[str, list[dict]]) -> bytes:
    """7. Eval Spearman per training step, standard and LoRA on one axis (from training_info.json)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for model, history in histories.items():
        ax.plot([h["step"] for h in history], [h["spearman"] for h in history], marker="o", markersize=3,
                color=_colour(model), label=model)
    ax.axhline(0.86, color="black", linestyle=":", linewidth=1, label="criterion 0.86")
    ax.set(title="validation Spearman during training (the monitored selection set)", xlabel="step", ylabel="Spearman")
    ax.legend(fontsize=8)
    return _png(fig)


def _grouped_bars(values: dict[str, dict[str, float]], title: str, ylabel: str, labels: dict[str, str] | None = None,
                  default: float = np.nan, size: tuple[float, float] = (6.5, 3.6), rotation: int = 30,
                  line: float | None = None, ylim: tuple[float, float] | None = None) -> bytes:
    """One bar per model in each group (pair type, bucket, kind), models side by side."""
    models = list(values)
    groups = sorted({g for v in values.values() for g in v}) or ["(none)"]
    fig, ax = plt.subplots(figsize=size)
    width = 0.8 / max(len(models), 1)
    for i, model in enumerate(models):
        ax.bar(np.arange(len(groups)) + i * width, [values[model].get(g, default) for g in groups], width,
               color=_colour(model), label=(labels or {}).get(model, model))
    if line is not None:
        ax.axhline(line, color="black", linestyle=":", linewidth=1, label=f"criterion {line:g}")
    ax.set_xticks(np.arange(len(groups)) + 0.4 - width / 2, groups, rotation=rotation, ha="right" if rotation else "center",
                  fontsize=7)
    ax.set(title=title, ylabel=ylabel, **({"ylim": ylim} if ylim else {}))
    ax.legend(fontsize=7)
    return _png(fig)


def false_positive_bars(false_positives: dict[str, dict[str, int]]) -> bytes:
    """8. False positives (incompatible pairs at/above the validation-fit threshold) by pair_type, per model."""
    return _grouped_bars(false_positives, "false positives by pair_type at each model's validation threshold", "pairs",
                         default=0)


def clusters_scatter(points: np.ndarray, clusters: np.ndarray, title: str) -> bytes:
    """Baseline view: HDBSCAN clusters on the UMAP projection (noise in grey)."""
    fig, ax = plt.subplots(figsize=(4.6, 4))
    noise = clusters < 0
    ax.scatter(points[noise, 0], points[noise, 1], s=6, c="lightgrey", label="noise")
    ax.scatter(points[~noise, 0], points[~noise, 1], s=7, c=clusters[~noise], cmap="tab20")
    ax.set(title=title, xticks=[], yticks=[])
    ax.legend(fontsize=7)
    return _png(fig)


def category_margin_bars(margins: dict[str, float | None], title: str) -> bytes:
    """Baseline view: margin per category as horizontal bars."""
    items = [(c, v) for c, v in margins.items() if v is not None]
    fig, ax = plt.subplots(figsize=(5.5, 0.3 * len(items) + 1.4))
    ax.barh([c for c, _ in items], [v for _, v in items], color=[COMPATIBLE if v > 0 else INCOMPATIBLE for _, v in items])
    ax.axvline(0, color="black", linewidth=0.8)
    ax.tick_params(axis="y", labelsize=7)
    ax.set(title=title, xlabel="margin (compatible - incompatible mean cosine)")
    return _png(fig)


def with_note(png: bytes, note: str) -> bytes:
    """The chart with a one-line note under it (e.g. which models could not be drawn)."""
    import matplotlib.image as mpimg

    image = mpimg.imread(io.BytesIO(png), format="png")
    height, width = image.shape[:2]
    fig = plt.figure(figsize=(width / DPI, height / DPI + 0.35), dpi=DPI)
    fig.figimage(image, 0, int(0.35 * DPI))
    fig.text(0.01, 0.02, note, fontsize=8, color="#b00020")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    plt.close(fig)
    return buffer.getvalue()


def bucket_means(means: dict[str, dict[str, float]], aucs: dict[str, float]) -> bytes:
    """Natural test set: mean cosine per bucket per model (AUC in the legend). Stance is learned when
    topical_incompatible sits well below paraphrase_compatible."""
    return _grouped_bars(means, "natural test: mean cosine by bucket", "mean cosine",
                         labels={m: f"{m} (AUC {aucs[m]:.2f})" for m in means}, size=(7, 3.6), rotation=20)


def group_auc_bars(by_group: dict[str, dict[str, dict]], title: str, threshold: float = 0.85) -> bytes:
    """AUC per group (writer, topic family) per model, with each group's bootstrap 95% CI as an error bar."""
    models = list(by_group)
    groups = sorted({g for v in by_group.values() for g in v}) or ["(none)"]
    fig, ax = plt.subplots(figsize=(max(6.5, 0.55 * len(groups) * max(len(models), 1) ** 0.5 + 2), 3.6))
    width = 0.8 / max(len(models), 1)
    for i, model in enumerate(models):
        cells = [by_group[model].get(g) or {} for g in groups]
        values = np.array([np.nan if c.get("auc_roc") is None else c["auc_roc"] for c in cells])
        lows = np.array([np.nan if not c.get("ci95") else c["ci95"][0] for c in cells])
        highs = np.array([np.nan if not c.get("ci95") else c["ci95"][1] for c in cells])
        x = np.arange(len(groups)) + i * width
        ax.bar(x, values, width, color=_colour(model), label=model)
        ax.errorbar(x, values, yerr=[values - lows, highs - values], fmt="none", ecolor="black", elinewidth=0.6, capsize=1.5)
    ax.axhline(threshold, color="black", linestyle=":", linewidth=1, label=f"criterion {threshold:g}")
    ax.axhline(0.5, color="grey", linestyle="--", linewidth=0.8, label="chance")
    ax.set_xticks(np.arange(len(groups)) + 0.4 - width / 2, groups, rotation=30, ha="right", fontsize=7)
    ax.set(title=title, ylabel="AUC (95% CI)", ylim=(0.3, 1.02))
    ax.legend(fontsize=7)
    return _png(fig)


def pass_rate_bars(rates: dict[str, dict[str, float]], threshold: float = 0.95) -> bytes:
    """Behavioural checks: pass rate per kind per model."""
    return _grouped_bars(rates, "behavioural checks: pass rate by kind", "pass rate", size=(6, 3.4), rotation=0,
                         line=threshold, ylim=(0, 1.05))


MATRYOSHKA_METRICS = (("cosine_spearman", "Spearman"), ("auc_roc", "AUC"), ("ndcg@10", "NDCG@10"))


def matryoshka_curves(curves: dict[str, dict[str, dict[str, float]]], set_name: str) -> bytes:
    """Spearman, AUC and NDCG@10 against truncate_dim (384/256/128/64), one line per model, for one scored set."""
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.2))
    for ax, (metric, label) in zip(axes, MATRYOSHKA_METRICS):
        for model, curve in curves.items():
            dims = sorted(curve, key=int)
            values = [curve[d].get(metric) for d in dims]
            ax.plot([int(d) for d in dims], [np.nan if v is None else v for v in values], marker="o", markersize=3,
                    color=_colour(model), label=model)
        ax.set(title=f"{label} by dimension", xlabel="truncate_dim", xticks=[64, 128, 256, 384])
    axes[0].legend(fontsize=7)
    fig.suptitle(f"Matryoshka curves: {set_name}")
    return _png(fig)
