"""Run history, paired comparisons, accepted baselines and optional MLflow tracking (issue #22).

* :mod:`~harness.history.store`: the SQLite store (``runs/history.sqlite``): WAL, one transaction per run, a schema
  version migrated forward, foreign or damaged files refused with a message that names the file.
* :mod:`~harness.history.record`: :func:`~harness.history.record.record_run`, the one call that appends a finished
  :class:`~harness.pipeline.Run` (``python -m harness evaluate``, the pytest session end).
* :mod:`~harness.history.compare`: paired bootstrap deltas per scored set, labelled by the rule of ADR 006.
* :mod:`~harness.history.baseline`: ``baselines/<dataset>.json``, the accepted model per gated name.
* :mod:`~harness.history.tracking`: MLflow, only when asked (``--mlflow`` or ``MLFLOW_TRACKING_URI``).
* :mod:`~harness.history.cli`: ``python -m harness history``, ``compare`` and ``accept``.

Nothing here imports pytest; ``fixtures/history.py`` is the pytest side.
"""
