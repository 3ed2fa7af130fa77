"""Bad input gets one clear line, a hint and exit 1; never a traceback.

Outside a repository and in a read-only one, the real `git-ot` program runs
(its exit codes are what these tests are about); elsewhere the commands run
inside the test process (support/cli.py), through the same error handler.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile

import cbor2
import pytest
import zstandard

from support.repo import Repo, git, run_ot


def assert_error(proc, *lines):
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == b""
    assert proc.stderr.decode().splitlines() == list(lines)


def test_not_a_repository(tmp_path):
    for args in (["trace", "list"], ["trace", "show", "x"], ["init"], ["uninstall"], ["snapshot"]):
        assert_error(run_ot(tmp_path, *args),
                     "error: not a git repository (or any of the parent directories)",
                     "hint: run git-ot inside a git repository, or 'git init' one first")


def test_bare_repository_reads_but_does_not_capture(repo, tmp_path):
    repo.hook("UserPromptSubmit", {"session_id": "s-bare", "prompt": "p"})
    repo.hook("Stop", {"session_id": "s-bare"})
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo.path), str(bare))
    git(bare, "fetch", "-q", str(repo.path), "refs/opentraces/*:refs/opentraces/*")
    rows = Repo(bare).cli_json("trace", "list")["sessions"]
    assert [r["session"] for r in rows] == ["s-bare"]
    assert_error(Repo(bare).cli("snapshot"),
                 "error: 'snapshot' needs a working tree and this repository is bare",
                 "hint: run it in a clone with a working tree")


def test_unknown_command_and_option(repo):
    assert_error(repo.cli("nosuch"), "error: no such command 'nosuch'", "hint: see 'git ot --help'")
    assert_error(repo.cli("trace", "list", "--bogus"), "error: no such option '--bogus'",
                 "hint: see 'git ot trace list --help'")


def _rewrite_record(repo, sid, name, data: bytes):
    """Point the session ref at a commit whose `name` holds `data` (as a broken writer would)."""
    ref = f"refs/opentraces/sessions/{sid}"
    blob = git(repo.path, "hash-object", "-w", "--stdin", input=data.decode("latin-1")).strip() \
        if False else subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo.path,
                                     input=data, capture_output=True, check=True).stdout.decode().strip()
    tree = git(repo.path, "ls-tree", ref).splitlines()
    lines = [l for l in tree if not l.endswith("\t" + name)] + [f"100644 blob {blob}\t{name}"]
    new_tree = git(repo.path, "mktree", input="\n".join(lines) + "\n").strip()
    commit = git(repo.path, "commit-tree", new_tree, "-p", ref, "-m", "broken").strip()
    git(repo.path, "update-ref", ref, commit)
    return blob


@pytest.fixture
def sealed(repo):
    repo.hook("UserPromptSubmit", {"session_id": "s-rec", "prompt": "p"})
    repo.hook("Stop", {"session_id": "s-rec"})
    return repo


def test_corrupt_and_truncated_records(sealed):
    _rewrite_record(sealed, "s-rec", "trace.cbor.zst", b"\x00garbage")
    proc = sealed.cli("trace", "show", "s-rec")
    assert proc.returncode == 1
    first, hint = proc.stderr.decode().splitlines()
    assert first.startswith("error: corrupt record trace.cbor.zst in session s-rec: ")
    assert hint == ("hint: 'git fsck' checks the objects; fetch the session again from a remote "
                    "that has it")
    good = zstandard.ZstdCompressor().compress(cbor2.dumps({"schema": "git-ot/trace", "v": 1}))
    _rewrite_record(sealed, "s-rec", "trace.cbor.zst", good[: len(good) // 2])
    proc = sealed.cli("trace", "show", "s-rec")
    assert proc.returncode == 1
    assert proc.stderr.decode().startswith("error: corrupt record trace.cbor.zst in session s-rec: ")
    _rewrite_record(sealed, "s-rec", "manifest.json", b'{"schema": "git-ot/manifest", "v": 1')
    # Listing every session skips the damaged one and says so (issue 12, defect 3).
    proc = sealed.cli("trace", "list")
    assert (proc.returncode, proc.stdout) == (0, b"no sessions\n")
    [warning] = proc.stderr.decode().splitlines()
    assert warning.startswith("warning: skipping damaged session s-rec: corrupt record manifest.json "
                              "in session s-rec: ")
    assert warning.endswith(" (see 'git ot fsck')")


def test_record_of_a_future_schema_version(sealed):
    future = zstandard.ZstdCompressor().compress(
        cbor2.dumps({"schema": "git-ot/trace", "v": 2, "steps": "new shape"}))
    _rewrite_record(sealed, "s-rec", "trace.cbor.zst", future)
    assert_error(sealed.cli("trace", "show", "s-rec"),
                 "error: trace.cbor.zst in session s-rec has schema version 2; "
                 "this git-ot reads up to version 1",
                 "hint: upgrade git-ot to read it")
    # A further seal refuses too, rather than rewriting a record it cannot
    # read; a command that reads shows what is sealed and says why it
    # sealed nothing more (issue 12, defect 6).
    sealed.hook("UserPromptSubmit", {"session_id": "s-rec", "prompt": "later"})
    proc = sealed.cli("trace", "list", "--json")
    assert proc.returncode == 0
    assert [r["session"] for r in json.loads(proc.stdout)["sessions"]] == ["s-rec"]
    assert proc.stderr.decode().splitlines() == [
        "warning: session s-rec not sealed, showing what was sealed before: trace.cbor.zst in "
        "session s-rec has schema version 2; this git-ot reads up to version 1"]


def test_missing_object(sealed):
    ref = "refs/opentraces/sessions/s-rec"
    oid = git(sealed.path, "rev-parse", f"{ref}:trace.cbor.zst").strip()
    os.unlink(sealed.path / ".git/objects" / oid[:2] / oid[2:])
    sealed.damaged = True
    assert_error(sealed.cli("trace", "show", "s-rec"),
                 f"error: object {oid} of session s-rec is missing",
                 "hint: fetch the session again from a remote that has it, or run 'git fsck'")


def test_non_utf8_path_in_a_session(repo):
    repo.hook("PreToolUse", {"session_id": "s-bytes", "tool_name": "Bash", "tool_use_id": "t1",
                             "tool_input": {"command": "touch caf\\xe9"}})
    with open(os.fsencode(str(repo.path)) + b"/caf\xe9.txt", "wb") as fh:
        fh.write(b"x\n")
    repo.hook("PostToolUse", {"session_id": "s-bytes", "tool_name": "Bash", "tool_use_id": "t1",
                              "tool_input": {"command": "touch caf\\xe9"}, "tool_response": {}})
    repo.hook("Stop", {"session_id": "s-bytes"})
    out = repo.cli_json("trace", "show", "s-bytes")
    [f] = out["steps"][0]["patch"]["files"]
    assert (f["status"], f["path"], f["path_raw"]) == ("A", "caf\\xe9.txt", "Y2Fm6S50eHQ=")
    proc = repo.cli("trace", "show", "s-bytes")
    assert proc.returncode == 0
    assert proc.stdout.decode().splitlines()[-1] == "    1  tool       Bash ok  caf\\xe9.txt +1 -0"


def test_read_only_git_directory(tmp_path):
    """Run as an unprivileged user so permissions really apply (root ignores them)."""
    if os.geteuid() != 0 and shutil.which("setpriv") is None:
        pytest.skip("needs root with setpriv, or a non-root user")
    base = tempfile.mkdtemp(prefix="git-ot-ro-")
    os.chmod(base, 0o755)
    try:
        path = os.path.join(base, "repo")
        os.mkdir(path)
        git(path, "init", "-q")
        r = Repo(__import__("pathlib").Path(path))
        r.write("a.txt", "a\n")
        r.commit("a")
        r.hook("UserPromptSubmit", {"session_id": "s-ro", "prompt": "p"})
        r.hook("Stop", {"session_id": "s-ro"})
        for root, dirs, files in os.walk(path):
            os.chmod(root, 0o755)
            for f in files:
                os.chmod(os.path.join(root, f), 0o644)
        drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
        # git and libgit2 both refuse a repository owned by another user
        # unless it is declared safe in the global config they read.
        with open(os.path.join(base, ".gitconfig"), "w") as fh:
            fh.write(f"[safe]\n\tdirectory = {path}\n")
        os.chmod(os.path.join(base, ".gitconfig"), 0o644)
        env = {**os.environ, "HOME": base, "GIT_CONFIG_GLOBAL": os.path.join(base, ".gitconfig")}

        def ot(*args, input=None):
            return subprocess.run(drop + [sys.executable, "-m", "git_ot", *args], cwd=path,
                                  input=input, capture_output=True, env=env)

        probe = ot("--version")
        if probe.returncode != 0:
            pytest.skip(f"the interpreter cannot run as an unprivileged user: {probe.stderr[:200]!r}")
        rows = ot("trace", "list", "--json")
        assert rows.returncode == 0, rows.stderr
        assert b'"session": "s-ro"' in rows.stdout
        proc = ot("init")
        assert proc.returncode == 1
        assert proc.stderr.decode().splitlines()[0].startswith("error: cannot ")
        assert b"Permission denied" in proc.stderr
        hook = ot("hook", "claude-code", "UserPromptSubmit",
                  input=b'{"session_id": "s-ro", "prompt": "q", "hook_event_name": "UserPromptSubmit"}')
        assert (hook.returncode, hook.stdout, hook.stderr) == (0, b"", b"")
    finally:
        shutil.rmtree(base, ignore_errors=True)
