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

import gc
import os
from typing import Callable, Protocol

from ..errors import NoTranscripts, UnreadableFile
from ..store.refs import validate_session_id
from ..store.repository import Store
from ..store.packs import PackBuffer, held
from ..store.spool import Spool
from . import parallel
from .edit_states import EditStates
from .fold import IMPORTED_ID_PREFIX
from .gate.transform import load_salt
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
# Transcript bytes below which sessions are sealed by one process: starting
# others would cost more than it saves.
PARALLEL_MIN = 8 * 1024 * 1024


def import_transcripts(store: Store, source: TranscriptSource, paths: list[str],
                       progress: Progress | None = None, jobs: int | None = None) -> dict:
    """Build or extend sessions from transcript files (default: the project's folder),
    and anchor the commits that took their work. Sessions are sealed, and
    commits anchored, by `jobs` processes at once (default: one per CPU,
    parallel.default_jobs)."""
    # An import holds every transcript's parsed lines while it runs: Python's
    # cycle collector, run every few hundred new objects, would walk them
    # all again and again (a fifth of the import's time). Nothing here makes
    # cycles worth collecting before the import ends.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _import(store, source, paths, progress, parallel.check_jobs(jobs))
    finally:
        if enabled:
            gc.enable()


def _import(store: Store, source: TranscriptSource, paths: list[str], progress: Progress | None,
            jobs: int) -> dict:
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
    items = list(sessions.items())
    # Starting processes costs more than sealing a small import.
    seal_jobs = 1 if len(items) < 2 or total < PARALLEL_MIN else jobs
    chunks = _chunks(items, seal_jobs)
    # Every seal writes a pack: what the repository holds is listed once,
    # not asked of libgit2 object by object through every pack.
    store.held_objects = held(store)
    done = 0
    out: list[dict] = []

    def advance(size: int) -> None:
        nonlocal done
        done += size
        if progress is not None:
            progress(min(done, total), total, len(files))

    if seal_jobs == 1:
        for chunk in chunks:
            results = _seal_chunk(store, source, [items[i] for i in chunk], worktree)
            out.extend(results)
            advance(sum(ln.size for i in chunk for ln in items[i][1]))
    else:
        out = _seal_in_parallel(store, source, items, chunks, worktree, seal_jobs, advance)
    # Anchor what was imported: the commits of HEAD made since its first
    # write window that have no note get the note the hooks would have
    # written, when it names an imported session.
    anchored = anchor_range(store, sessions={s["session"] for s in out}, jobs=jobs) if out else None
    result = {"sessions": out, "files": len(files), "bytes": total,
              "anchored": [row["commit"] for row in anchored["anchored"]] if anchored else []}
    if belongs is not None:
        result["other_projects"] = foreign
    return result


def _chunks(items: list, jobs: int) -> list[list[int]]:
    """The sessions (indices into `items`, in order) in runs of about
    PACK_BATCH bytes of transcript; with more than one job, of a quarter of
    each job's share at most, so that the processes finish together."""
    sizes = [sum(ln.size for ln in lines) for _, lines in items]
    limit = PACK_BATCH if jobs == 1 else max(1, min(PACK_BATCH, sum(sizes) // (4 * jobs)))
    chunks: list[list[int]] = []
    pending = limit
    for i, size in enumerate(sizes):
        if pending >= limit:
            chunks.append([])
            pending = 0
        chunks[-1].append(i)
        pending += size
    return chunks


def _seal_chunk(store: Store, source: TranscriptSource, items: list, worktree: str) -> list[dict]:
    """Sessions imported one after the other: each session's events first,
    their partial snapshots kept in one pack (store/packs.py) written before
    any seal reads them; then the seals. A chunk bounds the memory the events
    take and moves the progress bar."""
    pack = PackBuffer(store)
    prepared = [(sid, *_events(store, source, sid, lines, worktree, pack)) for sid, lines in items]
    pack.flush()
    return [_import_session(store, sid, events, acct) for sid, events, acct in prepared]


def _seal_in_parallel(store: Store, source: TranscriptSource, items: list, chunks: list, worktree: str,
                      jobs: int, advance) -> list[dict]:
    """`_seal_chunk` of every chunk, `jobs` processes at once (parallel.py);
    the results in the order of the chunks. Sessions are independent: each
    has its own refs, spool batch and seal lock; what sessions share
    (payload blobs, the gate's salt and cache) is content-addressed, made
    once (the salt, here, before the processes start) or kept whole by an
    atomic replace."""
    load_salt(store.location.state_dir)
    location = store.location

    def work(k: int) -> list[dict]:
        worker = Store(location)
        worker.held_objects = store.held_objects  # this process's own copy, forked
        return _seal_chunk(worker, source, [items[i] for i in chunks[k]], worktree)

    results: dict[int, list] = {}
    for k, got in parallel.run(work, len(chunks), jobs):
        results[k] = got
        advance(sum(ln.size for i in chunks[k] for ln in items[i][1]))
    return [r for k in range(len(chunks)) for r in results[k]]


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
    states = EditStates(store, source.relpath_mapper, worktree, source.session_cwd(lines),
                        _base_commit(events), getattr(source, "apply_change", None), pack)
    for ev in events:
        states.resolve(ev)
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


def _has_live_events(store: Store, sid: str, tip: str | None) -> bool:
    if tip is None:
        return False
    trace = store.session(sid, tip).record("trace")
    ids = [e for s in trace["steps"] for e in s["events"]] + [e["id"] for e in trace["lifecycle"]]
    return any(not e.startswith(IMPORTED_ID_PREFIX) for e in ids)
