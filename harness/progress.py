"""Progress you can see: periodic training lines, one-line announcements of slow steps.

The library never imports pytest. Output goes to a *sink*, ``stderr`` by default; the pytest plugin
(:mod:`fixtures.plugin`) swaps in one that writes through the terminal reporter with capture
suspended, so lines show at default verbosity while checks run. On a TTY the CLI keeps the trainer's
tqdm bar; elsewhere (CI logs, pytest) training prints a line every ``INTERVAL_S`` seconds instead of
thousands of carriage returns.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator

INTERVAL_S = 5.0

_sink: Callable[[str], None] | None = None


def set_sink(sink: Callable[[str], None] | None) -> None:
    """Route progress lines to ``sink`` (None: back to stderr)."""
    global _sink
    _sink = sink


def emit(message: str) -> None:
    line = f"[harness] {message}"
    if _sink is not None:
        _sink(line)
    else:
        print(line, file=sys.stderr, flush=True)


def wants_bar() -> bool:
    """A live bar only for a person at a terminal, never under a sink (pytest) or in a log file."""
    return _sink is None and sys.stderr.isatty()


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def eta(elapsed: float, done: int, total: int) -> str:
    """The time left at the rate so far, or "?" before anything is done."""
    return duration(elapsed / done * (total - done)) if done else "?"


@contextlib.contextmanager
def step(what: str) -> Iterator[None]:
    """Announce a slow step in one line, and say how long it took."""
    emit(f"{what} ...")
    started = time.perf_counter()
    yield
    emit(f"{what}: done in {duration(time.perf_counter() - started)}")


class Count:
    """Periodic lines for a long loop over items: ``what: done/total, elapsed, ETA``, at most every ``interval_s``
    seconds and always at the end (the cross-encoder scoring tens of thousands of silver pairs, for instance)."""

    def __init__(self, what: str, total: int, interval_s: float = INTERVAL_S, clock=time.perf_counter):
        self.what, self.total, self.interval_s, self.clock = what, total, interval_s, clock
        self.done = 0
        self.started = self.last = clock()

    def advance(self, n: int) -> None:
        self.done += n
        now = self.clock()
        if self.done >= self.total or now - self.last >= self.interval_s:
            self.last = now
            elapsed = now - self.started
            emit(f"{self.what}: {self.done:,}/{self.total:,}, {duration(elapsed)} elapsed, "
                 f"ETA {eta(elapsed, self.done, self.total)}")


class TrainingProgress:
    """Periodic lines from a running trainer: model, data, step/total, epoch, elapsed, ETA.

    Built as a ``transformers.TrainerCallback`` by :func:`training_callback` (transformers is imported
    only there, so this module stays cheap to import).
    """

    def __init__(self, model: str, data: str, interval_s: float = INTERVAL_S, clock=time.perf_counter):
        self.model, self.data, self.interval_s, self.clock = model, data, interval_s, clock
        self.started = self.last = None

    def line(self, step: int, total: int, epoch: float, epochs: float, now: float) -> str:
        elapsed = now - self.started
        return (f"training {self.model} on {self.data}: step {step}/{total} (epoch {epoch:.2f}/{epochs:g}), "
                f"{duration(elapsed)} elapsed, ETA {eta(elapsed, step, total)}")

    def begin(self, total: int, epochs: float) -> None:
        self.started = self.last = self.clock()
        emit(self.line(0, total, 0.0, epochs, self.started))

    def tick(self, step: int, total: int, epoch: float, epochs: float, force: bool = False) -> None:
        now = self.clock()
        if force or now - self.last >= self.interval_s:
            self.last = now
            emit(self.line(step, total, epoch, epochs, now))


def training_callback(model: str, data: str):
    """A TrainerCallback that drives :class:`TrainingProgress` (rank 0 only: the trainer calls it on every rank,
    so it checks ``state.is_world_process_zero``)."""
    from transformers import TrainerCallback

    progress = TrainingProgress(model, data)

    class _Callback(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                progress.begin(state.max_steps, args.num_train_epochs)

        def on_step_end(self, args, state, control, **kwargs):
            if state.is_world_process_zero:
                progress.tick(state.global_step, state.max_steps, state.epoch or 0.0, args.num_train_epochs,
                              force=state.global_step == state.max_steps)

    return _Callback()
