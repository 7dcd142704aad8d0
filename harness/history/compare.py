"""Two models on the same pairs: per scored set, the paired bootstrap delta of Spearman, AUC and the per-person
ranking metric, each labelled ``regressed``, ``improved`` or ``no detectable change`` by the rule of
``docs/adr/006-paired-regression-rule.md``.

The statistics are :func:`harness.evaluation.metrics.paired_bootstrap_diff`'s: the same stratified resamples (within
label, fixed seed 42, 1000 resamples) for both models, metric(candidate) - metric(baseline), a 95% percentile
interval. They are computed here for all resamples at once, by counting each resample's draws per distinct score
(:func:`resampled_auc_and_spearman`): the same numbers as calling scikit-learn and SciPy once per resample (a unit
test holds the two equal), a few hundred times faster. The ranking metric, ``compatible_above_incompatible`` (for each person with candidates of both labels, the
share of (compatible, incompatible) candidate pairs ordered right; ``harness.evaluation.ranking``), is resampled over
persons, paired the same way. It is the ranking metric that per-pair scores determine: NDCG@10 over a whole set's
corpus would need every text's embedding, which a stored comparison does not have.

A side of a comparison (:class:`Side`) is anything that yields one model's scores on a set's rows: a registered
model (from the store when its cache key was recorded on these rows, else from the embedding cache, training only if
the artifact is missing), a run id, a cache key recorded in the store, or the accepted entry of
``baselines/<dataset>.json``. Both sides are rounded to the coarser of their two precisions before anything is
computed, so a model compared with its own accepted float16 scores gives a delta of exactly zero.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.history.store import PairSet

REGRESSED, IMPROVED, NO_CHANGE = "regressed", "improved", "no detectable change"
SPEARMAN, AUC, RANKING = "cosine_spearman", "auc_roc", "compatible_above_incompatible"
#: The three metrics compared on every scored set (names as the harness's evaluators key them: ``{set}_{metric}``).
METRICS = (SPEARMAN, AUC, RANKING)
N_RESAMPLES, SEED, LEVEL = 1000, 42, 0.95
#: Precision of a side's scores, coarsest last; both sides are rounded to the coarser one.
PRECISIONS = ("float64", "float32", "float16")


class NotComparable(Exception):
    """This side has no scores for these rows (not recorded, or recorded on other rows); the set is skipped."""


# --- rows ---------------------------------------------------------------------------------------------------

def rows_digest(frame: pd.DataFrame) -> str:
    """16 hex characters over each pair's two texts and label, in order: equal digests, the same pairs."""
    digest = hashlib.sha256()
    for a, b, label in zip(frame["text_1"], frame["text_2"], frame["label"]):
        digest.update(f"{a}\x1f{b}\x1f{int(label)}\x1e".encode("utf-8"))
    return digest.hexdigest()[:16]


def pair_set(set_name: str, frame: pd.DataFrame) -> PairSet:
    """A set's rows as the store keeps them: digest, labels and each pair's two texts as integer codes."""
    codes, _ = pd.factorize(pd.concat([frame["text_1"], frame["text_2"]], ignore_index=True), sort=True)
    n = len(frame)
    return PairSet(set_name, rows_digest(frame), frame["label"].to_numpy().astype(np.int64),
                   np.stack([codes[:n], codes[n:]], axis=1).astype(np.int64))


def reported_only(set_name: str) -> bool:
    """Sets that are scored and shown but never decide: the ambiguous buckets ("reported, never gated")."""
    return set_name.endswith("_ambiguous")


def primary_metric(set_name: str) -> str:
    from harness.data.scored_sets import SCORED_SETS

    scored = SCORED_SETS.get(set_name)
    return scored.primary_metric if scored else SPEARMAN


def quantize(scores: np.ndarray, precision: str) -> np.ndarray:
    return np.asarray(scores, dtype=np.float64).astype(precision).astype(np.float64)


def coarser(a: str, b: str) -> str:
    return max(a, b, key=PRECISIONS.index)


# --- vectorised metrics -------------------------------------------------------------------------------------

