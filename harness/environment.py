"""The process environment the harness runs in, set in one place: no model hub at run time, ever.

:func:`set_offline` is called first thing by every entry point (the CLI, the pytest plugin, the benchmarks), before
anything imports ``huggingface_hub``/``transformers`` (they read these variables once, at import).
:func:`offline_env` is the environment of a child process (a pytest or CLI subprocess in a check or test).
A value the caller already set wins (``setdefault``).
"""

from __future__ import annotations

import os

#: No hub look-ups (models load from absolute paths with local_files_only), no tokenizer thread pools forked into
#: training workers.
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
#: Library tqdm bars off (weights loading, model-card widgets): a log or pytest gets harness.progress lines instead
#: of carriage returns. tqdm reads it once, when it is first imported.
QUIET = {"TQDM_DISABLE": "1"}


def set_offline(quiet: bool = True) -> None:
    """Set :data:`OFFLINE` (and :data:`QUIET` where ``quiet``) in this process, keeping values already set."""
    for name, value in {**OFFLINE, **(QUIET if quiet else {})}.items():
        os.environ.setdefault(name, value)


def offline_env(**extra: str) -> dict[str, str]:
    """A child's environment: this process's, offline whatever it says (:data:`OFFLINE`), :data:`QUIET` unless set,
    plus ``extra``."""
    return {**QUIET, **os.environ, **OFFLINE, **extra}
