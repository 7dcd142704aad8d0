"""Registry look-ups with a "did you mean" for typos (models, scored sets)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


def lookup(registry: Mapping[str, T], name: str, kind: str) -> T:
    """``registry[name]``, or a KeyError that lists the registered names and suggests the closest."""
    if name in registry:
        return registry[name]
    close = difflib.get_close_matches(name, list(registry), n=2)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise KeyError(f"unknown {kind} {name!r}; registered: {', '.join(registry)}.{hint}")
