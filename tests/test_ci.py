"""CI runs exactly the README's own set-up commands, so the two cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ci_runs_the_readme_install_and_test_commands():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Set up, test, try\n.*?```sh\n(.*?)```", readme, re.S).group(1)
    readme_cmds = [line for line in block.splitlines() if line.strip()]
    ci = (ROOT / ".ci/run").read_text().splitlines()
    ci_cmds = [line for line in ci if line.startswith((".venv/", "python3 -m venv"))]
    assert readme_cmds == ci_cmds == [
        "python3 -m venv .venv && .venv/bin/pip install '.[test]'",
        ".venv/bin/pytest",
    ]
