"""The README's quick start, run as written.

The commands come from the README's own ```sh blocks (every line that
starts with `git ot`, its comment dropped), so a README whose commands stop
working fails here. They run as a user runs them: through `git ot`, git
finding the installed `git-ot` console script first on PATH, in scratch
repositories under the test's own HOME.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from support.repo import git, replay

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the virtualenv's bin directory


# The sections whose ```sh blocks make the quick start: set up, try it,
# share. The other sections' blocks show a command's uses on a repository
# of the reader's own.
QUICK_START = ("Set up, test, try", "How sessions are stored")


def readme_commands() -> list[list[str]]:
    """Every `git ot` command of the quick start's ```sh blocks, in order, as argv."""
    readme = (ROOT / "README.md").read_text()
    sections = re.split(r"^## ", readme, flags=re.M)
    text = "".join(sec for sec in sections if sec.startswith(QUICK_START))
    commands = []
    for block in re.findall(r"^```sh\n(.*?)^```", text, re.S | re.M):
        for line in block.splitlines():
            if line.startswith("git ot "):
                commands.append(shlex.split(line, comments=True))
    return commands


def user_env(tmp_path: Path) -> dict:
    """The test's hermetic environment, with the virtualenv's bin first on PATH
    (so `git ot` is its `git-ot`) and the system's temporary directory in the
    test's scratch space (where `git ot demo` makes its repository)."""
    assert (BIN / "git-ot").is_file(), f"no git-ot console script in {BIN}"
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "TMPDIR": str(tmp)}


def run(cwd: Path, argv: list[str], env: dict) -> str:
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, f"{shlex.join(argv)} exited {proc.returncode}: {proc.stderr}"
    return proc.stdout


def test_the_readme_quick_start_blocks_are_found():
    assert readme_commands() == [
        ["git", "ot", "demo"],
        ["git", "ot", "init"],
        ["git", "ot", "install", "claude-code"],
        ["git", "ot", "remote", "set", "origin"],
        ["git", "ot", "approve", "--all"],
        ["git", "ot", "push"],
        ["git", "ot", "fetch"],
    ]


def test_the_readme_quick_start_runs_as_written(repo, tmp_path):
    env = user_env(tmp_path)
    commands = iter(readme_commands())

    # "Then try it": `git ot demo`, anywhere.
    demo = next(commands)
    out = run(tmp_path, demo, env)
    (scratch,) = [p for p in (tmp_path / "tmp").iterdir()]
    last = out.rstrip("\n").splitlines()[-1]
    assert last == f"The repository stays in {scratch}; try: cd {scratch} && git ot blame commit HEAD"
    assert f"in a new repository, {scratch}, with a commit after each turn:" in out
    run(scratch, ["git", "ot", "blame", "commit", "HEAD"], env)

    # "Then, in any git repository of yours": init, install claude-code.
    for argv in (next(commands), next(commands)):
        run(repo.path, argv, env)
    settings = json.loads((repo.path / ".claude" / "settings.json").read_text())
    assert "git-ot" in json.dumps(settings["hooks"])
    assert (repo.path / ".git" / "hooks" / "post-commit").is_file()

    # A session captured here (the recorded one, through the hook command),
    # and the commit after it.
    sid = replay(repo, "linear-edit")
    repo.commit("the agent's work")

    # Sharing, with `origin` a bare repository on this machine.
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    repo.git("remote", "add", "origin", str(bare))
    repo.git("push", "-q", "origin", "HEAD:main")
    remote_set, approve, push = next(commands), next(commands), next(commands)
    for argv in (remote_set, approve, push):
        run(repo.path, argv, env)
    assert git(bare, "for-each-ref", "--format=%(refname)", f"refs/opentraces/sessions/{sid}").strip()

    # `git ot fetch` in another clone, with no `git ot init`, once the
    # remote is set there (the README's own `git ot remote set` again).
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(bare), str(clone))
    run(clone, remote_set, env)
    run(clone, next(commands), env)
    assert next(commands, None) is None
    listed = run(clone, ["git", "ot", "trace", "list", "--json"], env)
    assert sid in listed
