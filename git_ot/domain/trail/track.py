"""`git ot track`: did the agents' hunks land, and do they survive at a target?

A *hunk* is one hunk of a step's patch in a session's trail
(`patches[].files[].hunks`, named `<step>.<file>.<hunk>` as in the notes);
the lines it *wrote* are its added lines (`new_lines`). Hunks that add no
line (pure deletions, binary files, files over the size limit) write
nothing to follow and are not listed.

Every answer comes from the notes and from git's own line matching:

- *Landed*: a commit *C* that the target contains (`git rev-list TARGET`)
  and whose note names the hunk (a range line with its session and hunk id,
  at lines of *C*'s version of a path). A rewritten copy of *C* (amend,
  rebase) carries a note naming the same hunk, so the copy counts; the
  commits a rewrite left behind are not on the target's history and do not.
  The landed lines are counted once per distinct text: a line brought back
  later (the revert of a revert), or carried by two copies, counts once.
- *Alive*, *removed*: where each landed line is at the target (in place,
  or moved within its file or to another), or the commit that removed it,
  from `git blame` and `git log -p` (lineage.py). That commit *reverts* the
  landing commit when its message says "This reverts commit <sha>" of a
  commit whose note names the hunk, or when its patch is the landing
  commit's patch inverted (equal `git patch-id --stable`; copies.py).

Each hunk's state (alive_on_path, alive_transformed, moved,
partially_preserved, reverted, repaired, lost, unknown, pending, unlanded)
follows from that evidence by the rules of survival.py.

Notes are read through one accessor, `_note_lines`, for every commit the
answer depends on: the commits with a note, the commits the trails' anchors
name, and every commit `git blame` gives a line of a followed file to.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pygit2

from ...errors import UnknownRevision
from ...store import notes as notes_store
from ...store import notices, refs, times
from ...store.git import process as git_process
from ...store.refs import match_session
from ...store.repository import Store
from . import copies
from . import lines as L
from .attribution import Uncommitted
from .lineage import Lineage, Texts
from .recompute import Recomputer
from .survival import STATES, Evidence, alive_lines, classify, landed_lines
from ..sessions import readable

# The empty blob, in SHA-1 and SHA-256 repositories.
EMPTY_BLOBS = {"e69de29bb2d1d6434b8b29ae775ad8c2e48c5391",
               "473a0f4c3be8a93681a267e3b1e9a7dcda1185436fe141f7749120a303721813"}


# -- the one reader of notes ---------------------------------------------------

def _note_lines(store: Store, notes: notes_store.Notes, commit: str,
                recomputer=None) -> list[dict] | None:
    """The note of `commit` as objects; None when it has none and none can be
    recomputed.

    The only place this module reads a note. A commit made without git-ot's
    hooks has its note recomputed (recompute.py), as `git ot blame` does.
    """
    if notes.blob_id(commit) in EMPTY_BLOBS:
        return []  # anchored, no agent work: most notes, and nothing to read
    lines = notes.read_lines(commit)
    if isinstance(lines, notes_store.DamagedNote):
        notices.warn(f"the note of commit {commit[:12]} is damaged ({lines.problem}): "
                     f"read as if it had none; 'git ot anchor {commit[:12]}^!' rewrites it")
        lines = None
    if lines is None and recomputer is not None:
        lines = recomputer.note_lines(commit)
    return lines


# -- track ---------------------------------------------------------------------

class _Hunk:
    __slots__ = ("session", "hunk", "step", "path", "written", "landings", "elsewhere",
                 "missing", "state", "alive", "pending", "worktree", "removed", "restored_by",
                 "landed", "moved", "n_alive")

    def __init__(self, session: str, hunk: str, step: int, path: str, written: int):
        self.session, self.hunk, self.step, self.path, self.written = session, hunk, step, path, written
        self.landings: dict[tuple, list] = {}  # (commit, path) -> [first, last] ranges, on the target
        self.elsewhere: dict[tuple, list] = {}  # the same, on commits the target does not contain
        self.missing: set[str] = set()
        self.state = None
        self.alive: list = []
        self.pending = 0
        self.worktree: list = []
        self.removed: list = []
        self.restored_by = None
        self.landed = 0
        self.moved = False
        self.n_alive = 0


def _select(store: Store, specs, since: float | None) -> list[tuple[str, object, dict]]:
    ids = store.session_ids()
    chosen = [match_session(spec, ids) for spec in specs] if specs else ids
    out = []
    for sid in dict.fromkeys(chosen):
        got = readable(store, sid, _records)
        if got is None:
            continue  # no such session, or a damaged one (named in a warning)
        tree, manifest = got
        if since is not None:
            start = times.parse_iso(manifest.get("start"))
            if start is None or start < since:
                continue
        out.append((sid, tree, manifest))
    out.sort(key=lambda s: (s[2].get("start") or "", s[0]), reverse=True)
    return out


def _records(store: Store, sid: str):
    """A session's tree and manifest, its trail decoded (so a damaged one
    fails here, where it is skipped); None when it has no ref."""
    tree = store.session(sid)
    if tree is None:
        return None
    tree.record("trail")
    return tree, tree.record("manifest")


def _resolve(repo: pygit2.Repository, rev: str | None) -> str | None:
    if rev is None:
        if repo.head_is_unborn:
            return None
        rev = "HEAD"
    try:
        return str(repo.revparse_single(rev).peel(pygit2.Commit).id)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
        raise UnknownRevision(f"unknown revision '{rev}'",
                              hint="name a commit, as for 'git log' (default: HEAD)") from None


def track(store: Store, sessions=(), since: str | None = None, at: str | None = None,
          now: float | None = None, progress: Callable[[int, int], None] | None = None) -> dict:
    """The survival state of every hunk of the chosen sessions at `at` (default HEAD).

    `progress(done, total)` is told how many of the candidate commits and
    then of the hunks are done.
    """
    now = time.time() if now is None else now
    since_t = times.parse_since(since, now) if since is not None else None
    repo = store.repo
    target = _resolve(repo, at)
    chosen = _select(store, sessions, since_t)
    notes = notes_store.Notes(store)
    recomputer = Recomputer(store)

    hunks: dict[tuple, _Hunk] = {}
    per_session: dict[str, list[_Hunk]] = {}
    anchor_keys: dict[str, set] = {}  # commit -> the (session, hunk) its anchors name
    for sid, tree, _ in chosen:
        trail = tree.record("trail")
        rows = per_session.setdefault(sid, [])
        for patch in trail.get("patches", []):
            step = patch.get("step")
            for fi, f in enumerate(patch.get("files", []), 1):
                for hi, h in enumerate(f.get("hunks") or [], 1):
                    if len(h) == 4 and h[3] > 0:
                        hk = _Hunk(sid, f"{step}.{fi}.{hi}", step, f.get("path"), h[3])
                        hunks[(sid, hk.hunk)] = hk
                        rows.append(hk)
        for a in trail.get("anchors", []):
            if isinstance(a.get("commit"), str):
                anchor_keys.setdefault(a["commit"], set()).add((sid, f"{a.get('hunk')}"))

    # Every commit a note or an anchor names, read through the one accessor.
    try:
        with_lines, empty_notes = _annotated(repo)
    except (KeyError, ValueError, pygit2.GitError):
        with_lines, empty_notes = set(), set()
    cache: dict[str, dict | None] = {}

    def ranges_of(commit: str) -> dict | None:
        """{path: [(first, last, (session, hunk))]} of the hunks tracked, from the commit's note."""
        if commit not in cache:
            if commit in empty_notes:
                cache[commit] = {}  # an empty note: no agent line
                return cache[commit]
            try:
                lines = _note_lines(store, notes, commit, recomputer)
            except Exception:
                lines = None
            got: dict[str, list] = {}
            for line in lines or []:
                key = (line.get("session"), line.get("hunk"))
                span = line.get("lines")
                if key in hunks and isinstance(line.get("path"), str) and _span(span):
                    got.setdefault(line["path"], []).append((span[0], span[1], key))
            cache[commit] = got
        return cache[commit]

    candidates = with_lines | set(anchor_keys)
    shallow = bool(repo.is_shallow)
    reachable: set[str] = set()
    history_ok = True
    if target is not None:
        cwd = store.location.worktree or store.location.git_dir
        proc = git_process(["rev-list", target], cwd)
        history_ok = proc.returncode == 0
        reachable = set(proc.stdout.decode("ascii", "replace").split())
        # Commits made where git-ot's hooks did not run have no note: those
        # since the first write window git-ot knows of are recomputed.
        earliest = recomputer.anchorer.index.earliest()
        if earliest is not None and history_ok:
            proc = git_process(["rev-list", f"--since={int(earliest) - 1}", target], cwd)
            candidates |= {c for c in proc.stdout.decode("ascii", "replace").split()
                           if c not in with_lines and c not in empty_notes}

    lineage = Lineage(store, target, ranges_of) if target is not None else None
    total = len(candidates) + len(hunks)
    for done, commit in enumerate(sorted(candidates)):
        if progress is not None:
            progress(done, total)
        present = commit in reachable or _has_commit(repo, commit)
        spans = ranges_of(commit) if present else {}
        if not present:
            # Named by a note or an anchor, and not here (shallow clone, lost objects).
            for key in anchor_keys.get(commit, set()) | _keys(store, notes, commit):
                if key in hunks:
                    hunks[key].missing.add(commit)
            continue
        for path, ranges in spans.items():
            for first, last, key in ranges:
                hk = hunks[key]
                if commit in reachable:
                    hk.landings.setdefault((commit, path), []).append([first, last])
                    lineage.add(commit, path, first, last, key)
                else:
                    hk.elsewhere.setdefault((commit, path), []).append([first, last])

    if lineage is not None:
        extra = {hk.path for hk in hunks.values() if hk.path}
        lineage.run(extra_paths=extra)
        # Blame may have met landing commits no note listed (a recomputed note).
        for commit, by_path in lineage.landings.items():
            for path, ranges in by_path.items():
                for first, last, key in ranges:
                    got = hunks[key].landings.setdefault((commit, path), [])
                    if [first, last] not in got:
                        got.append([first, last])
        reverts = _reverts(store, lineage, ranges_of)
    else:
        reverts = {}

    _pending(store, [hk for hk in hunks.values() if not hk.landings and not hk.elsewhere])
    texts = Texts(repo)
    for done, hk in enumerate(hunks.values(), len(candidates)):
        if progress is not None:
            progress(done, total)
        _decide(hk, lineage, reverts, texts, repo, shallow or not history_ok, ranges_of)
    if progress is not None:
        progress(total, total)

    out_sessions = []
    for sid, tree, manifest in chosen:
        rows = sorted(per_session.get(sid, []), key=lambda h: tuple(int(x) for x in h.hunk.split(".")))
        out_sessions.append({
            "session": sid,
            "harness": (manifest.get("harness") or {}).get("name"),
            "models": manifest.get("models", []),
            "start": manifest.get("start"),
            "lines": _sum_lines(rows),
            "states": _count_states(rows),
            "hunks": [_hunk_json(h) for h in rows],
        })
    every = [h for rows in per_session.values() for h in rows]
    return {
        "target": {"rev": at or "HEAD", "commit": target},
        "since": times.iso(since_t) if since_t is not None else None,
        "sessions": out_sessions,
        "total": {"sessions": len(out_sessions), "hunks": len(every), "lines": _sum_lines(every),
                  "states": _count_states(every)},
    }


