"""The git server the sharing tests push to and fetch from."""

from __future__ import annotations

import pytest

from support.repo import git
from support.share import Daemon, Server, fsck


@pytest.fixture
def server(tmp_path):
    """A bare repository with one commit on main, served by git daemon."""
    base = tmp_path / "srv"
    base.mkdir()
    bare = base / "server.git"
    git(base, "init", "-q", "--bare", str(bare))
    seed = tmp_path / "seed"
    git(tmp_path, "init", "-q", str(seed))
    (seed / "app.py").write_text("print('hi')\n")
    git(seed, "add", "-A")
    git(seed, "commit", "-q", "-m", "initial")
    git(seed, "push", "-q", str(bare), "main")
    daemon = Daemon(base)
    yield Server(bare, daemon)
    daemon.stop()
    fsck(bare)
