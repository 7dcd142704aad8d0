"""Model-assisted label review (confident learning), human decisions, and their reproducible application.

* :func:`out_of_fold_scores`: k-fold; each pair is scored by a model that never trained on it.
* :func:`review_frame`: the ranked review file (CSV), one row per flagged pair, ``decision`` empty.
* :func:`read_review`: refuses unknown decisions, duplicated ids, ids not in the dataset, and files made
  for another version of the data (keyed by sha256).
* :func:`apply_review`: writes the curated JSONL and a JSONL audit log; the source is never edited, and
  applying twice gives the same bytes (times come from the review file, not the clock).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from harness.data.dataset import DatasetError, Problem, dumps_pairs, write_atomic
from harness.curation.expand import with_ids

DECISIONS = ("keep", "remove", "relabel")
REVIEW_COLUMNS = ("id", "text_1", "text_2", "label", "oof_score", "base_cosine", "label_error_score", "reasons",
                  "decision", "decided_at", "source_sha256", "source_file")
#: The seed's rule: a positive that mentions a value is a real compatibility signal, not noise.
VALUE_KEYWORDS = ("family", "honest", "loyal", "faith", "religio", "kids", "children", "trust", "values", "church",
                  "pray", "spiritual", "career", "money", "sustainab")
LOW_POSITIVE, HIGH_NEGATIVE = 0.5, 0.5


def label_error_score(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """How likely the label is wrong: 1 - score for positives, score for negatives (scores clipped to [0, 1])."""
    clipped = np.clip(scores, 0.0, 1.0)
    return np.where(labels == 1, 1.0 - clipped, clipped)


def reasons_for(label: int, oof: float, text: str) -> list[str]:
    reasons = []
    if label == 1 and oof < LOW_POSITIVE:
        reasons.append("low-scoring positive")
    if label == 0 and oof > HIGH_NEGATIVE:
        reasons.append("high-scoring negative")
    if label == 1 and reasons and any(k in text.lower() for k in VALUE_KEYWORDS):
        reasons.append("contains a value keyword")
    return reasons


def review_frame(frame: pd.DataFrame, oof: np.ndarray, base: np.ndarray, source_sha256: str, source_file: str) -> pd.DataFrame:
    """Flagged pairs ranked by label-error score (highest first), ready for a person to decide.

    One row per id: a decision on a duplicated pair applies to every copy of it.
    """
    frame = frame if "id" in frame else with_ids(frame)
    labels = frame["label"].to_numpy()
    out = pd.DataFrame({
        "id": frame["id"].to_numpy(), "text_1": frame["text_1"].to_numpy(), "text_2": frame["text_2"].to_numpy(),
        "label": labels, "oof_score": np.round(oof, 4), "base_cosine": np.round(base, 4),
        "label_error_score": np.round(label_error_score(labels, oof), 4),
    })
    out["reasons"] = ["; ".join(reasons_for(l, s, a + " " + b)) for l, s, a, b in zip(labels, oof, out.text_1, out.text_2)]
    out = out[(out["reasons"] != "") & ~out["id"].duplicated()].sort_values(["label_error_score", "id"], ascending=[False, True], kind="stable")
    out["decision"], out["decided_at"], out["source_sha256"], out["source_file"] = "", "", source_sha256, source_file
    return out[list(REVIEW_COLUMNS)].reset_index(drop=True)


def rule_counts(review: pd.DataFrame) -> dict[str, int]:
    """How many candidates each rule produced (a row can match several)."""
    counts: dict[str, int] = {}
    for reasons in review["reasons"]:
        for reason in filter(None, reasons.split("; ")):
            counts[reason] = counts.get(reason, 0) + 1
    return counts


def write_review(review: pd.DataFrame, path: str | Path) -> Path:
    return write_atomic(path, review.to_csv(index=False).encode("utf-8"))


def _read_csv(path: Path, **kwargs) -> pd.DataFrame:
    """A review CSV as strings; unreadable, empty or non-UTF-8 files are a DatasetError naming the file."""
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as err:
        raise DatasetError(path, [Problem(str(path), 0, "", f"not a readable CSV: {err}")]) from None


def read_review(path: str | Path, source: pd.DataFrame, source_sha256: str) -> pd.DataFrame:
    """Load a review CSV and refuse it, naming line and field, if it cannot be applied to ``source``."""
    path = Path(path)
    review = _read_csv(path)
    missing = [c for c in ("id", "decision", "source_sha256") if c not in review]
    if missing:
        raise DatasetError(path, [Problem(str(path), 1, c, "missing column") for c in missing])
    known = set(source["id"]) if "id" in source else set(with_ids(source)["id"])
    problems = []
    seen: dict[str, int] = {}
    for i, row in enumerate(review.itertuples(index=False), start=2):  # line 1 is the header
        if row.source_sha256 != source_sha256:
            problems.append(Problem(str(path), i, "source_sha256", f"made for another version of the data ({row.source_sha256[:12]}…, "
                                                               f"this file is {source_sha256[:12]}…)"))
        if row.decision not in DECISIONS + ("",):
            problems.append(Problem(str(path), i, "decision", f"unknown decision {row.decision!r} (use {', '.join(DECISIONS)} or leave empty)"))
        if row.id in seen:
            problems.append(Problem(str(path), i, "id", f"duplicated id {row.id} (first on line {seen[row.id]})"))
        seen.setdefault(row.id, i)
        if row.id not in known:
            problems.append(Problem(str(path), i, "id", f"id {row.id} is not in the dataset"))
    if problems:
        raise DatasetError(path, problems)
    return review


@dataclass
class Applied:
    curated: pd.DataFrame
    audit: list[dict]

    def counts(self) -> dict[str, int]:
        removed = sum(a["action"] == "remove" for a in self.audit)
        relabelled = sum(a["action"] == "relabel" for a in self.audit)
        return {"rows": len(self.curated), "removed": removed, "relabelled": relabelled}


def apply_decisions(source: pd.DataFrame, review: pd.DataFrame) -> Applied:
    """Remove and relabel (to 0) as decided; everything else unchanged. Source order is kept."""
    source = source if "id" in source else with_ids(source)
    decided = review[review["decision"].isin(["remove", "relabel"])].set_index("id")
    audit = []
    keep = []
    labels = source["label"].to_numpy().copy()
    for pos, rid in enumerate(source["id"]):
        if rid not in decided.index:
            keep.append(True)
            continue
        row = decided.loc[rid]
        entry = {"id": rid, "old_label": int(labels[pos]), "action": row["decision"], "reason": row.get("reasons", ""),
                 "time": row.get("decided_at", "")}
        if row["decision"] == "remove":
            keep.append(False)
            entry["new_label"] = None
        else:
            keep.append(True)
            labels[pos] = 0
            entry["new_label"] = 0
        audit.append(entry)
    curated = source.assign(label=labels)[keep]
    return Applied(curated.reset_index(drop=True), audit)


def write_applied(applied: Applied, curated_path: str | Path, audit_path: str | Path) -> tuple[Path, Path]:
    log = "".join(json.dumps(a, sort_keys=True) + "\n" for a in applied.audit).encode()
    return write_atomic(curated_path, dumps_pairs(applied.curated)), write_atomic(audit_path, log)


def verify_curated(source: pd.DataFrame, curated: pd.DataFrame, audit: list[dict]) -> list[str]:
    """The gates on a curated set: removed ids absent, relabelled ids label 0, counts match the audit log."""
    problems = []
    curated = curated if "id" in curated else with_ids(curated)
    by_id = dict(zip(curated["id"], curated["label"]))
    ids = set(by_id)
    removed = [a["id"] for a in audit if a["action"] == "remove"]
    relabelled = [a["id"] for a in audit if a["action"] == "relabel"]
    problems += [f"removed id {i} is still present" for i in removed if i in ids]
    problems += [f"relabelled id {i} has label {by_id.get(i)}" for i in relabelled if by_id.get(i) != 0]
    if len(curated) != len(source) - len(removed):
        problems.append(f"{len(curated)} rows, expected {len(source)} - {len(removed)} removed")
    return problems


def apply_review_file(review_path: str | Path, out: str | Path | None = None) -> tuple[Path, Path, dict[str, int]]:
    """Validate a review file against the source it names, then write ``<source>_curated.jsonl`` and
    ``<source>_curated_audit.jsonl`` (beside the review file unless ``out``); the source is never touched."""
    from harness.data.dataset import file_sha256, read_pairs

    review_path = Path(review_path)
    header = _read_csv(review_path, nrows=1)
    if "source_file" not in header or header.empty:
        raise DatasetError(review_path, [Problem(str(review_path), 1, "source_file", "missing: this is not a review file")])
    source_path = Path(header["source_file"].iloc[0])
    if not source_path.is_file():
        raise DatasetError(review_path, [Problem(str(review_path), 2, "source_file", f"{source_path} does not exist")])
    source = with_ids(read_pairs(source_path))
    review = read_review(review_path, source, file_sha256(source_path))
    applied = apply_decisions(source, review)
    curated_path = Path(out) if out else review_path.parent / f"{source_path.stem}_curated.jsonl"
    audit_path = curated_path.with_name(curated_path.stem + "_audit.jsonl")
    problems = verify_curated(source, applied.curated, applied.audit)
    if problems:
        raise RuntimeError(f"curated set fails its own gates: {problems}")
    write_applied(applied, curated_path, audit_path)
    return curated_path, audit_path, applied.counts()


def out_of_fold_scores(frame: pd.DataFrame, dataset, spec, k: int = 3, progress: bool = False) -> np.ndarray:
    """Cosine of every pair from the fold model that did not train on it (folds by stable id, so rows can move)."""
    from harness.models.training import ensure_trained
    from harness.models.embeddings import encode, load_model
    from harness.evaluation.metrics import cosine_scores
    from harness.paths import models_dir

    frame = frame if "id" in frame else with_ids(frame)
    folds = np.array([int(i, 16) % k for i in frame["id"]])
    scores = np.zeros(len(frame))
    for fold in range(k):
        train_part = frame[folds != fold]
        payload = dumps_pairs(train_part)
        train_file = write_atomic(models_dir() / "folds" / f"{hashlib.sha256(payload).hexdigest()[:16]}.jsonl", payload)
        artifact = ensure_trained(spec, dataset, train_file=train_file, progress=progress)
        model = load_model(spec, artifact)
        held = frame[folds == fold]
        scores[folds == fold] = cosine_scores(encode(model, held["text_1"].tolist()), encode(model, held["text_2"].tolist()))
    return scores
