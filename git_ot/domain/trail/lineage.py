"""Where landed lines went: alive at a target, in place or moved, or removed, and by what.

The evidence `git ot track` (track.py) and `git ot blame <commit>`
(blame.py) read, from git's own line matching; survival.py turns it into a
hunk's state.

- *Alive*: a line of the target that `git blame TARGET -- path` gives to a
  landing commit *C*, at line *n* of path *p* in *C*, where *C*'s landings
  hold *n* in *p* (git follows whole-file renames). A landed line blame
  does not find in place is looked for with `git blame -M -C`: in its own
  file when the commit that removed it added the same text there (moved
  within the file), and in the other files that commit changed where it
  added the same text (moved to another file). A `}` or a `return None`
  elsewhere in the file is never taken for a survivor.
- *Removed*: for a landed line not alive, the commit that removed it. One
  `git log --first-parent -p -U0` over the paths follows every line landed
  on the target's first-parent history through each commit's diff (git's
  diff, as blame uses it) to the commit whose diff removes it; lines landed
  off that history, or removed by a merge or with their whole file (which
  may be a rename), are left to `git blame --reverse C..TARGET`, whose last
  commit still holding the line is followed by the one that removed it
  (when that one is a merge, the same question is asked of the branch it
  merged, so the branch's own commit is named: a revert merged in is a
  revert).
- *Reformatted*: a line a commit's diff removes while the same hunk adds it
  back in another shape (white space changed, as `git blame -w` and
  `git diff --color-moved-ws=allow-indentation-change` ignore it; wrapped or
  joined, as a formatter does; quotes or a trailing comma changed) is
  followed on to where that hunk put it, and alive there is *transformed*:
  the line keeps its identity, edited since (survival.py). A hunk of the
  same lines in another order (sorted imports) is a reformat too; and when
  git's diff put a line's new shape in another hunk (a re-wrapped file),
  the file diff's removed and added lines are matched as tokens.
"""

from __future__ import annotations

import difflib
import re

import pygit2

from ...store.git import process as git_process
from ...store.git import processes as git_processes
from ...store.porcelain import file_diffs, parse_blame
from ...store.repository import Store
from . import lines as L

ZERO = "0" * 40


