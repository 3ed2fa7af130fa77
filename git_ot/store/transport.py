"""Moving refs between repositories: git's own push, fetch and notes merge.

git does the transport best (protocol v2 ref prefixes, negotiation, thin
packs, credential helpers, every URL scheme), so git-ot runs it as a
subprocess with explicit refspecs and reads `git push --porcelain` for the
fate of every ref. Nothing here forces a ref on a remote, but for the notes
that `git ot forget --remote` rewrites, under a lease.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass

from ..errors import GitCommandError
from . import locks
from .git import environment
from .git import process as git_process
from .gitdir import Location

# Command lines stay far below ARG_MAX even with long session ids.
REFSPEC_BATCH = 1000


@dataclass(frozen=True)
class RefStatus:
    """What the remote did with one pushed ref (a line of `git push --porcelain`)."""

    ref: str
    source: str
    flag: str  # ' ' fast-forward, '*' new, '=' up to date, '!' rejected, '+' forced, '-' deleted
    summary: str

    @property
    def ok(self) -> bool:
        return self.flag != "!"

    @property
    def reason(self) -> str:
        """The reason git gave, without brackets: 'fetch first', 'non-fast-forward', ..."""
        text = self.summary
        if "(" in text and text.endswith(")"):
            return text[text.index("(") + 1:-1]
        return text.strip("[]")


class GitResult:
    def __init__(self, proc: subprocess.CompletedProcess):
        self.returncode = proc.returncode
        self.stdout = proc.stdout.decode("utf-8", "surrogateescape")
        self.stderr = proc.stderr.decode("utf-8", "replace")

    def error_line(self) -> str:
        lines = [l for l in self.stderr.strip().splitlines() if l.strip()]
        # git's last 'fatal:' line is the cause; later lines are often hints.
        fatal = [l for l in lines if l.startswith(("fatal:", "error:"))]
        line = (fatal or lines or [f"exit status {self.returncode}"])[-1]
        for prefix in ("fatal: ", "error: "):
            if line.startswith(prefix):
                line = line[len(prefix):]
        return line


# What the remote says when a ref moved under us: fetch, merge, try again.
RETRYABLE = ("fetch first", "non-fast-forward", "stale info", "failed to update",
             "failed to lock", "cannot lock", "incorrect old value", "already exists",
             "failed to write", "unable to lock")


def git(location: Location, args: list[str], env: dict | None = None,
        input: bytes | None = None) -> GitResult:
    """Run git in the repository; the result, whatever the exit status."""
    return GitResult(git_process(args, cwd=location.worktree or location.git_dir, env=env, input=input))


def checked(location: Location, args: list[str], env: dict | None = None) -> str:
    res = git(location, args, env=env)
    if res.returncode != 0:
        raise GitCommandError(f"'git {args[0]}' failed: {res.error_line()}")
    return res.stdout


# -- configuration ------------------------------------------------------------

def config_get(location: Location, key: str) -> str | None:
    res = git(location, ["config", "--get", key])
    return res.stdout.strip() if res.returncode == 0 else None


def config_get_all(location: Location, key: str) -> list[str]:
    res = git(location, ["config", "--get-all", key])
    return res.stdout.splitlines() if res.returncode == 0 else []


def config_set(location: Location, key: str, value: str) -> None:
    checked(location, ["config", key, value])


def config_add(location: Location, key: str, value: str) -> None:
    checked(location, ["config", "--add", key, value])


def config_unset_value(location: Location, key: str, value: str) -> None:
    """Remove every value of a multi-valued key equal to `value`."""
    res = git(location, ["config", "--unset-all", key, "^" + re.escape(value) + "$"])
    if res.returncode not in (0, 5):  # 5: there was no such value
        raise GitCommandError(f"'git config' failed: {res.error_line()}")


# -- transport ------------------------------------------------------------------

def push(location: Location, remote: str, refspecs: list[str],
         env: dict | None = None, lease: dict[str, str] | None = None) -> list[RefStatus]:
    """Push the refspecs (not atomic); the fate of every ref.

    Nothing is forced, but for the refs of `lease` (ref -> the id the
    remote must still hold), which `git ot forget --remote` rewrites.
    Without --atomic every ref lands or not on its own, so a ref the remote
    rejects does not hold back the others. --no-verify: the pre-push hook
    is the user's, for their code, and may itself start a bucket push.
    """
    leases = [f"--force-with-lease={ref}:{oid}" for ref, oid in (lease or {}).items()]
    out: list[RefStatus] = []
    for i in range(0, len(refspecs), REFSPEC_BATCH):
        batch = refspecs[i:i + REFSPEC_BATCH]
        res = git(location, ["-c", "push.followTags=false", "-c", "push.gpgSign=false",
                             "push", "--porcelain", "--no-verify", *leases,
                             "--recurse-submodules=no", remote, *batch], env=env)
        statuses = parse_porcelain(res.stdout)
        if res.returncode != 0 and not statuses:
            raise GitCommandError(f"'git push' to '{remote}' failed: {res.error_line()}")
        out += statuses
    return out


def parse_porcelain(text: str) -> list[RefStatus]:
    out = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or len(parts[0]) != 1:
            continue  # "To <url>", "Done"
        src, _, dst = parts[1].partition(":")
        out.append(RefStatus(ref=dst, source=src, flag=parts[0], summary=parts[2]))
    return out


def fetch(location: Location, remote: str, refspecs: list[str], env: dict | None = None) -> None:
    """Fetch exactly these refspecs: no tags, no FETCH_HEAD, no maintenance."""
    args = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head",
            "--recurse-submodules=no", "--no-auto-maintenance", "--no-prune", remote, *refspecs]
    res = git(location, args, env=env)
    if res.returncode != 0:
        raise GitCommandError(f"'git fetch' from '{remote}' failed: {res.error_line()}")


def ls_remote(location: Location, remote: str, patterns: list[str]) -> dict[str, str]:
    """The remote's refs under these names (`prefix*` or exact), with their ids."""
    res = git(location, ["ls-remote", "--refs", remote, *patterns])
    if res.returncode != 0:
        raise GitCommandError(f"'git ls-remote' of '{remote}' failed: {res.error_line()}")
    out = {}
    for line in res.stdout.splitlines():
        oid, _, ref = line.partition("\t")
        # ls-remote matches patterns against the end of a name; keep exact hits.
        if any(ref.startswith(p[:-1]) if p.endswith("*") else ref == p for p in patterns):
            out[ref] = oid
    return out


