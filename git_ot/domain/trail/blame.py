"""`git ot blame`: git's blame, with the agent step behind each line.

One `git blame --porcelain` names, for each line, the commit that
introduced it and the line's number and path in that commit (git follows
renames, and with -M/-C moved and copied lines, exactly as `git blame`
does). The note of that commit (refs/notes/opentraces) then says who wrote
the line:

- agent: a note line of the commit covers it: its session, step, hunk,
  harness and model, and the prompt that asked for it (the session's last
  prompt before that step);
- human: the commit has a note (git-ot anchored it when it was made, or
  carried its note through a rewrite) and no note line covers the line:
  it was written outside every agent tool window git-ot knew of;
- unknown: its note marks the line unattributed (more than one step could
  have written it, or its tool was still running at commit time), or the
  commit has no note and none can be recomputed ("not-anchored"), or its
  note is not valid JSON Lines ("damaged-note", with a warning naming the
  commit: what it leaves out is no evidence of the person's work).

A commit with no note (made where git-ot's hooks did not run) is anchored
on the fly as the hooks would have anchored it (recompute.py), so the
answers are the same, only slower; nothing is written (`git ot anchor`
writes such notes).

Lines not committed yet are attributed from the working tree's history the
way a commit would be (attribution.py).
"""

from __future__ import annotations

import os

import pygit2

from ...store import blame_prestart as prestart
from ...store import git
from ...errors import BlameFailed, BlameUsage, UnknownRevision
from ...store import notes as notes_store
from ...store import notices
from ...store.refs import NOTES_REF
from ...store.porcelain import BlameParser
from ...store.repository import Store
from .. import sessions as sessions_domain
from . import lines as L
from .anchor import Anchorer
from .attribution import Uncommitted
from .lineage import alive_counts
from .recompute import Recomputer
from .trivial import trivial

ZERO = "0" * 40
HUMAN = {"kind": "human"}
NOT_ANCHORED = {"kind": "unknown", "reason": "not-anchored"}
AMBIGUOUS = {"kind": "unknown", "reason": "ambiguous"}
DAMAGED_NOTE = {"kind": "unknown", "reason": "damaged-note"}


class _Damaged(dict):
    """note_ranges of a commit whose note is damaged: no range to trust."""


DAMAGED = _Damaged()


def warn_damaged(commit: str, note) -> None:
    """One warning naming a commit whose note is not valid JSON Lines."""
    notices.warn(f"the note of commit {commit[:12]} on {NOTES_REF} is damaged ({note.problem}): "
                 f"its lines read as unknown; 'git ot anchor {commit[:12]}^!' rewrites it")


def _claim(attribution: dict) -> tuple:
    return (attribution["kind"], attribution.get("session"), attribution.get("step"), attribution.get("reason"))
PROMPT_WIDTH = 50


def short(text, width: int = PROMPT_WIDTH) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= width else text[: width - 3].rstrip() + "..."


