"""The quality gate of a shipped export (issue #12): ``NAME@onnx`` / ``NAME@onnx-int8`` against the PyTorch ``NAME``.

Selected with ``--model``, e.g. ``pytest checks/ -m model --model standard@onnx-int8``; with plain model names these
checks are not generated (an empty parameter set, reported as skipped). The export is built on demand
(``python -m harness export`` builds the same folder). On the eval set and the natural test set:

* Spearman and AUC of the export within 1% (relative) of the PyTorch model's;
* per-text cosine between the export's embedding and the PyTorch model's: mean >= 0.99, min >= 0.95 (the worst
  texts are named in the failure and attached as evidence);
* the export gets the PyTorch model's verdict (DEPLOY / REVIEW / FAIL over the same criteria; rows that move
  are attached);
* a cross-encoder's export: per-pair probabilities close to the CrossEncoder's (fp32 to float noise, int8 within
  sanity bounds);
* a LoRA export encodes like the PyTorch adapter, not like the base model (an unmerged adapter exported as the base
  would pass the other checks against a base-model reference, and fail here).
"""

from __future__ import annotations

from importlib.util import find_spec

import numpy as np
import pytest

from harness.data.scored_sets import EVAL, NATURAL_TEST
from harness.evaluation.criteria import BEHAVIOURAL, cases
from harness.evaluation.metrics import auc_roc, cosine_spearman
from harness.models.registry import split_export_name

pytestmark = [pytest.mark.model, pytest.mark.skipif(find_spec("onnxruntime") is None,
                                                    reason="the export extra is not installed (scripts/setup export)")]

SETS = (EVAL, NATURAL_TEST)
RELATIVE_TOLERANCE = 0.01
MEAN_COSINE, MIN_COSINE = 0.99, 0.95
#: fp32 exports reproduce the PyTorch embeddings to float noise; int8 ones only approximately.
FP32_MAX_ABS_DIFF = 1e-4
#: A cross-encoder's int8 export: per-pair probability vs the CrossEncoder's (sanity bounds, see the test).
INT8_MEAN_PROBABILITY_DIFF, INT8_MAX_PROBABILITY_DIFF = 0.02, 0.15


def _source(exported_model: str) -> str:
    return split_export_name(exported_model)[0]


def _labels(store, set_name: str) -> np.ndarray:
    frame = store.frame(set_name)
    if frame is None or not len(frame):
        pytest.skip(f"scored set {set_name} has no rows for {store.dataset.root}")
    return frame["label"].to_numpy()


def _text_embeddings(store, name: str, set_name: str) -> dict[str, np.ndarray]:
    """{text: embedding} for every text of the set, from the model's (cached) pair embeddings."""
    frame = store.frame(set_name)
    e1, e2 = store.ref(name).pair_embeddings(frame)
    out = dict(zip(frame["text_1"], e1))
    out.update(zip(frame["text_2"], e2))
    return out


def _per_text_cosines(store, a: str, b: str) -> dict[str, float]:
    cosines = {}
    for set_name in SETS:
        _labels(store, set_name)
        ea, eb = _text_embeddings(store, a, set_name), _text_embeddings(store, b, set_name)
        for text, vector in ea.items():
            other = eb[text]
            cosines[text] = float(vector @ other / (np.linalg.norm(vector) * np.linalg.norm(other)))
    return cosines


def test_export_scores_within_one_percent(exported_model, store, evidence):
    """Spearman and AUC of the export within 1% (relative) of the PyTorch model's, on eval and natural test."""
    source = _source(exported_model)
    rows, problems = {}, []
    for set_name in SETS:
        labels = _labels(store, set_name)
        for metric, fn in (("cosine_spearman", cosine_spearman), ("auc_roc", auc_roc)):
            reference = fn(store.scores(source, set_name), labels)
            exported = fn(store.scores(exported_model, set_name), labels)
            relative = abs(exported - reference) / abs(reference)
            rows[f"{set_name}/{metric}"] = {"pytorch": reference, "export": exported, "relative_diff": relative,
                                            "absolute_diff": exported - reference, "n": int(len(labels))}
            if relative > RELATIVE_TOLERANCE:  # relative, as issue #12 sets it, however small the PyTorch value
                problems.append(f"{set_name} {metric}: export {exported:.4f} vs PyTorch {reference:.4f} "
                                f"({relative:.2%} > {RELATIVE_TOLERANCE:.0%}; absolute {exported - reference:+.4f})")
    evidence.json("metrics", rows)
    assert not problems, f"{exported_model} vs {source}: " + "; ".join(problems)


