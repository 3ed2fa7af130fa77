"""Patch ids of the annotated commits: how a copy of a commit finds its source.

A commit made by `git cherry-pick -n`, by a rebase on another machine, or by
a revert whose message was rewritten names no source; its patch id (the id
`git patch-id --stable` gives, computed by libgit2) is the same as its
source's, or, for a revert, the same as the reverted commit's with the diff
turned around. The ids of every commit that has a note are kept in a local,
derived file, `<common-dir>/opentraces/patch-ids.json`, brought up to date
with the notes ref when it is read (a commit noted since costs one diff);
deleting it costs one diff per annotated commit.
"""

from __future__ import annotations

import json
import os

import pygit2

from ...store import notes as notes_store
from ...store.files import replace_file
from ...store.repository import Store

INDEX_FILE = "patch-ids.json"
INDEX_VERSION = 1


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
        self.path = os.path.join(store.location.state_dir, INDEX_FILE)
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
