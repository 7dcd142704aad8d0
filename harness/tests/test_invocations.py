"""Every pytest invocation the README prints works as typed: options are known before pytest picks its rootdir
(the harness's plugin is a pytest11 entry point), with or without ``checks/``, ``--dataset DIR`` or
``--dataset=DIR``, relative or absolute. Each runs in a subprocess with ``--collect-only``."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest

from harness.paths import PROJECT_ROOT

pytestmark = pytest.mark.unit

REFERENCE = (PROJECT_ROOT.parent / "shared" / "data" / "reference").resolve()
EXTRA = [  # the forms the issue names, beyond the README's own lines
    "pytest -m model --model lora --dataset ../shared/data/reference",
    "pytest -m model --model lora --dataset=../shared/data/reference",
    f"pytest checks/ -m data --dataset {REFERENCE}",
]


def readme_invocations() -> list[str]:
    text = (PROJECT_ROOT / "README.md").read_text()
    found = []
    for block in re.findall(r"```bash\n(.*?)```", text, re.S):
        for line in block.splitlines():
            command = line.split("  #", 1)[0].strip()
            if command.startswith(("pytest ", "python -m pytest ")) or command == "pytest":
                found.append(command)
    return list(dict.fromkeys(found + EXTRA))


def test_readme_has_invocations():
    assert len(readme_invocations()) > len(EXTRA)


def test_every_invocation_collects(tmp_path):
    """All of them, two at a time (collection imports torch: about 3 s each), each rooted at the project with its
    pytest.ini (a --dataset value outside the project used to make pytest root at the common ancestor and skip it)."""
    commands = readme_invocations()
    procs = []
    failures = []
    for command in commands:
        argv = shlex.split(command)
        argv = [sys.executable, "-m", "pytest", *argv[argv.index("pytest") + 1:], "--collect-only",
                f"--html={tmp_path / 'report.html'}"]
        procs.append((command, subprocess.Popen(argv, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                                text=True)))
        if len(procs) >= 2:
            failures += _finish(procs.pop(0))
    for item in procs:
        failures += _finish(item)
    assert not failures, "\n\n".join(failures)


def _finish(item) -> list[str]:
    command, proc = item
    out, _ = proc.communicate(timeout=300)
    rooted = f"rootdir: {PROJECT_ROOT}\n" in out and "configfile: pytest.ini" in out
    if proc.returncode not in (0, 5) or "unrecognized arguments" in out or "ERROR" in out or not rooted:
        return [f"{command} -> exit {proc.returncode}:\n{out[-1500:]}"]
    return []
