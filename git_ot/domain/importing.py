"""Importing a harness's transcript files into sessions.

The transcript adapter turns lines into the normalised events of live
capture; the events are entered in the spool as one batch and sealed by
`seal()`, the one writer of session refs. Going through the spool, rather
than calling the fold directly, costs one file write per session and buys
everything the spool already guarantees: the batch is sealed whole or not
at all, a crash leaves it for the next seal, it is serialised against hooks
of a session still running, and live events already waiting are folded
first, so an import merges into what was captured live.
"""

from __future__ import annotations

import os
from typing import Callable, Protocol

import pygit2

from ..errors import NoTranscripts, UnreadableFile
from ..store import snapshot
from ..store.refs import validate_session_id
from ..store.repository import Store
from ..store.packs import PackBuffer
from ..store.spool import Spool
from .fold import IMPORTED_ID_PREFIX
from .sealing import seal
from .trail.recompute import anchor_range


class TranscriptSource(Protocol):
    """What the importer needs of a harness: its transcript files, read as events.

    Implemented by each harness in capture/ (capture/harness.py); the
    command line finds it in capture/registry.py and hands it in.

    Two methods are optional, for a harness that needs them (Codex):
    `belongs(worktree, lines) -> bool`, whether a session ran in this
    repository or a checkout of it, when the harness keeps every project's
    sessions in one folder (the others are left out and listed as
    `other_projects`); and `apply_change(before, change) -> str | None`,
    a file's contents after an edit that names its change rather than the
    contents (see `_Files`).
    """

    name: str
    title: str  # for messages: "no <title> transcripts for this repository"
    transcript_suffix: str  # a folder is searched for files ending so
    no_transcripts_hint: str  # where to find the transcripts, when the default folder is missing
    empty_folder_hint: str  # the same, when a folder named holds none

    def default_folder(self, worktree: str) -> str:
        """Where the harness keeps the transcripts of sessions run in `worktree`."""

    def read_transcript(self, path: str, data: bytes) -> list:
        """The lines of one file, parsed (NotATranscript when it is not one)."""

    def by_session(self, files: list[list]) -> dict[str, list]:
        """The lines of many files, grouped by session id and put in order."""

    def convert(self, session_id: str, lines: list) -> tuple[list[dict], object]:
        """The normalised events of one session's lines, and an account of every
        line (`lines`, `steps`, `kept_raw`, `skipped`)."""

    def session_cwd(self, lines: list) -> str | None:
        """The directory the session ran in, as its lines record it."""

    def relpath_mapper(self, worktree: str, cwd: str | None) -> Callable[[str], str | None]:
        """Maps the session's absolute paths to paths in this repository (None: outside)."""


# progress(bytes done, bytes in all, number of files): called after each session
Progress = Callable[[int, int, int], None]
# Transcript bytes whose sessions are converted before they are sealed (one pack each).
PACK_BATCH = 64 * 1024 * 1024


def import_transcripts(store: Store, source: TranscriptSource, paths: list[str],
                       progress: Progress | None = None) -> dict:
    """Build or extend sessions from transcript files (default: the project's folder),
    and anchor the commits that took their work."""
    worktree = store.location.require_worktree("git ot import")
    files = transcript_files(source, paths, worktree)
    read = []
    total = 0
    for path in files:
        data = _read(path)
        total += len(data)
        read.append(source.read_transcript(path, data))
    sessions = source.by_session(read)
    # A harness whose files hold every project's sessions in one folder
    # (Codex) says which ran in this repository or a checkout of it.
    belongs = getattr(source, "belongs", None)
    foreign = []
    if belongs is not None:
        for sid in [s for s, lines in sessions.items() if not belongs(worktree, lines)]:
            foreign.append({"session": sid, "cwd": source.session_cwd(sessions.pop(sid))})
    for sid in sessions:
        validate_session_id(sid)  # a session id that cannot be a ref name stops the import before it writes
    done = 0
    out = []
    # Sessions go in batches of about PACK_BATCH bytes of transcript: each
    # batch's events first, their partial snapshots kept in one pack
    # (store/packs.py) that is written before any seal reads them; then the
    # batch's seals. A batch bounds the memory the events take and moves
    # the progress bar.
    pack = PackBuffer(store)
    prepared: list = []
    pending = 0
    items = list(sessions.items())
    for n, (sid, lines) in enumerate(items):
        prepared.append((sid, lines, *_events(store, source, sid, lines, worktree, pack)))
        pending += sum(ln.size for ln in lines)
        if pending < PACK_BATCH and n + 1 < len(items):
            continue
        pack.flush()
        for psid, plines, events, acct in prepared:
            out.append(_import_session(store, psid, events, acct))
            done += sum(ln.size for ln in plines)
            if progress is not None:
                progress(min(done, total), total, len(files))
        prepared, pending = [], 0
    # Anchor what was imported: the commits of HEAD made since its first
    # write window that have no note get the note the hooks would have
    # written, when it names an imported session.
    anchored = anchor_range(store, sessions={s["session"] for s in out}) if out else None
    result = {"sessions": out, "files": len(files), "bytes": total,
              "anchored": [row["commit"] for row in anchored["anchored"]] if anchored else []}
    if belongs is not None:
        result["other_projects"] = foreign
    return result