class Lineage:
    """Which landed lines `git blame` still finds at a target, and what removed the others.

    `landings` are {commit: {path: [(first, last, key)]}}: ranges of lines in
    a commit's version of a path, each with a key (what the caller counts
    them by). `origin(commit)` may add landings as blame meets commits.
    """

    def __init__(self, store: Store, target: str, origin=None):
        self.store = store
        self.repo = store.repo
        self.target = target
        self.cwd = store.location.worktree or store.location.git_dir
        self.origin = origin  # commit -> {path: [(first, last, key)]} or None
        self.landings: dict[str, dict[str, list]] = {}
        # (commit, path, line) -> (target path, target line, moved)
        self.alive: dict[tuple, tuple] = {}
        # (commit, path, line) -> the commit that removed it (or None: not found)
        self.removed: dict[tuple, str | None] = {}
        self._children: dict[str, list[str]] | None = None
        self._order: dict[str, int] = {}
        self._target_tree = self.repo[target].peel(pygit2.Commit).tree
        self._renames: dict[str, dict] = {}
        self._plain: dict[str, list[tuple]] = {}  # path -> (commit, line, text) per line at the target
        self.missing_set: set = set()
        self.transformed: set = set()  # (commit, path, line) alive only reformatted
        self._changed_cache: dict[str, list[str]] = {}
        self._fp: dict[str, int] | None = None

    def _git(self, argv: list[str], input: bytes | None = None):
        return git_process(argv, self.cwd, input)

    def add(self, commit: str, path: str, first: int, last: int, key) -> None:
        self.landings.setdefault(commit, {}).setdefault(path, []).append((first, last, key))

    def _key_at(self, commit: str, path: str, n: int):
        spans = self.landings.get(commit)
        if spans is None and self.origin is not None:
            spans = self.origin(commit) or {}
            for p, ranges in spans.items():
                for first, last, key in ranges:
                    self.add(commit, p, first, last, key)
            spans = self.landings.setdefault(commit, {})
        for first, last, key in (spans or {}).get(path, ()):
            if first <= n <= last:
                return key
        return None

    def _in_target(self, path: str) -> bool:
        try:
            entry = self._target_tree[path]
        except KeyError:
            return False
        return entry.type_str == "blob"

    def target_path(self, commit: str, path: str) -> str | None:
        """Where `path` of `commit` is in the target: itself, or the file it was renamed to."""
        if self._in_target(path):
            return path
        renames = self._renames.get(commit)
        if renames is None:
            renames = {}
            try:
                diff = self.repo.diff(self.repo[commit].peel(pygit2.Commit).tree, self._target_tree)
                diff.find_similar(flags=pygit2.enums.DiffFind.FIND_RENAMES)
                for delta in diff.deltas:
                    if delta.status_char() == "R":
                        renames[delta.old_file.path] = delta.new_file.path
            except (KeyError, ValueError, pygit2.GitError):
                pass
            self._renames[commit] = renames
        return renames.get(path)

    def _blame(self, paths: list[str]) -> None:
        """Blame `paths` at the target (as `git blame`, renames followed); record the landed lines."""
        todo = sorted(p for p in set(paths) if p not in self._plain and self._in_target(p))
        argvs = [["blame", "--porcelain", self.target, "--", p] for p in todo]
        for path, proc in zip(todo, git_processes(argvs, self.cwd)):
            lines = parse_blame(proc.stdout)[0] if proc.returncode == 0 else []
            self._plain[path] = [(ln["commit"], ln["line"], ln["content"]) for ln in lines]
            self._record(path, lines, moved_only=False)

    def _blame_moves(self, wanted: dict[str, set]) -> None:
        """`git blame -M -C` of the lines of the target that may be moved landed lines.

        `wanted` gives, per target path, (commit, text) pairs: a commit that
        removed landed lines and one of their texts. Plain blame gives the
        moved copy to the commit that moved it, with the same text; only
        those lines (-L) are blamed again with moves and copies followed, so
        git decides, at a fraction of a whole file's cost.
        """
        self._blame(sorted(wanted))
        argvs, paths = [], []
        for path, pairs in sorted(wanted.items()):
            keys = {(c, t.decode("utf-8", "surrogateescape")) for c, t in pairs if t is not None}
            ns = [n for c, n, text in self._plain.get(path, ()) if (c, text) in keys]
            if not ns:
                continue
            argv = ["blame", "--porcelain", "-M", "-C"]
            for first, last in L.ranges(ns):
                argv += ["-L", f"{first},{last}"]
            argvs.append(argv + [self.target, "--", path])
            paths.append(path)
        for path, proc in zip(paths, git_processes(argvs, self.cwd)):
            if proc.returncode == 0:
                self._record(path, parse_blame(proc.stdout)[0], moved_only=True)

    def _record(self, path: str, lines: list[dict], moved_only: bool) -> None:
        for ln in lines:
            commit = ln["commit"]
            if commit == ZERO:
                continue
            where = (commit, ln["path"], ln["orig_line"])
            if where in self.alive or (moved_only and where not in self.missing_set):
                continue
            if self._key_at(commit, ln["path"], ln["orig_line"]) is None:
                continue
            self.alive[where] = (path, ln["line"], moved_only or ln["path"] != path)

    def run(self, extra_paths=(), removals: bool = True) -> None:
        """Blame at the target; look for what is missing; find what removed the rest."""
        paths = set(extra_paths)
        for commit, by_path in list(self.landings.items()):
            for path in by_path:
                tp = self.target_path(commit, path)
                if tp is not None:
                    paths.add(tp)
        self._blame(sorted(paths))
        missing = self._missing()
        if not missing:
            return
        self.missing_set = set(missing)
        removers, within = self._removers(missing)
        for where, (path, pos) in self._reformatted.items():
            if where not in self.alive and where in removers and removers[where] is None:
                self.alive[where] = (path, pos, False)
                self.transformed.add(where)
        # Where a removed line may live on: in its own file, when the commit
        # that removed it added the same text there (moved within the file),
        # and in the other files that commit changed where it added the same
        # text (moved to another file).
        texts = Texts(self.repo)
        wanted: dict[str, set] = {}
        for (commit, path, n), remover in removers.items():
            if remover is not None and (commit, path) in within:
                tp = self.target_path(commit, path)
                if tp is not None:
                    wanted.setdefault(tp, set()).add((remover, texts.line(commit, path, n)))
        for path, pairs in self._moved_to(removers, texts).items():
            wanted.setdefault(path, set()).update(pairs)
        self._blame_moves(wanted)
        if removals:
            for where, remover in removers.items():
                if where not in self.alive:
                    self.removed[where] = remover

    def _missing(self) -> list[tuple]:
        out = []
        for commit, by_path in self.landings.items():
            for path, spans in by_path.items():
                for first, last, _ in spans:
                    for n in range(first, last + 1):
                        if (commit, path, n) not in self.alive:
                            out.append((commit, path, n))
        return out

    def _first_parents(self) -> dict[str, int]:
        """The target's first-parent history: commit -> its position, oldest first."""
        if self._fp is None:
            proc = self._git(["rev-list", "--first-parent", "--reverse", self.target])
            self._fp = {c: i for i, c in enumerate(proc.stdout.decode("ascii", "replace").split())}
        return self._fp

    def _removers(self, missing: list[tuple]) -> tuple[dict[tuple, str | None], set]:
        """For each missing line, the commit of the target's history that removed it;
        and the (commit, path) whose lines a remover may have moved within the file.

        One `git log --first-parent -p` over the paths follows every line that
        a commit of the first-parent history landed, through each commit's
        diff, to the commit whose diff removes it (git's own reverse blame,
        without a process per commit). Lines landed off that history, and
        lines it finds removed by a merge or with their whole file (which may
        be a rename), are left to `git blame --reverse`.
        """
        fp = self._first_parents()
        self._reformatted: dict[tuple, tuple] = {}
        groups: dict[tuple, list[int]] = {}
        for commit, path, n in missing:
            groups.setdefault((commit, path), []).append(n)
        walked = {k: ns for k, ns in groups.items() if k[0] in fp}
        out: dict[tuple, str | None] = {}
        within: set = set()
        unsure: dict[tuple, list[int]] = {k: ns for k, ns in groups.items() if k[0] not in fp}
        if walked:
            got, re_added, merges_or_gone = self._walk(walked, fp)
            for (commit, path), ns in walked.items():
                for n in ns:
                    where = (commit, path, n)
                    remover = got.get(where)
                    if remover is not None and remover in merges_or_gone.get(path, ()):
                        unsure.setdefault((commit, path), []).append(n)
                        continue
                    out[where] = remover
                    if remover is not None and where in re_added:
                        within.add((commit, path))
        if unsure:
            out.update(self._reverse_blame(unsure))
            within.update(unsure)
        return out, within

    def _walk(self, groups: dict[tuple, list[int]], fp: dict[str, int]):
        starts = {c for c, _ in groups}
        first = min(starts, key=fp.__getitem__)
        paths = sorted({p for _, p in groups})
        argv = ["log", "--first-parent", "--reverse", "--diff-merges=first-parent", "-p", "-U0",
                "--no-renames", "--no-color", "--no-ext-diff", "--no-prefix", "--format=%x00%H %P",
                f"{first}..{self.target}", "--"] + paths
        proc = self._git(argv)
        # (commit, path) -> {n: current position}; lines of `first` from the start.
        tracked: dict[str, dict[tuple, int]] = {}
        pending: dict[str, list[tuple]] = {}
        for (commit, path), ns in groups.items():
            items = [((commit, path, n), n) for n in ns]
            if commit == first:
                tracked.setdefault(path, {}).update(items)
            else:
                pending.setdefault(commit, []).extend((path, item) for item in items)
        removed: dict[tuple, str] = {}
        re_added: set = set()
        reshaped: set = set()
        odd: dict[str, set] = {}  # path -> commits that removed lines as a merge or with the file
        for record in proc.stdout.split(b"\0")[1:]:
            head, _, body = record.partition(b"\n")
            words = head.decode("ascii", "replace").split()
            if not words:
                continue
            commit, merge = words[0], len(words) > 2
            for path, hunks, gone in file_diffs(body):
                lines = tracked.get(path)
                if lines:
                    added_texts = {t for h in hunks for t in h[4]}
                    _apply(lines, hunks, commit, removed, re_added, added_texts, reshaped)
                    if merge or gone:
                        odd.setdefault(path, set()).add(commit)
            for path, item in pending.pop(commit, ()):
                tracked.setdefault(path, {}).__setitem__(*item)
        # Reformatted lines no later commit removed: where they are at the target.
        for path, lines in tracked.items():
            for where, pos in lines.items():
                if where in reshaped:
                    self._reformatted[where] = (path, pos)
        return removed, re_added, odd

    def _reverse_blame(self, groups: dict[tuple, list[int]], tip: str | None = None,
                       depth: int = 0) -> dict[tuple, str | None]:
        """`git blame --reverse START..TIP`: the commit after the last one that had each line.

        When that commit is a merge, the lines were removed on a branch it
        merged: the branch's own commit that removed them is looked for the
        same way, up to that branch's tip (a revert merged in is found as
        the revert it is).
        """
        tip = tip or self.target
        argvs, keys = [], []
        for (commit, path), ns in sorted(groups.items()):
            argv = ["blame", "--porcelain", "--reverse", f"{commit}..{tip}"]
            for first, last in L.ranges(ns):
                argv += ["-L", f"{first},{last}"]
            argvs.append(argv + ["--", path])
            keys.append((commit, path))
        last_seen: dict[tuple, str] = {}
        for (commit, path), proc in zip(keys, git_processes(argvs, self.cwd)):
            if proc.returncode != 0:
                continue
            lines, _ = parse_blame(proc.stdout)
            for ln in lines:
                # --reverse: the commit is the last one that still had the line,
                # and "line" its number in the starting commit.
                last_seen[(commit, path, ln["line"])] = ln["commit"]
        out: dict[tuple, str | None] = {}
        merged: dict[str, dict[tuple, list[int]]] = {}  # branch tip -> lines to follow there
        for (commit, path), ns in groups.items():
            for n in ns:
                last = last_seen.get((commit, path, n))
                child = None if last is None or last == tip else self._child(last, tip)
                out[(commit, path, n)] = child
                parents = self._parents(child) if child is not None and depth < 4 else []
                for other in parents[1:]:
                    if other != last and self._descends(other, commit):
                        merged.setdefault(other, {}).setdefault((commit, path), []).append(n)
        for branch, sub in sorted(merged.items()):
            for where, remover in self._reverse_blame(sub, branch, depth + 1).items():
                if remover is not None:
                    out[where] = remover
        return out

    def _parents(self, commit: str) -> list[str]:
        try:
            return [str(p) for p in self.repo[commit].peel(pygit2.Commit).parent_ids]
        except (KeyError, ValueError, pygit2.GitError):
            return []

    def _descends(self, commit: str, ancestor: str) -> bool:
        try:
            return commit == ancestor or self.repo.descendant_of(commit, ancestor)
        except (KeyError, ValueError, pygit2.GitError):
            return False

    def _child(self, commit: str, tip: str | None = None) -> str | None:
        """The commit after `commit` on the target's history (the oldest, if several),
        or on `tip`'s history."""
        if self._children is None:
            self._children = {}
            proc = self._git(["rev-list", "--parents", self.target])
            for i, row in enumerate(proc.stdout.decode("ascii", "replace").splitlines()):
                words = row.split()
                if not words:
                    continue
                self._order[words[0]] = i
                for parent in words[1:]:
                    self._children.setdefault(parent, []).append(words[0])
        kids = self._children.get(commit, [])
        if tip is not None and tip != self.target:
            kids = [k for k in kids if self._descends(tip, k)]
        if not kids:
            return None
        return max(kids, key=lambda k: self._order.get(k, -1))

    def _moved_to(self, removers: dict[tuple, str | None], texts: "Texts") -> dict[str, set]:
        """Other files where a commit that removed landed lines added the same text.

        One `git diff-tree -p --stdin` for every remover that changed more
        than one file: {path: {(remover, text)}}.
        """
        by_remover: dict[str, set] = {}
        for (commit, path, n), remover in removers.items():
            if remover is not None:
                by_remover.setdefault(remover, set()).add(texts.line(commit, path, n))
        several = [r for r in sorted(by_remover) if len(self._changed(r)) > 1]
        if not several:
            return {}
        proc = self._git(["diff-tree", "-p", "-U0", "--no-renames", "--no-color", "--no-ext-diff",
                          "--no-prefix", "--format=%x00%H", "--stdin"],
                         input="".join(r + "\n" for r in several).encode())
        out: dict[str, set] = {}
        for record in proc.stdout.split(b"\0")[1:]:
            head, _, body = record.partition(b"\n")
            remover = head.decode("ascii", "replace").strip()
            gone = by_remover.get(remover, set())
            for path, hunks, _ in file_diffs(body):
                moved = {t for h in hunks for t in h[4] if t in gone}
                if moved and self._in_target(path):
                    out.setdefault(path, set()).update((remover, t) for t in moved)
        return out

    def _changed(self, commit: str) -> list[str]:
        """The paths `commit` changed, against its first parent."""
        cached = self._changed_cache.get(commit)
        if cached is not None:
            return cached
        self._changed_cache[commit] = out = self._changed_now(commit)
        return out

    def _changed_now(self, commit: str) -> list[str]:
        try:
            c = self.repo[commit].peel(pygit2.Commit)
            if not c.parents:
                return []
            diff = self.repo.diff(c.parents[0].tree, c.tree)
        except (KeyError, ValueError, pygit2.GitError):
            return []
        return sorted({d.new_file.path for d in diff.deltas if d.status_char() != "D"})


