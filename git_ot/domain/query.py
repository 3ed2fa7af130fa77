"""`git ot trace query`: full-text search over every session's text.

The index (store/search.py) is brought up to date from the session refs at
the start of every query: a session whose ref moved (sealed, imported,
fetched, merged, anchored) is read again, a session whose ref is gone
(forgotten) is dropped with its text, and a session never seen is added.
So no hook has to maintain it, and a deleted, damaged or outdated index
file costs one rebuild, never an answer.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time

from typing import TYPE_CHECKING

from ..errors import BadQuery, LockBusy
from ..store import notices, search, state, times
from ..store.gitdir import Location, locate
from ..store.refs import SESSIONS_PREFIX
from ..store.spool import Spool

if TYPE_CHECKING:
    from ..store.repository import Store

# The survival states a session's hunks can be in (domain/trail/track.py).
STATES = ("alive_on_path", "alive_transformed", "moved", "partially_preserved", "reverted",
          "repaired", "lost", "unknown", "pending", "unlanded")
MATCHED_STEPS = 3  # matching steps shown per session
MAX_FIELD = 100_000  # characters of one field of one step that are indexed
_OPERATORS = {"AND", "OR", "NOT", "NEAR"}
_BAREWORD = re.compile(r"^\w+$")
_MARKS = str.maketrans({search.OPEN: " ", search.CLOSE: " "})


# -- the query text -----------------------------------------------------------

def _tokens(text: str) -> list[tuple[str, str]]:
    """(kind, text) pieces: 'phrase' ("..." with its trailing * if any),
    'open', 'close', 'minus' (a '-' right before a phrase), 'word'."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c == '"':
            j = i + 1
            while j < n:
                if text[j] == '"':
                    if j + 1 < n and text[j + 1] == '"':
                        j += 2
                        continue
                    break
                j += 1
            end = min(j + 1, n)
            if end < n and text[end] == "*":
                end += 1
            out.append(("phrase", text[i:end]))
            i = end
        elif c in "()":
            out.append(("open" if c == "(" else "close", c))
            i += 1
        elif c == "-" and i + 1 < n and text[i + 1] == '"':
            out.append(("minus", c))
            i += 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in '"()':
                j += 1
            out.append(("word", text[i:j]))
            i = j
    return out


def _term(word: str) -> str:
    """One word as FTS5 reads it: a bareword or a prefix as it is, a column
    filter kept, anything else (a path, a dotted name) quoted as a phrase,
    which FTS5 splits into its tokens in order."""
    column, sep, rest = word.partition(":")
    if sep and column in search.COLUMNS and rest:
        return f"{column}:{_term(rest)}"
    base, star = (word[:-1], "*") if word.endswith("*") and len(word) > 1 else (word, "")
    if _BAREWORD.match(base):
        return base + star
    return '"' + base.replace('"', '""') + '"' + star


def translate(text: str) -> str:
    """The FTS5 query for what a person typed.

    Words, "quoted phrases" and prefix* terms are FTS5's own; `-term` (or
    `-"a phrase"`) excludes, as FTS5's NOT. Without parentheses or
    operators, the exclusions apply to all the rest, wherever they stand.
    """
    pieces: list[tuple[bool, str]] = []  # (excluded, FTS5 text)
    negate = False
    plain = True
    for kind, value in _tokens(text):
        if kind == "minus":
            negate = True
            continue
        if kind in ("open", "close"):
            plain = False
            pieces.append((False, value))
        elif kind == "phrase":
            pieces.append((negate, value))
        elif value in _OPERATORS:
            plain = False
            pieces.append((False, value))
        elif value.startswith("-") and len(value) > 1:
            pieces.append((True, _term(value[1:])))
        else:
            pieces.append((negate, _term(value)))
        negate = False
    if not plain:
        return " ".join(f"NOT {v}" if excluded else v for excluded, v in pieces)
    wanted = [v for excluded, v in pieces if not excluded]
    unwanted = [v for excluded, v in pieces if excluded]
    if not wanted:
        raise BadQuery(f"invalid query '{text}': nothing to look for",
                       hint="give at least one word to find; '-word' only leaves out what also matches")
    head = wanted[0] if len(wanted) == 1 else "(" + " ".join(wanted) + ")"
    return " ".join([head] + [f"NOT {v}" for v in unwanted])


