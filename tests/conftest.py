"""Hermetic test set-up: every test gets its own HOME, git config and repository.

Git never reads the developer's ~/.gitconfig or /etc/gitconfig here, nor
does libgit2 inside this process, author and committer and their dates are
pinned, and a guard (support/home.py) fails any test whose process writes
into the real $HOME; the processes a test starts get its temporary HOME.
The helpers the tests import live in tests/support/.
"""

from __future__ import annotations

import pytest

from support import home as home_guard
from support import profiles  # noqa: F401  (loads the Hypothesis profile before any test module)

# Before anything imports pygit2 for real work: libgit2 reads its global, XDG
# and system config from search paths it fixes when loaded, from the HOME of
# that moment (the developer's). Empty them (pygit2's test/conftest.py does
# the same); each test then points the global and XDG ones at its own HOME,
# where the git-ot processes it starts find their config too.
import pygit2  # noqa: E402
from pygit2.enums import ConfigLevel  # noqa: E402

NO_CONFIG = ""  # no directory: no config file at that level
for _level in (ConfigLevel.GLOBAL, ConfigLevel.XDG, ConfigLevel.SYSTEM):
    pygit2.settings.search_path[_level] = NO_CONFIG

from support.repo import ROOT, Repo, git  # noqa: E402  (imports git_ot, and so pygit2)

REAL_HOMES = home_guard.real_homes()  # before any test moves HOME

PINNED = {
    "GIT_AUTHOR_NAME": "A U Thor",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "C O Mitter",
    "GIT_COMMITTER_EMAIL": "committer@example.com",
    "GIT_AUTHOR_DATE": "1700000000 +0000",
    "GIT_COMMITTER_DATE": "1700000000 +0000",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C.UTF-8",
    "TZ": "UTC",
}


@pytest.fixture(autouse=True)
def hermetic(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    for key, value in PINNED.items():
        monkeypatch.setenv(key, value)
    for key in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_OT_MAX_FILE_SIZE", "CLAUDE_CONFIG_DIR",
                "CODEX_HOME"):
        monkeypatch.delenv(key, raising=False)
    (home / ".gitconfig").write_text("[init]\n\tdefaultBranch = main\n[protocol \"file\"]\n\tallow = always\n")
    pygit2.settings.search_path[ConfigLevel.GLOBAL] = str(home)
    pygit2.settings.search_path[ConfigLevel.XDG] = str(home / ".config" / "git")
    allowed = home_guard.default_allowed(ROOT) + [str(tmp_path_factory.getbasetemp())]
    try:
        with home_guard.Recorder(REAL_HOMES, allowed) as guard:
            yield home
    finally:
        pygit2.settings.search_path[ConfigLevel.GLOBAL] = NO_CONFIG
        pygit2.settings.search_path[ConfigLevel.XDG] = NO_CONFIG
    assert not guard.seen, f"a test wrote into the real $HOME: {guard.seen}"


@pytest.fixture
def repo(tmp_path):
    """A repository with two committed files; `git fsck --strict` must pass after the test."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    r = Repo(path)
    r.write("app.py", 'def greet(name):\n    return "hi " + name\n')
    r.write("README.md", "readme\n")
    r.commit("initial")
    yield r
    if not r.damaged:
        r.fsck()


@pytest.fixture
def empty_repo(tmp_path):
    path = tmp_path / "empty"
    path.mkdir()
    git(path, "init", "-q")
    r = Repo(path)
    yield r
    if not r.damaged:
        r.fsck()
