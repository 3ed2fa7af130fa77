"""Working attribution: which agent step, if any, wrote each line of a file.

The evidence is the snapshots: for a path, every write window that touched
it gives two states of the file (before and after the tool ran), and the
working tree gives the state now. Ordered in time, consecutive states
differ by what happened between them, and what happened between them is
owned by whoever was writing then:

- no write window open over the interval: the human (an editor, or any
  command run outside the agent's tools);
- exactly one: that window's step (the only tool that could have written it);
- more than one (tools running in parallel, or two sessions at once): no one
  can be told; the lines are left unattributed, and say so;
- a blind window (a tool whose snapshot failed, windows.py) open at any
  moment of the interval: whatever it wrote cannot be told from what anyone
  else did, so the lines are `unknown`, never the human's.

A tool whose input names the single file it writes (Edit, Write, ...) is no
candidate for a change to another path.

Rather than replaying every state from the beginning, the walk starts from
the lines it is asked about and goes back in time, one interval at a time,
following each line through the line diffs until the interval that added
it; it stops as soon as every line is placed. Its cost is the age of the
youngest state that holds the lines, not the number of sessions.

Imported steps of other checkouts (windows.py: their timeline, a checkout
on a branch) are not one timeline with each other or with this worktree:
the walk runs once per timeline, over its states alone, and a line is the
agent's that one timeline's walk gives to a step (several: ambiguous).
Imported steps of this worktree on two branches or more are walked branch
by branch too, beside the walk over all of this worktree's states: a
branch's work squash-merged on a server is found on its branch's states,
whatever this worktree held when the squash was made.

A line is the same line when it is unchanged, or only re-indented (its
leading and trailing white space changed: a block wrapped in an `if`, a
formatter's run), as `git blame -w` sees it: its writer is who wrote its
text, not who re-indented it. So is a line a tool's change moved: the one
line of its text that change removes and the one it adds, with 20 letters
and digits or more, as `git diff --color-moved` sees a moved line (a tool
that rewrote a block keeping a line of it). A line the human's edit adds
(no window open) that is a copy of a line of 20 letters and digits or
more, the one such line of the state before, still there, keeps that
line's writer, as `git blame -M` pairs copied lines. And a run of lines
another checkout's session wrote that a commit here holds is paired with
them by text and place alone: it needs those 20 letters and digits too,
else it is `unknown` (`t.Parallel()`).

A line is looked for first in the working tree now, then in older states
(so a line staged with `git add` and then edited again in the working tree
is still found where it was written). A line found in no state was never
seen by a snapshot (staged by hand, then removed from the working tree) and
belongs to the human; so does a line already present before the first
window that touched its path.
"""

from __future__ import annotations

import os
import time

from . import lines as L
from .trivial import trivial
from .windows import Window, WindowIndex
from .written import Written, line_hash

HUMAN = ("human",)
# Bounds on the walk: how many older states to search for a line that is
# not in the working tree any more, and how many states to go through in
# all. A line not placed within them is unattributed ("unknown"), never
# guessed.
LOCATE_LIMIT = 256
# A line an agent window wrote, changed back in outside every window, is
# unknown rather than the human's, unless it is shorter than this (stripped).
PUT_BACK_MIN = 4
WALK_LIMIT = 4096
# The fewest letters and digits lines need to be paired by their text alone
# (with lines another checkout's session wrote, _too_small; with the line a
# moved or copied one came from, _copies): git blame -M's default score.
MIN_ALNUM = 20
_ALNUM = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _alnum(text: bytes) -> int:
    """How many ASCII letters and digits `text` holds."""
    return len(text) - len(text.translate(None, _ALNUM))
# How many states' stripped lines are kept at once (see Attribution._texts).
TEXTS_KEPT = 1024
# How many diffs between consecutive states are kept at once (see Attribution._align).
ALIGNED_KEPT = 4096


def agent(session: str, step: int, hunk: str, harness: str = "unknown", model=None) -> tuple:
    return ("agent", session, step, hunk, harness, model)


def unattributed(reason: str, candidates=()) -> tuple:
    return ("unattributed", reason, tuple(sorted(set(candidates))))


class _Large(Exception):
    """The path is over the snapshot size limit somewhere: no lines to follow."""


