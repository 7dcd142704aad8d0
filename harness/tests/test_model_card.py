"""The evidence section of a model card: replaced (never duplicated) and the artifact's manifest kept true."""

from __future__ import annotations

import json

import pytest

from harness.evaluation.verdict import Verdict
from harness.models.cache import file_sha256, manifest_problems, write_manifest
from harness.report.model_card import BEGIN, END, evidence_markdown, write_evidence

pytestmark = pytest.mark.unit


def test_section_is_replaced_and_the_manifest_follows(tmp_path):
    (tmp_path / "README.md").write_text("# Sentence Transformer model\n\ncard by sentence-transformers\n")
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    write_manifest(tmp_path)
    metrics = {"eval": {"n": 10, "cosine_spearman": 0.8, "auc_roc": 0.9, "ci95": {"auc_roc": [0.85, 0.95]}, "ndcg@10": 0.4}}
    info = {"data_sha256": {"train": "ab" * 32}, "monitored_set": "validation", "trainable_parameters": 10,
            "wall_time_s": 1.0, "peak_rss_mb": 100.0}
    for decision in ("REVIEW", "DEPLOY"):
        section = evidence_markdown("m", "default", info, metrics, {"eval": "report"},
                                    {"INV": {"rate": 0.9, "cases": 50}}, Verdict("m", decision, []))
        write_evidence(tmp_path, section)
    card = (tmp_path / "README.md").read_text()
    assert card.startswith("# Sentence Transformer model") and card.count(BEGIN) == 1 and card.count(END) == 1
    assert "**Verdict: DEPLOY**" in card and "0.900 [0.850, 0.950]" in card and "ab" * 32 in card and "INV 0.90" in card
    assert manifest_problems(tmp_path, verify=True) == []
    assert json.loads((tmp_path / "manifest.json").read_text())["files"]["README.md"]["sha256"] == file_sha256(tmp_path / "README.md")
