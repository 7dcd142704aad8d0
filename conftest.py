"""Root conftest: nothing to declare. The options, fixtures and hooks are the harness's pytest plugin,
``fixtures/plugin.py``, registered as a ``pytest11`` entry point (pyproject.toml) so that pytest knows
``--dataset`` and ``--model`` before it chooses its rootdir. ``scripts/setup`` installs it."""

import importlib.metadata

if not any(ep.value == "fixtures.plugin" for ep in importlib.metadata.entry_points(group="pytest11")):
    raise SystemExit("the harness's pytest plugin is not installed: run scripts/setup (or pip install -e .) first")
