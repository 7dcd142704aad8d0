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

pytest_plugins = ["fixtures.evidence", "fixtures.datasets", "fixtures.models", "fixtures.report"]


def pytest_addoption(parser):
    group = parser.getgroup("harness")
    group.addoption("--dataset", default=str(DEFAULT_DATASET), help="dataset folder (default: %(default)s)")
    group.addoption("--model", action="append", default=None, metavar="NAME",
                    help="model to gate; repeatable; 'all' for every registered model")
    group.addoption("--eval-file", default=None, metavar="JSONL",
                    help="also score the PRD criteria on this eval file (e.g. a curated eval), beside the original")


def pytest_generate_tests(metafunc):
    """Parametrise model checks over ``--model`` (and criteria x models) with readable ids."""
    from harness.criteria import cases
    from harness.registry import resolve_model_names

    names = resolve_model_names(metafunc.config.getoption("--model"))
    if "criterion_case" in metafunc.fixturenames:
        from pathlib import Path

        default_data = Path(metafunc.config.getoption("--dataset")).resolve() == DEFAULT_DATASET.resolve()
        selected = cases(names, extra_split="eval_file" if metafunc.config.getoption("--eval-file") else None,
                         default_data=default_data)
        metafunc.parametrize("criterion_case", selected, ids=[f"{m}-{c.id}" for c, m in selected], scope="session")
    if "model_name" in metafunc.fixturenames:
        metafunc.parametrize("model_name", names, scope="session")
    if "adapter_model" in metafunc.fixturenames:
        from harness.registry import get_model_spec

        metafunc.parametrize("adapter_model", [n for n in names if get_model_spec(n).kind == "lora"], scope="session")