class Blame:
    """The attribution of lines through notes, with caches per commit and session."""

    def __init__(self, store: Store, anchorer: Anchorer | None = None):
        self.store = store
        self._anchorer = anchorer  # shared with the recomputation, when the caller has one
        self.notes = notes_store.Notes(store)
        self._notes: dict[str, dict | None] = {}
        self._damaged: dict[str, notes_store.DamagedNote] = {}
        self._sessions: dict[str, dict | None] = {}
        self._by_line: dict[int, dict] = {}  # one attribution object per note line
        self._recomputer = None
        self._rows: dict | None = None  # trace list's rows by session, read once

    @property
    def anchorer(self) -> Anchorer:
        """The anchorer this blame's recomputations share (made when first needed)."""
        if self._anchorer is None:
            self._anchorer = Anchorer(self.store)
        return self._anchorer

    def _recomputed(self, commit: str) -> list[dict] | None:
        if self._recomputer is None:
            self._recomputer = Recomputer(self.store, self.anchorer)
        return self._recomputer.note_lines(commit)

    def session_rows(self) -> dict:
        """`git ot trace list`'s rows, by session (read once)."""
        if self._rows is None:
            self._rows = {r["session"]: r for r in sessions_domain.list_sessions(self.store)}
        return self._rows

    def note_ranges(self, commit: str) -> dict | None:
        """{path: [(first, last, line)]} of a commit's note, or None when it has none."""
        if commit not in self._notes:
            lines = self.notes.read_lines(commit)
            if lines is None and commit != ZERO:
                lines = self._recomputed(commit)
            if lines is None:
                self._notes[commit] = None
            elif isinstance(lines, notes_store.DamagedNote):
                self._damaged[commit] = lines  # warned of when a line is blamed on it
                self._notes[commit] = DAMAGED
            else:
                by_path: dict[str, list] = {}
                for line in lines:
                    span = line.get("lines")
                    if isinstance(line.get("path"), str) and isinstance(span, list) and len(span) == 2:
                        by_path.setdefault(line["path"], []).append((span[0], span[1], line))
                self._notes[commit] = by_path
        return self._notes[commit]

    def _session(self, session_id: str) -> dict | None:
        if session_id not in self._sessions:
            info = None
            try:
                tree = self.store.session(session_id)
            except Exception:
                tree = None
            if tree is not None:
                try:
                    trace = tree.record("trace")
                    info = {"steps": trace.get("steps", []), "info": trace.get("info") or {},
                            "tree": tree}
                except Exception:
                    info = None
            self._sessions[session_id] = info
        return self._sessions[session_id]

    def prompt(self, session_id: str, step: int) -> tuple[int | None, str | None]:
        """The prompt that asked for a step: the session's last prompt before it."""
        info = self._session(session_id)
        if info is None or not isinstance(step, int):
            return None, None
        for s in reversed(info["steps"][: max(step - 1, 0)]):
            if s.get("kind") == "prompt":
                text = s.get("text")
                if isinstance(text, dict) and "$blob" in text:
                    try:
                        text = self.store.read_blob(text["$blob"], f"session {session_id}").decode(
                            "utf-8", "replace")
                    except Exception:
                        text = None
                return s.get("n"), text
        return None, None

    def agent(self, note_line: dict) -> dict:
        sid, step = note_line.get("session"), note_line.get("step")
        prompt_step, prompt = self.prompt(sid, step)
        return {"kind": "agent", "session": sid, "step": step, "hunk": note_line.get("hunk"),
                "harness": note_line.get("harness"), "model": note_line.get("model"),
                "prompt": short(prompt) if prompt is not None else None, "prompt_step": prompt_step}

    def prefetch(self, proc) -> None:
        """Read notes and the sessions they name until `proc` (git blame) is done.

        Only what git's run leaves idle is spent; whatever is not read by then
        is read on demand.
        """
        self.notes.preload()
        try:
            commits = self.notes.annotated()
        except Exception:
            return
        sessions: set[str] = set()
        for n, commit in enumerate(commits):
            if n % 8 == 0 and proc.poll() is not None:
                return
            ranges = self.note_ranges(commit)
            for spans in (ranges or {}).values():
                for _, _, line in spans:
                    if "session" in line:
                        sessions.add(line["session"])
        for sid in sorted(sessions):
            if proc.poll() is not None:
                return
            self._session(sid)

    def committed(self, commit: str, path: str | None, orig_line: int) -> dict:
        ranges = self.note_ranges(commit)
        if ranges is None:
            return NOT_ANCHORED
        if ranges is DAMAGED:
            warn_damaged(commit, self._damaged[commit])
            return DAMAGED_NOTE
        found = None
        for first, last, line in ranges.get(path, ()):
            if first <= orig_line <= last and ("session" in line or "unattributed" in line):
                got = self._from_line(line)
                if found is not None and got is not found and _claim(got) != _claim(found):
                    # Two clones saw it differently (notes merged with
                    # cat_sort_uniq keep both): ambiguous, not a pick.
                    return AMBIGUOUS
                found = got
        return HUMAN if found is None else found

    def _from_line(self, line: dict) -> dict:
        found = self._by_line.get(id(line))
        if found is None:
            if "session" in line:
                found = self.agent(line)
            else:
                found = {"kind": "unknown", "reason": str(line["unattributed"])}
                if line.get("candidates"):
                    found["candidates"] = list(line["candidates"])
            self._by_line[id(line)] = found
        return found

    def from_status(self, status: tuple) -> dict:
        if status[0] == "agent":
            _, sid, step, hunk, harness, model = status
            return self.agent({"session": sid, "step": step, "hunk": hunk,
                               "harness": harness, "model": model})
        if status[0] == "unattributed":
            out = {"kind": "unknown", "reason": status[1]}
            if status[2]:
                out["candidates"] = list(status[2])
            return out
        return {"kind": "human"}


