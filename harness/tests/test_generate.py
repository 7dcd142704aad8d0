import pytest

from harness.data.dataset import EVAL_FILE, OOD_FILE, TRAIN_FILE, dumps_pairs, read_pairs
from harness.data.generate import generate
from harness.paths import DEFAULT_DATASET

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def frames():
    return generate(seed=42)


def test_same_seed_same_bytes_and_matches_committed_default(frames):
    again = generate(seed=42)
    for name in (TRAIN_FILE, EVAL_FILE, OOD_FILE):
        assert dumps_pairs(frames[name]) == dumps_pairs(again[name])
        assert dumps_pairs(frames[name]) == (DEFAULT_DATASET / name).read_bytes(), f"data/default/{name} is stale: regenerate"


def test_other_seed_differs(frames):
    assert dumps_pairs(generate(seed=7)[TRAIN_FILE]) != dumps_pairs(frames[TRAIN_FILE])


def test_sizes_and_disjoint_texts(frames):
    train, eval_, ood = frames[TRAIN_FILE], frames[EVAL_FILE], frames[OOD_FILE]
    assert len(train) == 1200 and len(eval_) == 300 and len(ood) >= 100
    texts = {name: set(f.text_1) | set(f.text_2) for name, f in frames.items()}
    assert not texts[TRAIN_FILE] & texts[EVAL_FILE]
    assert not (texts[TRAIN_FILE] | texts[EVAL_FILE]) & texts[OOD_FILE]
    assert (train[train.pair_type == "dealbreaker"].label == 0).all()


def test_written_files_pass_their_schemas(tmp_path, frames):
    for name, frame in frames.items():
        (tmp_path / name).write_bytes(dumps_pairs(frame))
        assert len(read_pairs(tmp_path / name)) == len(frame)