def parse(text: str) -> str:
    """The FTS5 query for `text`, or BadQuery with FTS5's own reason."""
    if not text.strip():
        raise BadQuery("empty query", hint="give the words to look for")
    fts = translate(text)
    problem = search.check_syntax(fts)
    if problem:
        raise BadQuery(f"invalid query '{text}': {problem.removeprefix('fts5: ')}",
                       hint='a query is words, "quoted phrases", prefix* terms and -words to leave '
                            "out, combined with AND, OR, NOT and parentheses (SQLite FTS5 syntax)")
    return fts


# -- what a session says ------------------------------------------------------

def _flat(value) -> str:
    """The text of a payload: its strings (not its keys), one per line."""
    out: list[str] = []

    def walk(v) -> None:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            for item in v.values():
                walk(item)
        elif isinstance(v, list):
            for item in v:
                walk(item)

    walk(value)
    return "\n".join(out)


def _field(text: str) -> str | None:
    return text[:MAX_FIELD].translate(_MARKS) if text else None


def document(store: "Store", session_id: str) -> dict:
    """What the index holds of one session: its facts and one row per step
    with text (prompts, messages, tools) and per commit that took its work."""
    from .fold import expand

    tree = store.session(session_id)
    manifest = tree.record("manifest")
    trace = tree.record("trace")
    trail = tree.record("trail")
    patch_paths: dict[int, list[str]] = {}
    for patch in trail["patches"]:
        paths = patch_paths.setdefault(patch.get("step"), [])
        for f in patch["files"]:
            paths += [p for p in (f.get("path"), f.get("old_path")) if isinstance(p, str)]
    rows: list[dict] = []
    for step in trace["steps"]:
        kind, n = step["kind"], step["n"]
        if kind == "prompt":
            row = {"prompt": _field(_flat(expand(store, session_id, step.get("text"))))}
        elif kind == "message":
            row = {"message": _field(_flat(expand(store, session_id, step.get("text"))))}
        elif kind == "tool":
            row = {"input": _field(_flat(expand(store, session_id, step.get("input")))),
                   "output": _field(_flat(expand(store, session_id, step.get("output")))),
                   "path": _field("\n".join(patch_paths.get(n, []))),
                   "name": step.get("name")}
        else:
            continue
        if any(row.get(c) for c in search.COLUMNS):
            rows.append({**row, "step": n, "kind": kind})
    commits = sorted({a["commit"] for a in trail["anchors"] if isinstance(a.get("commit"), str)})
    for commit in commits:
        try:
            message = store.repo[commit].message
        except (KeyError, ValueError):
            continue  # not here (a shallow clone): nothing to say of it
        rows.append({"commit_message": _field(message), "kind": "commit", "name": commit})
    start = manifest.get("start")
    return {"tip": tree.tip, "harness": manifest["harness"]["name"], "start": times.parse_iso(start),
            "start_text": start, "models": manifest.get("models") or [],
            "paths": manifest.get("files") or [], "rows": rows}


# -- keeping the index up to date --------------------------------------------

class Repository:
    """The repository a query reads: where it is, and its store (libgit2)
    only once something must be read from the objects. A query whose index
    is up to date reads the refs from git's files and never loads libgit2,
    which costs more than the query."""

    def __init__(self, location: Location, store=None):
        self.location = location
        self._store = store

    @classmethod
    def open(cls, path: str | None = None) -> "Repository":
        """The repository at `path`; with events still spooled, sealed first
        (domain/opening.py), as every reader of sessions does."""
        location = locate(path)
        if location.worktree is not None and Spool(location.state_dir).names():
            from .opening import open_store

            store = open_store(path, seal=True)
            return cls(store.location, store)
        return cls(location)

    @property
    def store(self) -> "Store":
        if self._store is None:
            from ..store.repository import Store

            self._store = Store(self.location)
        return self._store

    def session_tips(self) -> dict[str, str]:
        tips = search.session_tips_from_files(self.location.common_dir, SESSIONS_PREFIX)
        return tips if tips is not None else self.store.session_tips()


