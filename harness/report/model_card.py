"""The evidence in the model's own card: sentence-transformers writes ``README.md`` into every artifact when it saves
(base model, training hyperparameters, the trainer's Spearman on the monitored set); after an evaluation the harness
adds one section to that same file, between markers, so the folder can be handed over on its own:

* the training data's sha256 and the selection set that chose checkpoints, hyperparameters and the threshold;
* every scored set's results with 95% intervals (pair metrics, ranking metrics, decisions at the validation-fit
  threshold);
* the behavioural pass rates and the verdict with the rows that decided it.

The section is replaced, never duplicated, on each evaluation, and the artifact's manifest entry for ``README.md``
is refreshed so the cache's size and hash checks stay true.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from harness import __version__
from harness.data.dataset import write_atomic
from harness.models.cache import MANIFEST, file_sha256
from harness.evaluation.formatting import cell

BEGIN = "<!-- harness-evidence:begin -->"
END = "<!-- harness-evidence:end -->"
CARD = "README.md"
CARD_METRICS = ("n", "cosine_spearman", "auc_roc", "compatibility_margin", "cohens_d", "cosine_f1", "cosine_mcc",
                "cosine_ap", "ndcg@10", "mrr@10", "recall@1", "recall@10", "map@100", "compatible_above_incompatible")


def evidence_markdown(model: str, dataset_name: str, info: dict | None, by_set: dict[str, dict],
                      roles: dict[str, str], behavioural: dict | None, verdict) -> str:
    lines = [BEGIN, "", f"## Evidence from the dating-compatibility harness ({dataset_name}, {date.today().isoformat()})", ""]
    if verdict is not None:
        lines += [f"**Verdict: {verdict.decision}** — {verdict.summary(5)}", ""]
    if info:
        shas = ", ".join(f"`{k}` {v}" for k, v in (info.get("data_sha256") or {}).items())
        lines += [f"- Training data sha256: {shas}",
                  f"- Selection set: `{info.get('monitored_set')}` (10% of the training file, held out; it chose the "
                  "checkpoint's hyperparameters and the decision threshold). Natural-phrasing recipes also chose on "
                  "`natural_dev`.",
                  f"- Prompt: {info.get('prompt')!r}" if info.get("prompt") else "- Prompt: none",
                  f"- Trainable parameters: {info.get('trainable_parameters'):,}; training wall time "
                  f"{info.get('wall_time_s')} s; peak RSS {info.get('peak_rss_mb', '–')} MB", ""]
    lines += ["| scored set (role) | " + " | ".join(CARD_METRICS) + " |", "|---" * (len(CARD_METRICS) + 1) + "|"]
    for set_name, metrics in by_set.items():
        lines.append(f"| {set_name} ({roles.get(set_name, '?')}) | " + " | ".join(cell(metrics, m) for m in CARD_METRICS) + " |")
    if behavioural:
        rates = ", ".join(f"{k} {v['rate']:.2f} ({v['cases']} cases)" for k, v in behavioural.items())
        lines += ["", f"Behavioural pass rates: {rates}."]
    lines += ["", f"Values are 95% bootstrap intervals (pairs; queries for ranking metrics). Harness {__version__}.", "", END]
    return "\n".join(lines)


def write_evidence(artifact: Path, section: str) -> Path:
    """Put ``section`` into the artifact's card (replacing an earlier one) and refresh its manifest entry."""
    card = artifact / CARD
    text = card.read_text(encoding="utf-8") if card.is_file() else ""
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    write_atomic(card, text.encode("utf-8"))
    manifest_path = artifact / MANIFEST
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        manifest["files"][CARD] = {"size": card.stat().st_size, "sha256": file_sha256(card)}
        write_atomic(manifest_path, json.dumps(manifest, indent=1).encode())
    return card