def _apply(lines: dict, hunks: list, commit: str, removed: dict, re_added: set, added_texts: set,
           reshaped: set) -> None:
    """Move the tracked `lines` ({where: position}) through one file's diff;
    a line a hunk adds back reformatted moves to its new place (`reshaped`)."""
    placed: dict[int, list] = {}
    across: list = []  # the file's whole diff, matched as tokens (once, when needed)
    for where, pos in list(lines.items()):
        shift = 0
        for k, (a, b, c, d, plus, minus) in enumerate(hunks):
            if b and a <= pos < a + b:
                if k not in placed:
                    placed[k] = reformatted(minus, plus)
                new = placed[k][pos - a]
                gone = minus[pos - a]
                if new is None and (gone not in added_texts or not gone.strip()):  # else moved?
                    if not across:
                        across.append(rewrapped(hunks))
                    held = across[0].get((k, pos - a))
                    if held is not None:
                        new = hunks[held[0]][2] + held[1] - c
                if new is not None:
                    lines[where] = c + new
                    reshaped.add(where)
                else:
                    del lines[where]
                    removed[where] = commit
                    if minus[pos - a] in added_texts:
                        re_added.add(where)  # the same text added back: a move within the file?
                break
            if (b and a + b - 1 < pos) or (not b and a < pos):
                shift += d - b
            else:
                lines[where] = pos + shift
                break
        else:
            lines[where] = pos + shift


