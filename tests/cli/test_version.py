"""`git ot version`: git-ot's, git's and Python's versions, and each harness
program's found on PATH; a harness that is missing, fails or hangs never
makes the command fail."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from git_ot import __version__
from git_ot.domain import versions

PYTHON = "%d.%d.%d" % sys.version_info[:3]
GIT = subprocess.run(["git", "--version"], capture_output=True, text=True, check=True).stdout.split()[2]


@pytest.fixture
def bin_dir(tmp_path):
    """A PATH of git alone, to which a test adds fake harness programs."""
    d = tmp_path / "bin"
    d.mkdir()
    os.symlink(shutil.which("git"), d / "git")
    return d


def program(bin_dir, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)


def run(repo, bin_dir, *args):
    ran = repo.cli("version", *args, env={**os.environ, "PATH": str(bin_dir)})
    assert ran.returncode == 0 and ran.stderr == b"", ran.stderr.decode()
    return ran.stdout.decode()


def test_version_with_claude_code_alone(repo, bin_dir):
    program(bin_dir, "claude", 'echo "2.1.328 (Claude Code)"')
    assert run(repo, bin_dir) == (
        f"git-ot       {__version__}\n"
        f"git          {GIT}\n"
        f"python       {PYTHON}\n"
        "claude-code  2.1.328\n"
        "codex        not found\n"
        "pi           not found\n"
    )
    assert json.loads(run(repo, bin_dir, "--json")) == {
        "git-ot": __version__, "git": GIT, "python": PYTHON,
        "harnesses": {"claude-code": "2.1.328", "codex": None, "pi": None},
    }


def test_a_harness_that_fails_or_hangs_is_unknown(repo, bin_dir, monkeypatch):
    monkeypatch.setattr(versions, "HARNESS_TIMEOUT", 0.5)
    program(bin_dir, "claude", "exit 2")
    program(bin_dir, "codex", "sleep 30 & sleep 30")  # a child holds the pipe too
    program(bin_dir, "pi", "echo pi-coding-agent 0.9.1-beta.2")
    out = run(repo, bin_dir)
    assert out.splitlines()[3:] == ["claude-code  unknown", "codex        unknown", "pi           0.9.1-beta.2"]
    assert json.loads(run(repo, bin_dir, "--json"))["harnesses"] == {
        "claude-code": None, "codex": None, "pi": "0.9.1-beta.2"}


def test_version_needs_no_repository_and_version_option_is_unchanged(tmp_path, bin_dir):
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.path.dirname(sys.executable)}"}
    ran = subprocess.run([sys.executable, "-m", "git_ot", "version", "--json"], cwd=tmp_path,
                         capture_output=True, env=env)
    assert ran.returncode == 0, ran.stderr.decode()
    assert json.loads(ran.stdout)["git-ot"] == __version__
    ran = subprocess.run([sys.executable, "-m", "git_ot", "--version"], capture_output=True)
    assert ran.stdout.decode() == f"git-ot {__version__}\n"
    assert not (tmp_path / ".git").exists()


@pytest.mark.parametrize("text, expected", [
    ("2.1.328 (Claude Code)\n", "2.1.328"),
    ("codex-cli 0.46.0\n", "0.46.0"),
    ("git version 2.43.0\n", "2.43.0"),
    ("nightly\n", "nightly"),
    ("", None),
])
def test_parse_version(text, expected):
    assert versions.parse_version(text) == expected
