"""CI runs exactly the README's own set-up commands, so the two cannot drift."""

from __future__ import annotations

import re
from pathlib import Path

from support import agents

ROOT = Path(__file__).resolve().parents[2]


def test_ci_runs_the_readme_install_and_test_commands():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"## Set up, test, try\n.*?```sh\n(.*?)```", readme, re.S).group(1)
    readme_cmds = [line for line in block.splitlines() if line.strip()]
    ci = (ROOT / ".ci/run").read_text().splitlines()
    ci_cmds = [line for line in ci if line.startswith((".venv/", "python3 -m venv"))]
    assert readme_cmds == ci_cmds == [
        "python3 -m venv .venv && .venv/bin/pip install '.[test]' && "
        + agents.npm_install_command(),
        ".venv/bin/pytest",
    ]


def test_the_agent_clis_are_pinned_once():
    """The pins live in tests/support/agents.py; CI's npm line is built from them."""
    ci = (ROOT / ".ci/run").read_text()
    assert ci.count("npm install") == 1
    for package, version, _, _ in [*agents.CLIS.values(), *agents.TOOLS.values()]:
        assert f"{package}@{version}" in ci


def test_every_package_is_listed_for_installation():
    """The package list in pyproject.toml is explicit; a missing entry only
    shows in a regular install, where the subpackage would be absent."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "git_ot").rglob("__init__.py")
    }
    assert found <= listed