class Reads:
    """What walks read, kept across the Attributions of one run (a
    recomputation has one per instant it looks at): the states of paths,
    their lines stripped, the diffs between the states walked, the lines
    windows wrote (written.py), and per path which checkouts' after-states
    hold each line. Snapshots never change, so nothing kept goes stale;
    the states are dropped past CONTENT_KEPT of them (memory)."""

    def __init__(self):
        self.content: dict = {}
        self.texts: dict[bytes, frozenset] = {}  # a state -> its lines, stripped (Attribution._texts)
        self.aligned: dict[tuple, list] = {}  # (a state, the next) -> their diff (Attribution._align)
        self.written: Written | None = None  # what windows wrote, as written.json keeps it (_put_back)
        self.after_texts: dict[tuple, dict] = {}  # (path, its windows) -> {line text: timelines}


CONTENT_KEPT = 4096


class Attribution:
    """Answers, for lines of some content of a path, who wrote them."""

    def __init__(self, store, index: WindowIndex, now: float, uncertain_from: float | None = None,
                 reads: Reads | None = None):
        self.store = store
        self.repo = store.repo
        self.index = index
        self.now = now
        # Recomputing a commit whose instant is known to the second only: a
        # state taken at or after `uncertain_from` may be from after the
        # commit, so a line missing from it tells nothing (recompute.py).
        self.uncertain_from = uncertain_from
        self.reads = reads or Reads()
        self._content = self.reads.content
        self._written: dict[str, set] = {}  # path -> hashes of the lines agent windows wrote into it
        self._split: tuple = (None, [])  # the last content split into lines, and its lines
        self._timeline: tuple = ()  # (timeline,): the walk sees that timeline's windows alone
        self._elsewhere: set[int] = set()  # lines windows of another checkout gave to a step
        self._after_texts = self.reads.after_texts  # see _timelines
        self._texts_of = self.reads.texts

    # -- states ----------------------------------------------------------

    def content(self, tree_id: str, path: str) -> bytes:
        key = (tree_id, path)
        data = self._content.get(key)
        if data is None:
            try:
                entry = self.repo[tree_id][path]
            except (KeyError, ValueError):
                data = b""
            else:
                data = self.store.blob_data(entry.id) or b""
            if data.startswith(b"git-ot large file v1\n"):
                raise _Large(path)
            if len(self._content) >= CONTENT_KEPT:
                self._content.clear()
            self._content[key] = data
        return data

    def worktree_content(self, path: str) -> bytes | None:
        """The file as it is on disk now (None: not a file git would store as text)."""
        root = self.store.location.worktree
        if root is None:
            return None
        full = os.path.join(root, path)
        try:
            if os.path.islink(full):
                return os.fsencode(os.readlink(full))
            if not os.path.isfile(full):
                return b""
            with open(full, "rb") as fh:
                return fh.read()
        except OSError:
            return b""

    def _points(self, path: str, t_max: float) -> list:
        """States of `path` older than t_max, newest first: (t, order, window, tree, path_at_point)."""
        pts = []
        for w in self._windows(path):
            if w.t1 < t_max:
                pts.append((w.t1, 1, w, w.after, path))
            if w.t0 < t_max:
                f = w.files.get(path)
                pts.append((w.t0, 0, w, w.before, f[2] if f and f[2] else path))
        for w in self._running():
            if w.t0 < t_max:
                pts.append((w.t0, 0, w, w.before, path))
        for w in self.index.blind(self.now):
            if w.declared is not None and w.declared != path:
                continue
            if w.after is not None and w.t1 is not None and w.t1 < t_max:
                pts.append((w.t1, 1, w, w.after, path))
            if w.before is not None and w.t0 < t_max:
                pts.append((w.t0, 0, w, w.before, path))
        pts.sort(key=lambda p: (p[0], p[1]), reverse=True)
        return pts

    def _windows(self, path: str) -> list[Window]:
        ws = self.index.windows(path)
        if not self._timeline:
            return ws
        timeline = self._timeline[0]
        if timeline is not None and timeline[0] == "":
            return [w for w in ws if w.branch_timeline == timeline]
        return [w for w in ws if w.timeline == timeline]

    def _running(self) -> list[Window]:
        return self.index.running(self.now) if not self._timeline or self._timeline[0] is None else []

    def _candidates(self, paths: set, t_lo: float, t_hi: float) -> list[Window]:
        seen: dict[str, Window] = {}
        pool = [w for p in paths for w in self._windows(p)] + self._running()
        for w in pool:
            if w.t0 <= t_lo and (w.t1 is None or w.t1 >= t_hi):
                if w.declared is not None and w.declared not in paths:
                    continue
                seen[w.key] = w
        for w in self.index.blind(self.now):
            # Open at any moment of the interval, not only over all of it:
            # its states, where it has them, are the only bounds it has.
            overlaps = w.t0 < t_hi and (w.t1 is None or w.t1 > t_lo)
            if overlaps or (w.t0 <= t_lo and (w.t1 is None or w.t1 >= t_hi)):
                if w.declared is not None and w.declared not in paths:
                    continue
                seen[w.key] = w
        return list(seen.values())

    def _blind_before(self, path: str, t: float) -> list[Window]:
        """Blind windows without a before-state that opened before `t`: a line
        present in the oldest state of `path` may still be theirs."""
        return [w for w in self.index.blind(self.now)
                if w.before is None and w.t0 < t and (w.declared is None or w.declared == path)]

    # -- the walk --------------------------------------------------------

    def attribute(self, path: str, content: bytes, wanted, now: bytes | None = None,
                  gone=None) -> dict[int, tuple]:
        """For each wanted 0-based line of `content` (a version of `path`), who wrote it.

        `gone(p)` says whether path p is absent from the version `content`
        belongs to (a file renamed by hand leaves its old path gone).
        """
        wanted = set(wanted)
        if not wanted:
            return {}
        if not self.index.any_windows():
            return {i: HUMAN for i in wanted}
        if now is None:
            now = self.worktree_content(path)
        self._elsewhere = set()
        try:
            timelines = self._timelines(path, content, wanted)
            if timelines is None:
                got = self._walk(path, content, wanted, now if now is not None else b"", gone)
            else:
                got = self._walk_timelines(sorted(timelines, key=lambda p: (p is not None, p or ())),
                                           path, content, wanted, now if now is not None else b"", gone)
        except _Large:
            return {i: unattributed("unknown") for i in wanted}
        return self._too_small(content, got)

    def _too_small(self, content: bytes, got: dict[int, tuple]) -> dict[int, tuple]:
        """`got` with every run of consecutive lines that windows of another
        checkout give to one session, and that holds fewer than
        MIN_ALNUM letters and digits in all, made `unknown`.

        Such a line is the session's by its text and its place in the file
        alone, across two timelines (another checkout wrote it, this one's
        commit holds it): the inference `git blame -M` draws when it pairs
        lines of two versions, and git makes it only for a block of at least
        20 alphanumeric characters (its default score; `git diff
        --color-moved` has the same floor). A `t.Parallel()` or an
        `"errors"` import another checkout also wrote tells nothing. A run
        of trivial lines alone is left as it is: they follow their
        significant neighbours (trivial.py).
        """
        if not self._elsewhere:
            return got
        if self._split[0] is not content:
            self._split = (content, L.split(content))
        lines = self._split[1]
        out = dict(got)
        run: list[int] = []
        for n in sorted(got) + [None]:
            status = got.get(n) if n is not None else None
            joins = (n is not None and n in self._elsewhere and status[0] == "agent" and run
                     and n == run[-1] + 1 and got[run[-1]][1] == status[1])
            if joins:
                run.append(n)
                continue
            texts = [lines[k] if k < len(lines) else b"" for k in run]
            if run and not all(map(trivial, texts)) \
                    and sum(map(_alnum, texts)) < MIN_ALNUM:
                for k in run:
                    out[k] = unattributed("unknown")
            run = [n] if n is not None and n in self._elsewhere and status[0] == "agent" else []
        return out

    def _renamed_from(self, path: str, state: bytes, t: float, tree: str | None, gone) -> str | None:
        """The path a file renamed by hand (outside every window) had before, if any.

        The file was at `path` with content `state` at time `t`, the oldest
        state the walk has of it (`tree`: that snapshot; None: no snapshot
        has it, the rename came after the newest one). A path agent windows
        wrote is its old name when it was gone then and its newest state
        before `t` holds at least half of the lines, unchanged, as git's
        rename detection would pair them.
        """
        if not state:
            return None
        best, best_score = None, 0.5
        best_same, best_of = 1, 2  # best_score as the fraction it is: the bounds compare integers
        n = L.count(state)
        state_lines = None
        if self._timeline and not self.index.blind(self.now) and not self._running():
            # One timeline's walk: only paths its windows wrote have its states.
            others = self.index.paths_of(self._timeline[0])
        else:
            others = self.index.paths()
        for other in others:
            if other == path:
                continue
            if tree is not None:
                try:
                    self.repo[tree][other]
                    continue  # still there: not renamed away
                except (KeyError, ValueError):
                    pass
            elif gone is None or not gone(other):
                continue
            pts = self._points(other, t)
            if not pts:
                continue
            _, _, _, old_tree, src = pts[0]
            old = self.content(old_tree, src)
            if not old:
                continue
            # A line aligns only with a line of the same text: `same` is at
            # most either side's count, and at most the lines of `state`
            # whose text, stripped, `old` holds (its stripped lines are kept
            # for the walks). A pair whose bound is below the best score so
            # far is not diffed (nearly every pair, on real history).
            m = L.count(old)
            if min(n, m) * best_of < best_same * max(n, m):
                continue
            if state_lines is None:
                state_lines = [ln.strip() for ln in L.split(state)]
            if sum(map(self._texts(old).__contains__, state_lines)) * best_of < best_same * max(n, m):
                continue
            same = sum(1 for j in L.align(old, state, L.STEP) if j is not None)
            score = same / max(n, m)
            if score >= best_score and (best is None or score > best_score or other < best):
                best, best_score, best_same, best_of = other, score, same, max(n, m)
        return best

    def _walk(self, path: str, content: bytes, wanted: set, now: bytes, gone=None) -> dict[int, tuple]:
        result: dict[int, tuple] = {}
        located: dict[int, int] = {}  # wanted line -> its 0-based line in the current state
        unlocated = set(wanted)
        at_after: dict[str, tuple] = {}  # window key -> (path, {line: position}) after it

        cur, cur_t, cur_path = now, self.now, path
        cur_red = False  # is the current state a file the security gate stored redacted?
        self._locate(content, cur, unlocated, located)
        pts = self._points(cur_path, cur_t)
        i = visited = renames = 0
        tree = w = None
        while (located or unlocated) and visited < WALK_LIMIT:
            if i >= len(pts):
                # The path's oldest state: was the file renamed by hand before it?
                # (A partial snapshot holds one file: it cannot say which others existed.)
                whole = None if w is not None and w.partial else tree
                src = self._renamed_from(cur_path, cur, cur_t, whole, gone) if renames < 4 else None
                if src is None:
                    break
                renames += 1
                cur_path, tree, w = src, None, None
                pts = self._points(cur_path, cur_t)
                i = 0
                continue
            t, side, w, tree, src = pts[i]
            i += 1
            visited += 1
            prev = self.content(tree, src)
            red = (("after" if side == 1 else "before"), src) in w.redacted
            if located:
                amap = self._align(prev, cur)
                owner = moved = carried = copied = cur_lines = None
                for line, pos in list(located.items()):
                    was = amap[pos] if pos < len(amap) else None
                    if was is None:
                        if cur_lines is None:
                            cur_lines = L.split(cur)
                        text = cur_lines[pos].strip() if pos < len(cur_lines) else b""
                        if text and text in self._texts(prev):
                            # Its text was there before: re-indented, moved, or copied.
                            if moved is None:
                                moved = _reindented(prev, cur, amap)
                            was = moved.get(pos)
                            if was is None and owner is None:
                                owner = self._candidates({cur_path, src}, t, cur_t)
                            if was is None and owner:
                                # A tool's change that took the one line of
                                # its text from one place and put it in
                                # another carried it: it did not write it.
                                if carried is None:
                                    carried = _moved(prev, cur, amap, moved)
                                was = carried.get(pos)
                            if was is None and not owner:
                                # Typed outside every window: a line copied by
                                # hand keeps the writer of its source.
                                if copied is None:
                                    copied = _copies(L.split(prev), amap)
                                was = copied.get(text)
                    if was is not None:
                        located[line] = was
                        continue
                    if owner is None:
                        owner = self._candidates({cur_path, src}, t, cur_t)
                    status = self._owner(owner, line, at_after)
                    if status == HUMAN and (red or cur_red):
                        # A redacted snapshot differs from the file where the
                        # secret was: that difference is no one's edit.
                        status = unattributed("unknown")
                    elif status == HUMAN and self.uncertain_from is not None and t >= self.uncertain_from:
                        status = unattributed("unknown")
                    elif status == HUMAN and self._put_back(cur_path, line, content):
                        status = unattributed("unknown")
                    result[line] = status
                    del located[line]
            if unlocated and visited <= LOCATE_LIMIT:
                self._locate(content, prev, unlocated, located)
            if side == 1:
                at_after[w.key] = (src, dict(located))
            cur, cur_t, cur_red = prev, t, red
            if src != cur_path:
                # A window renamed the file: before it, its lines lived at `src`.
                cur_path = src
                pts = self._points(cur_path, cur_t)
                i = 0
        exhausted = i >= len(pts)
        if exhausted and located and self._blind_before(cur_path, cur_t):
            exhausted = False  # a blind window before the oldest state: no telling
        for line in located:
            # Present before the first window that touched the path.
            result[line] = HUMAN if exhausted else unattributed("unknown")
        if unlocated and self._blind_before(cur_path, self.now):
            exhausted = False
        for line in unlocated:
            result[line] = HUMAN if exhausted and visited <= LOCATE_LIMIT else unattributed("unknown")
        return result

    def _timelines(self, path: str, content: bytes, wanted: set) -> set | None:
        """The timelines whose walks can tell something of the wanted lines:
        this worktree's, and those of another checkout (on a branch) where a
        window's after-state holds one of the lines (no other can give it to
        a step).
        Imported steps of this worktree on two branches or more also give
        this worktree's states branch by branch (Window.branch_timeline),
        beside all of them in one sequence.
        None: one walk over every window, as it always was (the windows are
        all of one timeline, or no timeline's can give a line to a step)."""
        windows = self.index.windows(path)
        branches = {w.branch_timeline for w in windows if w.branch_timeline}
        if len(branches) < 2:
            branches = set()
        timelines = {w.timeline for w in windows} | branches
        if len(timelines) < 2:
            return None
        key = (path, len(windows), windows[-1].key)
        by_text = self._after_texts.get(key)
        if by_text is None:
            # Every line (re-indented too, as the walk follows them:
            # `_reindented`) of every after-state of the path, with the
            # timelines whose windows hold it; read once per path.
            by_text = {}
            for w in windows:
                if path in w.files:
                    mine = {w.timeline} | ({w.branch_timeline} if w.branch_timeline in branches else set())
                    for text in {ln.strip() for ln in L.split(self.content(w.after, path))}:
                        by_text.setdefault(text, set()).update(mine)
            self._after_texts[key] = by_text
        lines = L.split(content)
        found = {None} if None in timelines else set()
        for i in wanted:
            if i < len(lines):
                found |= by_text.get(lines[i].strip(), set())
        return found or None

    def _walk_timelines(self, timelines: list, path: str, content: bytes, wanted: set, now: bytes,
                        gone) -> dict[int, tuple]:
        """One walk per timeline; per line, the step one timeline gives it, else
        what they agree on, else unknown."""
        got = []
        try:
            for timeline in timelines:
                self._timeline = (timeline,)
                # Another checkout's states start from the content asked about.
                got.append(self._walk(path, content, wanted, now if timeline is None else content, gone))
        finally:
            self._timeline = ()
        out = {}
        for line in wanted:
            statuses = [g[line] for g in got]
            agents = {s for s in statuses if s[0] == "agent"}
            if len(agents) == 1:
                out[line] = agents.pop()
            elif agents:
                out[line] = unattributed("ambiguous", [f"{s[1]}:{s[2]}" for s in agents])
            elif len(set(statuses)) == 1:
                out[line] = statuses[0]
            else:
                out[line] = unattributed("unknown")
        return out

    def _put_back(self, path: str, line: int, content: bytes) -> bool:
        """Could a line that changed outside every window have been put back
        rather than typed? It could when its text is one an agent window
        wrote into the path: a line that window's after-state holds once and
        its before-state not at all (a `git stash pop`, an editor's undo,
        bring back what a tool wrote). Such a line is not the human's for
        sure; lines of a few characters (a brace, `else:`) are too common to
        tell anything. What the windows wrote is kept across runs (written.py).
        """
        if self._split[0] is not content:
            self._split = (content, L.split(content))
        lines = self._split[1]
        text = lines[line] if line < len(lines) else b""
        if len(text.strip()) < PUT_BACK_MIN:
            return False
        known = self._written.get(path)
        if known is None:
            if self.reads.written is None:
                # Read once per run, not once per instant a recomputation looks at.
                self.reads.written = Written(self.store.location.state_dir)
            # Keyed by the after-state too: a merge of two copies of a session
            # may give a step number to another window. (A tool that names
            # another file did not write this one.)
            windows = {f"{w.key}:{w.after}": w for w in self.index.windows(path)
                       if w.after is not None and (w.declared is None or w.declared == path)}
            known = self._written[path] = self.reads.written.lines(
                path, windows, lambda w: self._states(w, path))
        return line_hash(text) in known

    def _states(self, w: Window, path: str) -> tuple[bytes, bytes] | None:
        """A window's after- and before-state of the path (None: too large to hold)."""
        try:
            return (self.content(w.after, path),
                    self.content(w.before, (w.files.get(path) or (0, 0, None))[2] or path))
        except _Large:
            return None

    def _locate(self, content: bytes, state: bytes, unlocated: set, located: dict) -> None:
        """Place still unplaced lines of `content` that `state` holds
        unchanged, re-indented (see `_reindented`), or as the one line a copy
        of it came from (see `_copies`)."""
        amap = L.align(state, content, L.STEP)
        for line in list(unlocated):
            pos = amap[line] if line < len(amap) else None
            if pos is not None:
                located[line] = pos
                unlocated.discard(line)
        if not unlocated:
            return
        if self._split[0] is not content:
            self._split = (content, L.split(content))
        lines = self._split[1]
        texts = {lines[i].strip() for i in unlocated if i < len(lines)} - {b""}
        if texts.isdisjoint(self._texts(state)):
            return  # (the cheap test first: no line of the state is one of them)
        moved = _reindented(state, content, amap)
        copies = None
        for line in list(unlocated):
            pos = moved.get(line)
            if pos is None and line < len(lines):
                if copies is None:
                    copies = _copies(L.split(state), amap)
                pos = copies.get(lines[line].strip())
            if pos is not None:
                located[line] = pos
                unlocated.discard(line)

    def _align(self, old: bytes, new: bytes) -> list:
        """`lines.align(old, new)` (STEP), kept for the states the walks go
        through again: each commit's walk over a path takes the steps of the
        previous commit's. The list is shared: not to be changed."""
        key = (old, new)
        got = self.reads.aligned.get(key)
        if got is None:
            if len(self.reads.aligned) >= ALIGNED_KEPT:
                self.reads.aligned.clear()
            got = self.reads.aligned[key] = L.align(old, new, L.STEP)
        return got

    def _texts(self, state: bytes) -> frozenset:
        """The lines of a state, each stripped of the white space around it
        (kept for the states the walks go through again)."""
        got = self._texts_of.get(state)
        if got is None:
            if len(self._texts_of) >= TEXTS_KEPT:
                self._texts_of.clear()
            got = self._texts_of[state] = frozenset(ln.strip() for ln in L.split(state))
        return got

    def _owner(self, candidates: list[Window], line: int, at_after: dict) -> tuple:
        if not candidates:
            return HUMAN
        if all(w.blind for w in candidates):
            # A tool whose snapshot failed was open: it may have written them.
            return unattributed("unknown", [w.key for w in candidates])
        if len(candidates) > 1:
            return unattributed("ambiguous", [w.key for w in candidates])
        w = candidates[0]
        if w.t1 is None or w.t1 > self.now:
            # Still running then (a recomputation looks at a past instant).
            return unattributed("running", [w.key])
        path, positions = at_after.get(w.key, (None, {}))
        pos = positions.get(line)
        if pos is not None and path in w.files:
            file_pos, hunks, _old = w.files[path]
            for h, (start, count) in enumerate(hunks, 1):
                if count and start <= pos + 1 < start + count:
                    if w.place is not None or (self._timeline and self._timeline[0] is not None):
                        self._elsewhere.add(line)
                    info = self.index.session_info(w.session)
                    return agent(w.session, w.step, f"{w.step}.{file_pos}.{h}",
                                 info["harness"], info["model"])
        # The step is certain, but which of its hunks holds the line is not.
        return unattributed("ambiguous", [w.key])