def transcript_files(source: TranscriptSource, paths: list[str], worktree: str) -> list[str]:
    """The transcript files named, with folders searched for the harness's files."""
    if not paths:
        folder = source.default_folder(worktree)
        if not os.path.isdir(folder):
            raise NoTranscripts(f"no {source.title} transcripts for this repository in '{folder}'",
                                hint=source.no_transcripts_hint)
        paths = [folder]
    suffix = source.transcript_suffix
    files = []
    for path in paths:
        if os.path.isdir(path):
            found = sorted(os.path.join(d, f) for d, _, names in os.walk(path)
                           for f in names if f.endswith(suffix))
            if not found:
                raise NoTranscripts(f"no transcript (*{suffix}) files in '{path}'",
                                    hint=source.empty_folder_hint)
            files.extend(found)
        else:
            files.append(path)
    return list(dict.fromkeys(os.path.abspath(f) for f in files))


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise UnreadableFile(f"cannot read '{path}': {exc.strerror or exc}",
                             hint="check the path and its permissions") from None


def _events(store: Store, source: TranscriptSource, sid: str, lines: list, worktree: str,
            pack: PackBuffer) -> tuple[list[dict], object]:
    """One session's events, with their patches and partial snapshots (kept in `pack`)."""
    events, acct = source.convert(sid, lines)
    mapper_of = _Mappers(source, worktree, source.session_cwd(lines))
    limit = snapshot.configured_max_file_size()
    trees: dict = {}  # (path, content) -> tree: a step's after is often the next one's before
    files = _Files(store, _base_commit(events), getattr(source, "apply_change", None))
    for ev in events:
        edits = ev.get("data", {}).pop("edits", None) if "data" in ev else None
        if edits is not None:
            # Each edit maps with its own line's directory: a session moves
            # between checkouts (another worktree, another clone).
            mapper = mapper_of(ev["data"].get("cwd"))
            edits = files.resolve(edits, mapper)
            ev["data"]["patch"] = patch_files(edits, mapper)
            states = partial_states(store, edits, mapper, limit, trees, pack)
            if states is not None:
                ev["partial"] = states
    return events, acct


def _import_session(store: Store, sid: str, events: list[dict], acct) -> dict:
    spool = Spool(store.location.state_dir)
    seal(store, sid)  # live events still waiting go first: the import merges into them
    before = store.tip(sid)
    live = _has_live_events(store, sid, before)
    spool.add_batch(sid, events)
    # One pack per session, however small: an import writes many sessions.
    tip = seal(store, sid, loose_below=0) or store.tip(sid)
    return {
        "session": sid,
        "lines": acct.lines,
        "steps": acct.steps,
        "kept_raw": acct.kept_raw,
        "skipped": dict(sorted(acct.skipped.items())),
        "merged_into_live": live,
        "changed": tip != before,
    }


def _base_commit(events: list[dict]) -> str | None:
    """The commit the session started from, as its first session_start says."""
    for ev in events:
        if ev.get("kind") == "session_start":
            head = (ev.get("data") or {}).get("head")
            return head.get("commit") if isinstance(head, dict) else None
    return None


class _Files:
    """A session's files as its edits left them, for edits that name their
    change rather than the contents (Codex's apply_patch).

    An edit `{"file", "change"}` (optionally `"from"`, the path a moved file
    had) is applied, by the harness's `apply_change(before, change)`, to the file as an
    earlier edit of this import left it, else as the session's base commit
    holds it; it becomes `{"file", "before", "after"}`, or is dropped when
    the change does not apply (a shell command changed the file between,
    or the base is not in this repository). Edits that hold their contents
    only update what is known.
    """

    def __init__(self, store: Store, base: str | None, apply_change):
        self.store, self.base, self.apply_change = store, base, apply_change
        self.known: dict[str, str | None] = {}

    def _before(self, path: str, mapper) -> str | None:
        if path in self.known:
            return self.known[path]
        rel = mapper(path)
        data = self.store.file_at(self.base, rel) if self.base and rel else None
        try:
            return data.decode("utf-8") if data is not None else None
        except UnicodeDecodeError:
            return None

    def resolve(self, edits: list[dict], mapper) -> list[dict]:
        out = []
        for edit in edits:
            if "change" not in edit:
                if "after" in edit:
                    self.known[edit["file"]] = edit["after"]
                out.append(edit)
                continue
            change = edit["change"]
            if self.apply_change is None:
                continue
            before = self._before(edit.get("from") or edit["file"], mapper)
            if change.get("op") == "add":
                before = self.known.get(edit["file"]) if edit["file"] in self.known else before
            after = self.apply_change(before, change)
            if after is None:
                self.known.pop(edit["file"], None)
                continue
            if edit.get("from"):
                self.known[edit["from"]] = None
            self.known[edit["file"]] = after
            out.append({"file": edit["file"], "before": before if not edit.get("from") else None,
                        "after": after})
        return out


