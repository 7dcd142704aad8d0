"""The history store under faults, and its reads: kill -9 of a writer mid-write, two concurrent writers, truncated,
damaged and foreign files, forward migration, a newer schema. Writers are real subprocesses that import only the
store (a fraction of a second each); every test asserts the end state: earlier runs intact, nothing half-written,
and every refusal names the file."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest

from harness.history import store as store_module
from harness.history.store import (APPLICATION_ID, HistoryError, HistoryStore, Migration, PairSet)
from harness.history.synthetic import synthetic_record
from harness.paths import PROJECT_ROOT

pytestmark = pytest.mark.unit

#: A small run: two models x two sets, so each write is quick but still many statements in one transaction.
SMALL = {"validation": 30, "eval": 60}


def small(i: int, **kwargs):
    return synthetic_record(i, models=("baseline", "standard"), sets=SMALL, key_every=3, **kwargs)


def rows_per_run(store: HistoryStore) -> dict[str, tuple[int, int, int]]:
    """{run id: (metric rows, criteria rows, score links)}."""
    con = store._con
    out = {}
    for seq, run_id in con.execute("SELECT seq, run_id FROM runs"):
        out[run_id] = tuple(con.execute(f"SELECT COUNT(*) FROM {table} WHERE run_seq = ?", (seq,)).fetchone()[0]
                            for table in ("metrics", "criteria", "run_scores"))
    return out


def expected_rows() -> tuple[int, int, int]:
    record = small(0)
    return len(record.metrics), len(record.criteria), len(record.scores)


WRITER = """
import os, sys, time
from harness.history.store import HistoryStore
from harness.history.synthetic import synthetic_record
path, first, count, fault = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sets = {"validation": 30, "eval": 60}
with HistoryStore(path) as store:
    for i in range(first, first + count):
        if fault != "-" and i == first + count - 1:
            os.environ["HARNESS_FAULT_AT"] = fault  # the last run is killed at this point of its transaction
        store.append(synthetic_record(i, models=("baseline", "standard"), sets=sets, key_every=3))
        print(i, flush=True)