def _reindented(old: bytes, new: bytes, amap: list) -> dict[int, int]:
    """{line of `new`: line of `old`} for the lines the diff (`amap`, as
    `lines.align` gives it) adds that are a line it removes with only its
    indentation or trailing white space changed: the same line, re-indented
    (a block wrapped in an `if`, a formatter's run), as `git blame -w` and
    `git diff --color-moved-ws=allow-indentation-change` see it. Its writer
    is who wrote its text, not who re-indented it. Found by the same diff
    over both sides unindented; a line of `old` the diff keeps for another
    line is no one's source."""
    kept = {j for j in amap if j is not None}
    out = {}
    for i, j in enumerate(L.align(L.unindented(old), L.unindented(new), L.STEP)):
        if j is not None and j not in kept and i < len(amap) and amap[i] is None:
            out[i] = j
    return out


def _moved(old: bytes, new: bytes, amap: list, reindented: dict[int, int]) -> dict[int, int]:
    """{line of `new`: line of `old`} for the lines a tool's change moved:
    the diff (`amap`) adds the line, and its text (white space aside) is that
    of the one line the diff removes and of the one line it adds, with at
    least MIN_ALNUM letters and digits, the fewest `git diff --color-moved`
    calls a moved block by (a tool that rewrote a block keeping a line of
    it, a function it moved up the file). Its writer is who wrote its text.
    Lines `reindented` pairs (see `_reindented`) are set aside. A line moved
    outside every window is left to track's lineage (see `_copies`)."""
    used = {j for j in amap if j is not None} | set(reindented.values())
    old_lines, new_lines = L.split(old), L.split(new)
    removed = _once(old_lines, (j for j in range(len(old_lines)) if j not in used))
    added = _once(new_lines, (i for i in range(min(len(new_lines), len(amap)))
                              if amap[i] is None and i not in reindented))
    return {i: removed[text] for text, i in added.items() if text in removed and _long(text)}


