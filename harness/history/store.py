"""The run history: one SQLite file (``runs/history.sqlite``, git-ignored), standard library only.

What a run leaves (:class:`RunRecord`): run id, time, git commit and whether the tree was dirty, dataset name, path and
digest, the harness version and the environment (package versions, torch threads); per model its cache key, verdict
and, if it could not run, why; per model x scored set x metric the value, 95% CI and n; every judged criterion row
with its outcome; and the per-pair scores of each (model key, scored set) so a later comparison is paired without
re-embedding.

Layout choices, each for a measured or stated need:

* Per-pair scores are stored once per (model key, rows, content): a repeat run of an unchanged model adds metric rows only
  (the store grows by ~tens of KB per run, not by the scores again). Labels and the text of each pair (as integer
  codes, for the per-person ranking metric) are stored once per (scored set, rows digest).
* ``metrics`` is a ``WITHOUT ROWID`` table clustered on (dataset, model, scored set, metric, run): the ``history``
  trends read contiguous ranges; names are interned (``names``) so a row is ~30 bytes.
* Writes: WAL journal, ``BEGIN IMMEDIATE`` and one transaction per run. A writer killed at any point (kill -9) leaves
  either its whole run or nothing; concurrent writers (two pytest processes, xdist workers) queue on SQLite's lock
  (busy timeout 60 s) and never interleave.
* The schema has a version (table ``schema_version``, one row per applied step) and is migrated forward on open,
  inside the write lock, so two processes never migrate twice. A store written by a newer harness is refused.
* A file that is not this store (another program's SQLite file, a text file), is truncated or is damaged is refused
  with :class:`HistoryError`, whose message names the file, what is wrong and what to do. Nothing is overwritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import sqlite3
import struct
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.paths import runs_root

#: ``PRAGMA application_id`` of a harness history store ("HRNH"): another program's SQLite file is told apart by it.
APPLICATION_ID = 0x48524E48
SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_S = 60.0

FIX_FOREIGN = ("the harness neither reads nor overwrites it: move it aside (a new store is created on the next run) or "
               "point HARNESS_HISTORY at another file")
FIX_DAMAGED = ("its runs cannot be trusted: move it aside (keep it if you want to try sqlite3's .recover); a new store is "
               "created on the next run")


class HistoryError(RuntimeError):
    """The history store cannot be used; the message names the file, the problem and the fix."""

    def __init__(self, path: str | Path, problem: str, fix: str = ""):
        self.path, self.problem = Path(path), problem
        super().__init__(f"history store {path}: {problem}" + (f"; {fix}" if fix else ""))


def default_path() -> Path:
    """``HARNESS_HISTORY`` if set, else ``<runs>/history.sqlite`` (``HARNESS_RUNS_DIR`` moves ``runs/``)."""
    return Path(os.environ.get("HARNESS_HISTORY") or runs_root() / "history.sqlite").resolve()


def fault_point(name: str) -> None:
    """``HARNESS_FAULT_AT=<name>`` kills this process here (SIGKILL, no clean-up): the fault tests' writer.
    The same variable as :func:`harness.models.cache.fault_point`, kept here so the store imports nothing heavy."""
    if os.environ.get("HARNESS_FAULT_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


# --- schema -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "runs, run models, metrics, criteria, pair sets, scores", (
        """CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL,
                                        applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))""",
        """CREATE TABLE runs (
            seq INTEGER PRIMARY KEY,              -- commit order
            run_id TEXT NOT NULL UNIQUE,
            session TEXT,                         -- the pytest session (xdist workers share it), else the run id
            source TEXT NOT NULL,                 -- evaluate | pytest | ...
            started_at TEXT NOT NULL, finished_at TEXT NOT NULL,   -- ISO 8601, UTC
            git_commit TEXT, git_dirty INTEGER,
            dataset_name TEXT NOT NULL, dataset_path TEXT NOT NULL, dataset_digest TEXT NOT NULL,
            harness_version TEXT NOT NULL,
            environment TEXT NOT NULL             -- JSON: package versions, torch threads, platform, argv
        )""",
        "CREATE INDEX runs_by_dataset ON runs (dataset_name, seq)",
        "CREATE INDEX runs_by_time ON runs (finished_at)",
        "CREATE TABLE names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
        """CREATE TABLE run_models (
            run_seq INTEGER NOT NULL REFERENCES runs (seq) ON DELETE CASCADE,
            model TEXT NOT NULL, model_key TEXT, verdict TEXT, reasons TEXT, unavailable TEXT,
            PRIMARY KEY (run_seq, model)) WITHOUT ROWID""",
        "CREATE INDEX run_models_by_key ON run_models (model_key, run_seq)",
        """CREATE TABLE metrics (
            dataset_id INTEGER NOT NULL, model_id INTEGER NOT NULL, set_id INTEGER NOT NULL, metric_id INTEGER NOT NULL,
            run_seq INTEGER NOT NULL REFERENCES runs (seq) ON DELETE CASCADE,
            value REAL, ci_low REAL, ci_high REAL, n INTEGER,
            PRIMARY KEY (dataset_id, model_id, set_id, metric_id, run_seq)) WITHOUT ROWID""",
        """CREATE TABLE criteria (
            run_seq INTEGER NOT NULL REFERENCES runs (seq) ON DELETE CASCADE,
            model TEXT NOT NULL, criterion TEXT NOT NULL, scored_on TEXT NOT NULL, metric TEXT NOT NULL,
            status TEXT NOT NULL, value REAL, ci_low REAL, ci_high REAL, n INTEGER, outcome TEXT NOT NULL,
            PRIMARY KEY (run_seq, model, criterion)) WITHOUT ROWID""",
        """CREATE TABLE pair_sets (
            id INTEGER PRIMARY KEY, scored_set TEXT NOT NULL, rows_digest TEXT NOT NULL, n INTEGER NOT NULL,
            labels BLOB NOT NULL,                 -- numpy packbits of the 0/1 labels
            codes BLOB NOT NULL,                  -- uint32 little-endian (n, 2): each pair's two texts as codes
            UNIQUE (scored_set, rows_digest))""",
        """CREATE TABLE scores (
            id INTEGER PRIMARY KEY, model_key TEXT NOT NULL,
            pair_set_id INTEGER NOT NULL REFERENCES pair_sets (id),
            encoding TEXT NOT NULL,               -- f32le: float32 little-endian, one per pair
            data BLOB NOT NULL,
            UNIQUE (model_key, pair_set_id))""",
        """CREATE TABLE run_scores (
            run_seq INTEGER NOT NULL REFERENCES runs (seq) ON DELETE CASCADE,
            model TEXT NOT NULL, scored_set TEXT NOT NULL, scores_id INTEGER NOT NULL REFERENCES scores (id),
            PRIMARY KEY (run_seq, model, scored_set)) WITHOUT ROWID""",
    )),
    # v2: per-series counts, min and max kept on insert, so the unfiltered trends read one row per series instead of
    # every run's value (10,000 synthetic runs: 2.4 s -> see benchmarks/history.py)
    Migration(2, "series summary (runs, min, max, first and last run per dataset x model x set x metric)", (
        """CREATE TABLE series (
            dataset_id INTEGER NOT NULL, model_id INTEGER NOT NULL, set_id INTEGER NOT NULL, metric_id INTEGER NOT NULL,
            runs INTEGER NOT NULL, min_value REAL, max_value REAL, first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL,
            PRIMARY KEY (dataset_id, model_id, set_id, metric_id)) WITHOUT ROWID""",
        """INSERT INTO series SELECT dataset_id, model_id, set_id, metric_id, COUNT(*), MIN(value), MAX(value),
                                     MIN(run_seq), MAX(run_seq)
           FROM metrics GROUP BY dataset_id, model_id, set_id, metric_id""",
    )),
    # v3: scores keyed by content too. v1/v2 kept one score array per (model key, rows): a later run of the same key
    # whose scores differ (embeddings recomputed under another thread count, a non-deterministic export) was linked
    # to the first run's array. Rows of v1/v2 keep their arrays under a legacy digest ('v1-<id>').
    Migration(3, "scores unique by (model key, rows, content digest)", (
        """CREATE TABLE scores_v3 (
            id INTEGER PRIMARY KEY, model_key TEXT NOT NULL,
            pair_set_id INTEGER NOT NULL REFERENCES pair_sets (id),
            encoding TEXT NOT NULL,               -- f32le: float32 little-endian, one per pair
            digest TEXT NOT NULL,                 -- sha256 of data, 16 hex characters
            data BLOB NOT NULL,
            UNIQUE (model_key, pair_set_id, digest))""",
        "INSERT INTO scores_v3 SELECT id, model_key, pair_set_id, encoding, 'v1-' || id, data FROM scores",
        "DROP TABLE scores",
        "ALTER TABLE scores_v3 RENAME TO scores",
    )),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


# --- what a run records -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PairSet:
    """The rows a model was scored on: labels and each pair's two texts as codes (equal codes, equal texts)."""

    scored_set: str
    rows_digest: str
    labels: np.ndarray  # (n,) 0/1
    codes: np.ndarray  # (n, 2) int

    @property
    def n(self) -> int:
        return int(self.labels.size)


