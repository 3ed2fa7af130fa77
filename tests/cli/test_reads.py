"""Read commands leave the local state as they found it.

In a repository where nothing was ever sealed, `git ot scan`, `trace list`,
`blame` and `track` must not make `.git/opentraces/` (not the gate's salt,
not its cache, not an empty directory); the first seal makes what it needs.
"""

from __future__ import annotations

from support.repo import replay


def test_read_commands_write_no_state_where_nothing_was_sealed(repo):
    state = repo.path / ".git" / "opentraces"
    for args in (("scan",), ("scan", "--json"), ("trace", "list"), ("trace", "list", "--json"),
                 ("blame", "app.py"), ("track",)):
        ran = repo.cli(*args)
        assert ran.returncode == 0, (args, ran.stderr.decode())
        assert not state.exists(), (args, sorted(p.name for p in state.rglob("*")))


def test_the_first_seal_makes_the_salt_and_later_runs_keep_it(repo):
    salt = repo.path / ".git" / "opentraces" / "salt"
    replay(repo, "linear-edit")
    assert salt.exists()
    before = salt.read_bytes()
    for args in (("scan",), ("trace", "list"), ("blame", "app.py"), ("track",)):
        assert repo.cli(*args).returncode == 0
    replay(repo, "bash-writes")
    assert salt.read_bytes() == before