ORDER_HINT = "git ot blame takes what git blame takes: [-L RANGE] [-M] [-C] [REV] [--] FILE"


def _start(argv: list[str]):
    proc = prestart.take(argv)
    if proc is None:
        try:
            proc = prestart.Spawned(argv)
        except OSError as exc:
            raise BlameFailed("git is not installed or not on PATH") from exc
    return proc


def _finish(proc, parser: BlameParser | None = None) -> bytes:
    """Wait for git; with `parser`, its output is parsed as it arrives
    (git prints the whole blame at its end, for a few milliseconds)."""
    if parser is not None:
        proc.read_out(parser.feed)
    out, err = proc.communicate()
    if proc.returncode != 0:
        lines = err.decode("utf-8", "replace").strip().splitlines()
        raise BlameFailed(f"git blame failed: {(lines[-1] if lines else 'exit status %d' % proc.returncode)}"
                          .replace("fatal: ", ""),
                          hint=ORDER_HINT)
    return out


def blame_file(store: Store, args: list[str], line_ranges=(),
               moves: int = 0, copies: int = 0, porcelain: bool = False,
               whitespace: bool = False) -> dict:
    """Every line of a file (or of its -L ranges), with who wrote it.

    `args` are the arguments given after the options, `--` kept where it
    stood, in any order git blame takes: `[REV] [--] FILE`, or the old
    `FILE REV` and `-- FILE REV`. Returns {"path", "rev", "commits": {sha:
    {author, author-time, author-tz, boundary, ...}}, "lines": [{line,
    commit, orig_line, path, content, trivial, attribution}]}; lines attributed
    alike share one attribution object.
    """
    ops = prestart.operands(list(args))
    if ops is None:
        raise BlameUsage("more arguments than one file and one revision", hint=ORDER_HINT)
    proc = _start(prestart.git_argv(ops, line_ranges, moves, copies, whitespace))
    target, rev = _file_and_rev(store, ops)
    blame = Blame(store)
    blame.prefetch(proc)  # while git works
    parser = BlameParser(keep_raw=porcelain)
    _finish(proc, parser)
    lines, commits = parser.close()
    pending = [ln for ln in lines if ln["commit"] == ZERO]
    pending_status = _pending(store, target, pending) if pending else {}
    for ln in lines:
        ln["trivial"] = trivial(ln["content"])
        if ln["commit"] == ZERO:
            ln["attribution"] = blame.from_status(pending_status.get(ln["line"], ("human",)))
        else:
            ln["attribution"] = blame.committed(ln["commit"], ln["path"], ln["orig_line"])
    return {"path": target, "rev": rev, "commits": commits, "lines": lines}


def _file_and_rev(store: Store, ops: list[str]) -> tuple[str, str | None]:
    """Which of git blame's operands is the file and which the revision.

    `A B` without `--` is decided as git blame decides it: the old order
    `FILE REV` when B names an object, else `REV FILE`.
    """
    if "--" in ops:
        at = ops.index("--")
        return ops[at + 1], (ops[at - 1] if at else None)
    first, last = ops
    try:
        store.repo.revparse_single(last)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
        return last, first
    return first, last


def _pending(store: Store, target: str, pending: list[dict]) -> dict[int, tuple]:
    """Who wrote the lines not committed yet, from the working tree's history."""
    location = store.location
    if location.worktree is None:
        return {}
    full = os.path.join(os.getcwd(), target)
    rel = os.path.relpath(os.path.realpath(full), os.path.realpath(location.worktree)).replace(os.sep, "/")
    try:
        with open(full, "rb") as fh:
            data = fh.read()
    except OSError:
        return {}
    uncommitted = Uncommitted(store)
    wanted = {ln["line"] - 1 for ln in pending}
    got = uncommitted.attribute(rel, data, wanted)
    uncommitted.save()
    return {i + 1: status for i, status in got.items()}