"""


def writer(path, first: int, count: int, fault: str = "-") -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(first), str(count), fault], cwd=PROJECT_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "HARNESS_FAULT_AT": ""})


def assert_consistent(path, expect_runs: int | None = None) -> dict:
    with HistoryStore(path, create=False) as store:
        assert store.check() == [], "SQLite integrity check failed"
        rows = rows_per_run(store)
        assert all(r == expected_rows() for r in rows.values()), f"a run is partly recorded: {rows}"
        if expect_runs is not None:
            assert len(rows) == expect_runs
        orphans = store._con.execute("SELECT COUNT(*) FROM run_scores WHERE scores_id NOT IN (SELECT id FROM scores)")
        assert orphans.fetchone()[0] == 0
    return rows


# --- writing and reading ------------------------------------------------------------------------------------

def test_a_new_store_has_its_schema_and_reads_back_what_was_written(tmp_path):
    path = tmp_path / "history.sqlite"
    with HistoryStore(path) as store:
        assert store.schema_version == store_module.SCHEMA_VERSION and store.check() == []
        assert store._con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert store._con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        for i in range(4):
            store.append(small(i, dataset="reference"))
        runs = store.runs()
        assert [r["run_id"] for r in runs] == [small(i).run_id for i in (3, 2, 1, 0)]
        run = store.find_run(runs[-1]["run_id"][:17])  # a unique prefix
        assert {m["model"] for m in run["models"]} == {"baseline", "standard"} and run["environment"]["torch_threads"] == 2
        record = small(0)
        recorded = store.scores_for_run(run["seq"], "standard")
        original = next(s for s in record.scores if s.model == "standard" and s.pairs.scored_set == "eval")
        np.testing.assert_allclose(recorded["eval"].scores, original.scores, atol=1e-6)  # float32
        assert (recorded["eval"].pairs.labels == original.pairs.labels).all()
        assert (recorded["eval"].pairs.codes == original.pairs.codes).all()
        # the scores of an unchanged key are kept once
        assert store._con.execute("SELECT COUNT(*) FROM scores").fetchone()[0] == 2 * 2 * 2  # keys change every 3 runs
        trends = store.trends(metrics=["auc_roc"], models=["standard"], sets=["eval"])
        assert len(trends) == 1 and trends[0].runs == 4 and trends[0].last.run_id == small(3).run_id
        assert store.trends(last_runs=2, metrics=["auc_roc"], models=["standard"], sets=["eval"])[0].runs == 2
        assert store.trends(dataset="default") == []


def write_v1_store(path, records) -> None:
    """A store as schema version 1 wrote it: its DDL and its insert statements (one score array per key and rows)."""
    import json

    from harness.history.store import _pack_pairs

    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("BEGIN")
    for statement in store_module.MIGRATIONS[0].statements:
        con.execute(statement)
    con.execute("INSERT INTO schema_version (version, description) VALUES (1, 'v1')")
    con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    for r in records:
        seq = con.execute("INSERT INTO runs (run_id, session, source, started_at, finished_at, git_commit, git_dirty, "
                          "dataset_name, dataset_path, dataset_digest, harness_version, environment) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          (r.run_id, r.run_id, r.source, r.started_at, r.finished_at, r.git_commit, int(r.git_dirty),
                           r.dataset_name, r.dataset_path, r.dataset_digest, r.harness_version,
                           json.dumps(r.environment))).lastrowid
        for m in r.models:
            con.execute("INSERT INTO run_models VALUES (?, ?, ?, ?, ?, ?)", (seq, m.model, m.model_key, m.verdict, "[]", None))
        for name in {r.dataset_name} | {x for m in r.metrics for x in (m.model, m.scored_set, m.metric)}:
            con.execute("INSERT OR IGNORE INTO names (name) VALUES (?)", (name,))
        ids = dict(con.execute("SELECT name, id FROM names"))
        con.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [(ids[r.dataset_name], ids[m.model], ids[m.scored_set], ids[m.metric], seq, m.value,
                          *(m.ci or (None, None)), m.n) for m in r.metrics])
        con.executemany("INSERT INTO criteria VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [(seq, c.model, c.criterion, c.scored_on, c.metric, c.status, c.value, *(c.ci or (None, None)),
                          c.n, c.outcome) for c in r.criteria])
        for s in r.scores:
            labels, codes = _pack_pairs(s.pairs)
            con.execute("INSERT OR IGNORE INTO pair_sets (scored_set, rows_digest, n, labels, codes) VALUES (?, ?, ?, ?, ?)",
                        (s.pairs.scored_set, s.pairs.rows_digest, s.pairs.n, labels, codes))
            pair_id = con.execute("SELECT id FROM pair_sets WHERE scored_set = ? AND rows_digest = ?",
                                  (s.pairs.scored_set, s.pairs.rows_digest)).fetchone()[0]
            con.execute("INSERT OR IGNORE INTO scores (model_key, pair_set_id, encoding, data) VALUES (?, ?, 'f32le', ?)",
                        (s.model_key, pair_id, np.asarray(s.scores, "<f4").tobytes()))
            score_id = con.execute("SELECT id FROM scores WHERE model_key = ? AND pair_set_id = ?",
                                   (s.model_key, pair_id)).fetchone()[0]
            con.execute("INSERT INTO run_scores VALUES (?, ?, ?, ?)", (seq, s.model, s.pairs.scored_set, score_id))
    con.execute("COMMIT")
    con.close()


def test_a_version_1_store_is_migrated_forward_with_its_runs(tmp_path):
    """v1 had no series summary (v2) and one score array per key and rows (v3): opening it adds and fills the
    summary, rebuilds the scores table with every reference intact, and reads the same runs, trends and scores."""
    path = tmp_path / "history.sqlite"
    write_v1_store(path, [small(i) for i in range(4)])
    with HistoryStore(path) as store:
        assert store.schema_version == store_module.SCHEMA_VERSION
        versions = [r[0] for r in store._con.execute("SELECT version FROM schema_version ORDER BY version")]
        assert versions == list(range(1, store_module.SCHEMA_VERSION + 1))
        assert store.check() == [] and store._con.execute("PRAGMA foreign_key_check").fetchall() == []
        assert rows_per_run(store) == {small(i).run_id: expected_rows() for i in range(4)}
        everything = {(t.model, t.scored_set, t.metric): (t.runs, t.minimum, t.maximum) for t in store.trends()}
        windowed = {(t.model, t.scored_set, t.metric): (t.runs, t.minimum, t.maximum) for t in store.trends(last_runs=4)}
        assert everything == windowed and all(v[0] == 4 for v in everything.values())
        old = store.scores_for_run(store.find_run(small(0).run_id)["seq"], "standard")["eval"]
        original = next(s for s in small(0).scores if s.model == "standard" and s.pairs.scored_set == "eval")
        np.testing.assert_allclose(old.scores, original.scores, atol=1e-6)
        store.append(small(4))  # and from here on the summary is kept up to date
        assert {t.runs for t in store.trends()} == {5}


def test_a_later_run_of_the_same_key_keeps_its_own_scores(tmp_path):
    """Same cache key, other scores (embeddings recomputed under another thread count): each run keeps its own."""
    first, second = small(0), small(1)  # keys change every 3 runs: runs 0 and 1 share them
    for row in second.scores:
        object.__setattr__(row, "scores", row.scores + 0.01)
    with HistoryStore(tmp_path / "h.sqlite") as store:
        store.append(first)
        store.append(second)
        a = store.scores_for_run(1, "standard")["eval"].scores
        b = store.scores_for_run(2, "standard")["eval"].scores
        assert np.allclose(b - a, 0.01, atol=1e-6)
        key = next(s.model_key for s in first.scores if s.model == "standard")
        assert np.allclose(store.scores_for_key(key)["eval"].scores, b)  # the latest run's


def test_a_later_schema_step_is_applied_once_on_open(tmp_path, monkeypatch):
    path = tmp_path / "history.sqlite"
    with HistoryStore(path) as store:
        store.append(small(0))
    nxt = store_module.SCHEMA_VERSION + 1
    step = Migration(nxt, "a note per run", ("ALTER TABLE runs ADD COLUMN note TEXT",))
    monkeypatch.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS + (step,))
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", nxt)
    for _ in range(2):
        with HistoryStore(path) as store:
            assert store.schema_version == nxt
            assert [r[0] for r in store._con.execute("SELECT version FROM schema_version")] == list(range(1, nxt + 1))
            assert store._con.execute("SELECT note FROM runs").fetchall() == [(None,)]
            assert rows_per_run(store) == {small(0).run_id: expected_rows()}


def test_a_store_from_a_newer_harness_is_refused(tmp_path):
    path = tmp_path / "history.sqlite"
    with HistoryStore(path) as store:
        store._con.execute("INSERT INTO schema_version (version, description) VALUES (99, 'future')")
    with pytest.raises(HistoryError, match="newer harness") as caught:
        HistoryStore(path)
    assert str(path) in str(caught.value)


# --- bad files ----------------------------------------------------------------------------------------------

def test_a_text_file_is_refused_untouched(tmp_path):
    path = tmp_path / "history.sqlite"
    path.write_text("run,auc\n1,0.9\n")
    with pytest.raises(HistoryError, match="not an SQLite database") as caught:
        HistoryStore(path)
    assert str(path) in str(caught.value) and "move it aside" in str(caught.value)
    assert path.read_text() == "run,auc\n1,0.9\n"


def test_another_programs_sqlite_file_is_refused_untouched(tmp_path):
    path = tmp_path / "history.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(HistoryError, match="another program .*invoices") as caught:
        HistoryStore(path)
    assert str(path) in str(caught.value)
    assert path.read_bytes() == before


@pytest.mark.parametrize("keep", [0.5, 0.05])
def test_a_truncated_store_is_refused_with_a_clear_message(tmp_path, keep):
    path = tmp_path / "history.sqlite"
    with HistoryStore(path) as store:
        for i in range(6):
            store.append(small(i))
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.truncate(max(50, int(size * keep)) if keep > 0.1 else 50)
    with pytest.raises(HistoryError, match="truncated") as caught:
        HistoryStore(path)
    assert str(path) in str(caught.value) and "move it aside" in str(caught.value)


def test_damaged_pages_are_reported_never_read_as_runs(tmp_path):
    path = tmp_path / "history.sqlite"
    with HistoryStore(path) as store:
        for i in range(6):
            store.append(small(i))
    data = bytearray(path.read_bytes())
    page = 4096
    for start in range(2 * page, len(data) - page, 3 * page):  # scribble over every third page after the schema
        data[start + 8:start + 400] = os.urandom(392)
    path.write_bytes(bytes(data))
    try:
        with HistoryStore(path, create=False) as store:
            problems = store.check()
            assert problems, "a scribbled file passed SQLite's integrity check"
    except HistoryError as err:
        assert str(path) in str(err)


def test_record_run_on_a_broken_store_warns_and_keeps_the_result(tmp_path, monkeypatch):
    from harness.history.record import HistoryWarning, record_run

    path = tmp_path / "history.sqlite"
    path.write_text("not a database")
    monkeypatch.setenv("HARNESS_HISTORY", str(path))

    class Broken:  # record_run must never let a store problem escape into the run's result
        names = []

    monkeypatch.setattr("harness.history.record.build_record", lambda *a, **k: small(0))
    with pytest.warns(HistoryWarning, match=f"{path}.*not an SQLite database"):
        assert record_run(Broken(), []) is None
    assert path.read_text() == "not a database"


# --- kill -9 and concurrency --------------------------------------------------------------------------------

@pytest.mark.parametrize("point", ["history-run-inserted", "history-metrics-inserted", "history-before-commit"])
def test_kill_9_mid_write_leaves_earlier_runs_and_nothing_else(tmp_path, point):
    path = tmp_path / "history.sqlite"
    child = writer(path, 0, 4, fault=point)
    out, err = child.communicate(timeout=120)
    assert child.returncode == -9, err[-2000:]
    assert out.split() == ["0", "1", "2"]  # the fourth run was killed inside its transaction
    rows = assert_consistent(path, expect_runs=3)
    assert small(3).run_id not in rows
    with HistoryStore(path) as store:  # the next writer goes on as if nothing happened
        store.append(small(3))
    assert_consistent(path, expect_runs=4)


def test_kill_9_at_random_moments_never_leaves_a_partial_run(tmp_path):
    path = tmp_path / "history.sqlite"
    rng = random.Random(7)
    first = 0
    for _ in range(3):
        child = writer(path, first, 1000)
        deadline = time.monotonic() + 120  # a loaded machine imports slowly: kill while writing, not while starting
        while not path.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.8, 1.6))
        child.kill()
        child.communicate(timeout=60)
        rows = assert_consistent(path)
        first = 100_000 * (len(rows) + 1)  # fresh run ids for the next writer
    assert len(rows) > 0


def test_two_concurrent_writers_never_corrupt_or_lose_a_run(tmp_path):
    path = tmp_path / "history.sqlite"
    children = [writer(path, 0, 12), writer(path, 1000, 12)]
    for child in children:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err[-2000:]
    rows = assert_consistent(path, expect_runs=24)
    assert set(rows) == {small(i).run_id for i in list(range(12)) + list(range(1000, 1012))}


OPENER = """
import sys, time
from harness.history.store import HistoryStore
folder, start, trials = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
for trial in range(trials):
    while time.time() < start + 0.15 * trial:
        pass
    try:
        HistoryStore(f"{folder}/h{trial}.sqlite").close()
    except Exception as err:
        print(trial, err)
