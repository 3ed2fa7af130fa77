"""The agent CLIs the end-to-end tests run for real, and their pinned versions.

.ci/run installs exactly these (tests/cli/test_ci.py checks the two agree)
into node_modules/ at the top of the source tree. Without a CLI its tests
fail with the command that installs it; GIT_OT_SKIP_E2E=1 skips them on a
machine without npm.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# harness -> (npm package, pinned version, program, what `--version` prints first)
CLIS = {
    "claude-code": ("@anthropic-ai/claude-code", "2.1.328", "claude", "2.1.328 "),
    "codex": ("@openai/codex", "0.169.0", "codex", "codex-cli 0.169.0"),
    "pi": ("@mariozechner/pi-coding-agent", "0.73.1", "pi", "0.73.1"),
}

# Other tools from npm the tests run for real (tests/support/formatters.py),
# in the same form.
TOOLS = {
    "prettier": ("prettier", "3.10.1", "prettier", "3.10.1"),
}

# Variables of an enclosing agent session or the developer's own account
# must not reach a CLI under test.
FOREIGN_ENV = ("CLAUDE", "ANTHROPIC_", "OTEL_", "AWS_", "GOOGLE_", "VERTEX_", "CODEX_", "OPENAI_",
               "PI_")


def npm_install_command() -> str:
    """The one npm command that installs every pinned CLI and tool (the README's and .ci/run's)."""
    return "npm install --no-save --prefix . " + " ".join(
        f"{package}@{version}" for package, version, _, _ in [*CLIS.values(), *TOOLS.values()])


def clean_env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_ENV)}


def find(harness: str) -> str | None:
    program = CLIS[harness][2]
    local = ROOT / "node_modules" / ".bin" / program
    return str(local) if local.exists() else shutil.which(program)


def require(harness: str, home: Path) -> str:
    """The path of `harness`'s pinned CLI; fails (or skips under
    GIT_OT_SKIP_E2E=1) with how to install it when it is missing or another version."""
    program = CLIS[harness][2]
    return pinned(CLIS[harness], f"the {harness} CLI ('{program}')", {**clean_env(), "HOME": str(home)})


def pinned(entry: tuple, what: str, env: dict | None = None) -> str:
    """The path of a pinned npm program (an entry of CLIS or TOOLS); fails
    (or skips under GIT_OT_SKIP_E2E=1) with how to install it when it is
    missing or another version."""
    package, version, program, banner = entry
    local = ROOT / "node_modules" / ".bin" / program
    path = str(local) if local.exists() else shutil.which(program)
    problem = None
    if path is None:
        problem = f"{what} is not installed"
    else:
        proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=120,
                              env=env, stdin=subprocess.DEVNULL)
        # Pi prints its version on stderr.
        said = proc.stdout if proc.stdout.strip() else proc.stderr
        if not said.startswith(banner):
            problem = f"'{path} --version' says {said.strip()!r}, not {version}"
    if problem:
        if os.environ.get("GIT_OT_SKIP_E2E") == "1":
            pytest.skip(f"{problem} (GIT_OT_SKIP_E2E=1)")
        pytest.fail(f"{problem}; install it with '{npm_install_command()}' at the top of the "
                    "source tree (as .ci/run does), or set GIT_OT_SKIP_E2E=1 to skip", pytrace=False)
    return path
