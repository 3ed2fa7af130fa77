"""What the git hooks anchor: the commits git just made, and the notes a rewrite carries.

The git hooks call in here (git_ot/capture/hook.py, `on_git_event`); the
anchoring itself is the engine's (anchor.py). What is told here is where a
commit's lines came from, from what git leaves behind:

- post-commit: a commit made with `git commit` is anchored from the working
  attribution. A copy (`git cherry-pick`, with or without -x or -n;
  `git revert`; `git merge --squash`; a commit after a
  `git reset --soft`/`--mixed`) first takes the statuses of its sources,
  named by git (CHERRY_PICK_HEAD, the message, the reflog) or found by
  patch id (copies.py). `git am` runs no post-commit: its post-applypatch
  hook comes here the same way. Rebase picks are left to post-rewrite, as
  is an amend.
- post-merge: a merge commit `git merge` made is anchored the same way
  (only lines that match no parent can be new).
- post-rewrite: each new commit takes the attribution of the lines of the
  old commits it was made from (a line keeps its attribution only while its
  text is unchanged); lines the rewrite itself changed are anchored from the
  working attribution, as a commit's are.
"""

from __future__ import annotations

import contextlib
import os

import pygit2

from ...store import state
from ...store.gitdir import Location
from ...store.repository import Store
from .anchor import Anchorer

# How many commits a reset may have dropped for a new commit to be taken as
# their squash.
RESET_LIMIT = 100
# How long a git hook waits for a session's seal lock to write the anchors
# of the commit into its trail (seconds): the user's git command waits on
# it. Past it the anchors are kept for the session's next seal
# (session_anchors.append_anchors); the note is written all the same.
TRAIL_WAIT = 3.0


def reflog_entries(git_dir: str, count: int = 2) -> list[tuple[str, str, str]]:
    """HEAD's newest reflog entries, oldest first: (old, new, message)."""
    path = os.path.join(git_dir, "logs", "HEAD")
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 8192))
            tail = fh.read()
    except OSError:
        return []
    out = []
    for row in tail.rstrip(b"\n").split(b"\n")[-count:]:
        head, _, message = row.partition(b"\t")
        words = head.split(b" ")
        if len(words) >= 2:
            out.append((words[0].decode("ascii", "replace"), words[1].decode("ascii", "replace"),
                        message.decode("utf-8", "replace")))
    return out


def reset_dropped(store: Store, git_dir: str, head: pygit2.Commit) -> list[str]:
    """The commits a `git reset` just before this commit took out of the
    branch (`reset --soft`/`--mixed` and a new commit: their squash), oldest first."""
    entries = reflog_entries(git_dir, 2)
    if len(entries) < 2 or not entries[0][2].startswith("reset: moving to") or entries[1][1] != str(head.id):
        return []
    before = entries[0][0]
    repo = store.repo
    try:
        walker = repo.walk(pygit2.Oid(hex=before), pygit2.enums.SortMode.TOPOLOGICAL)
        for parent in head.parents:
            walker.hide(parent.id)
    except (ValueError, KeyError, pygit2.GitError):
        return []
    dropped = []
    for commit in walker:
        if len(dropped) >= RESET_LIMIT:
            return []  # not a handful of commits squashed by hand
        dropped.append(str(commit.id))
    return list(reversed(dropped))


def reflog_action(git_dir: str) -> str | None:
    """The message of HEAD's newest reflog entry ("commit: ...", "rebase (pick): ...")."""
    entries = reflog_entries(git_dir, 1)
    return entries[-1][2] if entries else None


def rebase_original(store: Store) -> str | None:
    """The commit an interactive rebase stopped at (edit, or a pick that conflicted), if any."""
    done = os.path.join(store.location.git_dir, "rebase-merge", "done")
    try:
        with open(done, encoding="utf-8", errors="replace") as fh:
            rows = [r.split() for r in fh.read().splitlines() if r.strip() and not r.startswith("#")]
    except OSError:
        return None
    if not rows:
        return None
    for word in rows[-1][1:3]:
        if len(word) >= 7 and all(c in "0123456789abcdef" for c in word.lower()):
            try:
                return str(store.repo.revparse_single(word).peel(pygit2.Commit).id)
            except (KeyError, ValueError, pygit2.GitError):
                return None
    return None


def _head(store: Store) -> pygit2.Commit | None:
    try:
        return store.repo.head.peel(pygit2.Commit)
    except (pygit2.GitError, KeyError):
        return None


def _pick_head(git_dir: str) -> str | None:
    try:
        with open(os.path.join(git_dir, "CHERRY_PICK_HEAD"), encoding="ascii", errors="replace") as fh:
            sha = fh.read().strip()
    except OSError:
        return None
    return sha if len(sha) == 40 else None


def post_commit(store: Store) -> dict | None:
    """Anchor the commit `git commit`, `git cherry-pick`, `git revert` or
    `git am` (from its post-applypatch hook) just made."""
    head = _head(store)
    if head is None:
        return None
    git_dir = store.location.git_dir
    action = reflog_action(git_dir)
    rebasing = os.path.isdir(os.path.join(git_dir, "rebase-merge"))
    if action is None:
        action = "commit" if not rebasing else ""
    # A patch `git am` applied is a copy too: its source, if git-ot noted
    # it here, is found by patch id, as for a pick that names none.
    sequencer = action.startswith(("cherry-pick", "revert", "am:"))
    if not (action.startswith("commit") or sequencer) or action.startswith("commit (amend)"):
        # Rebase picks and squashes come back through post-rewrite, as does an amend.
        return None
    olds = []
    if rebasing:
        original = rebase_original(store)  # splitting a commit at an edit stop
        if original and original != str(head.id):
            olds = [original]
    anchorer = Anchorer(store, trail_wait=TRAIL_WAIT)
    sha = str(head.id)
    if olds:
        item = anchorer.anchor(sha, olds, "merge" if len(head.parents) > 1 else "commit")
        item["write"] = True
    else:
        # git's cherry-pick leaves CHERRY_PICK_HEAD for post-commit (a single
        # pick as a sequence of them); a revert leaves its message only.
        pick_head = _pick_head(git_dir) if action.startswith("cherry-pick") else None
        dropped = reset_dropped(store, git_dir, head) if action.startswith("commit") else []
        item = anchorer.anchor_new(sha, pick_head=pick_head, dropped=dropped, sequencer=sequencer)
    return anchorer.write([item], f"anchor {sha[:12]}")


