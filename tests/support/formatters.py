"""The formatters people run over agent code, run for real by the tests.

gofmt comes from Debian's `golang-go` and prettier from npm at the version
pinned in tests/support/agents.py; .ci/run installs both. A missing one
fails its tests with how to install it: they are never skipped (only
GIT_OT_SKIP_E2E=1, for a machine without npm, skips prettier's).
"""

from __future__ import annotations

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
    found = agents.pinned(agents.TOOLS["prettier"], "prettier")
    # No configuration of the repository's or the user's: prettier's defaults.
    subprocess.run([found, "--no-config", "--write", path.name], cwd=path.parent, check=True,
                   capture_output=True, stdin=subprocess.DEVNULL)