def test_export_embeddings_match_pytorch(exported_model, store, evidence):
    """Per-text cosine between the export's embedding and the PyTorch model's: mean >= 0.99, min >= 0.95."""
    source = _source(exported_model)
    if not store.ref(source).embeds:
        pytest.skip(f"{source} is a {store.ref(source).spec.kind}: no embeddings; its pair scores are compared in "
                    f"test_export_pair_scores_match_pytorch")
    cosines = _per_text_cosines(store, exported_model, source)
    values = np.array(list(cosines.values()))
    worst = sorted(cosines.items(), key=lambda kv: kv[1])[:10]
    summary = {"texts": len(values), "mean": float(values.mean()), "min": float(values.min()),
               "p01": float(np.quantile(values, 0.01)), "below_0.99": int((values < 0.99).sum()),
               "sets": list(SETS)}
    evidence.json("cosine to PyTorch", summary)
    evidence.json("worst texts", [{"text": t, "cosine": c} for t, c in worst])
    listing = "; ".join(f"{c:.4f} {t!r}" for t, c in worst[:5])
    assert values.mean() >= MEAN_COSINE and values.min() >= MIN_COSINE, (
        f"{exported_model} vs {source} over {len(values)} texts: mean cosine {values.mean():.4f} (>= {MEAN_COSINE}), "
        f"min {values.min():.4f} (>= {MIN_COSINE}); worst: {listing}")


def test_export_pair_scores_match_pytorch(exported_model, store, evidence):
    """A cross-encoder's export: per-pair probability (both orders averaged, as the harness scores) against the
    CrossEncoder's, on eval and natural test. fp32: max |diff| <= 1e-4; int8: mean |diff| <= 0.02 and max <= 0.15
    (sanity bounds on single pairs: the gate on quality is the 1% rule on Spearman and AUC, and the verdict)."""
    source = _source(exported_model)
    if store.ref(source).embeds:
        pytest.skip(f"{source} has embeddings: compared in test_export_embeddings_match_pytorch")
    diffs, worst = [], []
    for set_name in SETS:
        _labels(store, set_name)
        frame = store.frame(set_name)
        delta = np.abs(store.scores(exported_model, set_name) - store.scores(source, set_name))
        diffs.append(delta)
        worst += [(float(d), a, b) for d, a, b in zip(delta, frame["text_1"], frame["text_2"])]
    values = np.concatenate(diffs)
    worst = sorted(worst, reverse=True)[:10]
    summary = {"pairs": len(values), "mean_abs_diff": float(values.mean()), "max_abs_diff": float(values.max()),
               "p99": float(np.quantile(values, 0.99)), "sets": list(SETS)}
    evidence.json("probability difference to PyTorch", summary)
    evidence.json("worst pairs", [{"text_1": a, "text_2": b, "abs_diff": d} for d, a, b in worst])
    listing = "; ".join(f"{d:.4f} ({a!r}, {b!r})" for d, a, b in worst[:3])
    if split_export_name(exported_model)[1] == "onnx":
        assert values.max() <= FP32_MAX_ABS_DIFF, f"{exported_model}: max |diff| {values.max():.2e}; worst: {listing}"
    else:
        assert values.mean() <= INT8_MEAN_PROBABILITY_DIFF and values.max() <= INT8_MAX_PROBABILITY_DIFF, (
            f"{exported_model} vs {source} over {len(values)} pairs: mean |diff| {values.mean():.4f} "
            f"(<= {INT8_MEAN_PROBABILITY_DIFF}), max {values.max():.4f} (<= {INT8_MAX_PROBABILITY_DIFF}); worst: {listing}")


