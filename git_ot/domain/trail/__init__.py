"""The trail: which agent step wrote each committed line (anchoring), how
that survives amend and rebase, and `git ot blame` and `git ot track`,
which read it back.

Its modules, each importing only modules listed before it:

- lines: line diffs between two versions of a file, as git computes them;
- survival: the rules that give a hunk its survival state (pure);
- written, windows: the local indexes of agent write windows and of what
  they wrote;
- attribution: which step wrote each line of a file, from the snapshots;
- copies: how a commit is recognised as a copy or a revert of another;
- session_anchors: appending anchors to a session's own trail;
- anchor: the anchoring engine (a commit's note);
- githooks: what the git hooks anchor after commit, merge and rewrite;
- recompute: the notes of commits that have none;
- lineage: where landed lines went at a target, from git blame and log;
- blame, track: the readers.
"""
