"""Root conftest: command-line options and the fixture plugins (pytest reads options only from here).

``--dataset DIR`` picks the dataset every gate runs on (default: the project's ``data/default/``).
``--model NAME`` (repeatable, or ``all``) picks the models the model gates walk.
"""

from __future__ import annotations

import os

# No model hub at run time, ever: set before anything imports huggingface_hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from harness.paths import DEFAULT_DATASET  # noqa: E402

pytest_plugins = ["fixtures.evidence", "fixtures.datasets"]


def pytest_addoption(parser):
    group = parser.getgroup("harness")
    group.addoption("--dataset", default=str(DEFAULT_DATASET), help="dataset folder (default: %(default)s)")
    group.addoption("--model", action="append", default=None, metavar="NAME",
                    help="model to gate; repeatable; 'all' for every registered model")
