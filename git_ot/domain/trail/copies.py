"""Copies and reverts: how a commit is recognised as made from another.

git names the source of a copy in its message: `git cherry-pick -x` adds
"(cherry picked from commit <sha>)", `git revert` writes "This reverts
commit <sha>.", `git merge --squash` lists the commits it squashed. A copy
whose message names nothing (`git cherry-pick -n`, a rebase on another
machine, a revert whose message was rewritten) has its source's patch id
(the id `git patch-id --stable` gives, computed by libgit2), or, for a
revert, the reverted commit's patch id with the diff turned around.

Anchoring asks which commits a new commit copies or reverts (its sources);
`git ot track` asks whether the commit that removed landed lines reverts
the commit that landed them. Both are answered here, from the message
first and the patch ids second.

The patch ids of every commit that has a note are kept in a local, derived
file, `<common-dir>/opentraces/patch-ids.json`, brought up to date with the
notes ref when it is read (a commit noted since costs one diff); deleting
it costs one diff per annotated commit.
"""

from __future__ import annotations

import json
import re

import pygit2

from ...store import notes as notes_store
from ...store import state
from ...store.files import replace_file
from ...store.repository import Store

INDEX_VERSION = 1
# What git writes in the messages of the commits it copies.
CHERRY_PICKED = re.compile(r"^\(cherry picked from commit ([0-9a-f]{40})\)$", re.M)
REVERTS = re.compile(r"This reverts commit ([0-9a-f]{7,40})")
SQUASHED = "Squashed commit of the following:"
SQUASHED_COMMIT = re.compile(r"^commit ([0-9a-f]{40})$", re.M)


def named_sources(message: str) -> tuple[list[str], list[str]]:
    """(olds, reverts) a commit's message names: the commit a `cherry-pick -x`
    copied, the ones a `merge --squash` squashed (oldest first), or the one a
    `git revert` undid, each by its full id."""
    picked = CHERRY_PICKED.findall(message)
    if picked:
        return [picked[-1]], []
    if message.startswith(SQUASHED):
        return list(reversed(SQUASHED_COMMIT.findall(message))), []  # newest first there
    return [], [sha for sha in REVERTS.findall(message) if len(sha) == 40][:1]


def patch_id(repo: pygit2.Repository, commit: pygit2.Commit, inverse: bool = False) -> str | None:
    """The commit's patch id against its first parent (None: a merge, or no change)."""
    if len(commit.parents) > 1:
        return None
    try:
        if commit.parents:
            old, new = commit.parents[0].tree, commit.tree
            diff = repo.diff(new, old) if inverse else repo.diff(old, new)
        else:
            diff = commit.tree.diff_to_tree(swap=not inverse)
        if not len(diff):
            return None
        return str(diff.patchid)
    except (pygit2.GitError, KeyError, ValueError):
        return None


class PatchIds:
    """patch id -> the annotated commits that have it."""

    def __init__(self, store: Store, notes: notes_store.Notes):
        self.store = store
        self.repo = store.repo
        self.notes = notes
        self.path = state.patch_ids(store.location.state_dir)
        self._by_id: dict[str, list[str]] | None = None

    def _load(self) -> dict[str, list[str]]:
        if self._by_id is not None:
            return self._by_id
        data: dict = {}
        try:
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
            if data.get("v") != INDEX_VERSION:
                data = {}
        except (OSError, ValueError):
            data = {}
        commits: dict[str, str | None] = data.get("commits", {})
        tip = self.notes.tip()
        if data.get("notes") != tip:
            annotated = set(self.notes.annotated()) if tip else set()
            for sha in list(commits):
                if sha not in annotated:
                    del commits[sha]
            for sha in annotated - set(commits):
                try:
                    commit = self.repo[sha]
                except (KeyError, ValueError):
                    commits[sha] = None
                    continue
                commits[sha] = patch_id(self.repo, commit) if isinstance(commit, pygit2.Commit) else None
            self._save({"v": INDEX_VERSION, "notes": tip, "commits": commits})
        by_id: dict[str, list[str]] = {}
        for sha, pid in commits.items():
            if pid:
                by_id.setdefault(pid, []).append(sha)
        self._by_id = by_id
        return by_id

    def _save(self, data: dict) -> None:
        try:
            replace_file(self.path, json.dumps(data, separators=(",", ":")).encode("utf-8"))
        except OSError:
            pass  # a cache: computed again next time

    def commits(self, pid: str | None) -> list[str]:
        """The annotated commits whose patch id is `pid`, sorted."""
        if not pid:
            return []
        return sorted(self._load().get(pid, []))

    def sources(self, commit: pygit2.Commit) -> tuple[list[str], list[str]]:
        """(olds, reverts) found by patch id among the annotated commits: a copy
        of a commit not in this history, or a revert of one that is."""
        own = str(commit.id)
        parent = commit.parents[0] if commit.parents else None
        for sha in self.commits(patch_id(self.repo, commit)):
            if sha == own or parent is None:
                continue
            if str(parent.id) != sha and not self.repo.descendant_of(parent.id, pygit2.Oid(hex=sha)):
                return [sha], []  # a copy of a commit not in this history
        for sha in self.commits(patch_id(self.repo, commit, inverse=True)):
            if sha != own and parent is not None and (
                    str(parent.id) == sha or self.repo.descendant_of(parent.id, pygit2.Oid(hex=sha))):
                return [], [sha]  # undoes a commit of this history
        return [], []


def reverts(repo: pygit2.Repository, pairs, same_work) -> dict[tuple[str, str], bool]:
    """Which (remover, landing) pairs are reverts: {pair: True}.

    The remover reverts the landing commit when its message says "This
    reverts commit <sha>" of the landing commit, or of a commit that did
    the same work (`same_work(named, landing)`: a copy of it); or when its
    patch is the landing commit's turned around (equal patch ids).
    """
    result: dict[tuple[str, str], bool] = {}
    for remover, landing in pairs:
        try:
            message = repo[remover].peel(pygit2.Commit).message
        except (KeyError, ValueError, pygit2.GitError):
            continue
        for sha in REVERTS.findall(message):
            try:
                named = str(repo.revparse_single(sha).peel(pygit2.Commit).id)
            except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
                continue
            if named == landing or same_work(named, landing):
                result[(remover, landing)] = True
    ids: dict[tuple[str, bool], str | None] = {}

    def pid(sha: str, inverse: bool) -> str | None:
        if (sha, inverse) not in ids:
            try:
                commit = repo[sha].peel(pygit2.Commit)
            except (KeyError, ValueError, pygit2.GitError):
                commit = None
            ids[(sha, inverse)] = patch_id(repo, commit, inverse) if commit is not None else None
        return ids[(sha, inverse)]

    for remover, landing in sorted(p for p in pairs if p not in result):
        mine = pid(remover, False)
        if mine is not None and mine == pid(landing, True):
            result[(remover, landing)] = True
    return result
