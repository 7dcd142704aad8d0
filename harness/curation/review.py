"""Interactive review in the terminal: ``python -m harness review FILE``.

Walks the undecided rows of a review CSV one at a time, shows the pair and its scores, and records
k(eep) / r(emove) / x (relabel to 0) / s(kip) / q(uit). The file is saved (atomically) after every
answer, so quitting or a crash loses nothing and the next run resumes at the first undecided row.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from harness.curation.loop import write_review

KEYS = {"k": "keep", "r": "remove", "x": "relabel"}
PROMPT = "[k]eep  [r]emove  rela[x]bel to 0  [s]kip  [q]uit > "


def _show(row, position: int, total: int, say: Callable[[str], None]) -> None:
    say(f"\n[{position}/{total}] id {row.id}  label {row.label}  out-of-fold {row.oof_score}  base {row.base_cosine}")
    say(f"  reasons: {row.reasons}")
    say(f"  1: {row.text_1}")
    say(f"  2: {row.text_2}")


def review_interactive(path: str | Path, ask: Callable[[str], str] = input, say: Callable[[str], None] = print,
                       now: Callable[[], str] | None = None) -> dict[str, int]:
    """Decide the undecided rows of ``path``; returns counts of what was decided in this sitting."""
    path = Path(path)
    review = pd.read_csv(path, dtype=str, keep_default_na=False)
    now = now or (lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))
    pending = [i for i, d in enumerate(review["decision"]) if d == ""]
    say(f"{path}: {len(review)} rows, {len(pending)} undecided")
    decided = {"keep": 0, "remove": 0, "relabel": 0, "skipped": 0}
    for n, index in enumerate(pending, start=1):
        _show(review.iloc[index], n, len(pending), say)
        while True:
            try:
                answer = ask(PROMPT).strip().lower()
            except EOFError:
                answer = "q"
            if answer in KEYS or answer in ("s", "q"):
                break
            say(f"  unknown key {answer!r}")
        if answer == "q":
            break
        if answer == "s":
            decided["skipped"] += 1
            continue
        review.loc[index, "decision"] = KEYS[answer]
        review.loc[index, "decided_at"] = now()
        write_review(review, path)
        decided[KEYS[answer]] += 1
    remaining = int((review["decision"] == "").sum())
    say(f"saved {path}: {remaining} undecided left")
    return decided
