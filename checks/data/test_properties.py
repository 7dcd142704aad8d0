"""Property tests (hypothesis) drawn from the pandera schemas' own strategies.

* Loading, saving and loading again round-trips exactly (frames equal, bytes identical).
* Every single corruption of a valid row is refused with a message naming the file, the line and the field.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pandera.errors import SchemaErrors

from harness.data.dataset import DatasetError, dumps_pairs, read_pairs, write_pairs
from harness.data.schema import OODPairSchema, PairSchema

pytestmark = pytest.mark.data

PROPERTY_SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))


def _valid(frame, schema) -> bool:
    """pandera's strategies can draw values their own regex checks reject; only valid draws count."""
    try:
        schema.validate(frame, lazy=True)
        return True
    except SchemaErrors:
        return False


def _roundtrip(frame, file_name):
    assume(_valid(frame, OODPairSchema if file_name == "ood_pairs.jsonl" else PairSchema))
    with tempfile.TemporaryDirectory() as tmp:
        path = write_pairs(frame, Path(tmp) / file_name)
        first = read_pairs(path)
        assert dumps_pairs(first) == path.read_bytes()
        second = read_pairs(write_pairs(first, Path(tmp) / "again.jsonl"), schema=PairSchema if file_name != "ood_pairs.jsonl" else OODPairSchema)
        assert list(first.columns) == list(frame.columns)
        assert first.reset_index(drop=True).equals(second.reset_index(drop=True))
        assert first["label"].tolist() == frame["label"].tolist()
        assert first["text_1"].tolist() == frame["text_1"].tolist()


@PROPERTY_SETTINGS
@given(PairSchema.strategy(size=5))
def test_pair_file_roundtrips_exactly(frame):
    """Train/eval rows drawn from PairSchema survive save -> load -> save byte for byte."""
    _roundtrip(frame, "dating_pairs.jsonl")


@PROPERTY_SETTINGS
@given(OODPairSchema.strategy(size=5))
def test_ood_file_roundtrips_exactly(frame):
    """OOD rows drawn from OODPairSchema survive save -> load -> save byte for byte."""
    _roundtrip(frame, "ood_pairs.jsonl")


#: Each corruption of one field of one row: (field, new value or a sentinel to delete the field).
DELETE = object()
CORRUPTIONS = [
    ("text_1", ""), ("text_1", "I love hiking"), ("text_1", "man: I love hiking"), ("text_1", 7), ("text_1", None),
    ("text_2", " "), ("text_2", DELETE), ("text_2", ["girl: hi"]),
    ("label", 2), ("label", -1), ("label", "1"), ("label", 1.0), ("label", True), ("label", None), ("label", DELETE),
    ("category", ""), ("category", DELETE), ("category", 3),
    ("subcategory", ""), ("subcategory", DELETE),
    ("pair_type", "compatable"), ("pair_type", ""), ("pair_type", DELETE),
]


@PROPERTY_SETTINGS
@given(frame=PairSchema.strategy(size=6), row=st.integers(0, 5), corruption=st.sampled_from(CORRUPTIONS))
def test_every_single_corruption_is_refused_with_location(frame, row, corruption):
    """Corrupting one field of one valid row makes loading fail with 'file:line: field' for exactly that row."""
    assume(_valid(frame, PairSchema))
    field, value = corruption
    records = json.loads(f"[{dumps_pairs(frame).decode().strip().replace(chr(10), ',')}]")
    if value is DELETE:
        del records[row][field]
    else:
        records[row][field] = value
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "dating_pairs.jsonl"
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        with pytest.raises(DatasetError) as caught:
            read_pairs(path)
    problems = caught.value.problems
    assert any(p.line == row + 1 and p.field == field for p in problems), str(caught.value)
    assert f"{path}:{row + 1}: {field}:" in str(caught.value)
    assert all(p.line == row + 1 for p in problems), f"only line {row + 1} was corrupted: {caught.value}"
