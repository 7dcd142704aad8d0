"""Fuzzing every file the harness reads: random bytes, truncation and field deletion.

The only allowed outcomes are a clean load or a clear error (``DatasetError`` or ``ValueError`` naming the file);
never another exception (a traceback for the user), and never a partial write (``apply`` writes nothing).
Readers: pair files (train/eval/``--eval-file``/natural halves), review CSVs and their decisions, the leak
acknowledgements, the behavioural cases.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.curation.expand import with_ids
from harness.curation.loop import apply_review_file, read_review
from harness.data.dataset import DatasetError, file_sha256, read_pairs
from harness.data.leakage import load_acknowledgements
from harness.data.schema import NaturalPairSchema
from harness.evaluation.behavioural import CASES_FILE, load_cases
from harness.paths import DEFAULT_DATASET, LEAK_ACKNOWLEDGEMENTS, PROJECT_ROOT

pytestmark = pytest.mark.unit

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
PAIRS = (DEFAULT_DATASET / "eval_pairs.jsonl").read_bytes().splitlines(keepends=True)[:12]
NATURAL = (PROJECT_ROOT / "data" / "natural" / "dev.jsonl").read_bytes().splitlines(keepends=True)[:12]
CASES = CASES_FILE.read_bytes().splitlines(keepends=True)[:12]
ACKS = LEAK_ACKNOWLEDGEMENTS.read_bytes()


def clear(err: Exception, path: Path) -> bool:
    return isinstance(err, (DatasetError, ValueError)) and str(path) in str(err)


def mutations(lines: list[bytes]):
    """Random bytes, a truncated copy, or one field deleted from one JSON line."""
    whole = b"".join(lines)
    return st.one_of(
        st.binary(max_size=300),
        st.integers(0, len(whole)).map(lambda n: whole[:n]),
        st.tuples(st.integers(0, len(lines) - 1), st.integers(0, 10)).map(lambda t: _drop_field(lines, *t)),
    )


def _drop_field(lines: list[bytes], index: int, which: int) -> bytes:
    record = json.loads(lines[index])
    if isinstance(record, dict) and record:
        record.pop(sorted(record)[which % len(record)])
    out = list(lines)
    out[index] = json.dumps(record).encode() + b"\n"
    return b"".join(out)


def check(reader, path: Path):
    try:
        reader(path)
    except Exception as err:  # noqa: BLE001  (the point: any other exception is a bug)
        assert clear(err, path), f"{type(err).__name__} without a clear message: {err!r}"


@FUZZ
@given(data=mutations(PAIRS))
def test_pair_files(tmp_path, data):
    path = tmp_path / "eval_pairs.jsonl"
    path.write_bytes(data)
    check(read_pairs, path)


@FUZZ
@given(data=mutations(NATURAL))
def test_natural_halves(tmp_path, data):
    path = tmp_path / "dev.jsonl"
    path.write_bytes(data)
    check(lambda p: read_pairs(p, NaturalPairSchema), path)


@FUZZ
@given(data=mutations(CASES))
def test_behavioural_cases(tmp_path, data):
    path = tmp_path / "cases.jsonl"
    path.write_bytes(data)
    check(load_cases, path)


@FUZZ
@given(data=st.one_of(st.binary(max_size=300), st.integers(0, len(ACKS)).map(lambda n: ACKS[:n])))
def test_leak_acknowledgements(tmp_path, data):
    path = tmp_path / "leak_acknowledgements.json"
    path.write_bytes(data)
    check(load_acknowledgements, path)


@pytest.fixture(scope="module")
def review_setup(tmp_path_factory):
    folder = tmp_path_factory.mktemp("review")
    source_path = folder / "source.jsonl"
    source_path.write_bytes(b"".join(PAIRS))
    source = with_ids(read_pairs(source_path))
    sha = file_sha256(source_path)
    header = "id,decision,source_sha256,source_file,text_1,text_2,label\n"
    rows = "".join(f"{i},{d},{sha},{source_path},x,y,1\n" for i, d in zip(source["id"][:4], ["keep", "remove", "relabel", ""]))
    return folder, source, sha, (header + rows).encode()


@FUZZ
@given(cut=st.integers(0, 2000), noise=st.binary(max_size=80), mode=st.sampled_from(["truncate", "noise", "drop-column"]))
def test_review_files_and_apply(review_setup, cut, noise, mode):
    folder, source, sha, valid = review_setup
    if mode == "truncate":
        data = valid[:cut % (len(valid) + 1)]
    elif mode == "noise":
        data = valid[:cut % (len(valid) + 1)] + noise
    else:
        lines = valid.decode().splitlines()
        columns = lines[0].split(",")
        drop = cut % len(columns)
        data = "\n".join(",".join(v for j, v in enumerate(line.split(",")) if j != drop) for line in lines).encode()
    path = folder / "review.csv"
    path.write_bytes(data)
    check(lambda p: read_review(p, source, sha), path)
    out = folder / "out" / "curated.jsonl"
    try:
        apply_review_file(path, out)
    except Exception as err:  # noqa: BLE001
        assert clear(err, path), f"apply: {type(err).__name__} without a clear message: {err!r}"
        assert not out.exists() and not out.with_name("curated_audit.jsonl").exists(), "partial write after a refusal"
    for leftover in out.parent.glob("*") if out.parent.exists() else ():
        leftover.unlink()
