"""The formatters people run over agent code, run for real by the tests.

gofmt comes from Debian's `golang-go` and prettier from npm at the version
pinned in tests/support/agents.py; .ci/run installs both. A missing one
fails its tests with how to install it: they are never skipped (only
GIT_OT_SKIP_E2E=1, for a machine without npm, skips prettier's).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from . import agents


def gofmt(path: Path) -> None:
    """`gofmt -w PATH`."""
    program = shutil.which("gofmt")
    if program is None:
        pytest.fail("gofmt is not installed; install it with 'apt-get install golang-go' "
                    "(as .ci/run does)", pytrace=False)
    subprocess.run([program, "-w", str(path)], check=True, capture_output=True)


def prettier(path: Path) -> None:
    """`prettier --write PATH`, the pinned version, with its default options."""
    package, version, program, banner = agents.TOOLS["prettier"]
    local = agents.ROOT / "node_modules" / ".bin" / program
    found = str(local) if local.exists() else shutil.which(program)
    problem = None
    if found is None:
        problem = "prettier is not installed"
    else:
        said = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL).stdout
        if not said.startswith(banner):
            problem = f"'{found} --version' says {said.strip()!r}, not {version}"
    if problem:
        if os.environ.get("GIT_OT_SKIP_E2E") == "1":
            pytest.skip(f"{problem} (GIT_OT_SKIP_E2E=1)")
        pytest.fail(f"{problem}; install it with '{agents.npm_install_command()}' at the top of "
                    "the source tree (as .ci/run does)", pytrace=False)
    # No configuration of the repository's or the user's: prettier's defaults.
    subprocess.run([found, "--no-config", "--write", path.name], cwd=path.parent, check=True,
                   capture_output=True, stdin=subprocess.DEVNULL)