def _annotated(repo: pygit2.Repository) -> tuple[set[str], set[str]]:
    """The commits whose note has lines, and those whose note is empty, from
    one walk of the notes tree.

    Most notes are empty (anchored, no agent work): knowing them up front
    spares a look-up per commit of the history.
    """
    ref = repo.references.get(refs.NOTES_REF)
    out: set[str] = set()
    empty: set[str] = set()
    if ref is None:
        return out, empty

    def walk(tree, prefix: str) -> None:
        for e in tree:
            if e.filemode == pygit2.GIT_FILEMODE_TREE:
                walk(repo[e.id], prefix + e.name)
            else:
                (empty if str(e.id) in EMPTY_BLOBS else out).add(prefix + e.name)

    walk(ref.peel(pygit2.Commit).tree, "")
    return out, empty


def _keys(store: Store, notes, commit: str) -> set:
    """The (session, hunk) pairs a commit's note names."""
    try:
        lines = _note_lines(store, notes, commit)
    except Exception:
        lines = None
    return {(line.get("session"), line.get("hunk")) for line in lines or [] if "session" in line}


def _has_commit(repo: pygit2.Repository, commit: str) -> bool:
    try:
        obj = repo.get(commit)
    except (ValueError, pygit2.GitError):
        return False
    return obj is not None and obj.type_str == "commit"