def post_merge(store: Store) -> dict | None:
    """Anchor the merge commit `git merge` just made (a fast-forward makes none)."""
    head = _head(store)
    if head is None or len(head.parents) < 2:
        return None
    anchorer = Anchorer(store, trail_wait=TRAIL_WAIT)
    if anchorer.notes.blob_id(str(head.id)) is not None:
        return None
    item = anchorer.anchor(str(head.id), (), "merge")
    return anchorer.write([item], f"anchor {str(head.id)[:12]}")


def rewritten(text: str) -> dict[str, list[str]]:
    """{new commit: the old commits it was made from} of git's post-rewrite
    list of "<old> <new>" lines (a squash makes one new commit of several)."""
    pairs: dict[str, list[str]] = {}
    for row in text.splitlines():
        words = row.split()
        if len(words) >= 2 and words[0] != words[1]:
            pairs.setdefault(words[1], [])
            if words[0] not in pairs[words[1]]:
                pairs[words[1]].append(words[0])
    return pairs


def post_rewrite(store: Store, kind: str, text: str) -> dict | None:
    """Carry notes through an amend or a rebase: git's list of "<old> <new>" lines."""
    pairs = rewritten(text)
    if not pairs:
        return None
    anchorer = Anchorer(store, trail_wait=TRAIL_WAIT)
    items = []
    for new, olds in pairs.items():
        if new in store.repo:
            items.append(anchorer.anchor(new, olds, "amend" if kind == "amend" else "rebase"))
    # The sessions' trails keep the commits that took their work when it was
    # taken; a rewrite moves the notes only. Touching every session a rebase
    # crosses would cost a ref update per session, and its chain a commit per
    # rebase; the rewritten copies are found by their notes.
    return anchorer.write(items, f"rewrite ({kind}): {len(items)} commit{'s' if len(items) != 1 else ''}",
                          trails=False)


def defer(store: Store) -> None:
    """Leave the anchoring of HEAD's commit to the next run (a session that
    may have written it is not sealed yet). The file names the worktree
    the commit was made in: whichever worktree's hook anchors it later
    must see it as that worktree does (its sessions, not its own)."""
    head = _head(store)
    if head is not None:
        directory = state.anchor_later(store.location.state_dir)
        os.makedirs(directory, exist_ok=True)
        where = f"{store.location.git_dir}\n{store.location.worktree or ''}\n"
        with open(os.path.join(directory, str(head.id)), "wb") as fh:
            fh.write(where.encode("utf-8", "surrogateescape"))


def _deferred_where(store: Store, path: str) -> Store:
    """The store of the worktree a deferred commit was made in (see defer):
    this one when the file names none (written before worktrees were
    recorded) or names one that is gone."""
    try:
        with open(path, "rb") as fh:
            rows = fh.read().decode("utf-8", "surrogateescape").split("\n")
    except OSError:
        return store
    git_dir, worktree = rows[0], rows[1] if len(rows) > 1 else ""
    here = store.location
    if not git_dir or git_dir == here.git_dir or not worktree or not os.path.isdir(worktree) \
            or not os.path.isdir(git_dir):
        return store
    try:
        return Store(Location(git_dir, here.common_dir, worktree))
    except Exception:  # unreadable: anchored as this worktree sees it
        return store


def anchor_deferred(store: Store) -> dict | None:
    """Anchor the commits earlier hooks left (see defer), as `git ot anchor`
    would: the note recomputed from the sessions, sealed now, each as the
    worktree it was made in sees them. A commit that has a note meanwhile
    keeps it."""
    directory = state.anchor_later(store.location.state_dir)
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return None
    if not names:
        return None
    groups: dict[str, tuple[Store, list[str]]] = {}  # a worktree's git dir -> its store, its commits
    for name in names:
        where = _deferred_where(store, os.path.join(directory, name))
        groups.setdefault(where.location.git_dir, (where, []))[1].append(name)
    result = None
    for where, group in groups.values():
        anchorer = Anchorer(where, trail_wait=TRAIL_WAIT)
        items = []
        for name in group:
            if anchorer.notes.blob_id(name) is None and name in store.repo:
                item = anchorer.recomputed(name)
                if item is not None:
                    items.append(item)
        if items:
            n = len(items)
            result = anchorer.write(items, f"anchor (deferred): {n} commit{'s' if n != 1 else ''}")
    for name in names:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(directory, name))
    return result


def on_git_event(store: Store, event: str, args: list[str], stdin: str) -> dict | None:
    """What a git hook anchors: post-commit (and post-applypatch, for the
    commits `git am` makes, which run no post-commit), post-merge or
    post-rewrite."""
    if event in ("post-commit", "post-applypatch"):
        return post_commit(store)
    if event == "post-merge":
        return post_merge(store)
    if event == "post-rewrite":
        return post_rewrite(store, args[0] if args else "rewrite", stdin)
    return None
