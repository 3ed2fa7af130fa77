"""Property: after any sequence of pushes and fetches, nothing pushed is lost.

Hypothesis plays short sequences of operations on three clones of one bare
repository (a plain path remote; the daemon tests are in test_share.py),
each with `git ot remote set origin` and approval turned off (approval has
its own tests), and every session annotating the same commit of main:

- record: a new session in a clone, through the hook path, with its note
  line on that commit (one such session, pushed and fetched by every
  clone, is there from the start);
- reseal: one more turn of a session the clone holds (its own, or one it
  fetched), so that copies of a session diverge between clones and must be
  merged;
- push, fetch: `git ot push`, `git ot fetch`.

What must hold (issue text and refs/README.md, section 14): after a push,
the remote holds every session of that clone, at a tip that contains the
clone's, and every note line it had; after a fetch, the clone holds every
session of the remote, at a tip that contains the remote's, and every note
line the remote had. The remote never loses a session or a note line it
held, and at the end, when every clone has pushed and then fetched last,
all hold the same sessions and notes and `git fsck --strict` is clean
everywhere.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from support.repo import git
from support.share import (add_note_line, fsck, main_commit, make_clone, note_line, notes, ok, ot_json,
                           record_session, sessions)

CLONES = 3


def contains(path: Path, ancestor: str, descendant: str) -> bool:
    return subprocess.run(["git", "merge-base", "--is-ancestor", ancestor, descendant],
                          cwd=path, capture_output=True).returncode == 0


class Sharing(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="git-ot-share-prop-"))
        self.server = self.tmp / "server.git"
        seed = self.tmp / "seed"
        git(self.tmp, "init", "-q", "--bare", str(self.server))
        git(self.tmp, "init", "-q", str(seed))
        (seed / "app.py").write_text("print('hello')\n")
        git(seed, "add", "app.py")
        git(seed, "commit", "-q", "-m", "base")
        git(seed, "push", "-q", str(self.server), "HEAD:refs/heads/main")
        self.clones = []
        for i in range(CLONES):
            clone = make_clone(str(self.server), self.tmp / f"c{i}")
            clone.git("config", "ot.requireApproval", "false")
            self.clones.append(clone)
        self.commit = main_commit(self.clones[0].path)
        self.count = 0
        self.seen_on_server: dict[str, str] = {}
        self.lines_on_server: set[str] = set()
        # One session every clone holds from the start, so that a reseal
        # anywhere makes copies that diverge.
        self.record(0)
        ok(self.clones[0].ot("push"))
        for clone in self.clones[1:]:
            ok(clone.ot("fetch"))

    def teardown(self):
        try:
            for c in self.clones:  # everyone pushes, then everyone fetches last
                self.push(self.clones.index(c))
            for c in self.clones:
                self.fetch(self.clones.index(c))
            want = (sessions(self.server), notes(self.server))
            for c in self.clones:
                assert (sessions(c.path), notes(c.path)) == want
                fsck(c.path)
            fsck(self.server)
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _lines(self, path: Path) -> set[str]:
        return set(notes(path).get(self.commit, []))

    @rule(i=st.integers(0, CLONES - 1))
    def record(self, i):
        clone = self.clones[i]
        self.count += 1
        sid = f"s{self.count}"
        record_session(clone, sid, f"prompt {self.count}")
        add_note_line(clone, self.commit, note_line(sid, first=self.count))

    @rule(i=st.integers(0, CLONES - 1), pick=st.integers(0, 3))
    def reseal(self, i, pick):
        clone = self.clones[i]
        held = sorted(sessions(clone.path))
        if held:
            record_session(clone, held[pick % len(held)], f"more {pick}")

    @rule(i=st.integers(0, CLONES - 1))
    def push(self, i):
        clone = self.clones[i]
        event(f"push merged diverged copies: {bool(ot_json(clone.path, 'push')['merged'])}")
        self._holds_all_of(self.server, clone.path, "pushed")

    @rule(i=st.integers(0, CLONES - 1))
    def fetch(self, i):
        clone = self.clones[i]
        event(f"fetch merged diverged copies: {bool(ot_json(clone.path, 'fetch')['merged'])}")
        self._holds_all_of(clone.path, self.server, "fetched")

    def _holds_all_of(self, holder: Path, other: Path, moved: str) -> None:
        """`holder` has every session of `other`, at a tip that contains
        other's, and every note line of other's."""
        held, given = sessions(holder), sessions(other)
        for sid, tip in given.items():
            assert sid in held, f"{sid} was not {moved}"
            assert contains(holder, tip, held[sid]), f"{holder.name}'s {sid} lacks {other.name}'s"
        assert self._lines(other) <= self._lines(holder)

    @invariant()
    def the_remote_never_loses_anything(self):
        theirs = sessions(self.server)
        for sid, tip in self.seen_on_server.items():
            assert sid in theirs and contains(self.server, tip, theirs[sid]), f"the remote lost {sid}"
        lines = self._lines(self.server)
        assert self.lines_on_server <= lines, "the remote lost note lines"
        self.seen_on_server, self.lines_on_server = theirs, lines


TestSharing = Sharing.TestCase
# A fifth of the Hypothesis profile's count (tests/support/profiles.py): 12
# sequences by default, 200 with GIT_OT_HYPOTHESIS_PROFILE=long.
TestSharing.settings = settings(max_examples=settings.default.max_examples // 5, stateful_step_count=10)
