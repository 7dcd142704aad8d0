"""``docs/results.md``, generated: the measured results of the committed run summaries, one block per dataset.

Run folders (``runs/<dataset>-<digest>/``) are not committed (git-ignored, megabytes of charts). What the document
is built from is: one small JSON per dataset, ``docs/runs/<dataset>.json``, copied from a run folder's
``summary.json`` by ``python -m harness results-doc --collect runs/<dataset>-<digest>`` together with the run
folder's name and the git commit checked out when it was collected (collect right after the run, on a clean tree).
``python -m harness results-doc`` then writes ``docs/results.md`` from those files alone, so a unit test can prove
that the committed document is what the committed summaries give (``harness/tests/test_results_doc.py``).

The document is a list of section functions, :data:`SECTIONS`: each takes one dataset's summary (the JSON above)
and returns Markdown (or ``""`` to say nothing). To add a section (e.g. the writer-disjoint results), write one
such function and put it in :data:`SECTIONS` where it should appear.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from harness.data.scored_sets import EVAL, NATURAL_TEST, NATURAL_UNSEEN
from harness.evaluation.judge import counts_sentence
from harness.evaluation.leaderboard import RERANK_TITLE
from harness.paths import PROJECT_ROOT, runs_root
from harness.report.summary import table_markdown

DOC = PROJECT_ROOT / "docs" / "results.md"
SUMMARIES = PROJECT_ROOT / "docs" / "runs"
#: Per scored set: (column, metric) shown in the scored-sets table (value [95% CI]).
SET_METRICS = (("Spearman", "cosine_spearman"), ("AUC", "auc_roc"), ("margin", "compatibility_margin"))
#: What a committed summary keeps of a run's metrics (the rest stays in the run folder).
KEPT_METRICS = ("n", "cosine_spearman", "auc_roc", "compatibility_margin", "cohens_d", "cosine_f1", "cluster_purity",
                "cosine_accuracy", "cosine_mcc", "cosine_ap", "ndcg@10", "mrr@10", "recall@10",
                "generalisation_gap_auc", "cross_writer_gap_auc", "worst_writer", "worst_writer_auc", "worst_family",
                "worst_family_auc", "auc_by_writer", "auc_by_family")


# --- collecting a run folder into a committed summary -----------------------------------------------------------
def git_commit(root: Path = PROJECT_ROOT) -> tuple[str | None, bool | None]:
    """(HEAD commit, whether tracked files differ from it); (None, None) without git."""
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True, timeout=30).stdout.strip()
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit, bool(status.strip())


def compact(summary: dict, run_folder: Path, commit: str | None, dirty: bool | None) -> dict:
    """The committed summary of one run: provenance, headline, counts, verdicts, leaderboard, kept metrics."""
    name, _, digest = run_folder.name.rpartition("-")
    folder = run_folder.resolve()
    where = f"runs/{run_folder.name}" if folder.parent == runs_root() else str(folder)
    metrics = {model: {s: {k: v for k, v in m.items() if k in KEPT_METRICS}
                       | {"ci95": {k: v for k, v in (m.get("ci95") or {}).items() if k in KEPT_METRICS}}
                       for s, m in by_set.items()} for model, by_set in summary.get("metrics", {}).items()}
    return {"dataset": name or run_folder.name, "run_folder": where, "dataset_digest": digest,
            "commit": commit, "dirty": dirty, "headline": summary.get("headline"), "counts": summary.get("counts"),
            "verdicts": summary.get("verdicts", {}), "leaderboard": summary.get("leaderboard"),
            "missing": summary.get("missing", {}), "metrics": metrics, "training": summary.get("training", {})}


def collect(run_folder: Path, out_dir: Path = SUMMARIES) -> Path:
    """Copy ``run_folder/summary.json`` into ``out_dir/<dataset>.json`` (compacted, with its provenance)."""
    run_folder = Path(run_folder)
    source = run_folder / "summary.json"
    if not source.is_file():
        raise FileNotFoundError(f"{source} not found: run python -m harness evaluate (or pytest checks/) first")
    commit, dirty = git_commit()
    kept = compact(json.loads(source.read_text()), run_folder, commit, dirty)
    from harness.data.confound import benchmark_checks  # the benchmarks' own checks, measured at collect time

    kept["data_checks"] = benchmark_checks()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{kept['dataset']}.json"
    path.write_text(json.dumps(kept, indent=1, ensure_ascii=False) + "\n")
    return path


# --- sections: one dataset's summary -> Markdown ----------------------------------------------------------------
def _value(metrics: dict | None, name: str) -> str:
    if not metrics or metrics.get(name) is None:
        return "–"
    ci = (metrics.get("ci95") or {}).get(name)
    value = metrics[name]
    return str(value) if isinstance(value, int) else f"{value:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def provenance_section(s: dict) -> str:
    commit = (s.get("commit") or "unknown")[:12] + (" (uncommitted changes)" if s.get("dirty") else "")
    return (f"## {s['dataset']}\n\nRun folder `{s['run_folder']}` (dataset digest `{s['dataset_digest']}`), "
            f"collected at commit `{commit}`.")


def headline_section(s: dict) -> str:
    parts = [s["headline"]] if s.get("headline") else []
    if s.get("counts"):
        parts.append(counts_sentence(s["counts"]) + ".")
    if s.get("missing"):
        parts.append("Not run: " + "; ".join(s["missing"].values()) + ".")
    return "\n\n".join(parts)


def verdicts_section(s: dict) -> str:
    verdicts = s.get("verdicts") or {}
    if not verdicts:
        return ""
    rows = [["model", "verdict", "first deciding row"]]
    rows += [[m, v["verdict"], (v.get("reasons") or ["–"])[0]] for m, v in verdicts.items()]
    return "### Verdicts\n\n" + table_markdown(rows)


def leaderboard_section(s: dict) -> str:
    board = s.get("leaderboard")
    if not board:
        return ""
    return (f"### Leaderboard\n\nRecommended: **{board['recommended']}** ({board['reason']}).\n\n"
            + table_markdown(board["rows"])
            + (f"\n\n### Retrieve-then-rerank\n\n{RERANK_TITLE}.\n\n{table_markdown(board['rerank'])}"
               if len(board.get("rerank", [])) > 1 else ""))


def scored_sets_section(s: dict) -> str:
    metrics = s.get("metrics") or {}
    sets = list(dict.fromkeys(set_name for by_set in metrics.values() for set_name in by_set))
    if not sets:
        return ""
    rows = [["model", "scored set", "n", *(c for c, _ in SET_METRICS)]]
    for model, by_set in metrics.items():
        rows += [[model, set_name, _value(by_set[set_name], "n"), *(_value(by_set[set_name], m) for _, m in SET_METRICS)]
                 for set_name in sets if set_name in by_set]
    return "### Scored sets (value [95% bootstrap CI])\n\n" + table_markdown(rows)


def _gain(by_set: dict, standard: dict, set_name: str) -> float | None:
    a, b = (by_set.get(set_name) or {}).get("auc_roc"), (standard.get(set_name) or {}).get("auc_roc")
    return None if a is None or b is None else a - b


def writer_disjoint_section(s: dict) -> str:
    """Issue #19: every model on the writer-disjoint set beside the first natural test, the cross-writer gap, the worst
    writer and family, AUC per writer, what the confound checks found, and which recipe gains do not hold."""
    from harness.data.scored_sets import NATURAL_DEV, NATURAL_TEST, NATURAL_UNSEEN

    metrics = {m: v for m, v in (s.get("metrics") or {}).items() if NATURAL_UNSEEN in v}
    if not metrics:
        return ""
    rows = [["model", "natural_test AUC (first benchmark)", "writer-disjoint AUC", "cross-writer gap", "worst writer",
             "worst family"]]
    for model, by_set in metrics.items():
        new = by_set[NATURAL_UNSEEN]
        rows.append([model, _value(by_set.get(NATURAL_TEST), "auc_roc"), _value(new, "auc_roc"),
                     _value(new, "cross_writer_gap_auc"),
                     f"{new['worst_writer']} {new['worst_writer_auc']:.3f}" if new.get("worst_writer") else "–",
                     f"{new['worst_family']} {new['worst_family_auc']:.3f}" if new.get("worst_family") else "–"])
    parts = ["### Writer-disjoint natural test (issue #19)",
             "AUC [95% bootstrap CI]. The cross-writer gap is natural_dev AUC minus writer-disjoint AUC (CI from "
             "resampling both sets; target <= 0.05). The first natural test shares its two writers with natural_dev, "
             "and natural_train's first writers read natural_dev for style; the writer-disjoint set's ten writers "
             "wrote nothing else and read nothing else.", table_markdown(rows)]
    for field in ("writer", "family"):
        groups = sorted({g for v in metrics.values() for g in v[NATURAL_UNSEEN].get(f"auc_by_{field}", {})})
        if groups:
            table = [["model", *groups]]
            for model, by_set in metrics.items():
                by_group = by_set[NATURAL_UNSEEN].get(f"auc_by_{field}", {})
                table.append([model, *(f"{by_group[g]['auc_roc']:.2f}" if by_group.get(g, {}).get("auc_roc") is not None
                                       else "–" for g in groups)])
            parts += [f"AUC by {field} on the writer-disjoint set (with CIs in the run folder's summary.md and the report):",
                      table_markdown(table)]
    lines = []
    for model, by_set in metrics.items():
        old, new = (by_set.get(NATURAL_TEST) or {}).get("auc_roc"), by_set[NATURAL_UNSEEN].get("auc_roc")
        if model == "baseline" or old is None or new is None:
            continue
        text = f"- `{model}`: AUC {old:.3f} on the first natural test, {new:.3f} on new writers ({new - old:+.3f})"
        for ref in ("baseline", "standard"):
            if ref == model or ref not in metrics:
                continue
            g_old, g_new = _gain(by_set, metrics[ref], NATURAL_TEST), _gain(by_set, metrics[ref], NATURAL_UNSEEN)
            if g_old is None or g_new is None:
                continue
            if g_old <= 0:
                verdict = "no gain on the first natural test to begin with"
            elif g_new <= 0:
                verdict = "**the gain does not hold on new writers**"
            elif g_new < g_old / 2:
                verdict = f"**less than half of the gain holds on new writers** ({g_new / g_old:.0%})"
            else:
                verdict = f"{min(g_new / g_old, 1):.0%} of the gain holds" + (" (and more)" if g_new > g_old else "")
            text += f"; over `{ref}` {g_old:+.3f} -> {g_new:+.3f}: {verdict}"
        lines.append(text + ".")
    if lines:
        parts += ["What holds for new writers (differences of point estimates; per-pair paired comparisons: "
                  "`python -m harness compare`):", "\n".join(lines)]
    checks = s.get("data_checks")
    if checks:
        one_side = checks["label_from_one_side"]
        lines = []
        for name, found in one_side.items():
            worst = found[found["worst"]]
            lines.append(f"- {name}: label from one text alone, AUC {found['text_1']['auc_roc']:.3f} (text_1) / "
                         f"{found['text_2']['auc_roc']:.3f} (text_2), worst [{worst['ci95'][0]:.3f}, {worst['ci95'][1]:.3f}]"
                         f" (n={worst['n']}; gate <= 0.65: {'passes' if worst['auc_roc'] <= 0.65 else 'fails'}).")
        style = checks["new_vs_training_writers"]
        lines.append(f"- new writers vs natural_train writers: AUC {style['auc_roc']:.3f} [{style['ci95'][0]:.3f}, "
                     f"{style['ci95'][1]:.3f}] (gate >= 0.80: {'passes' if style['auc_roc'] >= 0.80 else 'fails'}).")
        parts += ["Confound and style checks (character n-grams + logistic regression, 5-fold cross-validated; "
                  "`checks/data/test_unseen_writers.py`). On the first benchmark one writer wrote every compatible "
                  "pair and another every incompatible one:", "\n".join(lines)]
    return "\n\n".join(parts)


def cross_encoder_section(s: dict) -> str:
    """Issue #20: the cross-encoders (teachers), the fusion, the distilled bi-encoders (students) and the stance flips
    beside the bi-encoder they build on, on the selection sets and the report sets, with how each was chosen."""
    from harness.data.scored_sets import EVAL, NATURAL_DEV, NATURAL_TEST, NATURAL_UNSEEN, VALIDATION
    from harness.models.registry import PIPELINE_BI_ENCODER, get_model_spec

    metrics, training = s.get("metrics") or {}, s.get("training") or {}
    involved = [m for m in metrics if m in training and (training[m].get("kind") in ("cross-encoder", "fusion")
                                                          or training[m].get("teacher") or m == "stance-flips")]
    if not involved:
        return ""
    models = [m for m in ("baseline", PIPELINE_BI_ENCODER) if m in metrics] + involved
    columns = ((VALIDATION, "cosine_spearman", "validation Spearman (sel.)"), (NATURAL_DEV, "auc_roc", "natural_dev AUC (sel.)"),
               (EVAL, "auc_roc", "eval AUC"), (NATURAL_TEST, "auc_roc", "natural_test AUC"),
               (NATURAL_UNSEEN, "auc_roc", "writer-disjoint AUC"), (NATURAL_TEST, "cosine_mcc", "natural_test MCC"))
    rows = [["model", "kind", *(h for _, _, h in columns), "how it was chosen / what it cost"]]
    for model in models:
        info = training.get(model, {})
        kind = info.get("kind") or get_model_spec(model).kind
        if kind == "fusion":
            how = f"w = {info['weight']:.2f} on {', '.join(info['chosen_on'])}: {info['rule']}"
        elif kind == "cross-encoder":
            how = (f"from {info.get('init_from') or 'MiniLM'}; checkpoint step {info.get('best_step')} of {info.get('steps')} "
                   f"by {', '.join(info.get('checkpoint_chosen_on', []))} AUC; {info.get('wall_time_s', 0):.0f} s, "
                   f"{info.get('threads')} thread(s)")
        elif info.get("teacher"):
            silver = (info.get("training_data") or {}).get("silver", {})
            how = (f"from {info.get('init_from')}, teacher {info['teacher']}, {silver.get('pairs', '?')} silver pairs "
                   f"({silver.get('hard', '?')} hard), {info.get('wall_time_s', 0):.0f} s, {info.get('threads')} thread(s)")
        else:
            how = f"{info.get('wall_time_s', 0):.0f} s, {info.get('threads')} thread(s)" if info else "–"
        rows.append([model, kind, *(_value(metrics[model].get(set_name), metric) for set_name, metric, _ in columns), how])
    parts = ["### Cross-encoder, fusion, distillation and stance flips (issue #20)",
             "value [95% bootstrap CI]; (sel.) marks the selection sets every choice here was made on. The cross-encoder "
             "scores a pair in both orders and averages the probabilities; rows that need two embeddings (margin, "
             "Cohen's d, clusters, Matryoshka) are judged 'not applicable' for it and for the fusion. MCC at the "
             "decision threshold fitted on the validation split.", table_markdown(rows)]
    board = s.get("leaderboard") or {}
    if len(board.get("rerank", [])) > 1:
        parts += ["Retrieve-then-rerank: the leaderboard's rerank table above."]
    return "\n\n".join(parts)


#: The document's sections, in order; each takes one dataset's committed summary and returns Markdown ("" for none).
SECTIONS: list[Callable[[dict], str]] = [provenance_section, headline_section, verdicts_section, leaderboard_section,
                                         writer_disjoint_section, cross_encoder_section, scored_sets_section]

HEADER = ("# Results\n\nGenerated by `python -m harness results-doc` from the committed run summaries in `docs/runs/` "
          "(each copied from a run folder's `summary.json` by `--collect`); do not edit by hand. Each block names "
          "the run folder and the git commit behind its tables. Measurements made before the summaries were "
          "committed: [results-archive.md](results-archive.md).\n")


def render(summaries: list[dict], sections: list[Callable[[dict], str]] | None = None) -> str:
    blocks = [HEADER]
    for summary in sorted(summaries, key=lambda s: s["dataset"]):
        blocks += [text for section in (sections or SECTIONS) if (text := section(summary))]
    return "\n\n".join(b.strip("\n") for b in blocks) + "\n"


README = PROJECT_ROOT / "README.md"
#: The README's one short results table sits between these markers and is rewritten by :func:`write`.
README_MARKERS = ("<!-- results:start (generated by python -m harness results-doc) -->", "<!-- results:end -->")
#: (column, scored set, metric) of the README's short table: the reference data's models, else the first dataset's.
README_COLUMNS = (("eval Spearman", EVAL, "cosine_spearman"), ("eval AUC", EVAL, "auc_roc"),
                  ("natural-test AUC", NATURAL_TEST, "auc_roc"), ("writer-disjoint AUC", NATURAL_UNSEEN, "auc_roc"))


#: The README's rows: the models CI gates, the recommended one and issue #20's best of each kind (every model is in
#: docs/results.md's leaderboard).
README_MODELS = ("baseline", "standard", "lora", "natural-mix", "stance-flips", "cross-encoder", "fusion", "augsbert")


def readme_block(summaries: list[dict]) -> str:
    """The README's short results table (value [95% CI]) and verdicts, from one committed summary."""
    if not summaries:
        return ""
    s = next((x for x in summaries if x["dataset"] == "reference"), sorted(summaries, key=lambda x: x["dataset"])[0])
    verdicts = s.get("verdicts") or {}
    rows = [["model", *(c for c, _, _ in README_COLUMNS), "verdict"]]
    metrics = s.get("metrics") or {}
    recommended = (s.get("leaderboard") or {}).get("recommended")
    shown = [m for m in metrics if m in README_MODELS or m == recommended]
    for model, by_set in ((m, metrics[m]) for m in shown):
        rows.append([model, *(_value(by_set.get(set_name), metric) for _, set_name, metric in README_COLUMNS),
                     (verdicts.get(model) or {}).get("verdict", "(the \"before\")" if model == "baseline" else "–")])
    commit = (s.get("commit") or "unknown")[:12]
    others = len(metrics) - len(shown)
    return (f"{s['dataset']} data, run folder `{s['run_folder']}` at commit `{commit}` (value [95% CI]"
            + (f"; {others} more model{'s' * (others > 1)} in docs/results.md" if others else "") + "):\n\n" + table_markdown(rows))


def readme_with_block(text: str, summaries: list[dict]) -> str:
    start, end = README_MARKERS
    if start not in text or end not in text:
        return text
    head, rest = text.split(start, 1)
    return f"{head}{start}\n{readme_block(summaries)}\n{end}{rest.split(end, 1)[1]}"


def load_summaries(folder: Path = SUMMARIES) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(Path(folder).glob("*.json"))]


def write(folder: Path = SUMMARIES, doc: Path = DOC, readme: Path | None = README) -> Path:
    """``docs/results.md`` and the README's short table (between :data:`README_MARKERS`) from the summaries."""
    summaries = load_summaries(folder)
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(render(summaries))
    if readme is not None and readme.is_file():
        readme.write_text(readme_with_block(readme.read_text(), summaries))
    return doc