def _span(span) -> bool:
    return (isinstance(span, list) and len(span) == 2 and all(isinstance(x, int) for x in span)
            and 1 <= span[0] <= span[1])


def _reverts(store: Store, lineage: Lineage, ranges_of) -> dict[tuple, bool]:
    """Which removing commits revert a commit that landed the hunk they removed from:
    {(remover, landing commit): True}."""
    pairs: set[tuple[str, str]] = set()
    for (commit, _, _), remover in lineage.removed.items():
        if remover is not None:
            pairs.add((remover, commit))
    if not pairs:
        return {}
    return copies.reverts(store.repo, pairs,
                          lambda named, landing: _same_hunks(ranges_of(named), ranges_of(landing)))


def _same_hunks(a: dict | None, b: dict | None) -> bool:
    keys_a = {k for spans in (a or {}).values() for _, _, k in spans}
    keys_b = {k for spans in (b or {}).values() for _, _, k in spans}
    return bool(keys_a & keys_b)


def _pending(store: Store, hunks: list[_Hunk]) -> None:
    """Lines of never-committed hunks that the working tree holds, not committed yet."""
    root = store.location.worktree
    if not hunks or root is None:
        return
    repo = store.repo
    head_tree = None if repo.head_is_unborn else repo.head.peel(pygit2.Commit).tree
    uncommitted = Uncommitted(store)
    by_path: dict[str, list[_Hunk]] = {}
    for hk in hunks:
        if hk.path:
            by_path.setdefault(hk.path, []).append(hk)
    for path, group in sorted(by_path.items()):
        data = uncommitted.content(path)
        if not data:
            continue
        committed = b""
        if head_tree is not None:
            try:
                committed = repo[head_tree[path].id].data
            except (KeyError, AttributeError):
                committed = b""
        wanted = L.added(committed, data, L.BLAME)
        if not wanted:
            continue
        got = uncommitted.attribute(path, data, wanted)
        mine = {(hk.session, hk.hunk): hk for hk in group}
        found: dict[tuple, list[int]] = {}
        for i, status in got.items():
            if status[0] == "agent" and (status[1], status[3]) in mine:
                found.setdefault((status[1], status[3]), []).append(i + 1)
        for key, ns in found.items():
            hk = mine[key]
            hk.pending = len(ns)
            hk.worktree = [{"path": path, "lines": [list(r) for r in L.ranges(ns)]}]
    uncommitted.save()


