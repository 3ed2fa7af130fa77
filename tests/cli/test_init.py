"""`git ot init` / `git ot uninstall`: chain, repeat and restore hooks exactly.

The commands run inside the test process (support/cli.py), but for one run
of the real program; the git hooks they install run as git runs them.
"""

from __future__ import annotations

import os
import stat

from support.repo import Repo, git

HOOKS = ["post-applypatch", "post-commit", "post-merge", "post-rewrite"]
IN_ORDER = ["post-commit", "post-rewrite", "post-merge", "post-applypatch"]


def hook_files(directory):
    out = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".sample"):
            continue
        p = os.path.join(directory, name)
        out[name] = (open(p, "rb").read(), stat.S_IMODE(os.lstat(p).st_mode))
    return out


def test_init_installs_and_is_idempotent(repo):
    first = repo.cli_json("init")
    hooks_dir = str(repo.path / ".git/hooks")
    assert first == {"hooks_dir": hooks_dir, "hooks": {h: "installed" for h in IN_ORDER}}
    installed = hook_files(hooks_dir)
    assert sorted(installed) == HOOKS
    assert all(mode & 0o111 for _, mode in installed.values())
    second = repo.cli_json("init")
    assert second["hooks"] == {h: "unchanged" for h in IN_ORDER}
    assert hook_files(hooks_dir) == installed
    proc = repo.ot("init")
    assert proc.stdout.decode().splitlines() == [
        "post-commit: unchanged", "post-rewrite: unchanged", "post-merge: unchanged",
        "post-applypatch: unchanged", f"git-ot is set up in {hooks_dir}"]


def test_existing_hooks_are_chained_and_restored_byte_for_byte(repo):
    hooks_dir = repo.path / ".git/hooks"
    marker = repo.path / "ran.txt"
    (hooks_dir / "post-commit").write_text(f"#!/bin/sh\necho post-commit >> '{marker}'\nexit 0\n")
    (hooks_dir / "post-commit").chmod(0o750)
    (hooks_dir / "post-rewrite").write_text(f"#!/bin/sh\necho \"rewrite $1\" >> '{marker}'\ncat >> '{marker}'\n")
    (hooks_dir / "post-rewrite").chmod(0o755)
    before = hook_files(hooks_dir)
    result = repo.cli_json("init")
    assert result["hooks"] == {"post-commit": "chained", "post-rewrite": "chained",
                               "post-merge": "installed", "post-applypatch": "installed"}
    assert repo.cli_json("init")["hooks"]["post-commit"] == "unchanged"
    # The chained hooks still run, with their arguments and stdin.
    repo.write("a.txt", "a\n")
    repo.commit("a")
    old = repo.git("rev-parse", "HEAD").strip()
    repo.git("commit", "-q", "--amend", "-m", "a amended")
    new = repo.git("rev-parse", "HEAD").strip()
    assert marker.read_text() == f"post-commit\npost-commit\nrewrite amend\n{old} {new}\n"
    result = repo.cli_json("uninstall")
    assert result["hooks"] == {"post-commit": "restored", "post-rewrite": "restored",
                               "post-merge": "removed", "post-applypatch": "removed"}
    assert hook_files(hooks_dir) == before


def test_uninstall_when_nothing_is_installed(repo):
    assert repo.cli_json("uninstall")["hooks"] == {h: "absent" for h in IN_ORDER}


def test_a_foreign_hook_over_ours_is_left_alone(repo):
    repo.cli_json("init")
    hooks_dir = repo.path / ".git/hooks"
    (hooks_dir / "post-merge").write_text("#!/bin/sh\necho theirs\n")
    assert repo.cli_json("uninstall")["hooks"]["post-merge"] == "not ours, left in place"
    assert (hooks_dir / "post-merge").read_text() == "#!/bin/sh\necho theirs\n"


def test_both_hook_and_backup_present_is_an_error(repo):
    hooks_dir = repo.path / ".git/hooks"
    (hooks_dir / "post-commit").write_text("#!/bin/sh\n")
    (hooks_dir / "post-commit.pre-git-ot").write_text("#!/bin/sh\n")
    proc = repo.cli("init")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [
        f"error: both '{hooks_dir}/post-commit' and '{hooks_dir}/post-commit.pre-git-ot' exist",
        f"hint: merge them by hand, or remove '{hooks_dir}/post-commit.pre-git-ot', "
        "then run 'git ot init' again",
    ]


def test_core_hooks_path_is_honoured(repo):
    repo.git("config", "core.hooksPath", ".githooks")
    result = repo.cli_json("init")
    assert result["hooks_dir"] == str(repo.path / ".githooks")
    assert sorted(os.listdir(repo.path / ".githooks")) == HOOKS
    assert [n for n in os.listdir(repo.path / ".git/hooks") if not n.endswith(".sample")] == []
    repo.cli_json("uninstall")
    assert os.listdir(repo.path / ".githooks") == []


def test_linked_worktree_shares_hooks_and_spool(repo, tmp_path):
    wt = tmp_path / "wt"
    repo.git("worktree", "add", "-q", "-b", "side", str(wt))
    assert Repo(wt).cli_json("init")["hooks_dir"] == str(repo.path / ".git/hooks")
    other = Repo(wt)
    other.hook("UserPromptSubmit", {"session_id": "from-wt", "prompt": "in the worktree"})
    assert os.listdir(repo.path / ".git/opentraces/spool")  # the common dir's spool
    # A commit in the main worktree seals every spooled session through the hook.
    repo.cli_json("init")
    repo.write("b.txt", "b\n")
    repo.commit("b")
    assert git(repo.path, "for-each-ref", "--format=%(refname)", "refs/opentraces/") == \
        "refs/opentraces/sessions/from-wt\n"
    assert [r["session"] for r in other.cli_json("trace", "list")["sessions"]] == ["from-wt"]


def test_post_commit_hook_seals_spooled_events(repo):
    repo.cli_json("init")
    repo.hook("UserPromptSubmit", {"session_id": "s-commit", "prompt": "work"})
    assert git(repo.path, "for-each-ref", "refs/opentraces/") == ""
    repo.write("c.txt", "c\n")
    repo.commit("c")
    assert git(repo.path, "for-each-ref", "--format=%(refname)", "refs/opentraces/") == \
        "refs/opentraces/sessions/s-commit\n"
    assert not (repo.path / ".git/opentraces/log").exists()


def test_init_refuses_a_bare_repository(tmp_path):
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    proc = Repo(bare).cli("init")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [
        "error: 'git ot init' needs a working tree and this repository is bare",
        "hint: run it in a clone with a working tree",
    ]