"""


def test_processes_opening_one_new_store_at_once_all_open_it(tmp_path):
    """Three processes create the same new store at the same moment, 30 times over. Before the WAL switch waited
    for the other processes, about one open in twenty failed with "database is locked", called damage."""
    start = time.time() + 5  # every child imported and waiting before the first trial
    children = [subprocess.Popen([sys.executable, "-c", OPENER, str(tmp_path), str(start), "30"], cwd=PROJECT_ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for child in children:
        out, err = child.communicate(timeout=300)
        assert child.returncode == 0, err[-2000:]
        assert out == "", f"failed opens (trial, error):\n{out}"
    for trial in range(30):
        with HistoryStore(tmp_path / f"h{trial}.sqlite", create=False) as store:
            assert store.schema_version == store_module.SCHEMA_VERSION and store.check() == []


def test_a_missing_store_is_not_created_by_readers(tmp_path):
    path = tmp_path / "history.sqlite"
    with pytest.raises(HistoryError, match="no history yet"):
        HistoryStore(path, create=False)
    assert not path.exists()


def test_pair_sets_reject_non_binary_labels(tmp_path):
    from harness.history.store import ScoreRow

    record = small(0)
    bad = PairSet("eval", "f" * 16, np.array([0, 2]), np.array([[0, 1], [1, 2]]))
    record.scores = [ScoreRow("standard", "standard-x", bad, np.array([0.1, 0.2]))]
    with HistoryStore(tmp_path / "h.sqlite") as store, pytest.raises(ValueError, match="0/1"):
        store.append(record)
    with warnings.catch_warnings():
        assert_consistent(tmp_path / "h.sqlite", expect_runs=0)