_BLANKS = re.compile(rb"\s+")
_TRAILING_COMMA = re.compile(rb",(?=[)\]}])")
# A removed line shorter than this (in shape) is followed only through a
# hunk that is a reformat as a whole: a `}` or `)` is in every hunk.
SHAPE_MIN = 6


def shape(text: bytes) -> bytes:
    """A line's text as a formatter does not change it: no white space, one
    kind of quote, no trailing comma before a closing bracket."""
    return _TRAILING_COMMA.sub(b"", _BLANKS.sub(b"", text).replace(b"'", b'"'))


def reformatted(minus: list[bytes], plus: list[bytes]) -> list[int | None]:
    """For each removed line of a hunk, the 0-based added line that holds it
    in another shape (None: not held). Lines are matched in order in the
    added lines joined (so a wrapped or joined line is found); short ones
    only when the hunk's two sides have the same shape, or the same lines
    in shape in another order (sorted)."""
    joined = b""
    owner: list[int] = []  # the added line of each byte of `joined`
    for i, text in enumerate(plus):
        t = shape(text)
        joined += t
        owner += [i] * len(t)
    whole = shape(b"".join(minus)) == joined and bool(joined)
    shapes = [shape(text) for text in plus]
    if not whole and len(minus) == len(plus) and sorted(map(shape, minus)) == sorted(shapes):
        # The same lines in another order (imports sorted): each is where
        # its shape went.
        free = list(range(len(plus)))
        out = []
        for text in minus:
            i = next(i for i in free if shapes[i] == shape(text))
            free.remove(i)
            out.append(i if shapes[i] else None)
        return out
    out: list[int | None] = []
    cursor = 0
    for text in minus:
        t = shape(text)
        if not t or (len(t) < SHAPE_MIN and not whole):
            out.append(None)
            continue
        at = joined.find(t, cursor)
        if at < 0:
            out.append(None)
            continue
        out.append(owner[at])
        cursor = at + len(t)
    return out


