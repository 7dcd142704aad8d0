"""Behavioural checks (CheckList / Made-With-ML style) over hand-written cases in ``data/behavioural/cases.jsonl``.

- INV: a small change (swapped texts, case, trailing punctuation, a ``boy:``/``girl:`` prefix added or removed,
  a one-letter typo) moves the pair's cosine by at most ``INV_TOLERANCE``.
- DIR: negating the second person's stance lowers the cosine by at least ``DIR_MIN_DROP``.
- MFT: a dealbreaker minimal pair scores below the model's decision threshold fitted on the validation split.

Pure over a scoring function ``cosine(pairs) -> array``, so any model (or exported encoder) can be checked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.paths import PROJECT_ROOT

CASES_FILE = PROJECT_ROOT / "data" / "behavioural" / "cases.jsonl"
KINDS = ("INV", "DIR", "MFT")
INV_TOLERANCE = 0.05
DIR_MIN_DROP = 0.30


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    perturbation: str
    a: tuple[str, str]
    b: tuple[str, str] | None


def load_cases(path: Path = CASES_FILE) -> list[Case]:
    """Every case; a malformed line is a ValueError naming file:line and the field."""
    cases, seen = [], set()
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not valid UTF-8 (byte offset {err.start})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            if not isinstance(raw, dict):
                raise ValueError(f"expected a JSON object, got {type(raw).__name__}")
            kind, a, b = raw["kind"], raw["a"], raw.get("b")
            if kind not in KINDS:
                raise ValueError(f"kind: {kind!r} is not one of {KINDS}")
            if not (isinstance(a, list) and len(a) == 2 and all(isinstance(t, str) and t for t in a)):
                raise ValueError("a: must be two non-empty texts")
            if (b is None) != (kind == "MFT") or (b is not None and not (isinstance(b, list) and len(b) == 2)):
                raise ValueError("b: two texts for INV/DIR, null for MFT")
            if not isinstance(raw["id"], str) or raw["id"] in seen:
                raise ValueError(f"id: {raw['id']!r} repeats")
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{path}:{number}: {err if not isinstance(err, KeyError) else f'{err.args[0]}: missing field'}") from None
        seen.add(raw["id"])
        cases.append(Case(raw["id"], kind, raw.get("perturbation", ""), tuple(a), tuple(b) if b else None))
    return cases


def run_cases(cases: list[Case], cosine: Callable[[list[tuple[str, str]]], np.ndarray], threshold: float) -> list[dict]:
    """One result per case: the cosines, what was required and whether it held."""
    cos_a = cosine([c.a for c in cases])
    with_b = [c for c in cases if c.b is not None]
    cos_b = dict(zip((c.id for c in with_b), cosine([c.b for c in with_b]))) if with_b else {}
    results = []
    for case, a in zip(cases, cos_a):
        b = cos_b.get(case.id)
        if case.kind == "INV":
            passed, rule = abs(a - b) <= INV_TOLERANCE, f"|cos(a) - cos(b)| <= {INV_TOLERANCE}"
        elif case.kind == "DIR":
            passed, rule = a - b >= DIR_MIN_DROP, f"cos(a) - cos(b) >= {DIR_MIN_DROP}"
        else:
            passed, rule = a < threshold, f"cos(a) < validation threshold {threshold:.3f}"
        results.append({"id": case.id, "kind": case.kind, "perturbation": case.perturbation, "cos_a": float(a),
                        "cos_b": None if b is None else float(b), "rule": rule, "passed": bool(passed),
                        "a": list(case.a), "b": list(case.b) if case.b else None})
    return results


def pass_rates(results: list[dict]) -> dict[str, dict]:
    """Per kind (and overall): cases, passed, rate."""
    out = {}
    for kind in (*KINDS, "all"):
        rows = [r for r in results if kind in ("all", r["kind"])]
        passed = sum(r["passed"] for r in rows)
        out[kind] = {"cases": len(rows), "passed": passed, "rate": passed / len(rows) if rows else float("nan")}
    return out