@dataclass(frozen=True)
class ModelRow:
    model: str
    model_key: str | None
    verdict: str | None = None
    reasons: tuple[str, ...] = ()
    unavailable: str | None = None


@dataclass(frozen=True)
class MetricRow:
    model: str
    scored_set: str
    metric: str
    value: float | None
    ci: tuple[float, float] | None = None
    n: int | None = None


@dataclass(frozen=True)
class CriterionRow:
    model: str
    criterion: str
    scored_on: str
    metric: str
    status: str
    value: float | None
    ci: tuple[float, float] | None
    n: int | None
    outcome: str


@dataclass(frozen=True)
class ScoreRow:
    model: str
    model_key: str
    pairs: PairSet
    scores: np.ndarray


@dataclass
class RunRecord:
    run_id: str
    source: str
    started_at: str
    finished_at: str
    dataset_name: str
    dataset_path: str
    dataset_digest: str
    harness_version: str
    git_commit: str | None = None
    git_dirty: bool | None = None
    environment: dict = field(default_factory=dict)
    session: str | None = None
    models: list[ModelRow] = field(default_factory=list)
    metrics: list[MetricRow] = field(default_factory=list)
    criteria: list[CriterionRow] = field(default_factory=list)
    scores: list[ScoreRow] = field(default_factory=list)