def blame_commit(store: Store, rev: str, blame: Blame | None = None) -> dict:
    """What a commit was for: its sessions, prompts, patches, and what of it survives at HEAD.

    `blame`: one shared across the commits of a range (its notes, sessions
    and the windows' reads are read once for all of them)."""
    repo = store.repo
    try:
        commit = repo.revparse_single(rev).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
        raise UnknownRevision(f"unknown revision '{rev}'",
                              hint="name a commit, as for 'git show'") from None
    sha = str(commit.id)
    blame = blame if blame is not None else Blame(store)
    changes = blame.anchorer.changes(sha)
    note = blame.notes.read_lines(sha)
    recomputed = False
    if isinstance(note, notes_store.DamagedNote):
        warn_damaged(sha, note)
        note = None  # no line of it is trusted: every line it introduced is unknown
    elif note is None:
        # Made where the hooks did not run: the note they would have written,
        # as `git ot blame FILE` reads it (None before the first known window).
        note = blame._recomputed(sha)
        recomputed = note is not None
    introduced = sum(len(c.introduced) for c in changes.values())
    carried = carried_lines(store, blame, commit, changes, note)
    agent_ranges: dict[str, list] = {}
    unattributed = 0
    sessions: dict[str, dict] = {}
    for line in (note or []) + _carried_note_lines(carried):
        span = line.get("lines")
        if not (isinstance(span, list) and len(span) == 2):
            continue
        n = span[1] - span[0] + 1
        if "session" in line:
            keyed = {**line, "hunk": _hunk_key(line)} if "moved_from" in line else line
            agent_ranges.setdefault(line.get("path"), []).append((span[0], span[1], keyed))
            s = sessions.setdefault(line["session"], {
                "session": line["session"], "harness": line.get("harness"), "model": line.get("model"),
                "steps": {}})
            st = s["steps"].setdefault(line.get("step"), {"step": line.get("step"), "hunks": [],
                                                          "lines": 0, "moved": 0, "alive": 0})
            hunk = {"hunk": line.get("hunk"), "path": line.get("path"), "lines": span}
            if "moved_from" in line:
                hunk["moved_from"] = line["moved_from"]
                st["moved"] += n
            st["hunks"].append(hunk)
            st["lines"] += n
        elif "unattributed" in line:
            moved_here = carried.get(line.get("path"), {})
            unattributed += sum(1 for k in range(span[0], span[1] + 1) if k not in moved_here)
    # Agent lines HEAD still holds, in place or moved: git ot track's own evidence (lineage.py).
    alive_by = alive_counts(store, sha, agent_ranges) if agent_ranges and not repo.head_is_unborn else {}
    out_sessions = []
    for sid, s in sessions.items():
        info = blame._session(sid)
        continued = None
        if info is not None and sessions_domain.may_continue(info["info"].get("started_by"),
                                                             info["info"].get("slug")):
            rows = blame.session_rows()  # read once a session may continue another
            continued = rows[sid]["continues"] if sid in rows else None
        patches = {}
        if info is not None:
            try:
                patches = {p["step"]: p for p in info["tree"].record("trail").get("patches", [])}
            except Exception:
                patches = {}
        steps = []
        for step_n, st in sorted(s["steps"].items(), key=lambda kv: (kv[0] is None, kv[0])):
            prompt_step, prompt = blame.prompt(sid, step_n)
            # A hunk the note holds in several ranges (a line of it another
            # writer's) is counted once: alive_by counts it whole.
            st["alive"] = sum(alive_by.get(key, 0) for key in {
                (h["path"], _hunk_key(h), sid) for h in st["hunks"]})
            st["prompt_step"], st["prompt"] = prompt_step, prompt
            tool = None
            if info is not None and isinstance(step_n, int) and 0 < step_n <= len(info["steps"]):
                tool = info["steps"][step_n - 1].get("name")
            st["tool"] = tool
            patch = patches.get(step_n)
            st["patch"] = ([{k: f[k] for k in ("status", "path", "added", "removed") if k in f}
                            for f in patch["files"]] if patch else None)
            steps.append(st)
        agent_lines = sum(st["lines"] for st in steps)
        out_sessions.append({"session": sid, "harness": s["harness"], "model": s["model"],
                             "known": info is not None, "continues": continued, "lines": agent_lines,
                             "moved": sum(st["moved"] for st in steps),
                             "alive": sum(st["alive"] for st in steps), "steps": steps})
    agent_total = sum(s["lines"] for s in out_sessions)
    moved_total = sum(s["moved"] for s in out_sessions)
    return {
        "commit": sha,
        "summary": commit.message.splitlines()[0] if commit.message else "",
        "author": commit.author.name,
        "anchored": note is not None,
        "recomputed": recomputed,
        "lines": {
            "introduced": introduced,
            "agent": agent_total,
            "moved": moved_total,
            "unknown": unattributed if note is not None else introduced - moved_total,
            "human": max(introduced - agent_total - unattributed, 0) if note is not None else 0,
            "alive_at_head": sum(s["alive"] for s in out_sessions),
        },
        "sessions": out_sessions,
        "files": commit_files(changes, note, carried),
    }