def _decide(hk: _Hunk, lineage: Lineage | None, reverts: dict, texts: Texts, repo,
            shaky_history: bool, ranges_of=None) -> None:
    """The hunk's evidence (its counts and the commits behind them), and its state."""
    if not hk.landings:
        hk.state = classify(Evidence(held_elsewhere=bool(hk.elsewhere or hk.missing),
                                     shaky_history=shaky_history, pending=hk.pending))
        return
    landed: list[list[bytes]] = []
    for (commit, path), spans in hk.landings.items():
        text = texts.lines(commit, path)
        landed.append([text[n - 1] if n - 1 < len(text) else b"\0%d" % n
                       for first, last in spans for n in range(first, last + 1)])
    hk.landed = landed_lines(landed, hk.written)
    alive: list[tuple] = []
    removed: dict[str, int] = {}
    removed_paths: dict[str, set] = {}
    origins: set[str] = set()
    transformed = False
    for (commit, path), spans in hk.landings.items():
        for first, last in spans:
            for n in range(first, last + 1):
                where = (commit, path, n)
                got = lineage.alive.get(where)
                if got is not None:
                    alive.append(got)
                    origins.add(commit)
                    transformed |= where in lineage.transformed
                elif where in lineage.removed:
                    remover = lineage.removed[where]
                    removed[remover] = removed.get(remover, 0) + 1
                    removed_paths.setdefault(remover, set()).add(path)
    hk.n_alive = alive_lines([(p, ln) for p, ln, _ in alive], hk.landed)
    hk.moved = any(m for _, _, m in alive)
    by_path: dict[tuple, list[int]] = {}
    for path, line, moved in alive:
        by_path.setdefault((path, moved), []).append(line)
    hk.alive = [{"path": p, "lines": [list(r) for r in L.ranges(set(ns))], "moved": m}
                for (p, m), ns in sorted(by_path.items())]
    landing_commits = {c for c, _ in hk.landings}
    hk.removed = []
    for remover, count in sorted(removed.items(), key=lambda kv: (kv[0] is None, kv[0] or "")):
        reverted = sorted(c for c in landing_commits if reverts.get((remover, c)))
        hk.removed.append({"commit": remover, "lines": count,
                           "reverts": reverted[0] if reverted else None,
                           "steps": _own_later_steps(hk, remover, removed_paths.get(remover, ()), ranges_of)})
    restored = _restorer(hk, origins, texts, repo)
    hk.state = classify(Evidence(landed=hk.landed, alive=hk.n_alive, moved=hk.moved,
                                 reverted=any(r["reverts"] for r in hk.removed),
                                 repaired=restored is not None, transformed=transformed))
    if hk.state == "repaired":
        hk.restored_by = restored