def _copies(lines: list[bytes], amap: list) -> dict[bytes, int]:
    """{text: line} for the lines of a version (`lines`) that a line of the
    next version may be a copy of: those the diff (`amap`, as `lines.align`
    gives it) keeps, whose text (indentation aside) the version holds once,
    with at least MIN_ALNUM letters and digits, the fewest `git blame -M`
    pairs a copied block by. A line the human's edit adds (no window open)
    that is such a text was copied there by hand (a block copied and
    re-indented); its writer is who wrote the line it copies, as `git blame
    -M` sees it. A line moved by hand (its source gone) is left to track's
    lineage, which calls its hunk `moved`; a line a window's diff adds stays
    that window's, its tool wrote it, unless the same change removed the
    one line of its text (`_moved`)."""
    kept = {j for j in amap if j is not None}
    return {t: i for t, i in _once(lines, range(len(lines))).items() if i in kept and _long(t)}


def _once(lines: list[bytes], indices) -> dict[bytes, int]:
    """{text: index} for the texts (stripped) that exactly one of the lines
    at `indices` holds."""
    seen: dict[bytes, int] = {}
    for i in indices:
        text = lines[i].strip()
        seen[text] = -1 if text in seen else i
    return {t: i for t, i in seen.items() if i >= 0}


def _long(text: bytes) -> bool:
    """Whether a line's text holds MIN_ALNUM letters and digits, enough to be
    paired with another by its text alone."""
    return len(text) >= MIN_ALNUM and _alnum(text) >= MIN_ALNUM


class Uncommitted:
    """Who wrote the lines of working-tree files not committed yet: the
    working attribution now, its walk starting from the file's content.

    `git ot blame` asks it of the lines git blame has no commit for, and
    `git ot track` of the lines of hunks no commit holds (pending ones).
    """

    def __init__(self, store):
        self.index = WindowIndex(store).load()
        self.attribution = Attribution(store, self.index, time.time())

    def content(self, path: str) -> bytes | None:
        """The file as it is on disk now (see Attribution.worktree_content)."""
        return self.attribution.worktree_content(path)

    def attribute(self, path: str, data: bytes, wanted) -> dict[int, tuple]:
        """{0-based line: status} of the `wanted` lines of `data`, the path's content now."""
        return self.attribution.attribute(path, data, wanted, now=data)

    def save(self) -> None:
        """Keep the window index the walk brought up to date."""
        self.index.save()
