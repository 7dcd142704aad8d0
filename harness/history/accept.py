"""``python -m harness accept``: score a model on every scored set and write it as the accepted entry of
``baselines/<dataset>.json`` (:mod:`harness.history.baseline` holds the file format, :mod:`harness.history.compare`
the statistics; this module joins them, so neither imports the other back)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from harness.history.baseline import AcceptedModel, AcceptedSet, baseline_path, load_file, write_file
from harness.history.compare import AUC, RANKING, SPEARMAN, auc_and_spearman, person_rates

# --- accept -------------------------------------------------------------------------------------------------

def summary_metrics(pairs, scores: np.ndarray) -> dict[str, float | None]:
    labels = np.asarray(pairs.labels).astype(int)
    auc, rho = auc_and_spearman(scores, labels)
    rates = person_rates(pairs.codes, labels, scores)
    return {SPEARMAN: rho, AUC: auc, RANKING: float(rates.mean()) if rates.size else None}


@dataclass
class Accepted:
    entry: AcceptedModel
    previous: AcceptedModel | None
    path: Path
    comparison: object | None  # the previous accepted entry vs this one, where the rows still match


def accept(dataset, model: str, reason: str, sets: list[str] | None = None, store=None,
           allow_train: bool = True) -> Accepted:
    """Score ``model`` on every scored set of ``dataset`` (or ``sets``) and write it as the accepted entry of
    ``baselines/<dataset>.json``, keeping the other models' entries. The scores come from the history store where
    the model's current key was recorded on these rows, else from the embedding cache (training only if needed)."""
    from harness.history.compare import (NotComparable, accepted_side, compare_sides, dataset_rows, model_side,
                                         quantize)
    from harness.history.record import git_state
    from harness import __version__

    reason = (reason or "").strip()
    if not reason or "\n" in reason:
        raise ValueError("--reason must be one non-empty line: why this model is the accepted one")
    path = baseline_path(dataset)
    entries = load_file(path)  # a broken file stops here, before anything is computed
    side = model_side(model, dataset, store, allow_train)
    rows = dataset_rows(dataset, sets)
    accepted_sets = {}
    for set_name, pairs, frame in rows:
        try:
            scores, _ = side.scores(set_name, pairs, frame)
        except NotComparable as err:
            raise ValueError(f"cannot accept {model}: {err}") from None
        scores = quantize(scores, "float16")
        accepted_sets[set_name] = AcceptedSet(set_name, pairs.rows_digest, pairs.n, summary_metrics(pairs, scores), scores)
    commit, dirty = git_state()
    entry = AcceptedModel(model, side.model_key, reason, datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                          commit, dirty, dataset.digest, __version__, accepted_sets)
    previous = entries.get(model)
    comparison = None
    if previous is not None:
        current = {name: s for name, s in accepted_sets.items()}
        new_side = accepted_side(entry)
        comparison = compare_sides(accepted_side(previous), new_side,
                                   [(n, p, f) for n, p, f in rows if n in previous.sets and n in current])
    entries[model] = entry
    write_file(path, entries)
    return Accepted(entry, previous, path, comparison)