_TOKEN = re.compile(rb"[A-Za-z0-9_\x80-\xff]+|[^\sA-Za-z0-9_\x80-\xff,;]")
_WORD = re.compile(rb"[A-Za-z0-9_\x80-\xff]")
_BRACKETS = {b"(", b")", b"[", b"]", b"{", b"}"}
# Past this many tokens on a side, a file's diff is not matched as tokens.
TOKENS_MAX = 20000


def tokens(text: bytes) -> list[bytes]:
    """A line's tokens as a formatter does not change them: words, and each
    other character but white space, commas and semicolons (which formatters
    add and drop), one kind of quote."""
    return _TOKEN.findall(text.replace(b"'", b'"'))


def rewrapped(hunks: list) -> dict[tuple, tuple]:
    """Removed lines of a file's diff that its added lines hold in another
    shape, across hunks: {(hunk, removed line): (hunk, added line)}, 0-based.

    A formatter that re-wraps a file gives git's line diff unchanged lines
    (a `}`, a blank, a `) {`) aligned with others of the same text, so a
    line's new shape may sit in another hunk, with a `;` or a `,` added. The
    removed and the added lines are compared as one sequence of tokens each:
    a removed line is held where its first token went when every token of
    it but a bracket is matched in order, some of it with a neighbouring
    token, and a line of punctuation alone (a `}`) only when it is matched
    with words around it; a blank line between two held lines goes to a
    blank line added after the first."""
    old: list[bytes] = []
    old_at: list[tuple] = []
    new: list[bytes] = []
    new_at: list[tuple] = []
    for k, (_, _, _, _, plus, minus) in enumerate(hunks):
        for i, text in enumerate(minus):
            for t in tokens(text):
                old.append(t)
                old_at.append((k, i))
        for j, text in enumerate(plus):
            for t in tokens(text):
                new.append(t)
                new_at.append((k, j))
    if not old or not new or len(old) > TOKENS_MAX or len(new) > TOKENS_MAX:
        return {}
    to: dict[int, int] = {}  # old token -> new token
    worded: set[int] = set()  # old tokens matched in a block that holds a word
    run: set[int] = set()  # old tokens matched in a block of two tokens or more
    blocks = difflib.SequenceMatcher(None, old, new, autojunk=False).get_matching_blocks()
    for i, j, size in blocks:
        has_word = any(_WORD.match(t) for t in old[i:i + size])
        for n in range(size):
            to[i + n] = j + n
            if has_word:
                worded.add(i + n)
            if size > 1:
                run.add(i + n)
    by_line: dict[tuple, list[int]] = {}
    for n, at in enumerate(old_at):
        by_line.setdefault(at, []).append(n)
    out: dict[tuple, tuple] = {}
    for at, ns in by_line.items():
        if any(_WORD.match(old[n]) for n in ns):
            # Brackets aside (a formatter adds them, drops them, moves them
            # to lines of their own), every token is matched; a word matched
            # alone may be a coincidence: some token of the line must be
            # matched with a neighbour.
            held = all(n in to for n in ns if old[n] not in _BRACKETS) and any(n in run for n in ns)
        else:
            held = all(n in worded for n in ns)
        if held:
            first = next(n for n in ns if n in to)
            out[at] = new_at[to[first]]
    # A blank line between lines held is held by the next blank line added
    # after where the line before it went (the diff aligned it elsewhere).
    blanks = [(k, j) for k, h in enumerate(hunks) for j, text in enumerate(h[4]) if not text.strip()]
    for k, (_, _, _, _, _, minus) in enumerate(hunks):
        for i, text in enumerate(minus):
            if text.strip() or (k, i - 1) not in out or (k, i + 1) not in out:
                continue
            after = [b for b in blanks if b > out[(k, i - 1)]]
            if after:
                out[(k, i)] = after[0]
                blanks.remove(after[0])
    return out