def delete_refs(location: Location, names: list[str], message: str) -> None:
    """Delete refs in one transaction (git rewrites packed-refs once, not per ref)."""
    lines = "".join(f"delete {name}\n" for name in names)
    _packed_refs_free(location)
    res = git(location, ["update-ref", "-m", message, "--stdin"], input=lines.encode())
    if res.returncode != 0:
        raise GitCommandError(f"'git update-ref' failed: {res.error_line()}")


def write_commit_graph(location: Location) -> None:
    """Add new commits to the commit-graph, as `git gc` would."""
    checked(location, ["commit-graph", "write", "--reachable", "--split"])


def notes_merge(location: Location, into_ref: str, other: str, env: dict | None = None) -> None:
    """Merge the notes commit `other` into the notes ref `into_ref`, line-wise.

    cat_sort_uniq concatenates both versions of a note, sorts the lines and
    drops duplicates: for JSON Lines notes that is exactly their union, and
    it never conflicts.
    """
    checked(location, ["notes", f"--ref={into_ref}", "merge", "--quiet",
                       "--strategy=cat_sort_uniq", other], env=env)


def pack_refs(location: Location) -> None:
    """Pack loose refs, as `git gc` does, so thousands of sessions cost one file."""
    _packed_refs_free(location)
    checked(location, ["pack-refs", "--all"])


def _packed_refs_free(location: Location) -> None:
    """Clear a stale `packed-refs.lock` (a killed git left it), or wait for
    a live one, before a git command that rewrites `packed-refs`."""
    from .repository import ref_lock_wait

    locks.wait_gone(os.path.join(location.common_dir, "packed-refs.lock"), ref_lock_wait())


def identity_env(location: Location, name: str, email: str) -> dict:
    """The environment for git commands that commit (notes merge): the user's
    identity when git knows one, else git-ot's fallback, so a clone without
    user.name still merges."""
    env = environment()
    has_name = config_get(location, "user.name") is not None
    has_email = config_get(location, "user.email") is not None
    for who in ("AUTHOR", "COMMITTER"):
        if not has_name and not env.get(f"GIT_{who}_NAME"):
            env[f"GIT_{who}_NAME"] = name
        if not has_email and not env.get(f"GIT_{who}_EMAIL"):
            env[f"GIT_{who}_EMAIL"] = email
    return env
