"""Deleting git objects for good: reachability, loose and packed objects, reflogs.

Used by `git ot forget`. Git never deletes an object that something still
reaches (a ref, a reflog entry, an index), so neither does this module:
it computes which of a set of candidate objects nothing reaches any more
and deletes exactly those, leaving every other unreachable object of the
repository to git's own expiry.
"""

from __future__ import annotations

import contextlib
import os

import pygit2

from ..errors import ConcurrentUpdate, GitCommandError
from . import locks, state
from .git import environment, stream
from .git import run as run_git
from .gitdir import Location


def _git_env() -> dict:
    return environment(GIT_OPTIONAL_LOCKS="0")


def existing(location: Location, oids) -> set[str]:
    """The objects among `oids` that the repository holds (loose or packed)."""
    oids = list(oids)
    if not oids:
        return set()
    out = run_git(["--git-dir", location.common_dir, "cat-file", "--batch-check=%(objectname)"],
                  input="".join(o + "\n" for o in oids).encode())
    wanted = set(oids)
    return {line for line in out.decode().splitlines() if line in wanted}


def objects_of(location: Location, starts) -> set[str]:
    """Every object reachable from the given commits, trees or blobs."""
    starts = sorted(existing(location, starts))
    if not starts:
        return set()
    out = run_git(["--git-dir", location.common_dir, "rev-list", "--objects", "--stdin"],
                  input="".join(s + "\n" for s in starts).encode())
    return {line.split(b" ", 1)[0].decode() for line in out.splitlines() if line}


def still_reachable(location: Location, candidates: set[str]) -> set[str]:
    """Those candidates that a ref, a reflog entry or an index still reaches.

    One walk of the whole repository (`git rev-list --objects --all --reflog
    --indexed-objects`), streamed, keeping only the candidates it meets.
    """
    if not candidates:
        return set()
    cmd = ["--git-dir", location.common_dir, "rev-list", "--objects", "--all", "--reflog",
           "--indexed-objects"]
    found = set()
    with stream(cmd, env=_git_env(), cwd=location.worktree or location.git_dir) as proc:
        for line in proc.stdout:
            oid = line[:64].split(b" ", 1)[0].strip().decode()
            if oid in candidates:
                found.add(oid)
        err = proc.stderr.read()
    if proc.returncode != 0:
        raise GitCommandError(f"'git rev-list' failed: {err.decode('utf-8', 'replace').strip()}")
    return found


def delete_loose(location: Location, oids) -> int:
    """Unlink the loose files of these objects; the number deleted."""
    objects = os.path.join(location.common_dir, "objects")
    n = 0
    for oid in oids:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(objects, oid[:2], oid[2:]))
            n += 1
    return n


REPACK = ["repack", "-A", "-d", "-q"]


def repack_loosening_unreachable(location: Location) -> None:
    """`git repack -A -d`: packs what is reachable; what is not comes out loose.

    The unreachable objects of other origins keep their pack's time and
    expire as git would have expired them; forget then deletes its own.
    """
    run_git(["--git-dir", location.common_dir, *REPACK], cwd=location.worktree or location.git_dir)


COMMIT_GRAPH = ["commit-graph", "write", "--reachable"]


def drop_commit_graph(location: Location) -> bool:
    """Rewrite the commit-graph if there is one: it may list deleted commits,
    which git then reports as unreadable. Returns whether there was one."""
    info = os.path.join(location.common_dir, "objects", "info")
    paths = [os.path.join(info, "commit-graph")]
    chain = os.path.join(info, "commit-graphs")
    if os.path.isdir(chain):
        paths += [os.path.join(chain, n) for n in os.listdir(chain)]
    found = False
    for path in paths:
        with contextlib.suppress(FileNotFoundError, IsADirectoryError):
            os.unlink(path)
            found = True
    if found:
        run_git(["--git-dir", location.common_dir, *COMMIT_GRAPH], cwd=location.worktree or location.git_dir)
    return found


def expire_reflog_command(ref: str) -> list[str]:
    return ["reflog", "expire", "--expire=now", "--expire-unreachable=now", ref]


def expire_reflog(location: Location, ref: str) -> None:
    """Drop every reflog entry of one ref (its old values stop being reachable)."""
    run_git(["--git-dir", location.common_dir, *expire_reflog_command(ref)])


def delete_refs(repo: pygit2.Repository, location: Location, refs: dict[str, str]) -> None:
    """Delete refs, each only if it still points where the caller saw it.

    A packed ref's deletion rewrites `packed-refs` under git's
    `packed-refs.lock`; one a killed git (a `gc`, a `pack-refs`) left
    behind is cleared first when provably stale, and a live one waited for
    (locks.wait_gone): libgit2, meeting it, may delete the loose ref and
    leave the packed one, an older tip that would then come back."""
    from .repository import ref_lock_wait

    locks.wait_gone(os.path.join(location.common_dir, "packed-refs.lock"), ref_lock_wait())
    with repo.transaction() as txn:
        for name, expected in refs.items():
            txn.lock_ref(name)
            current = repo.references.get(name)
            target = str(current.target) if current is not None else None
            if target != expected:
                raise ConcurrentUpdate(f"'{name}' moved during the update (expected {expected}, found {target})",
                                       hint="run the command again")
            txn.remove(name)
    for name in refs:
        delete_reflog(location, name)


def delete_reflog(location: Location, ref: str) -> None:
    """Remove a deleted ref's reflog, as git does when it deletes a ref
    (libgit2 may leave it, and its entries would keep old objects reachable)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(location.common_dir, "logs", ref))


def history_blobs(location: Location, tip: str) -> list[bytes]:
    """The content of every blob reachable from a commit (a notes ref's whole history)."""
    oids = [o for o in objects_of(location, [tip])]
    if not oids:
        return []
    out = run_git(["--git-dir", location.common_dir, "cat-file", "--batch"],
                  input="".join(o + "\n" for o in oids).encode())
    blobs, pos = [], 0
    while pos < len(out):
        nl = out.index(b"\n", pos)
        header = out[pos:nl].split()
        pos = nl + 1
        if len(header) < 3:
            continue
        size = int(header[2])
        if header[1] == b"blob":
            blobs.append(out[pos:pos + size])
        pos += size + 1
    return blobs


def worktree_state_dirs(location: Location) -> list[str]:
    """git-ot's per-worktree state directories: the main one and each linked worktree's."""
    return state.worktree_roots(location.common_dir)