def fingerprint(tips: dict[str, str]) -> str:
    """One digest of every session id and tip: equal digests, nothing to read."""
    import hashlib

    digest = hashlib.sha1()
    for sid in sorted(tips):
        digest.update(f"{sid} {tips[sid]}\n".encode())
    return digest.hexdigest()


def _update(repo: Repository, index: search.SearchIndex, progress=None) -> dict:
    """Bring the index to the session refs' tips; what changed. `progress(done,
    total)` is told how many of the sessions to read are read."""
    if index.fingerprint() == fingerprint(repo.session_tips()):
        return {"added": 0, "dropped": 0}
    from .sessions import readable

    store = repo.store
    tips = store.session_tips()  # as libgit2 reads them, now that it is loaded
    with index.writing():
        known = index.known()  # as it is now that this process writes
        gone = [sid for sid in known if sid not in tips]
        todo = sorted(sid for sid, tip in tips.items() if known.get(sid, (0, None))[1] != tip)
        for sid in gone:
            index.drop(sid)
        for done, sid in enumerate(todo):
            if progress is not None:
                progress(done, len(todo))
            doc = readable(store, sid, document)
            if doc is None:
                index.drop(sid)  # damaged: named in a warning, left out until repaired
                continue
            index.put(sid, doc["tip"], doc["harness"], doc["start"], doc["start_text"], doc["models"],
                      doc["paths"], doc["rows"])
        # A damaged session is left out, and read again at the next query.
        indexed = index.known()
        held = {sid: tip for sid, tip in tips.items() if sid in indexed}
        index.set_fingerprint(fingerprint(held) if len(held) == len(tips) else "")
    if gone:
        index.compact()
    return {"added": len(todo), "dropped": len(gone)}


def open_index(repo: Repository, progress=None) -> search.SearchIndex:
    """The query index, up to date with the session refs; one that SQLite
    cannot read is deleted and built again, with a warning."""
    path = state.query_index(repo.location.state_dir)
    problem = _unwritable(path)
    if problem:  # a read-only clone: answer all the same, from an index in memory
        notices.warn(f"cannot write the query index '{path}' ({problem}); searching without it")
        index = search.SearchIndex.open(":memory:")
        _update(repo, index, progress)
        return index
    try:
        index = search.SearchIndex.open(path)
        _update(repo, index, progress)
        return index
    except (search.Damaged, sqlite3.DatabaseError) as exc:
        if _busy(exc):
            raise _busy_error(path) from exc
        _rebuilt(path, exc)
    index = search.SearchIndex.open(path)
    _update(repo, index, progress)
    return index


