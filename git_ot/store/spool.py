"""The spool: a crash-safe local journal of hook events not yet sealed.

Layout under `<common-dir>/opentraces/spool/`:

    <session>.jsonl            events being appended (one JSON object a line)
    <session>.<n>.sealing      a batch taken for sealing, not yet in the ref
    <session>.lock             held for the few microseconds of an append
                               or of taking a batch
    <session>.seal.lock        held while one process seals the session
    <session>.<sha256>.out     a spilled string of an event (below)
    <session>.out.tmp          a spilled string being written

A seal that leaves nothing of its session behind (no journal, no batch)
deletes both lock files, each while holding it. A locker therefore checks,
once it holds a lock, that the path still names the file it locked (the
same inode); if not, the file was deleted under it and it locks again.

An append takes `<session>.lock`, writes one line to a file opened O_APPEND
(all of it: a short write(2) is continued), and releases it. A journal that
does not end in a line feed (a write cut short by a full disk, a kill, a
truncation) gets one first, so the torn fragment stays a line of its own,
kept by the seal as a corrupt record, and the new event is whole. A sealer takes `<session>.seal.lock`, then
under `<session>.lock` renames the journal to the next `.sealing` name (new
appends start a new journal), and only deletes a batch after the session ref
holds every event in it. Events carry ids, so a batch sealed twice after a
crash is recognised and not duplicated.

A string longer than SPILL_LIMIT in a tool's output is not written into
its event's line: `append` writes its UTF-8 bytes to a file of its own,
named by their SHA-256, renames that file into place and then appends the
line, which names it in `spilled`, all under `<session>.lock`. A reader
gets a `Spilled` in the string's place, read a window at a time, so a seal
streams it into a blob without holding it whole. Spilled files are deleted
when the session has nothing left to seal (with the lock files).

A file whose name is none of these forms with a valid session id belongs
to no session: it is never sealed or renamed, and `set_aside` moves it
(and a batch of junk that makes no session) whole into
`<common-dir>/opentraces/spool-damaged/`, where it blocks nothing.
"""

from __future__ import annotations

import errno
import os

from . import fastjson, state
from .faults import crash_point
from .git import is_object_id
from .locks import take as take_lock
from .refs import is_session_id

def _split(name: str, suffix: str, part_ok) -> tuple[str, str] | None:
    """(session, part) of a spool name `<session>.<part><suffix>` whose part
    `part_ok` accepts, else None (read without `re`, a tenth of a hook's
    imports)."""
    if not name.endswith(suffix):
        return None
    sid, dot, part = name[:-len(suffix)].rpartition(".")
    if not dot or not sid or "\n" in sid or not part_ok(part):
        return None
    return sid, part


def _batch(name: str) -> tuple[str, str] | None:
    """(session, n) of a batch `<session>.<n>.sealing`."""
    return _split(name, ".sealing", str.isdecimal)


def _spilled(name: str) -> tuple[str, str] | None:
    """(session, sha256) of a spilled string's file `<session>.<sha256>.out`."""
    return _split(name, ".out", _is_sha256)


def _is_sha256(text: str) -> bool:
    return len(text) == 64 and is_object_id(text)


SPILL_TMP = ".out.tmp"

# A string of a tool's output longer than this (characters) is spilled: kept
# in a file beside the journal, not in the event's line.
SPILL_LIMIT = 1 << 18
# How much of a spilled string is encoded, written or read at a time (bytes).
SPILL_CHUNK = 1 << 20


def owner(name: str) -> str | None:
    """The session a spool file's name says it belongs to; None for a name
    that is none of the spool's (a stray file, or an id no ref can carry)."""
    for suffix in (".jsonl", ".seal.lock", ".lock", SPILL_TMP):
        if name.endswith(suffix):
            sid = name[: -len(suffix)]
            return sid if is_session_id(sid) else None
    parts = _batch(name) or _split(name, ".tmp", str.isdecimal) or _spilled(name)
    if parts and is_session_id(parts[0]):
        return parts[0]
    return None


def _batch_of(name: str) -> tuple[str, str] | None:
    """(session, n) of a batch file of a valid session id, else None."""
    parts = _batch(name)
    return parts if parts and is_session_id(parts[0]) else None


class _flock:
    """Hold an exclusive lock on `path`, created if missing (locks.take:
    a lock file deleted by its holder is locked again). `wait` bounds the
    wait (seconds; None: as long as it takes): past it, LockBusy.
    """

    def __init__(self, path: str, wait: float | None = None):
        self.path, self.wait, self.fd = path, wait, None

    def __enter__(self) -> None:
        self.fd = take_lock(self.path, self.wait)

    def __exit__(self, *exc) -> bool:
        os.close(self.fd)  # closing the descriptor releases the lock
        return False