def _hunk_key(hunk: dict):
    """A hunk's key in alive_counts: a carried hunk's number is its origin commit's."""
    if "moved_from" in hunk:
        return ("moved", hunk["moved_from"], hunk["hunk"])
    return hunk["hunk"]


def _runs(by_line: dict[int, dict], key) -> list[list[int]]:
    """The line numbers of `by_line` as runs of consecutive lines of one key(value)."""
    out: list[list[int]] = []
    for n in sorted(by_line):
        last = out[-1] if out else None
        if last is not None and last[-1] == n - 1 and key(by_line[n]) == key(by_line[last[0]]):
            last.append(n)
        else:
            out.append([n])
    return out


def _origin(who: dict) -> tuple:
    return (who["session"], who.get("step"), who.get("hunk"), who["moved_from"])


def _carried_note_lines(carried: dict) -> list[dict]:
    """Carried lines as note lines (one per run of one origin hunk), for blame_commit's tallies."""
    out = []
    for path in sorted(carried):
        for run in _runs(carried[path], _origin):
            who = carried[path][run[0]]
            out.append({"path": path, "lines": [run[0], run[-1]], "session": who["session"],
                        "step": who.get("step"), "hunk": who.get("hunk"), "harness": who.get("harness"),
                        "model": who.get("model"), "moved_from": who["moved_from"]})
    return out


# The lines that are not trivial a moved block needs to carry its writer.
MOVED_BLOCK = 2


def carried_lines(store: Store, blame: Blame, commit, changes: dict, note) -> dict[str, dict[int, dict]]:
    """The lines a commit moved or re-indented from an agent's lines, and who wrote them:
    {path: {line (1-based): the agent attribution, with "moved_from": the commit it came from}}.

    Only lines the commit's note gives to no one (the person's) or calls
    unattributed for want of evidence (`unknown`), or every line when it has
    no note, are looked at, and only in files holding at least MOVED_BLOCK
    such lines that are not trivial and whose text, white space aside, the
    commit removed somewhere (a move, or a line re-indented in place). In
    those files, `git blame -w -M -C` of the commit says which of them come
    from an earlier commit (git's own rule: a moved block needs 20 letters
    and digits), and that commit's note who wrote them there. A moved
    block (consecutive lines, one origin commit, one session) is carried
    when it holds at least MOVED_BLOCK lines that are not trivial: one line
    found elsewhere (an import, a common call) tells no move from a
    coincidence.
    """
    parents = commit.parents
    if len(parents) != 1:
        return {}  # a merge's lines are new against both parents: nothing was moved
    claimed: dict[str, set[int]] = {}
    for line in note or []:
        span = line.get("lines")
        if isinstance(span, list) and len(span) == 2 and (
                "session" in line or line.get("unattributed", "unknown") != "unknown"):
            claimed.setdefault(line.get("path"), set()).update(range(span[0], span[1] + 1))
    removed: set[bytes] | None = None
    wanted: dict[str, tuple[list[int], list[bytes]]] = {}
    for path, change in changes.items():
        taken = claimed.get(path, set())
        free = [i + 1 for i in sorted(change.introduced) if i + 1 not in taken]
        if not free:
            continue
        if removed is None:
            removed = _removed_texts(store.repo, parents[0], commit)
            if not removed:
                return {}
        texts = L.split(change.data)
        candidates = sum(1 for n in free if texts[n - 1].strip() in removed and not trivial(texts[n - 1]))
        if candidates >= MOVED_BLOCK:
            wanted[path] = (free, texts)
    out: dict[str, dict[int, dict]] = {}
    sha = str(commit.id)
    argvs = []
    for path, (free, _) in wanted.items():
        argv = ["blame", "--porcelain", "-w", "-M", "-C"]
        for first, last in L.ranges(free):
            argv += ["-L", f"{first},{last}"]
        argvs.append(argv + [sha, "--", path])
    procs = git.processes(argvs, cwd=store.location.worktree or store.location.common_dir)
    for path, proc in zip(wanted, procs):
        if proc.returncode != 0:
            continue  # what git cannot blame, nothing is carried of
        parser = BlameParser()
        parser.feed(proc.stdout)
        found, _ = parser.close()
        got: dict[int, dict] = {}
        for ln in found:
            if ln["commit"] == sha or ln["commit"] == ZERO:
                continue
            who = blame.committed(ln["commit"], ln["path"], ln["orig_line"])
            if who.get("kind") == "agent":
                got[ln["line"]] = {**who, "moved_from": ln["commit"]}
        texts = wanted[path][1]
        kept: dict[int, dict] = {}
        for block in _runs(got, lambda who: (who["session"], who["moved_from"])):
            if sum(1 for n in block if not trivial(texts[n - 1])) >= MOVED_BLOCK:
                kept.update((n, got[n]) for n in block)
        if kept:
            out[path] = kept
    return out


