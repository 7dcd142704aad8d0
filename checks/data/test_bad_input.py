"""Bad input gate: each kind of malformed line in a copy of the dataset's train file is refused, naming file:line.

The check is about how the loader reports a broken line of this file's format, so the copy holds the
first ``SAMPLE_LINES`` lines of the train file, whatever its size (the whole file is validated by the
schema gate). Irregularities that change no meaning, a UTF-8 byte-order mark at the start and blank
lines, are accepted with a note (a ``DatasetNote`` warning naming the file and the lines) while every
other row keeps its real line number. The copy lives in a temporary folder; the dataset itself is
never modified.
"""

from __future__ import annotations

import json
from itertools import islice

import pytest

from harness.data.dataset import TRAIN_FILE, DatasetError, DatasetNote, read_pairs

pytestmark = pytest.mark.data

BAD_LINE = 17  # an arbitrary line in the middle of the sample
SAMPLE_LINES = 1_000  # the first lines of the train file that each check corrupts a copy of


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
}


@pytest.fixture(scope="module")
def train_lines(dataset_path) -> list[bytes]:
    """The first SAMPLE_LINES lines of the train file, without their line ends (read without loading the rest)."""
    with open(dataset_path / TRAIN_FILE, "rb") as handle:
        lines = [line[:-1] if line.endswith(b"\n") else line for line in islice(handle, SAMPLE_LINES)]
    if len(lines) < BAD_LINE + 1:
        pytest.skip(f"{dataset_path / TRAIN_FILE} has fewer than {BAD_LINE + 1} lines")
    return lines


@pytest.fixture(scope="module")
def sample_rows(train_lines, tmp_path_factory) -> list[int]:
    """Line numbers of the rows of the uncorrupted sample: what an accepted copy must still hold."""
    path = tmp_path_factory.mktemp("sample") / TRAIN_FILE
    path.write_bytes(b"\n".join(train_lines) + b"\n")
    try:
        return list(read_pairs(path).index)
    except DatasetError as err:
        pytest.skip(f"the first {len(train_lines)} lines of the train file do not load (see the schema gate): {err.problems[0]}")


@pytest.mark.parametrize("kind", CORRUPTIONS)
def test_corrupted_line_is_refused_with_its_location(kind, train_lines, tmp_path):
    """A single corrupted line fails loading with a DatasetError naming file:line (and the field where there is one)."""
    corrupt, field = CORRUPTIONS[kind]
    path = tmp_path / TRAIN_FILE
    path.write_bytes(b"\n".join(corrupt(train_lines)) + b"\n")
    with pytest.raises(DatasetError) as caught:
        read_pairs(path)
    located = [p for p in caught.value.problems if p.line == BAD_LINE and (not field or p.field == field)]
    assert located, f"{kind}: no problem reported at {path}:{BAD_LINE} {field}; got {caught.value}"
    assert f"{path}:{BAD_LINE}" in str(caught.value)


def _accepted(path, payload: bytes):
    path.write_bytes(payload)
    with pytest.warns(DatasetNote) as notes:
        frame = read_pairs(path)
    return frame, [str(n.message) for n in notes if issubclass(n.category, DatasetNote)]


def test_byte_order_mark_is_accepted_with_a_note(train_lines, sample_rows, tmp_path):
    """A UTF-8 BOM at the start of the file is ignored and noted once; every row loads, line numbers unchanged."""
    path = tmp_path / TRAIN_FILE
    frame, notes = _accepted(path, b"\xef\xbb\xbf" + b"\n".join(train_lines) + b"\n")
    assert notes == [f"{path}: UTF-8 byte-order mark (BOM) at the start of the file ignored"]
    assert list(frame.index) == sample_rows


def test_blank_lines_are_skipped_with_a_note(train_lines, sample_rows, tmp_path):
    """Blank lines (one emptied in the middle, one of spaces inserted, an extra newline at the end) are
    skipped and noted once with their line numbers; every other row keeps its real line number."""
    path = tmp_path / TRAIN_FILE
    inserted = BAD_LINE + 5
    lines = _replace_line(train_lines, b"")
    lines = lines[: inserted - 1] + [b"  "] + lines[inserted - 1:]
    frame, notes = _accepted(path, b"\n".join(lines) + b"\n\n")
    assert notes == [f"{path}: 3 blank lines skipped (lines {BAD_LINE}, {inserted}, {len(lines) + 1})"]
    assert len(frame) == len(sample_rows) - 1
    assert list(frame.index) == [n if n < inserted else n + 1 for n in sample_rows if n != BAD_LINE]