def _own_later_steps(hk: _Hunk, remover: str | None, paths, ranges_of) -> list[int]:
    """The later steps of the hunk's own session that the removing commit
    landed in the files it removed the hunk's lines from, by that commit's
    note: the session edited its own work (an empty list when it did not)."""
    if remover is None or ranges_of is None:
        return []
    steps = set()
    for path in paths:
        for _, _, (session, hunk) in (ranges_of(remover) or {}).get(path, []):
            step = int(str(hunk).split(".")[0]) if str(hunk).split(".")[0].isdigit() else None
            if session == hk.session and step is not None and step > hk.step:
                steps.add(step)
    return sorted(steps)


def _restorer(hk: _Hunk, origins: set[str], texts: Texts, repo) -> str | None:
    """A landing commit that alive lines come from and that re-introduced lines an
    ancestor landing commit had taken (so they were removed in between)."""
    commits = {c for c, _ in hk.landings}
    for r in sorted(origins):
        mine = _hunk_texts(hk, r, texts)
        for c in sorted(commits - {r}):
            if mine & _hunk_texts(hk, c, texts):
                try:
                    if repo.descendant_of(r, c):
                        return r
                except (KeyError, ValueError, pygit2.GitError):
                    continue
    return None


def _hunk_texts(hk: _Hunk, commit: str, texts: Texts) -> set[bytes]:
    out = set()
    for (c, path), spans in hk.landings.items():
        if c != commit:
            continue
        text = texts.lines(c, path)
        for first, last in spans:
            out.update(text[first - 1:last])
    return out


def _hunk_json(hk: _Hunk) -> dict:
    return {
        "hunk": hk.hunk,
        "step": hk.step,
        "path": hk.path,
        "state": hk.state,
        "lines": {"written": hk.written, "landed": hk.landed, "alive": hk.n_alive,
                  "pending": hk.pending},
        "commits": [{"commit": c, "path": p, "lines": sorted(s)} for (c, p), s in sorted(hk.landings.items())],
        "alive": hk.alive,
        "removed": hk.removed,
        "restored_by": hk.restored_by,
        "elsewhere": [{"commit": c, "path": p, "lines": sorted(s)} for (c, p), s in sorted(hk.elsewhere.items())],
        "missing": sorted(hk.missing),
        "worktree": hk.worktree,
    }


def _sum_lines(rows: list[_Hunk]) -> dict:
    return {"written": sum(h.written for h in rows), "landed": sum(h.landed for h in rows),
            "alive": sum(h.n_alive for h in rows), "pending": sum(h.pending for h in rows)}


def _count_states(rows: list[_Hunk]) -> dict:
    return {s: sum(1 for h in rows if h.state == s) for s in STATES}