# --- what reads return --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StoredScores:
    """One model's per-pair scores on one set's rows, as stored (float32 precision)."""

    model_key: str
    pairs: PairSet
    scores: np.ndarray
    run_id: str | None = None
    precision: str = "float32"


@dataclass(frozen=True)
class TrendPoint:
    run_id: str
    finished_at: str
    value: float | None
    ci: tuple[float, float] | None
    n: int | None

    def to_dict(self) -> dict:
        return {"run_id": self.run_id, "finished_at": self.finished_at, "value": self.value,
                "ci95": list(self.ci) if self.ci else None, "n": self.n}


@dataclass(frozen=True)
class Trend:
    """One model x scored set x metric on one dataset, across the runs that pass the filters."""

    dataset: str
    model: str
    scored_set: str
    metric: str
    runs: int
    minimum: float | None
    maximum: float | None
    first: TrendPoint
    recent: list[TrendPoint]  # oldest first; the last one is the latest run

    @property
    def last(self) -> TrendPoint:
        return self.recent[-1]

    @property
    def previous(self) -> TrendPoint | None:
        return self.recent[-2] if len(self.recent) > 1 else None

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "model": self.model, "scored_set": self.scored_set, "metric": self.metric,
                "runs": self.runs, "min": self.minimum, "max": self.maximum, "first": self.first.to_dict(),
                "recent": [p.to_dict() for p in self.recent]}


def _ci(low, high) -> tuple[float, float] | None:
    return None if low is None or high is None else (float(low), float(high))


def _pack_pairs(pairs: PairSet) -> tuple[bytes, bytes]:
    labels = np.asarray(pairs.labels).astype(np.uint8)
    if labels.size and labels.max(initial=0) > 1:
        raise ValueError(f"{pairs.scored_set}: labels must be 0/1")
    return np.packbits(labels).tobytes(), np.ascontiguousarray(pairs.codes, dtype="<u4").tobytes()


def _unpack_pairs(scored_set: str, digest: str, n: int, labels: bytes, codes: bytes) -> PairSet:
    unpacked = np.unpackbits(np.frombuffer(labels, dtype=np.uint8), count=n).astype(np.int64)
    return PairSet(scored_set, digest, unpacked, np.frombuffer(codes, dtype="<u4").reshape(n, 2).astype(np.int64))


# --- the store ----------------------------------------------------------------------------------------------