def resampled_auc_and_spearman(scores: np.ndarray, labels: np.ndarray,
                               idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUC (ties count half, as ``roc_auc_score``) and Spearman's rho (average ranks, as ``scipy.stats.spearmanr``)
    of ``scores`` against 0/1 ``labels`` on every resample (a row of pair indices) of ``idx``.

    No resample is sorted: the distinct score values are sorted once, each resample counts its draws per value
    (positives and negatives apart), and the average rank of a value's draws is the count of smaller draws plus half
    its own count, plus a half. O(resamples x pairs) instead of a sort of every row."""
    values, group = np.unique(np.asarray(scores, dtype=float), return_inverse=True)
    idx = np.atleast_2d(idx)
    rows, n = idx.shape
    width = values.size
    drawn = group.ravel()[idx] + (np.arange(rows) * width)[:, None]
    positive = np.asarray(labels)[idx] == 1
    pos = np.bincount(drawn[positive], minlength=rows * width).reshape(rows, width).astype(float)
    neg = np.bincount(drawn[~positive], minlength=rows * width).reshape(rows, width).astype(float)
    every = pos + neg
    p, q = pos.sum(axis=1), neg.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (pos * (np.cumsum(neg, axis=1) - neg + 0.5 * neg)).sum(axis=1) / (p * q)
        centred = np.cumsum(every, axis=1) - every + (every + 1) / 2 - (n + 1) / 2  # average rank - mean rank
        one, zero = q + (p + 1) / 2 - (n + 1) / 2, (q + 1) / 2 - (n + 1) / 2  # the labels' centred average ranks
        covariance = (pos * centred).sum(axis=1) * one + (neg * centred).sum(axis=1) * zero
        rho = covariance / np.sqrt((every * centred ** 2).sum(axis=1) * (p * one ** 2 + q * zero ** 2))
    return auc, rho


def auc_and_spearman(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """AUC and Spearman's rho of one score array (:func:`resampled_auc_and_spearman` on the identity resample)."""
    auc, rho = resampled_auc_and_spearman(scores, labels, np.arange(np.asarray(scores).size))
    return float(auc[0]), float(rho[0])


def stratified_resamples(labels: np.ndarray, n_resamples: int = N_RESAMPLES, seed: int = SEED) -> np.ndarray:
    """(resamples x pairs) indices: each resample draws the positives, then the negatives, with replacement; the very
    draws of :func:`harness.evaluation.metrics.paired_bootstrap_diff` for the same seed."""
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    out = np.empty((n_resamples, pos.size + neg.size), dtype=np.int64)
    for r in range(n_resamples):  # rng.choice(a, k) draws a[rng.integers(0, len(a), k)]: the same stream, less overhead
        out[r, :pos.size] = pos[rng.integers(0, pos.size, pos.size)]
        out[r, pos.size:] = neg[rng.integers(0, neg.size, neg.size)]
    return out


def person_rates(codes: np.ndarray, labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """``compatible_above_incompatible`` per person (``harness.evaluation.ranking``): every pair counts for both of
    its texts; for a text with candidates of both labels, the share of (label-1, label-0) candidate pairs scored in
    that order (ties count half). One value per such text, in text-code order."""
    texts = np.concatenate([codes[:, 0], codes[:, 1]])
    stacked_labels = np.concatenate([labels, labels])
    stacked = np.concatenate([scores, scores])
    order = np.argsort(texts, kind="stable")
    texts, stacked_labels, stacked = texts[order], stacked_labels[order], stacked[order]
    bounds = np.flatnonzero(np.diff(texts)) + 1
    rates = []
    for lab, sc in zip(np.split(stacked_labels, bounds), np.split(stacked, bounds)):
        pos, neg = sc[lab == 1], sc[lab == 0]
        if pos.size and neg.size:
            diff = pos[:, None] - neg[None, :]
            rates.append(float(((diff > 0) + 0.5 * (diff == 0)).mean()))
    return np.asarray(rates)


def _interval(values: np.ndarray) -> tuple[float, float]:
    if np.all(np.isnan(values)):
        return (math.nan, math.nan)
    lo, hi = np.nanquantile(values, [(1 - LEVEL) / 2, 1 - (1 - LEVEL) / 2])
    return float(lo), float(hi)


# --- the rule -----------------------------------------------------------------------------------------------

def label(ci: tuple[float, float], greater_is_better: bool = True) -> str:
    """ADR 006: ``regressed`` when the whole 95% interval of candidate - baseline lies on the worse side of zero,
    ``improved`` when it lies on the better side, else ``no detectable change`` (also when it cannot be computed)."""
    lo, hi = ci
    if math.isnan(lo) or math.isnan(hi):
        return NO_CHANGE
    if not greater_is_better:
        lo, hi = -hi, -lo
    if hi < 0:
        return REGRESSED
    if lo > 0:
        return IMPROVED
    return NO_CHANGE


@dataclass(frozen=True)
class Delta:
    scored_set: str
    metric: str
    baseline: float
    candidate: float
    delta: float
    ci: tuple[float, float]
    label: str
    decides: bool  # the set's primary metric on a gated set: this row decides the comparison
    n: int  # pairs (Spearman, AUC) or persons (ranking)
    unit: str

    @property
    def key(self) -> str:
        """The evaluator key (``{set}_{metric}``, as ``PairEvaluator`` and the trainer's logs name it)."""
        return f"{self.scored_set}_{self.metric}"

    def to_dict(self) -> dict:
        return {"scored_set": self.scored_set, "metric": self.metric, "key": self.key, "baseline": self.baseline,
                "candidate": self.candidate, "delta": self.delta, "ci95": list(self.ci), "label": self.label,
                "decides": self.decides, "n": self.n, "unit": self.unit}


def paired_deltas(set_name: str, pairs: PairSet, baseline: np.ndarray, candidate: np.ndarray,
                  n_resamples: int = N_RESAMPLES, seed: int = SEED) -> list[Delta]:
    """Spearman, AUC and the ranking metric of both score arrays on ``pairs``, with paired 95% intervals."""
    labels = np.asarray(pairs.labels).astype(int)
    if len(set(labels.tolist())) < 2:
        raise NotComparable(f"{set_name} has one label only")
    a, b = np.asarray(baseline, dtype=float), np.asarray(candidate, dtype=float)
    primary = primary_metric(set_name)
    decides = not reported_only(set_name)
    identical = np.array_equal(a, b)
    point_a, point_b = auc_and_spearman(a, labels), auc_and_spearman(b, labels)
    if identical:
        auc_ci = rho_ci = (0.0, 0.0)
    else:
        idx = stratified_resamples(labels, n_resamples, seed)
        auc_a, rho_a = resampled_auc_and_spearman(a, labels, idx)
        auc_b, rho_b = resampled_auc_and_spearman(b, labels, idx)
        auc_ci, rho_ci = _interval(auc_b - auc_a), _interval(rho_b - rho_a)
    out = []
    for metric, (va, vb), ci in ((SPEARMAN, (point_a[1], point_b[1]), rho_ci), (AUC, (point_a[0], point_b[0]), auc_ci)):
        out.append(Delta(set_name, metric, float(va), float(vb), float(vb - va), ci, label(ci),
                         decides and metric == primary, labels.size, "pairs"))
    rates_a, rates_b = person_rates(pairs.codes, labels, a), person_rates(pairs.codes, labels, b)
    if rates_a.size:
        diff = rates_b - rates_a
        if identical:
            ci = (0.0, 0.0)
        else:
            rng = np.random.default_rng(seed)
            ci = _interval(diff[rng.integers(0, diff.size, size=(n_resamples, diff.size))].mean(axis=1))
        out.append(Delta(set_name, RANKING, float(rates_a.mean()), float(rates_b.mean()), float(diff.mean()), ci,
                         label(ci), decides and primary == RANKING, int(diff.size), "persons"))
    return out


# --- sides --------------------------------------------------------------------------------------------------

@dataclass
class Side:
    """One side of a comparison: a description, a cache key (where known) and its scores per set."""

    description: str
    model: str | None
    model_key: str | None
    fetch: Callable[[str, PairSet, pd.DataFrame | None], tuple[np.ndarray, str]]

    def scores(self, set_name: str, pairs: PairSet, frame: pd.DataFrame | None) -> tuple[np.ndarray, str]:
        """(scores, precision) on exactly these rows, or NotComparable with the reason."""
        return self.fetch(set_name, pairs, frame)


def stored_fetch(by_set: dict, what: str) -> Callable:
    """A fetch over {set: StoredScores or AcceptedSet} (anything with ``pairs``/``rows_digest`` and ``scores``)."""

    def fetch(set_name: str, pairs: PairSet, frame) -> tuple[np.ndarray, str]:
        found = by_set.get(set_name)
        if found is None:
            raise NotComparable(f"{what} has no scores on {set_name}")
        digest = found.pairs.rows_digest if hasattr(found, "pairs") else found.rows_digest
        if digest != pairs.rows_digest:
            raise NotComparable(f"{what} was scored on other {set_name} rows (digest {digest}, now {pairs.rows_digest}): "
                                "the data changed, so nothing is paired")
        return np.asarray(found.scores, dtype=float), getattr(found, "precision", "float32")

    return fetch


def model_side(name: str, dataset, store=None, allow_train: bool = True) -> Side:
    """A registered model on ``dataset``: recorded scores for its current key where the store has them for these
    rows, else cosines from the embedding cache (training only when the artifact is missing and ``allow_train``)."""
    from harness.models.handle import ModelRef
    from harness.paths import models_dir

    ref = ModelRef.resolve(name, dataset)
    key = ref.key

    def fetch(set_name: str, pairs: PairSet, frame) -> tuple[np.ndarray, str]:
        if store is not None:
            recorded = store.scores_for_key(key, set_name, pairs.rows_digest).get(set_name)
            if recorded is not None:
                return recorded.scores, recorded.precision
        if frame is None:
            raise NotComparable(f"{name} ({key}) has no recorded scores on {set_name}, and no dataset was given to "
                                "score it on")
        if (ref.spec.trains or ref.source is not None) and not allow_train and not (models_dir() / key).is_dir():
            raise NotComparable(f"{name} is not trained here ({models_dir() / key} is missing) and --no-train was given")
        return ref.pair_scores(frame), "float64"

    return Side(f"{name} ({key})", name, key, fetch)


def accepted_side(entry) -> Side:
    """The accepted entry of ``baselines/<dataset>.json`` (:class:`harness.history.baseline.AcceptedModel`)."""
    what = f"accepted {entry.model} ({entry.model_key})"
    sets = {name: s for name, s in entry.sets.items()}
    fetch = stored_fetch(sets, what)

    def with_precision(set_name, pairs, frame):
        scores, _ = fetch(set_name, pairs, frame)
        return scores, entry.sets[set_name].precision

    return Side(f"{what}, accepted {entry.accepted_at[:10]}: {entry.reason}", entry.model, entry.model_key, with_precision)


def run_side(store, run: dict, model: str) -> Side:
    scores = store.scores_for_run(run["seq"], model)
    keys = {m["model"]: m["model_key"] for m in run["models"]}
    what = f"{model} in run {run['run_id']}"
    return Side(f"{what} ({keys.get(model)})", model, keys.get(model), stored_fetch(scores, what))


def key_side(store, key: str) -> Side:
    what = f"cache key {key}"
    return Side(what, key.split("-")[0] if "-" in key else None, key, stored_fetch(store.scores_for_key(key), what))


def resolve_side(spec: str, dataset=None, store=None, other: str | None = None, allow_train: bool = True) -> Side:
    """``spec`` as a registered model name (``NAME`` or ``NAME@FORMAT``), ``accepted[:NAME]``, a run id (or a unique
    prefix, ``RUN[:MODEL]``) or a cache key recorded in the store. KeyError (with what was tried) otherwise."""
    from harness.models.registry import split_export_name

    if spec == "accepted" or spec.startswith("accepted:"):
        from harness.history.baseline import baseline_path, load_accepted

        name = spec.partition(":")[2] or other
        if not name:
            raise KeyError("'accepted' needs a model: accepted:NAME, or a registered model on the other side")
        if dataset is None:
            raise KeyError("'accepted' needs --dataset (the baseline file is baselines/<dataset name>.json)")
        entry = load_accepted(dataset).get(name)
        if entry is None:
            raise KeyError(f"no accepted {name} in {baseline_path(dataset)}: python -m harness accept --model {name} "
                           f"--dataset {dataset.root} --reason '...'")
        return accepted_side(entry)
    try:
        split_export_name(spec)
        registered = True
    except KeyError:
        registered = False
    if registered:
        if dataset is None:
            raise KeyError(f"{spec} is a model name: it needs a dataset (--dataset)")
        return model_side(spec, dataset, store, allow_train)
    if store is not None:
        run_part, _, model = spec.partition(":")
        try:
            run = store.find_run(run_part)
        except KeyError:
            run = None
        if run is not None:
            models = [m["model"] for m in run["models"] if m["unavailable"] is None]
            if not model:
                tuned = [m for m in models if m != "baseline"]
                if len(tuned) != 1:
                    raise KeyError(f"run {run['run_id']} has models {', '.join(models)}: name one as {run_part}:MODEL")
                model = tuned[0]
            if model not in models:
                raise KeyError(f"run {run['run_id']} has no scores of {model} (models: {', '.join(models)})")
            return run_side(store, run, model)
        if store.has_key(spec):
            return key_side(store, spec)
    where = f" or a run id / cache key recorded in {store.path}" if store is not None else " (no history store to look up run ids or cache keys)"
    raise KeyError(f"{spec!r} is not a registered model, 'accepted[:NAME]'{where}")


# --- the comparison -----------------------------------------------------------------------------------------

@dataclass
class Comparison:
    baseline: Side
    candidate: Side
    deltas: list[Delta] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # set -> why it was not compared

    @property
    def deciding(self) -> list[Delta]:
        return [d for d in self.deltas if d.decides]

    @property
    def regressed(self) -> list[Delta]:
        return [d for d in self.deciding if d.label == REGRESSED]

    @property
    def improved(self) -> list[Delta]:
        return [d for d in self.deciding if d.label == IMPROVED]

    @property
    def exit_code(self) -> int:
        return 1 if self.regressed else 0

    def summary(self) -> str:
        if not self.deltas:
            return "nothing compared: " + ("; ".join(f"{s}: {r}" for s, r in self.skipped.items()) or "no scored set")
        n = len(self.deciding)
        if self.regressed:
            head = f"regressed on {len(self.regressed)} of {n} deciding rows: " + "; ".join(_said(d) for d in self.regressed)
        else:
            head = f"no regression ({n} deciding rows)"
        if self.improved:
            head += "; improved: " + "; ".join(_said(d) for d in self.improved)
        if self.skipped:
            head += f"; not compared: {', '.join(self.skipped)}"
        return head

    def table(self) -> str:
        from harness.report.summary import table_text

        rows = [["scored set", "metric (evaluator key)", "n", "baseline", "candidate", "delta", "95% CI", "label"]]
        for d in self.deltas:
            rows.append([d.scored_set, d.key + (" *" if d.decides else ""), f"{d.n} {d.unit}", f"{d.baseline:.4f}",
                         f"{d.candidate:.4f}", f"{d.delta:+.4f}", f"[{d.ci[0]:+.4f}, {d.ci[1]:+.4f}]", d.label])
        lines = [f"baseline:  {self.baseline.description}", f"candidate: {self.candidate.description}",
                 f"paired bootstrap ({N_RESAMPLES} resamples, seed {SEED}; pairs within label, persons for the ranking "
                 "metric), 95% percentile CI of candidate - baseline; * = decides (the set's primary metric; rule: "
                 "docs/adr/006-paired-regression-rule.md)", "", table_text(rows)]
        lines += [f"not compared: {s}: {reason}" for s, reason in self.skipped.items()]
        lines += ["", f"result: {self.summary()}"]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"baseline": {"description": self.baseline.description, "model": self.baseline.model,
                             "model_key": self.baseline.model_key},
                "candidate": {"description": self.candidate.description, "model": self.candidate.model,
                              "model_key": self.candidate.model_key},
                "deltas": [d.to_dict() for d in self.deltas], "skipped": self.skipped,
                "regressed": [d.key for d in self.regressed], "improved": [d.key for d in self.improved],
                "exit_code": self.exit_code, "summary": self.summary(),
                "rule": "docs/adr/006-paired-regression-rule.md"}


def _said(d: Delta) -> str:
    return f"{d.key} {d.baseline:.4f} -> {d.candidate:.4f} ({d.delta:+.4f} [{d.ci[0]:+.4f}, {d.ci[1]:+.4f}])"


def compare_sides(baseline: Side, candidate: Side, rows: list[tuple[str, PairSet, pd.DataFrame | None]],
                  n_resamples: int = N_RESAMPLES) -> Comparison:
    """Every set of ``rows`` (name, pairs, frame or None) that both sides scored on exactly those pairs."""
    comparison = Comparison(baseline, candidate)
    for set_name, pairs, frame in rows:
        try:
            a, pa = baseline.scores(set_name, pairs, frame)
            b, pb = candidate.scores(set_name, pairs, frame)
            precision = coarser(pa, pb)
            comparison.deltas += paired_deltas(set_name, pairs, quantize(a, precision), quantize(b, precision),
                                               n_resamples)
        except NotComparable as err:
            comparison.skipped[set_name] = str(err)
    return comparison


def dataset_rows(dataset, sets: list[str] | None = None, eval_file=None) -> list[tuple[str, PairSet, pd.DataFrame]]:
    """(name, pairs, frame) of every scored set the dataset has (or of ``sets``), in registry order."""
    from harness.data.scored_sets import ScoredFrames, SetContext

    frames = ScoredFrames(SetContext(dataset, eval_file))
    available = frames.available()
    unknown = [s for s in sets or [] if s not in available]
    if unknown:
        raise KeyError(f"scored set(s) {', '.join(unknown)} not available for {dataset.root}; available: {', '.join(available)}")
    return [(name, pair_set(name, frames.frame(name)), frames.frame(name)) for name in available
            if not sets or name in sets]


def stored_rows(side: Side, store, sets: list[str] | None = None) -> list[tuple[str, PairSet, None]]:
    """Without a dataset: the rows the baseline side was scored on, as recorded (run or key sides only)."""
    if side.model_key is None:
        return []
    recorded = store.scores_for_key(side.model_key)
    return [(name, s.pairs, None) for name, s in recorded.items() if not sets or name in sets]


def check_against_accepted(entry, scores_of: Callable[[str], np.ndarray],
                           frame_of: Callable[[str], pd.DataFrame | None], model: str | None = None,
                           model_key: str | None = None) -> Comparison:
    """The regression row: the current scores of a gated model (``scores_of(set)``) against its accepted entry, on
    every set the entry holds whose rows are still the same (``frame_of(set)``; changed rows are named, skipped).
    Used by ``checks/model/test_regression.py`` and its unit tests."""
    rows = []
    skipped = {}
    for set_name in entry.sets:
        try:
            frame = frame_of(set_name)
        except KeyError as err:  # a set no longer registered
            skipped[set_name] = str(err.args[0] if err.args else err)
            continue
        if frame is None or not len(frame):
            skipped[set_name] = f"{set_name} has no rows for this dataset now"
            continue
        rows.append((set_name, pair_set(set_name, frame), frame))

    def current(set_name, pairs, frame):
        return np.asarray(scores_of(set_name), dtype=float), "float64"

    name = model or entry.model
    candidate = Side(f"{name} now ({model_key or 'current key'})", name, model_key, current)
    comparison = compare_sides(accepted_side(entry), candidate, rows)
    comparison.skipped.update(skipped)
    return comparison
