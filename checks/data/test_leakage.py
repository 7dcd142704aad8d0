"""Leakage gate: eval pairs found in train, shared texts and duplicates, exact and normalised.

A leak fails unless ``data/leak_acknowledgements.json`` acknowledges it for these exact files
(keyed by their sha256) with the same counts. A new or larger leak fails naming the pairs; a count
that no longer matches its acknowledgement fails too, since the detector or the data changed.
"""

from __future__ import annotations

import pytest

from harness.data.leakage import acknowledgement_key, leak_free, leak_report, load_acknowledgements, unacknowledged_leaks
from harness.paths import LEAK_ACKNOWLEDGEMENTS

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def report(dataset):
    return leak_report(dataset.train, dataset.eval, dataset.ood)


def test_no_unacknowledged_leaks(dataset, report, evidence):
    """No overlap or duplicate beyond what is acknowledged for these files."""
    evidence.json("leak_report", report.to_dict())
    problems = unacknowledged_leaks(report, dataset.sha256, load_acknowledgements(LEAK_ACKNOWLEDGEMENTS))
    examples = "\n".join(line for lines in report.examples.values() for line in lines[:5])
    assert not problems, f"{dataset.root}: " + "; ".join(problems) + f"\nexamples:\n{examples}"


def test_acknowledged_counts_are_reproduced(dataset, report, evidence):
    """Where a leak is acknowledged, the gate measures exactly the acknowledged counts (42 eval pairs in train,
    91 duplicate train rows on the reference data), so a broken detector cannot pass by finding less."""
    entry = load_acknowledgements(LEAK_ACKNOWLEDGEMENTS).get(acknowledgement_key(dataset.sha256))
    if entry is None:
        assert not any(report.gated().values()), "leaks found but none acknowledged (see test_no_unacknowledged_leaks)"
        return
    evidence.json("acknowledged", entry)
    measured = {name: getattr(report, name) for name in entry["counts"]}
    assert measured == entry["counts"], f"measured {measured} != acknowledged {entry['counts']}"


def test_leak_free_eval_subset(dataset, report, evidence):
    """The leak-free eval subset drops exactly the eval pairs found in train and keeps both labels."""
    subset = leak_free(dataset.train, dataset.eval)
    evidence.json("leak_free", {"eval_rows": len(dataset.eval), "leak_free_rows": len(subset)})
    assert len(subset) == len(dataset.eval) - report.eval_pairs_in_train_normalised
    assert set(subset["label"]) == {0, 1}
