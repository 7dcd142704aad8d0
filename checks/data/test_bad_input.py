"""Bad input gate: each kind of malformed line in a copy of the dataset's train file is refused, naming file:line.

The copy lives in a temporary folder; the dataset itself is never modified.
"""

from __future__ import annotations

import json

import pytest

from harness.data.dataset import TRAIN_FILE, DatasetError, read_pairs

pytestmark = pytest.mark.data

BAD_LINE = 17  # an arbitrary line in the middle of the file


def _replace_line(lines: list[bytes], new: bytes) -> list[bytes]:
    return lines[: BAD_LINE - 1] + [new] + lines[BAD_LINE:]


def _with_record(lines, change):
    record = json.loads(lines[BAD_LINE - 1])
    change(record)
    return _replace_line(lines, json.dumps(record).encode())


CORRUPTIONS = {
    "malformed_json": (lambda lines: _replace_line(lines, lines[BAD_LINE - 1][:-5]), ""),
    "missing_field": (lambda lines: _with_record(lines, lambda r: r.pop("category")), "category"),
    "label_2": (lambda lines: _with_record(lines, lambda r: r.update(label=2)), "label"),
    "label_string": (lambda lines: _with_record(lines, lambda r: r.update(label="1")), "label"),
    "empty_text": (lambda lines: _with_record(lines, lambda r: r.update(text_2="")), "text_2"),
    "non_utf8": (lambda lines: _replace_line(lines, lines[BAD_LINE - 1].replace(b"\"", b"\"\xff", 1)), ""),
    "blank_line": (lambda lines: _replace_line(lines, b""), ""),
}


@pytest.fixture
def train_lines(dataset_path) -> list[bytes]:
    return (dataset_path / TRAIN_FILE).read_bytes().split(b"\n")


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_corrupted_line_is_refused_with_its_location(kind, train_lines, tmp_path):
    """A single corrupted line fails loading with a DatasetError naming file:line (and the field where there is one)."""
    corrupt, field = CORRUPTIONS[kind]
    path = tmp_path / TRAIN_FILE
    path.write_bytes(b"\n".join(corrupt(train_lines)))
    with pytest.raises(DatasetError) as caught:
        read_pairs(path)
    located = [p for p in caught.value.problems if p.line == BAD_LINE and (not field or p.field == field)]
    assert located, f"{kind}: no problem reported at {path}:{BAD_LINE} {field}; got {caught.value}"
    assert f"{path}:{BAD_LINE}" in str(caught.value)


def test_byte_order_mark_is_refused(train_lines, tmp_path):
    """A UTF-8 BOM at the start of the file is named as such at line 1, not reported as broken JSON."""
    path = tmp_path / TRAIN_FILE
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(train_lines))
    with pytest.raises(DatasetError, match=rf"{path}:1: .*byte-order mark"):
        read_pairs(path)