def alive_counts(store: Store, commit: str, agent_ranges: dict) -> dict:
    """Agent lines of `commit` (its note's ranges, {path: [(first, last, note line)]})
    that HEAD still holds, in place or moved: {(path, hunk, session): count}."""
    head = str(store.repo.head.peel(pygit2.Commit).id)
    lineage = Lineage(store, head)
    for path, spans in agent_ranges.items():
        for first, last, line in spans:
            lineage.add(commit, path, first, last, (path, line.get("hunk"), line.get("session")))
    lineage.run(removals=False)
    out: dict = {}
    for (c, path, n) in lineage.alive:
        key = lineage._key_at(c, path, n)
        if c == commit and key is not None:
            out[key] = out.get(key, 0) + 1
    return out


class Texts:
    """The text of lines of a commit's version of a path (cached per blob)."""

    def __init__(self, repo):
        self.repo = repo
        self._cache: dict = {}

    def line(self, commit: str, path: str, n: int) -> bytes | None:
        text = self.lines(commit, path)
        return text[n - 1] if 0 < n <= len(text) else None

    def lines(self, commit: str, path: str) -> list[bytes]:
        key = (commit, path)
        if key not in self._cache:
            try:
                blob = self.repo[commit].peel(pygit2.Commit).tree[path]
                self._cache[key] = L.split(self.repo[blob.id].data)
            except (KeyError, ValueError, pygit2.GitError):
                self._cache[key] = []
        return self._cache[key]