def _unwritable(path: str) -> str | None:
    """Why the index file cannot be written, or None."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    except OSError as exc:
        return exc.strerror or str(exc)
    if not os.access(os.path.dirname(path), os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        return "permission denied"
    return None


def _busy_error(path: str) -> LockBusy:
    return LockBusy(f"the query index '{path}' is being updated by another git-ot",
                    hint=f"run the query again once that one is done (it waited "
                         f"{search.BUSY_TIMEOUT_MS // 1000} s)")


def _busy(exc: Exception) -> bool:
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))


def _rebuilt(path: str, exc: Exception) -> None:
    notices.warn(f"the query index '{path}' was damaged ({exc}); rebuilt it from the session refs")
    search.remove(path)


def drop(state_dir: str, session_ids: list[str]) -> None:
    """Take sessions out of the index, if there is one (`git ot forget`):
    their text leaves the file at once. An index that cannot be changed is
    deleted (the next query builds it again)."""
    path = state.query_index(state_dir)
    if not os.path.exists(path):
        return
    try:
        index = search.SearchIndex.open(path)
        try:
            with index.writing():
                dropped = [sid for sid in session_ids if index.drop(sid)]
            if dropped:
                index.compact()
        finally:
            index.close()
    except (search.Damaged, sqlite3.Error):
        search.remove(path)


# -- the query ----------------------------------------------------------------

def _snippet(text: str) -> str:
    return " ".join(text.replace(search.OPEN, "[[").replace(search.CLOSE, "]]").split())


def _best_field(snippets: dict) -> str:
    """The heaviest column whose snippet holds a match."""
    for column in sorted(search.COLUMNS, key=lambda c: -search.WEIGHTS[c]):
        if search.OPEN in (snippets.get(column) or ""):
            return column
    return next((c for c in search.COLUMNS if snippets.get(c)), search.COLUMNS[0])


def query(text: str, since: str | None = None, harness: str | None = None,
          path: str | None = None, state_filter: str | None = None, limit: int | None = 20,
          now: float | None = None, path_of_repository: str | None = None, progress=None) -> dict:
    """The sessions whose text matches `text`, best first, each with its
    best matching steps and a snippet of each. `progress(done, total)` is
    told how far an update of the index has gone."""
    fts = parse(text)
    since_t = times.parse_since(since, time.time() if now is None else now) if since else None
    repo = Repository.open(path_of_repository)
    try:
        return _query(repo, text, fts, since_t, harness, path, state_filter, limit, progress)
    except sqlite3.DatabaseError as exc:
        where = state.query_index(repo.location.state_dir)
        if _busy(exc):
            raise _busy_error(where) from exc
        _rebuilt(where, exc)
        return _query(repo, text, fts, since_t, harness, path, state_filter, limit, progress)


def _query(repo: Repository, text, fts, since_t, harness, path, state_filter, limit, progress) -> dict:
    index = open_index(repo, progress)
    try:
        # Every matching row, best first, grouped by session in that order:
        # a session's place is its best row's.
        best: dict[int, list[tuple[int, float]]] = {}
        for rowid, score in index.matches(fts):
            best.setdefault(rowid >> search.ROW_BITS, []).append((rowid, score))
        chosen: list[tuple[int, tuple]] = []
        order = list(best)
        states: dict[str, dict] = {}
        at = 0
        while at < len(order) and (limit is None or state_filter or len(chosen) < limit):
            chunk = order[at:at + 200]
            at += len(chunk)
            facts = index.facts(chunk)
            keep = [n for n in chunk if n in facts
                    and (since_t is None or (facts[n][2] is not None and facts[n][2] >= since_t))
                    and (harness is None or facts[n][1] == harness)]
            if path is not None:
                touched = index.touched(keep, path)
                keep = [n for n in keep if n in touched]
            chosen += [(n, facts[n]) for n in keep]
        if state_filter:
            states = _states(repo.store, [f[0] for _, f in chosen])
            chosen = [(n, f) for n, f in chosen if states.get(f[0], {}).get(state_filter)]
        if limit is not None:
            chosen = chosen[:limit]
        shown = [rowid for n, _ in chosen for rowid, _ in best[n][:MATCHED_STEPS]]
        rows = index.rows(fts, shown)
        sessions = []
        for n, (sid, harness_name, _, start, models) in chosen:
            steps = []
            for rowid, score in best[n][:MATCHED_STEPS]:
                row = rows[rowid]
                field = _best_field(row["snippets"])
                steps.append({"step": row["step"], "kind": row["kind"], "name": row["name"],
                              "field": field, "score": round(score, 4),
                              "snippet": _snippet(row["snippets"][field] or "")})
            item = {"session": sid, "harness": harness_name, "models": models.split(",") if models else [],
                    "start": start, "score": round(best[n][0][1], 4), "matches": len(best[n]),
                    "steps": steps}
            if state_filter:
                item["states"] = states[sid]
            sessions.append(item)
        return {"query": text, "fts": fts, "indexed": index.count(), "sessions": sessions}
    finally:
        index.close()


def _states(store: "Store", session_ids: list[str]) -> dict[str, dict]:
    """Per session, how many of its hunks are in each survival state at HEAD."""
    if not session_ids:
        return {}
    from .trail.track import track

    out: dict[str, dict] = {}
    for s in track(store, session_ids)["sessions"]:
        counts: dict[str, int] = {}
        for h in s["hunks"]:
            counts[h["state"]] = counts.get(h["state"], 0) + 1
        out[s["session"]] = dict(sorted(counts.items()))
    return out