class _Sealing:
    """Spool.sealing's hold of a session's seal lock."""

    def __init__(self, spool: "Spool", session_id: str, wait: float | None):
        self.spool, self.session_id = spool, session_id
        self.seal_lock = spool._path(session_id, ".seal.lock")
        self.lock = _flock(self.seal_lock, wait)

    def __enter__(self) -> "_Batch":
        os.makedirs(self.spool.dir, exist_ok=True)
        self.lock.__enter__()
        return _Batch(self.spool, self.session_id)

    def __exit__(self, kind, value, tb) -> bool:
        try:
            if kind is None:
                self.spool._drop_locks(self.session_id, self.seal_lock)
        finally:
            self.lock.__exit__(kind, value, tb)
        return False


class Spool:
    """The spool of one repository (shared by its linked worktrees)."""

    def __init__(self, state_dir: str):
        self.dir = state.spool(state_dir)

    def names(self) -> list[str]:
        """Every file name in the spool."""
        return self._names()

    def _names(self) -> list[str]:
        try:
            return os.listdir(self.dir)
        except FileNotFoundError:
            return []

    def _path(self, session_id: str, suffix: str) -> str:
        return os.path.join(self.dir, session_id + suffix)

    def append(self, session_id: str, event: dict, spill=()) -> None:
        """Append one event; durable against the process being killed.

        `spill`: where strings of the event too large for its line are
        (each a list of keys and list indexes from the event down): each is
        written to a spilled file first, under the same lock, and replaced
        in the event by null, the line naming the file in `spilled`."""
        if not spill:
            self.append_many(session_id, [event])
            return
        os.makedirs(self.dir, exist_ok=True)
        with _flock(self._path(session_id, ".lock")):
            event["spilled"] = [self._spill(session_id, event, list(at)) for at in spill]
            crash_point("after-spill")
            self._write_line(session_id, _encode(event))

    def append_many(self, session_id: str, events: list[dict]) -> None:
        """Append events that arrived together (a telemetry export) in one
        write under one lock: as durable as one `append`, one line each."""
        if not events:
            return
        self.append_encoded(session_id, b"".join(_encode(ev) for ev in events))

    def append_encoded(self, session_id: str, data: bytes) -> None:
        """`append_many` of events already encoded as journal lines (ASCII
        JSON objects, each ending in a line feed): a receiver that encoded
        its events once, to name them, writes those bytes as they are."""
        if not data:
            return
        os.makedirs(self.dir, exist_ok=True)
        with _flock(self._path(session_id, ".lock")):
            self._write_line(session_id, data)

    def _write_line(self, session_id: str, data: bytes) -> None:
        """Append `data` (whole lines) to the journal; under its lock."""
        fd = os.open(self._path(session_id, ".jsonl"),
                     os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            # A write cut short before (a full disk, a kill, a truncated
            # file) left a line without its line feed: end it, so these
            # events are lines of their own and not glued to the fragment.
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data
            _write_all(fd, data)
        finally:
            os.close(fd)

    def _spill(self, session_id: str, event: dict, at: list) -> dict:
        """Write the string at `at` in `event` to its spilled file, replace
        it by null; the `spilled` entry naming the file. Under the append
        lock: a seal deletes spilled files under it, so it never deletes
        one whose line is still to come."""
        import hashlib  # only for a large output: off the common path

        parent = event
        for key in at[:-1]:
            parent = parent[key]
        value = parent[at[-1]]
        digest = hashlib.sha256()
        tmp = self._path(session_id, SPILL_TMP)
        size = 0
        try:
            with open(tmp, "wb") as fh:
                for i in range(0, len(value), SPILL_CHUNK):
                    # surrogatepass: any string, lone surrogates included,
                    # is read back as it was.
                    part = value[i:i + SPILL_CHUNK].encode("utf-8", "surrogatepass")
                    digest.update(part)
                    fh.write(part)
                    size += len(part)
            sha = digest.hexdigest()
            # Whole before it has its name: a kill leaves a .tmp, never a
            # spilled file the line names and that holds part of the string.
            os.replace(tmp, self._path(session_id, f".{sha}.out"))
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        parent[at[-1]] = None
        return {"at": at, "sha256": sha, "size": size}

    def add_batch(self, session_id: str, events: list[dict]) -> None:
        """Enter many events at once as a batch awaiting its seal, all or none.

        For events that arrive together (an import): they are written to
        `<session>.<n>.tmp`, synced, and renamed to the next batch name under
        the seal lock, so a crash leaves the whole batch or nothing of it,
        and the next seal (or the next hook run) folds it.
        """
        data = b"".join(_encode(ev) for ev in events)
        os.makedirs(self.dir, exist_ok=True)
        with _flock(self._path(session_id, ".seal.lock")):
            taken = [int(b[1]) for b in map(_batch, self._names()) if b and b[0] == session_id]
            n = max(taken, default=0) + 1
            tmp = self._path(session_id, f".{n}.tmp")
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.rename(tmp, self._path(session_id, f".{n}.sealing"))

    def sealing(self, session_id: str, wait: float | None = None) -> _Sealing:
        """Hold the seal lock of a session (`with`), giving a Batch to read
        and retire; the session's lock files go when nothing is left.

        `wait` bounds the wait for a seal another process runs (LockBusy)."""
        return _Sealing(self, session_id, wait)

    def being_sealed(self, session_id: str) -> bool:
        """Whether a process holds the session's seal lock now (one flock
        that does not wait, released at once)."""
        import fcntl

        try:
            fd = os.open(self._path(session_id, ".seal.lock"), os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return False
        finally:
            os.close(fd)  # releases the lock it took, if it took one
        return False

    def _drop_locks(self, session_id: str, seal_lock: str) -> None:
        """Delete the session's lock files if it has nothing left to seal.

        Called under the seal lock; the append lock is taken too, so each
        file is deleted only by the process holding it, and an appender
        that was waiting on it locks the new file (`_flock`).
        """
        lock = self._path(session_id, ".lock")
        with _flock(lock):
            names = self._names()
            if session_id + ".jsonl" in names or any(b and b[0] == session_id for b in map(_batch, names)):
                return  # appended meanwhile, or a batch the gate kept: locked again soon
            for name in names:  # no line names them any more
                spilled = _spilled(name)
                if name == session_id + SPILL_TMP or (spilled and spilled[0] == session_id):
                    try:
                        os.unlink(os.path.join(self.dir, name))
                    except FileNotFoundError:
                        pass
            os.unlink(lock)
        os.unlink(seal_lock)

    def pending_sessions(self) -> list[str]:
        """Sessions with events not yet sealed (live, or left by a crash)."""
        found = set()
        for name in self._names():
            sid = owner(name)
            if sid is not None and (name.endswith(".jsonl") or _batch_of(name)):
                found.add(sid)
        return sorted(found)

    def stale_sessions(self, max_age: float, now: float) -> list[str]:
        """Sessions whose live journal has not grown for `max_age` seconds.

        Their harness most likely died before its session-end hook; sealing
        them keeps what they captured from waiting on a hook that never comes.
        """
        names = self._names()
        out = []
        for name in names:
            if name.endswith(".jsonl") and owner(name) is not None:
                try:
                    if now - os.stat(os.path.join(self.dir, name)).st_mtime > max_age:
                        out.append(name[: -len(".jsonl")])
                except FileNotFoundError:
                    continue
        return sorted(out)

    def has_leftover_batches(self) -> list[str]:
        """Sessions whose sealing was interrupted (a crash between take and retire)."""
        names = self._names()
        return sorted({b[0] for b in map(_batch_of, names) if b})

    def peek(self, session_id: str) -> list[dict]:
        """The session's unsealed events in order, read without taking them.

        For readers that must not change the spool (`git ot scan`); a line
        that is no event is returned as `parse_line` gives it (corrupt).
        """
        names = self._names()
        batches = sorted((int(b[1]), name) for name in names
                         if (b := _batch(name)) and b[0] == session_id)
        files = [name for _, name in batches]
        if session_id + ".jsonl" in names:
            files.append(session_id + ".jsonl")
        events = []
        for name in files:
            try:
                with open(os.path.join(self.dir, name), "rb") as fh:
                    for raw in fh:
                        if raw.strip():
                            events.append(parse_line(raw, self.dir))
            except FileNotFoundError:
                continue  # sealed meanwhile
        return events

    def strays(self) -> list[str]:
        """Files in the spool that belong to no session (a name no session id
        can have): never sealed, never renamed, set aside by `set_aside`."""
        return sorted(name for name in self._names() if owner(name) is None)

    def set_aside(self, names: list[str]) -> list[tuple[str, str]]:
        """Move spool files git-ot cannot use out of the spool, into
        `spool-damaged/` beside it, keeping them whole: nothing is deleted,
        and nothing there blocks a seal or a read. Returns (name, where it
        is now) for each file moved; a name already there gets a number."""
        return [(name, _set_aside(self.dir, name, self.damaged_dir)) for name in names
                if os.path.lexists(os.path.join(self.dir, name))]

    @property
    def damaged_dir(self) -> str:
        return state.spool_damaged(os.path.dirname(self.dir))

    def forget(self, session_id: str) -> None:
        """Delete every spool file of a session."""
        for name in self._files(session_id):
            try:
                os.unlink(os.path.join(self.dir, name))
            except FileNotFoundError:
                pass

    def _files(self, session_id: str) -> list[str]:
        names = self._names()
        out = []
        for name in names:
            parts = _batch(name) or _spilled(name)
            if (parts and parts[0] == session_id) or name in (
                session_id + ".jsonl", session_id + ".lock", session_id + ".seal.lock",
                session_id + SPILL_TMP
            ):
                out.append(name)
        return out


def parse_line(raw: bytes, spool_dir: str | None = None) -> dict:
    """One journal line as its event; a line that is not an event's (a write
    cut short: a torn line, or junk) as `{"id": "corrupt-<sha1>", "corrupt":
    <text>}`, kept whole; the id, from the line's bytes, stops a second seal
    of the same batch from keeping it twice. With `spool_dir`, each string
    the line's `spilled` names is a `Spilled` of its file there."""
    try:
        # The journal is ASCII JSON (_encode): parsed from the bytes, with
        # no decoded copy of a large line.
        event = fastjson.loads(raw.decode("ascii") if raw.isascii() else raw.decode("utf-8", "surrogateescape"))
    except (ValueError, RecursionError):
        event = None
    if isinstance(event, dict) and isinstance(event.get("id"), str) and event["id"]:
        if spool_dir is not None and "spilled" in event:
            _attach_spilled(event, spool_dir)
        return event
    import hashlib  # only for damaged lines: off the hook path

    return {"id": "corrupt-" + hashlib.sha1(raw).hexdigest()[:16],
            "corrupt": raw.decode("utf-8", "replace")}


class SpillLost(OSError):
    """A spilled file is missing, or is not what its line says."""


class Spilled:
    """A string of an event kept in a spilled file (see the module's doc)."""

    __slots__ = ("path", "size", "sha256")

    def __init__(self, path: str, size: int, sha256: str):
        self.path, self.size, self.sha256 = path, size, sha256

    def __repr__(self) -> str:
        return f"Spilled({self.path!r}, {self.size})"

    def chunks(self):
        """The string's UTF-8 bytes (lone surrogates as `surrogatepass`
        writes them), a chunk at a time; SpillLost when the file is missing
        or its size or SHA-256 is not the line's, raised before the last
        chunk, so a reader that stops at an error has never had all of it."""
        import hashlib

        digest = hashlib.sha256()
        try:
            fh = open(self.path, "rb")
        except FileNotFoundError:
            raise SpillLost(f"spilled file '{self.path}' is missing") from None
        with fh:
            if os.fstat(fh.fileno()).st_size != self.size:
                raise SpillLost(f"spilled file '{self.path}' is not {self.size} bytes long")
            part = fh.read(SPILL_CHUNK)
            while part:
                digest.update(part)
                following = fh.read(SPILL_CHUNK)
                if not following and digest.hexdigest() != self.sha256:
                    raise SpillLost(f"spilled file '{self.path}' does not hold what its line says")
                yield part
                part = following

    def windows(self):
        """The string itself, a piece at a time (SpillLost as `chunks`)."""
        import codecs

        decoder = codecs.getincrementaldecoder("utf-8")("surrogatepass")
        for part in self.chunks():
            text = decoder.decode(part)
            if text:
                yield text
        text = decoder.decode(b"", final=True)
        if text:
            yield text

    def text(self) -> str:
        """The whole string (SpillLost as `chunks`)."""
        return "".join(self.windows())


def _attach_spilled(event: dict, spool_dir: str) -> None:
    """Put a Spilled in the place of each string the event's `spilled` names."""
    entries = event.get("spilled")
    if not isinstance(entries, list):
        return
    session = event.get("session")
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(session, str):
            continue
        at, sha, size = entry.get("at"), entry.get("sha256"), entry.get("size")
        if (not isinstance(at, list) or not at or not isinstance(sha, str) or not _is_sha256(sha)
                or not isinstance(size, int) or not is_session_id(session)):
            continue
        parent = event
        try:
            for key in at[:-1]:
                parent = parent[key]
            if parent[at[-1]] is None:
                parent[at[-1]] = Spilled(os.path.join(spool_dir, f"{session}.{sha}.out"), size, sha)
        except (KeyError, IndexError, TypeError):
            continue


def is_event(event: dict) -> bool:
    """Whether a parsed line is an event (not a kept corrupt line)."""
    return "corrupt" not in event


def _set_aside(spool_dir: str, name: str, damaged_dir: str) -> str:
    os.makedirs(damaged_dir, exist_ok=True)
    target = os.path.join(damaged_dir, name)
    n = 0
    while os.path.lexists(target):
        n += 1
        target = os.path.join(damaged_dir, f"{name}.{n}")
    os.rename(os.path.join(spool_dir, name), target)
    return target


def _write_all(fd: int, data: bytes) -> None:
    """Write all of `data`: write(2) may write less than asked (a full disk,
    a signal); what it did not write is written again, and a write that
    writes nothing is an error, never a line silently cut short."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        if n <= 0:
            raise OSError(errno.ENOSPC, "no space left for the spool line")
        view = view[n:]


def _encode(event: dict) -> bytes:
    # ASCII JSON: any string a harness sends, lone surrogates included,
    # round-trips through the journal unchanged.
    return (fastjson.dumps(event, ascii=True, default=str) + "\n").encode("ascii")


class _Events:
    """The events of a batch's files, read again at each iteration."""

    def __init__(self, files: list[str]):
        self.files = files

    def __bool__(self) -> bool:
        return any(os.path.getsize(path) > 0 for path in self.files)

    def __iter__(self):
        for event, _ in self.with_text_known():
            yield event

    def with_text_known(self):
        """(event, whether every string in it is known to be valid text):
        known when its line is ASCII and escapes no surrogate (`\\ud...`),
        which is the only way a parsed line holds one."""
        for path in self.files:
            with open(path, "rb") as fh:
                for raw in fh:
                    if not raw.strip():
                        continue
                    plain = raw.isascii() and b"\\ud" not in raw and b"\\uD" not in raw
                    event = parse_line(raw, os.path.dirname(path))
                    del raw  # a large output is held once, as the event, not thrice
                    yield event, plain


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class _Batch:
    """The events of one session awaiting a seal, under its seal lock."""

    def __init__(self, spool: Spool, session_id: str):
        self.spool = spool
        self.session_id = session_id
        self.files: list[str] = []
        self._plain: set[int] = set()  # id() of held events whose strings are all valid text
        self._held: list[list] = []

    def take(self, lazy: bool = False, keep_below: int = 0):
        """Move the live journal aside and return every unsealed event, in order.

        Lines that do not parse (a write cut short by a crash of the machine)
        are returned as `{"corrupt": <text>}` so the sealer can keep them.
        With `lazy`, an iterable that reads the events from the batch files
        each time it is iterated, one at a time: a seal of large tool
        outputs holds one of them in memory, not all. Batch files smaller
        than `keep_below` bytes in all are parsed once and held even so: a
        seal iterates its events more than once, and parsing them again
        costs more than holding so few.
        """
        self._collect()
        events = _Events(self.files)
        if not lazy or (keep_below and sum(_size(p) for p in self.files) < keep_below):
            held = []
            for event, plain in events.with_text_known():
                held.append(event)
                if plain:
                    self._plain.add(id(event))
            self._held.append(held)  # alive while the batch is: no id() in _plain is another's
            return held
        return events

    def plain_text(self, event: dict) -> bool:
        """Whether every string of an event `take` returned in a list is
        known to be valid text (False: not known; see `_Events.with_text_known`)."""
        return id(event) in self._plain

    def _collect(self) -> None:
        sp = self.spool
        leftovers = []
        for name in sp._names():
            b = _batch(name)
            if b and b[0] == self.session_id:
                leftovers.append((int(b[1]), name))
        leftovers.sort()
        next_n = (leftovers[-1][0] + 1) if leftovers else 1
        live = sp._path(self.session_id, ".jsonl")
        with _flock(sp._path(self.session_id, ".lock")):
            if os.path.exists(live):
                target = sp._path(self.session_id, f".{next_n}.sealing")
                os.rename(live, target)
                leftovers.append((next_n, os.path.basename(target)))
        self.files = [os.path.join(sp.dir, name) for _, name in leftovers]

    def set_aside(self) -> list[str]:
        """Move the batches taken out of the spool (junk that makes no
        session, spool.set_aside); where each is now."""
        moved = self.spool.set_aside([os.path.basename(p) for p in self.files])
        self.files = []
        return [where for _, where in moved]

    def retire(self) -> None:
        """Delete the batches taken; call only once the ref holds them."""
        for path in self.files:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        self.files = []