def inspect_file(path: Path) -> None:
    """Refuse, before SQLite touches it, a file that is not an SQLite database or is shorter than its header says.

    SQLite would open a truncated file and fail only on the first read past its end (or, worse, on a later write);
    the header's page count and page size give the size the file must have. The size check is skipped while a WAL
    file holds pages (a checkpoint in progress may legitimately grow the file later)."""
    size = path.stat().st_size
    if size == 0:
        return
    with open(path, "rb") as handle:
        header = handle.read(100)
    if header[:16] != SQLITE_MAGIC[: len(header[:16])]:
        raise HistoryError(path, f"not an SQLite database (it starts with {header[:16]!r}), so not a harness history "
                                 "store", FIX_FOREIGN)
    if len(header) < 100:
        raise HistoryError(path, f"truncated: {size} bytes, shorter than SQLite's 100-byte header", FIX_DAMAGED)
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    change_counter, pages = struct.unpack(">II", header[24:32])
    valid_for = struct.unpack(">I", header[92:96])[0]
    wal = path.with_name(path.name + "-wal")
    wal_holds_pages = wal.exists() and wal.stat().st_size > 32
    if pages and change_counter == valid_for and not wal_holds_pages and size < pages * page_size:
        raise HistoryError(path, f"truncated: its header says {pages} pages of {page_size} bytes "
                                 f"({pages * page_size:,} bytes), the file has {size:,}", FIX_DAMAGED)