def test_export_keeps_the_verdict(exported_model, store, evidence):
    """The export gets the PyTorch model's verdict (DEPLOY / REVIEW / FAIL over the same criteria); rows whose outcome
    moves are attached as evidence, with the behavioural cases that flip."""
    from harness.evaluation.verdict import decide

    source = _source(exported_model)
    rows, changed, before_results, after_results = [], [], [], []
    for criterion, model in cases([source], default_data=store.default_data):
        if model != source:
            continue
        before, after = store.run.judge(criterion, source), store.run.judge(criterion, exported_model)
        if before.outcome == "unavailable":
            pytest.skip(before.message)
        before_results.append(before)
        after_results.append(after)
        rows.append({"criterion": criterion.id, "pytorch": before.outcome, "export": after.outcome,
                     "pytorch_value": before.value, "export_value": after.value})
        if after.outcome != before.outcome:
            changed.append(f"{criterion.id}: {before.outcome} ({before.value:.4f}) -> {after.outcome} "
                           f"({after.value if after.value is None else round(after.value, 4)})"
                           + (f" [cases that flip: {_flipped_cases(store, source, exported_model, criterion)}]"
                              if criterion.scored_on == BEHAVIOURAL else ""))
    pytorch, export = decide(before_results, source), decide(after_results, exported_model)
    evidence.json("verdicts", {"pytorch": pytorch.to_dict(), "export": export.to_dict(), "rows": rows,
                               "rows whose outcome moved": changed})
    assert rows, f"no criterion judges {source}"
    assert export.decision == pytorch.decision, (
        f"{exported_model} is {export.decision}, {source} is {pytorch.decision}: " + "; ".join(changed))


def _flipped_cases(store, source: str, exported: str, criterion) -> str:
    """Behavioural cases of the criterion's kind that pass for one model and fail for the other, with the measure."""
    kind = criterion.metric.split("_")[1].upper()
    before = {r["id"]: r for r in store.behavioural(source) if r["kind"] == kind}
    after = {r["id"]: r for r in store.behavioural(exported) if r["kind"] == kind}

    def measure(r):
        return r["cos_a"] if r["cos_b"] is None else r["cos_a"] - r["cos_b"]

    return ", ".join(f"{i} {measure(before[i]):+.4f}->{measure(after[i]):+.4f} ({'pass' if after[i]['passed'] else 'fail'})"
                     for i in before if before[i]["passed"] != after[i]["passed"])


def test_lora_export_is_the_adapter_not_the_base(exported_model, store, evidence):
    """A LoRA export encodes like the PyTorch adapter (base + load_adapter), and measurably unlike the base model."""
    source = _source(exported_model)
    if store.ref(source).spec.kind != "lora":
        pytest.skip(f"{source} is not an adapter model")
    texts = {}
    for name in (exported_model, source, "baseline"):
        embeddings = _text_embeddings(store, name, EVAL)
        texts[name] = np.stack([embeddings[t] for t in sorted(embeddings)])
    export, adapter, base = texts[exported_model], texts[source], texts["baseline"]
    to_adapter, to_base = float(np.abs(export - adapter).max()), float(np.abs(export - base).max())
    cos_adapter = float((export * adapter).sum(axis=1).mean())
    cos_base = float((export * base).sum(axis=1).mean())
    adapter_vs_base = float(np.abs(adapter - base).max())
    evidence.json("distances", {"max_abs_diff_to_adapter": to_adapter, "max_abs_diff_to_base": to_base,
                                "mean_cosine_to_adapter": cos_adapter, "mean_cosine_to_base": cos_base,
                                "adapter_vs_base_max_abs_diff": adapter_vs_base, "texts": len(export)})
    assert adapter_vs_base > 1e-2, f"{source}: the PyTorch adapter itself encodes like the base model"
    if split_export_name(exported_model)[1] == "onnx":
        assert to_adapter <= FP32_MAX_ABS_DIFF, f"{exported_model}: max |diff| to the adapter {to_adapter:.2e}"
    else:  # int8: closer to the adapter than to the base on every measure, by a wide margin
        assert to_adapter < to_base / 2 and cos_adapter > cos_base, (
            f"{exported_model}: max |diff| to adapter {to_adapter:.3f}, to base {to_base:.3f}; "
            f"mean cosine to adapter {cos_adapter:.4f}, to base {cos_base:.4f}")
    assert to_base > 1e-2 and cos_base < MEAN_COSINE, (
        f"{exported_model} encodes like the base model (max |diff| {to_base:.2e}, mean cosine {cos_base:.4f}): "
        f"was the adapter merged?")