class _Mappers:
    """The path mapper for a transcript line's directory, one per checkout.

    A directory under one seen before (the session's first, or another
    checkout it moved to) is the same checkout, a folder of it the shell
    went into: its paths map from that checkout's root, as seen first.
    """

    def __init__(self, source: TranscriptSource, worktree: str, first: str | None):
        self.source, self.worktree = source, worktree
        self.roots: dict[str | None, Callable] = {}
        if first:
            self(first)
        self.default = first

    def __call__(self, cwd: str | None) -> Callable[[str], str | None]:
        cwd = cwd if isinstance(cwd, str) and cwd else self.default
        for root, mapper in self.roots.items():
            if root is not None and cwd is not None and (cwd == root or cwd.startswith(root.rstrip("/") + "/")):
                return mapper
        mapper = self.roots.get(cwd)
        if mapper is None:
            mapper = self.roots[cwd] = self.source.relpath_mapper(self.worktree, cwd)
        return mapper


def _has_live_events(store: Store, sid: str, tip: str | None) -> bool:
    if tip is None:
        return False
    trace = store.session(sid, tip).record("trace")
    ids = [e for s in trace["steps"] for e in s["events"]] + [e["id"] for e in trace["lifecycle"]]
    return any(not e.startswith(IMPORTED_ID_PREFIX) for e in ids)


def partial_states(store: Store, edits: list[dict], mapper, limit: int, trees: dict,
                   pack: PackBuffer | None = None) -> dict | None:
    """The partial snapshots of an imported step: trees holding only its file,
    before and after the tool ran (refs/README.md, section 10).

    With `pack`, the trees are kept there, to be written with the others.
    Only for a step whose transcript holds the file's whole contents on both
    sides (Edit and MultiEdit with `originalFile`, Write): a structuredPatch
    alone does not say what the rest of the file held, so such a step has no
    states and anchoring cannot follow its lines.
    """
    if len(edits) != 1 or "after" not in edits[0]:
        return None
    edit = edits[0]
    path = mapper(edit["file"])
    if path is None or edit["before"] == edit["after"]:
        return None
    if any(part in ("", ".", "..", ".git") for part in path.split("/")):
        return None
    try:
        before = edit["before"].encode("utf-8") if edit["before"] is not None else None
        after = edit["after"].encode("utf-8")
    except UnicodeEncodeError:
        return None  # not text git could store as the file was
    out = {}
    for side, data in (("before", before), ("after", after)):
        key = (path, data)
        if key not in trees:
            trees[key] = (pack.file_tree(path, data, limit) if pack is not None
                          else store.write_file_tree(path, data, limit))
        out[side] = trees[key]
    return out


def patch_files(edits: list[dict], mapper) -> list[dict]:
    """A transcript's edits as the file entries of a trail patch (refs/README.md).

    The hunks are git's own, with no context lines, computed from the file's
    contents before and after, so they are those a diff of snapshots gives.
    A file outside this repository changes nothing in it and has no entry.
    """
    files = []
    for edit in edits:
        path = mapper(edit["file"])
        if path is None:
            continue
        if "hunks" in edit:  # the transcript had no contents, only its structuredPatch
            files.append({"status": edit["status"], "path": path, "hunks": edit["hunks"],
                          "added": edit["added"], "removed": edit["removed"]})
            continue
        before, after = edit["before"], edit["after"]
        if before == after:
            continue
        patch = pygit2.Patch.create_from(before, after, old_as_path=path, new_as_path=path,
                                         context_lines=0)
        entry = {"status": "A" if before is None else "M", "path": path}
        if patch.delta.is_binary:
            entry.update(binary=True, hunks=[], added=0, removed=0)
        else:
            _, adds, dels = patch.line_stats
            entry.update(hunks=[[h.old_start, h.old_lines, h.new_start, h.new_lines] for h in patch.hunks],
                         added=adds, removed=dels)
        files.append(entry)
    return files