def _removed_texts(repo, parent, commit) -> set[bytes]:
    """The lines (stripped) a commit's diff from its parent removes, in any file."""
    out: set[bytes] = set()
    diff = repo.diff(parent.tree, commit.tree, context_lines=0)
    for patch in diff:
        if patch.delta.is_binary:
            continue
        for hunk in patch.hunks:
            for line in hunk.lines:
                if line.origin == "-":
                    out.add(line.raw_content.strip())
    return out


def commit_files(changes: dict, note: list[dict] | None, carried: dict | None = None) -> list[dict]:
    """Each text file a commit changed, its introduced lines as runs of one attribution.

    A run is `{"lines": [first, last], "kind": ...}` (1-based, inclusive) with
    the session, step, harness and model of an agent run, or the reason of
    an unknown one: lines no note line covers are the human's; a line two
    note lines give to different claims (notes merged from two clones) is
    unknown, `ambiguous`; every line of a commit with no note is unknown,
    `not-anchored`. A line in `carried` (carried_lines) is its writer's,
    with `moved_from`, whatever the note says of it.
    """
    out = []
    for path in sorted(changes):
        change = changes[path]
        claims: dict[int, list[dict]] = {}
        for line in note or []:
            span = line.get("lines")
            if line.get("path") != change.path or not (isinstance(span, list) and len(span) == 2):
                continue
            if "session" in line:
                claim = _agent_claim(line)
            elif "unattributed" in line:
                claim = {"kind": "unknown", "reason": str(line["unattributed"])}
            else:
                continue
            for n in range(span[0], span[1] + 1):
                claims.setdefault(n, []).append(claim)
        moved = (carried or {}).get(path, {})
        whos: dict[int, dict] = {}
        for n in sorted(i + 1 for i in change.introduced):
            if n in moved:
                who = {**_agent_claim(moved[n]), "moved_from": moved[n]["moved_from"]}
            elif note is None:
                who = NOT_ANCHORED
            else:
                found = claims.get(n)
                if not found:
                    who = HUMAN
                elif any(_claim(c) != _claim(found[0]) for c in found[1:]):
                    who = AMBIGUOUS
                else:
                    who = found[0]
            whos[n] = who
        runs = [{"lines": [run[0], run[-1]], **whos[run[0]]} for run in _runs(whos, lambda who: who)]
        out.append({**change.note_path(), "runs": runs})
    return out


def _agent_claim(line: dict) -> dict:
    """An agent run's attribution, from a note line (or a carried line's)."""
    return {"kind": "agent", "session": line["session"], "step": line.get("step"),
            "harness": line.get("harness"), "model": line.get("model")}