class HistoryStore:
    """The history store at ``path``. ``create=False`` refuses a missing file instead of creating one (readers)."""

    def __init__(self, path: str | Path | None = None, create: bool = True):
        self.path = Path(path).resolve() if path else default_path()
        if not self.path.exists():
            if not create:
                raise HistoryError(self.path, "no history yet (the file does not exist)",
                                   "python -m harness evaluate and pytest -m model record every run there")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.is_file():
            raise HistoryError(self.path, "not a file", FIX_FOREIGN)
        else:
            inspect_file(self.path)
        self._con: sqlite3.Connection | None = None
        try:
            self._con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            self._con.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            self._prepare(create)
        except sqlite3.DatabaseError as err:
            self.close()
            raise self._damaged(err) from None
        except BaseException:
            self.close()
            raise

    # --- opening ------------------------------------------------------------------------------------------
    def _damaged(self, err: Exception) -> HistoryError:
        return HistoryError(self.path, f"damaged or not a harness history store (SQLite: {err})", FIX_DAMAGED)

    def _state(self) -> tuple[int, list[str], int | None]:
        """(application id, tables, schema version) from one snapshot: in one read transaction (unless already in
        one), so that another process's migration committing between the reads is never seen half (measured: tables
        present but application id still 0, read as another program's database, 1 open in 90 in CI)."""
        con = self._con
        own = not con.in_transaction
        if own:
            con.execute("BEGIN")
        try:
            app = con.execute("PRAGMA application_id").fetchone()[0]
            tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            version = None
            if "schema_version" in tables:
                version = con.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        finally:
            if own:
                con.execute("COMMIT")
        return app, tables, version

    def _refuse_foreign(self, app: int, tables: list[str], version: int | None) -> None:
        if app not in (0, APPLICATION_ID) or (tables and (app != APPLICATION_ID or version is None)):
            listed = ", ".join(tables[:8]) + (" ..." if len(tables) > 8 else "") if tables else "no tables"
            raise HistoryError(self.path, f"an SQLite database of another program (application id {app:#x}, "
                                          f"tables: {listed}), not a harness history store", FIX_FOREIGN)
        if version is not None and version > SCHEMA_VERSION:
            raise HistoryError(self.path, f"written by a newer harness (schema version {version}; this harness knows "
                                          f"versions up to {SCHEMA_VERSION})",
                               "use that harness version, or move the file aside to start a new store")

    def _prepare(self, create: bool) -> None:
        con = self._con
        app, tables, version = self._state()
        self._refuse_foreign(app, tables, version)
        if not tables and not create:
            raise HistoryError(self.path, "an empty file, not a history store yet", FIX_DAMAGED)
        self._use_wal()
        con.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: a killed process never loses a committed run
        con.execute("PRAGMA foreign_keys = ON")
        if version != SCHEMA_VERSION:
            self._migrate()

    def _use_wal(self) -> None:
        """Switch the file to WAL, waiting while another process does the same.

        Measured: three processes opening one new store at the same moment failed 9 times in 180 with "database is
        locked" from ``PRAGMA journal_mode = WAL``, seconds into a 60 s busy timeout, so SQLite does not call the
        busy handler for that statement. The switch is retried until the busy timeout; once another process has
        switched the file, the first check reads "wal" and nothing is left to do."""
        con = self._con
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                if con.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    con.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError as err:
                busy = getattr(err, "sqlite_errorcode", 0) & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
                if not busy or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _migrate(self) -> None:
        """Every step above the file's version, in one transaction. Foreign keys are off while tables are rebuilt
        (SQLite's documented ALTER procedure) and every reference is checked before the commit."""
        self._con.execute("PRAGMA foreign_keys = OFF")
        try:
            with self._write() as con:
                app, tables, version = self._state()  # again, under the write lock: another process may have done it
                self._refuse_foreign(app, tables, version)
                current = version or 0
                for migration in MIGRATIONS:
                    if migration.version > current:
                        for statement in migration.statements:
                            con.execute(statement)
                        con.execute("INSERT INTO schema_version (version, description) VALUES (?, ?)",
                                    (migration.version, migration.description))
                broken = con.execute("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise HistoryError(self.path, f"migrating to schema version {SCHEMA_VERSION} would leave "
                                                  f"{len(broken)} broken references (first: {broken[0]})", FIX_DAMAGED)
                con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        finally:
            self._con.execute("PRAGMA foreign_keys = ON")

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> "HistoryStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE (the write lock up front, so two writers queue instead of
        deadlocking on an upgrade), COMMIT at the end, ROLLBACK on any error."""
        con = self._con
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        try:
            yield self._con
        except sqlite3.DatabaseError as err:
            raise self._damaged(err) from None

    @property
    def schema_version(self) -> int:
        with self._reading() as con:
            return con.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]

    def check(self) -> list[str]:
        """SQLite's full integrity check: [] when the file is sound, else its messages."""
        with self._reading() as con:
            rows = [r[0] for r in con.execute("PRAGMA integrity_check")]
        return [] if rows == ["ok"] else rows

    # --- writing ------------------------------------------------------------------------------------------
    @staticmethod
    def _intern(con: sqlite3.Connection, names: Iterable[str]) -> dict[str, int]:
        wanted = sorted(set(names))
        con.executemany("INSERT OR IGNORE INTO names (name) VALUES (?)", [(n,) for n in wanted])
        found: dict[str, int] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            found.update(con.execute(f"SELECT name, id FROM names WHERE name IN ({','.join('?' * len(chunk))})", chunk))
        return found

    def append(self, record: RunRecord) -> int:
        """Add one run, whole or not at all (one transaction); returns its sequence number."""
        try:
            with self._write() as con:
                return self._insert(con, record)
        except sqlite3.IntegrityError as err:
            raise ValueError(f"run {record.run_id} not recorded: {err}") from None
        except sqlite3.DatabaseError as err:
            raise self._damaged(err) from None

    def append_many(self, records: Iterable[RunRecord], batch: int = 500) -> int:
        """Add many runs, ``batch`` per transaction, with a large page cache: for imports and synthetic stores
        (``benchmarks/history.py``); recording uses :meth:`append`, one transaction per run. Returns the count."""
        count, pending = 0, []
        with self._reading() as con:
            con.execute("PRAGMA cache_size = -262144")  # 256 MiB while loading
        try:
            for record in records:
                pending.append(record)
                if len(pending) >= batch:
                    with self._write() as con:
                        for r in pending:
                            self._insert(con, r)
                    count, pending = count + len(pending), []
            if pending:
                with self._write() as con:
                    for r in pending:
                        self._insert(con, r)
                count += len(pending)
        finally:
            with self._reading() as con:
                con.execute("PRAGMA cache_size = -2000")
        return count

    def _insert(self, con: sqlite3.Connection, r: RunRecord) -> int:
        seq = con.execute(
            "INSERT INTO runs (run_id, session, source, started_at, finished_at, git_commit, git_dirty, dataset_name, "
            "dataset_path, dataset_digest, harness_version, environment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (r.run_id, r.session or r.run_id, r.source, r.started_at, r.finished_at, r.git_commit,
             None if r.git_dirty is None else int(r.git_dirty), r.dataset_name, r.dataset_path, r.dataset_digest,
             r.harness_version, json.dumps(r.environment, sort_keys=True, default=str))).lastrowid
        fault_point("history-run-inserted")
        con.executemany("INSERT INTO run_models (run_seq, model, model_key, verdict, reasons, unavailable) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        [(seq, m.model, m.model_key, m.verdict, json.dumps(list(m.reasons)), m.unavailable)
                         for m in r.models])
        ids = self._intern(con, [r.dataset_name] + [x for m in r.metrics for x in (m.model, m.scored_set, m.metric)])
        dataset_id = ids[r.dataset_name]
        con.executemany(
            "INSERT INTO metrics (dataset_id, model_id, set_id, metric_id, run_seq, value, ci_low, ci_high, n) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(dataset_id, ids[m.model], ids[m.scored_set], ids[m.metric], seq, m.value, *(m.ci or (None, None)), m.n)
             for m in r.metrics])
        con.executemany(
            "INSERT INTO series VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?) ON CONFLICT (dataset_id, model_id, set_id, metric_id) "
            "DO UPDATE SET runs = runs + 1, "
            "min_value = min(coalesce(min_value, excluded.min_value), coalesce(excluded.min_value, min_value)), "
            "max_value = max(coalesce(max_value, excluded.max_value), coalesce(excluded.max_value, max_value)), "
            "first_seq = min(first_seq, excluded.first_seq), last_seq = max(last_seq, excluded.last_seq)",
            [(dataset_id, ids[m.model], ids[m.scored_set], ids[m.metric], m.value, m.value, seq, seq) for m in r.metrics])
        fault_point("history-metrics-inserted")
        con.executemany(
            "INSERT INTO criteria (run_seq, model, criterion, scored_on, metric, status, value, ci_low, ci_high, n, "
            "outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(seq, c.model, c.criterion, c.scored_on, c.metric, c.status, c.value, *(c.ci or (None, None)), c.n,
              c.outcome) for c in r.criteria])
        for row in r.scores:
            scores_id = self._scores_id(con, row)
            con.execute("INSERT OR REPLACE INTO run_scores (run_seq, model, scored_set, scores_id) VALUES (?, ?, ?, ?)",
                        (seq, row.model, row.pairs.scored_set, scores_id))
        fault_point("history-before-commit")
        return seq

    @staticmethod
    def _scores_id(con: sqlite3.Connection, row: ScoreRow) -> int:
        pairs = row.pairs
        if np.asarray(row.scores).shape != (pairs.n,):
            raise ValueError(f"{row.model} on {pairs.scored_set}: {np.asarray(row.scores).shape} scores for {pairs.n} pairs")
        labels, codes = _pack_pairs(pairs)
        con.execute("INSERT OR IGNORE INTO pair_sets (scored_set, rows_digest, n, labels, codes) VALUES (?, ?, ?, ?, ?)",
                    (pairs.scored_set, pairs.rows_digest, pairs.n, labels, codes))
        pair_set_id = con.execute("SELECT id FROM pair_sets WHERE scored_set = ? AND rows_digest = ?",
                                  (pairs.scored_set, pairs.rows_digest)).fetchone()[0]
        data = np.asarray(row.scores, dtype="<f4").tobytes()
        digest = hashlib.sha256(data).hexdigest()[:16]
        con.execute("INSERT OR IGNORE INTO scores (model_key, pair_set_id, encoding, digest, data) "
                    "VALUES (?, ?, 'f32le', ?, ?)", (row.model_key, pair_set_id, digest, data))
        return con.execute("SELECT id FROM scores WHERE model_key = ? AND pair_set_id = ? AND digest = ?",
                           (row.model_key, pair_set_id, digest)).fetchone()[0]

    # --- reading runs -------------------------------------------------------------------------------------
    _RUN_COLUMNS = ("seq", "run_id", "session", "source", "started_at", "finished_at", "git_commit", "git_dirty",
                    "dataset_name", "dataset_path", "dataset_digest", "harness_version")

    def runs(self, dataset: str | None = None, source: str | None = None, since: str | None = None,
             limit: int | None = None) -> list[dict]:
        """Runs, newest first, as dicts (the environment left out; :meth:`run` has it)."""
        where, args = self._run_filter(dataset, source, since)
        sql = f"SELECT {', '.join(self._RUN_COLUMNS)} FROM runs{where} ORDER BY seq DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self._reading() as con:
            return [dict(zip(self._RUN_COLUMNS, row)) for row in con.execute(sql, args)]

    @staticmethod
    def _run_filter(dataset, source, since) -> tuple[str, list]:
        clauses, args = [], []
        for column, value in (("dataset_name", dataset), ("source", source)):
            if value:
                clauses.append(f"{column} = ?")
                args.append(value)
        if since:
            clauses.append("finished_at >= ?")
            args.append(since)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args

    def find_run(self, prefix: str) -> dict:
        """The run whose id is ``prefix`` or starts with it (a unique prefix of at least 6 characters)."""
        with self._reading() as con:
            rows = con.execute(f"SELECT {', '.join(self._RUN_COLUMNS)}, environment FROM runs WHERE run_id = ?",
                               (prefix,)).fetchall()
            if not rows and len(prefix) >= 6:
                rows = con.execute(f"SELECT {', '.join(self._RUN_COLUMNS)}, environment FROM runs "
                                   "WHERE run_id >= ? AND run_id < ? LIMIT 3", (prefix, prefix + "\U0010ffff")).fetchall()
        if len(rows) != 1:
            raise KeyError(f"run {prefix!r}: " + ("no such run in " if not rows else "ambiguous prefix in ")
                           + str(self.path))
        run = dict(zip(self._RUN_COLUMNS + ("environment",), rows[0]))
        run["environment"] = json.loads(run["environment"])
        run["models"] = self.run_models(run["seq"])
        return run

    def run(self, run_id: str) -> dict:
        return self.find_run(run_id)

    def run_models(self, seq: int) -> list[dict]:
        with self._reading() as con:
            rows = con.execute("SELECT model, model_key, verdict, reasons, unavailable FROM run_models WHERE run_seq = ? "
                               "ORDER BY model", (seq,)).fetchall()
        return [{"model": m, "model_key": k, "verdict": v, "reasons": json.loads(r or "[]"), "unavailable": u}
                for m, k, v, r, u in rows]

    def count(self) -> int:
        with self._reading() as con:
            return con.execute("SELECT COUNT(*) FROM runs").fetchone()[0]

    # --- reading scores -----------------------------------------------------------------------------------
    _SCORE_SQL = ("SELECT s.model_key, p.scored_set, p.rows_digest, p.n, p.labels, p.codes, s.encoding, s.data{extra} "
                  "FROM scores s JOIN pair_sets p ON p.id = s.pair_set_id")

    @staticmethod
    def _stored(row, run_id: str | None = None) -> StoredScores:
        key, scored_set, digest, n, labels, codes, encoding, data = row[:8]
        if encoding != "f32le":
            raise ValueError(f"scores of {key} on {scored_set}: unknown encoding {encoding!r}")
        return StoredScores(key, _unpack_pairs(scored_set, digest, n, labels, codes),
                            np.frombuffer(data, dtype="<f4").astype(np.float64), run_id)

    def scores_for_run(self, seq: int, model: str) -> dict[str, StoredScores]:
        """{scored set: scores} of ``model`` in the run with sequence number ``seq``."""
        sql = self._SCORE_SQL.format(extra="") + " JOIN run_scores r ON r.scores_id = s.id WHERE r.run_seq = ? AND r.model = ?"
        with self._reading() as con:
            run_id = con.execute("SELECT run_id FROM runs WHERE seq = ?", (seq,)).fetchone()
            rows = con.execute(sql, (seq, model)).fetchall()
        return {row[1]: self._stored(row, run_id[0] if run_id else None) for row in rows}

    def scores_for_key(self, model_key: str, scored_set: str | None = None,
                       rows_digest: str | None = None) -> dict[str, StoredScores]:
        """{scored set: scores} recorded for ``model_key``: for each set, the rows of the latest run that recorded
        the key on that set (or exactly ``rows_digest``)."""
        clauses, args = ["s.model_key = ?"], [model_key]
        if scored_set:
            clauses.append("p.scored_set = ?")
            args.append(scored_set)
        if rows_digest:
            clauses.append("p.rows_digest = ?")
            args.append(rows_digest)
        sql = (self._SCORE_SQL.format(extra=", (SELECT MAX(run_seq) FROM run_scores r WHERE r.scores_id = s.id) AS last")
               + " WHERE " + " AND ".join(clauses) + " ORDER BY last")
        out: dict[str, StoredScores] = {}
        with self._reading() as con:
            for row in con.execute(sql, args):
                out[row[1]] = self._stored(row)  # later runs replace earlier ones
        return out

    def has_key(self, model_key: str) -> bool:
        with self._reading() as con:
            return con.execute("SELECT 1 FROM scores WHERE model_key = ? LIMIT 1", (model_key,)).fetchone() is not None

    # --- trends -------------------------------------------------------------------------------------------
    def trends(self, dataset: str | None = None, models: Iterable[str] = (), sets: Iterable[str] = (),
               metrics: Iterable[str] = (), source: str | None = None, since: str | None = None,
               last_runs: int | None = None, points: int = 12) -> list[Trend]:
        """Per dataset x model x scored set x metric: run count, min, max, the first point and the ``points`` latest,
        over the runs that pass the filters (``last_runs``: only the latest N runs of the dataset filter)."""
        with self._reading() as con:
            ids = dict(con.execute("SELECT name, id FROM names"))
            names = {v: k for k, v in ids.items()}
            clauses, args = [], []
            for column, wanted in (("dataset_id", [dataset] if dataset else []), ("model_id", list(models)),
                                   ("set_id", list(sets)), ("metric_id", list(metrics))):
                if wanted:
                    known = [ids[w] for w in wanted if w in ids]
                    if not known:
                        return []
                    clauses.append(f"{column} IN ({','.join('?' * len(known))})")
                    args += known
            where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
            series = con.execute("SELECT dataset_id, model_id, set_id, metric_id, runs, min_value, max_value FROM series"
                                 + where, args).fetchall()
            window = self._window(con, dataset, source, since, last_runs)
            point_sql = ("SELECT r.run_id, r.finished_at, m.value, m.ci_low, m.ci_high, m.n FROM metrics m "
                         "JOIN runs r ON r.seq = m.run_seq WHERE m.dataset_id = ? AND m.model_id = ? AND m.set_id = ? "
                         "AND m.metric_id = ?")
            if window is not None:  # only some runs count: the series' values in the window, by primary-key range
                low_seq, exact = window
                point_sql += " AND m.run_seq >= ?" + (" AND m.run_seq IN temp.history_window" if exact else "")
            out = []
            for d, m, s, k, count, low, high in series:
                key = [d, m, s, k] + ([window[0]] if window is not None else [])
                if window is not None:
                    count, low, high = con.execute(point_sql.replace(
                        "r.run_id, r.finished_at, m.value, m.ci_low, m.ci_high, m.n", "COUNT(*), MIN(m.value), MAX(m.value)"),
                        key).fetchone()
                    if not count:
                        continue
                first = con.execute(point_sql + " ORDER BY m.run_seq LIMIT 1", key).fetchone()
                recent = con.execute(point_sql + f" ORDER BY m.run_seq DESC LIMIT {int(points)}", key).fetchall()
                out.append(Trend(names[d], names[m], names[s], names[k], count, low, high, self._point(first),
                                 [self._point(p) for p in reversed(recent)]))
        return sorted(out, key=lambda t: (t.dataset, t.model != "baseline", t.model, t.scored_set, t.metric))

    def _window(self, con, dataset, source, since, last_runs) -> tuple[int, bool] | None:
        """None when every run counts; else (lowest run seq, whether runs below the latest are filtered too, in which
        case their seqs are in ``temp.history_window``)."""
        if not (source or since or last_runs):
            return None
        run_where, run_args = self._run_filter(dataset, source, since)
        if last_runs:
            row = con.execute(f"SELECT seq FROM runs{run_where} ORDER BY seq DESC LIMIT 1 OFFSET ?",
                              run_args + [int(last_runs) - 1]).fetchone()
            low = row[0] if row else con.execute(f"SELECT MIN(seq) FROM runs{run_where}", run_args).fetchone()[0]
        else:
            low = con.execute(f"SELECT MIN(seq) FROM runs{run_where}", run_args).fetchone()[0]
        low = low if low is not None else 2**62  # nothing passes the filter
        exact = bool(source or since)
        if exact:
            con.execute("CREATE TEMP TABLE IF NOT EXISTS history_window (seq INTEGER PRIMARY KEY)")
            con.execute("DELETE FROM temp.history_window")
            clause = (run_where + " AND" if run_where else " WHERE") + " seq >= ?"
            con.execute(f"INSERT INTO temp.history_window SELECT seq FROM runs{clause}", run_args + [low])
        return low, exact

    @staticmethod
    def _point(row) -> TrendPoint:
        run_id, finished_at, value, low, high, n = row
        return TrendPoint(run_id, finished_at, value, _ci(low, high), n)
