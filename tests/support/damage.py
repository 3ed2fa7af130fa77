"""Damage done by hand to what git-ot keeps, and the promises checked after it.

Every fault test asserts the same things (issue 12): no event that reached
the spool is lost, no step is duplicated, no agent line is called human,
`git fsck --strict` is clean, and the user's git command succeeded. These
helpers read the spool and the sealed records with plain file reads and
git itself, never through the code under test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from support import spec
from support.trail import read_records


def spool_dir(repo) -> Path:
    return repo.path / ".git" / "opentraces" / "spool"


def damaged_dir(repo) -> Path:
    return repo.path / ".git" / "opentraces" / "spool-damaged"


def journal(repo, session: str) -> Path:
    return spool_dir(repo) / f"{session}.jsonl"


def spooled_ids(repo) -> set[str]:
    """The ids of every whole event in the spool now (what must never be lost)."""
    ids = set()
    for path in sorted(spool_dir(repo).glob("*")):
        if path.suffix not in (".jsonl", ".sealing"):
            continue
        for raw in path.read_bytes().splitlines():
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            if isinstance(event, dict) and isinstance(event.get("id"), str):
                spec.validate("spool-event", event)  # what git-ot wrote is to its format
                ids.add(event["id"])
    return ids


def sealed_ids(repo, session: str) -> list[str]:
    """Every event id the session's records hold, once per step or entry."""
    trace = read_records(repo, session)["trace"]
    ids = [eid for step in trace["steps"] for eid in step.get("events", [])]
    ids += [entry["id"] for entry in trace["lifecycle"]]
    return ids


def assert_kept(repo, session: str, spooled: set[str]) -> list[dict]:
    """No spooled event lost, none folded twice; the session's lifecycle entries."""
    ids = sealed_ids(repo, session)
    assert len(ids) == len(set(ids)), f"an event folded twice: {sorted(i for i in ids if ids.count(i) > 1)}"
    missing = spooled - set(ids)
    assert not missing, f"events lost: {sorted(missing)}"
    records = read_records(repo, session)
    for kind in ("manifest", "trace", "trail", "ctx"):
        spec.validate(kind, spec.jsonable(records[kind]))
    return records["trace"]["lifecycle"]


def session_refs(repo) -> list[str]:
    out = repo.git("for-each-ref", "--format=%(refname)", "refs/opentraces/sessions/")
    return [line.rpartition("/")[2] for line in out.splitlines()]


def write_blob(repo, data: bytes) -> str:
    proc = subprocess.run(["git", "hash-object", "-w", "--stdin"], cwd=repo.path, input=data,
                          capture_output=True, check=True)
    return proc.stdout.decode().strip()


def replace_in_session(repo, session: str, name: str, data: bytes) -> None:
    """Point the session's ref at a commit whose tree has `name` replaced by `data`."""
    ref = f"refs/opentraces/sessions/{session}"
    blob = write_blob(repo, data)
    entries = repo.git("ls-tree", ref).splitlines()
    lines = [e for e in entries if not e.endswith("\t" + name)] + [f"100644 blob {blob}\t{name}"]
    tree = repo.git("mktree", input="\n".join(lines) + "\n").strip()
    commit = repo.git("commit-tree", tree, "-p", ref, "-m", "damaged by hand").strip()
    repo.git("update-ref", ref, commit)


class Unprivileged:
    """Runs git-ot as a user who may read the repository and write nothing
    (root, which permissions do not stop, drops to nobody with setpriv), in
    a copy of the repository under a directory that user can enter."""

    def __init__(self, repo):
        self.base = tempfile.mkdtemp(prefix="git-ot-faults-")
        os.chmod(self.base, 0o755)
        self.path = os.path.join(self.base, "repo")
        shutil.copytree(repo.path, self.path, symlinks=True)
        for root, dirs, files in os.walk(self.path):
            os.chmod(root, 0o755)
            for f in files:
                os.chmod(os.path.join(root, f), 0o644)
        # git and libgit2 refuse a repository owned by another user unless
        # the global config they read declares it safe.
        config = os.path.join(self.base, ".gitconfig")
        with open(config, "w") as fh:
            fh.write(f"[safe]\n\tdirectory = {self.path}\n")
        os.chmod(config, 0o644)
        self.env = {**os.environ, "HOME": self.base, "GIT_CONFIG_GLOBAL": config}
        self.drop = (["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
                     if os.geteuid() == 0 else [])

    def ot(self, *args):
        return subprocess.run(self.drop + [sys.executable, "-m", "git_ot", *args], cwd=self.path,
                              capture_output=True, env=self.env)

    def close(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)
