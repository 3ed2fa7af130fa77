"""`git ot hook <source> <event>`: the fast path a harness waits for.

It reads the payload on stdin, appends one event to the spool, snapshots
the working tree around tools that may write, and at turn and session end
starts the seal in a detached process (`git ot hook seal <session>`), so the
agent never waits on a seal: the event is durable in the spool before the
hook returns, and every reader, the git hooks included, seals what is still
spooled before it reads. It imports neither click nor pygit2 unless it
seals, and it never fails the harness: any internal error is logged and the
exit status is 0.
"""

from __future__ import annotations

import os
import sys
import time

from ..errors import LockBusy
from ..store import fastjson, locks, snapshot, state
from ..store.faults import crash_point
from ..store.git import blob as git_blob
from ..store.git import run as run_git
from ..store.gitdir import locate
from ..store.log import log_failure
from ..store.refs import validate_session_id
from ..store.spool import SPILL_LIMIT, Spool
from . import registry

# The time to record a harness's event at instead of the clock's, as
# GIT_AUTHOR_DATE is for a commit: for a replay of recorded events (`git ot
# demo`), so the session is dated when it was recorded. Seconds since the epoch.
EVENT_TIME_VARIABLE = "GIT_OT_EVENT_TIME"

GIT_EVENTS = ("post-commit", "post-rewrite", "post-merge", "post-applypatch", "post-checkout", "pre-push")
STALE_SECONDS = 600
# How long a git hook waits for a seal another process runs (seconds): the
# user's `git commit` waits on it. Past it, the commit is anchored by the
# next run, once the session is sealed.
GIT_HOOK_SEAL_WAIT = 3.0
# How long a harness hook waits for it: the agent waits on it.
HOOK_SEAL_WAIT = 10.0
# How much the background seals and drains lower their priority (nice(2)).
BACKGROUND_NICE = 10
# Commits whose anchoring waits for sealed sessions: the events that make notes.
ANCHORING_EVENTS = ("post-commit", "post-merge", "post-applypatch")


def main(argv: list[str]) -> int:
    """Entry point; always returns 0."""
    location = None
    try:
        # Found first so that even a malformed payload is logged in the
        # repository the harness ran the hook in.
        location = locate()
    except Exception:
        pass
    try:
        if not argv:
            raise ValueError("usage: git ot hook <source> [<event>]")
        source, event_name = argv[0], (argv[1] if len(argv) > 1 else None)
        if source == "seal":
            _yield_cpu()
            return _seal_detached(location or locate(), event_name, argv[2:])
        if source == "git":
            return _git_event(location or locate(), event_name, argv[2:])
        if source == "drain":
            return _drain_detached(location or locate())
        adapter = registry.find(source)
        if adapter is None:
            raise ValueError(f"unknown hook source '{source}'")
        raw = sys.stdin.buffer.read()
        t = _now()
        if location is not None:
            # What the harness left in the inbox came first (store/inbox.py);
            # what the spool could not take stays there, and this event is
            # recorded all the same.
            _logged(location, "hook inbox", lambda: drain_inbox(location, before=t, on_end=_seal_in_background))
        event = _event(adapter, source, event_name, raw)
        validate_session_id(event["session"])
        location = _home(location, event)
        _fill(location, adapter, event)
        record(location, event, t)
        crash_point("after-append")
        _ensure_inbox(location)
        if event["kind"] in adapter.seal_kinds:
            _seal_in_background(location, event["session"])
        else:
            _repair(location, event["session"])
    except Exception as exc:  # a hook must never fail the harness
        log_failure(location, "hook " + " ".join(argv), exc)
    return 0


# Fields of a normalised event's data that must be text when present; an
# event with one of another type is kept as a raw record instead.
TEXT_FIELDS = ("cwd", "transcript_path", "name", "tool_use_id", "agent_id", "prompt_id")
_SESSION_KEYS = ("session_id", "sessionId", "session")


def _event(adapter, source: str, event_name: str | None, raw: bytes) -> dict:
    """The normalised event of a payload; a payload the harness's normaliser
    cannot use (nested too deep to parse, a field of the wrong type) that
    still names its session becomes a `raw` event of that session, the
    payload's text kept whole, so it is never lost (refs/README.md, section 12)."""
    text = raw.decode("utf-8", "surrogateescape")
    payload = None
    try:
        payload = fastjson.loads(text) if raw.strip() else {}
        event = adapter.normalise(event_name, payload)
        data = event["data"]
        if isinstance(data, dict) and all(isinstance(data.get(k, ""), str) for k in TEXT_FIELDS):
            return event
        failure = "a field of the wrong type"
    except Exception as exc:  # RecursionError included: a payload nested too deep
        failure = f"{type(exc).__name__}: {str(exc)[:200]}"
    session = session_of(payload, text)
    if session is None:
        raise ValueError(f"hook payload names no session ({failure})")
    return {"source": source, "event": event_name if isinstance(event_name, str) else "unknown",
            "session": session, "kind": "raw", "data": {"text": text, "problem": failure}}


def session_of(payload, text: str) -> str | None:
    """The session a payload names, read from its object or, when it did
    not parse, from its text."""
    if isinstance(payload, dict):
        for key in _SESSION_KEYS:
            if isinstance(payload.get(key), str):
                return payload[key]
        return None
    import re  # only for payloads that did not parse: off the common path

    m = re.search(r'"(?:%s)"\s*:\s*"([A-Za-z0-9._-]{1,128})"' % "|".join(_SESSION_KEYS), text)
    return m.group(1) if m else None


def _home(location, event: dict):
    """The repository an event is recorded in: the one its session started
    in. The payload's `cwd` names the session's repository when the hook
    runs elsewhere; but a session already spooled or sealed in the
    repository the hook runs in stays there when its agent works in another
    repository (a `cd`, a tool run there), so a session is never split
    across repositories. A new session start in another repository is a
    move on purpose, and is followed."""
    cwd = event["data"].get("cwd") if isinstance(event.get("data"), dict) else None
    if isinstance(cwd, str) and cwd and os.path.isdir(cwd) \
            and os.path.realpath(cwd) != os.path.realpath(os.getcwd()):
        try:
            there = locate(cwd)
        except Exception:
            there = None
        if there is not None:
            if location is None or there.common_dir == location.common_dir:
                return there  # the same repository (another of its worktrees, say)
            if (event["kind"] == "session_start" or not _known(location, event["session"])
                    or _known(there, event["session"])):
                return there
    return location if location is not None else locate()


def _known(location, session_id: str) -> bool:
    """Whether a session has events in this repository: spooled, or a ref."""
    spool_dir = state.spool(location.state_dir)
    try:
        names = os.listdir(spool_dir)
    except OSError:
        names = []
    if any(n == session_id + ".jsonl" or (n.startswith(session_id + ".") and n.endswith(".sealing"))
           for n in names):
        return True
    ref = "refs/opentraces/sessions/" + session_id
    if os.path.exists(os.path.join(location.common_dir, *ref.split("/"))):
        return True
    try:
        with open(os.path.join(location.common_dir, "packed-refs"), "rb") as fh:
            return (" " + ref + "\n").encode() in fh.read()
    except OSError:
        return False


# How long a drain of the inbox waits for another process's drain of it.
DRAIN_WAIT = 5.0


def drain_inbox(location, before: float | None = None, on_end=None) -> None:
    """Spool, oldest first, the payloads harnesses left in the inbox
    (store/inbox.py) that arrived before `before` (seconds since the epoch),
    each as its hook would have, and call `on_end(location, session)` once
    for each session whose turn or session ended among them, still holding
    the inbox's lock (so whoever waits for the inbox, then for the seals,
    never sees a moment with neither). A listing when there are none.

    An entry is deleted once spooled; one a drain was killed after spooling
    is spooled again under the same id and folded once. An entry that names
    no session (or no harness) is moved to spool-damaged/, never deleted; one
    the spool could not take (a full disk) stays, with those after it."""
    from ..store import inbox

    now = time.time()
    before_ns = None if before is None else int(before * 1e9)
    if not inbox.entries(location.state_dir, now, before_ns):
        return
    ended: dict = {}  # (common dir, session) -> location
    try:
        with locks.hold(os.path.join(inbox.directory(location.state_dir), ".lock"), DRAIN_WAIT):
            for entry in inbox.entries(location.state_dir, now, before_ns):
                try:
                    with open(entry.path, "rb") as fh:
                        raw = fh.read()
                except FileNotFoundError:
                    continue  # spooled by a drain that gave up its lock just now
                if _being_written(entry, raw, now):
                    continue  # its hook is writing it: the next drain takes it
                try:
                    adapter = registry.find(entry.source)
                    if adapter is None:
                        raise ValueError(f"unknown hook source '{entry.source}'")
                    event = _event(adapter, entry.source, entry.event, raw)
                    validate_session_id(event["session"])
                except Exception as exc:
                    log_failure(location, f"hook inbox {entry.name}", exc)
                    _set_aside_entry(location, entry)
                    continue
                if event["kind"] == "session_start" and not isinstance(event["data"].get("head"), dict):
                    head = entry.head()  # as its hook saw HEAD; none: not known
                    if head is not None:
                        event["data"]["head"] = head
                if event["kind"] == "tool_end" and "edits" not in event["data"]:
                    edits = _edits(location, event["data"].get("cwd"), entry.files())
                    if edits is not None:
                        event["data"]["edits"] = edits
                home = _home(location, event)
                _fill(home, adapter, event)
                record(home, event, entry.t, entry.event_id, look=False)
                crash_point("after-inbox-append")
                # A call's end took its start's `.before` into its `.files`.
                before = (entry.before_path(event["data"].get("tool_use_id"))
                          if event["kind"] == "tool_end" else None)
                for beside in (entry.head_path, entry.files_path, before):
                    if beside is None:
                        continue
                    try:
                        os.unlink(beside)
                    except FileNotFoundError:
                        pass
                os.unlink(entry.path)
                if event["kind"] in adapter.seal_kinds:
                    ended.setdefault((home.common_dir, event["session"]), home)
            for (_, session_id), home in sorted(ended.items(), key=lambda e: e[0]):
                if on_end is not None:
                    on_end(home, session_id)
    except LockBusy:
        pass  # another process drains it, and seals what ended


# A file an inbox entry's `.files` names larger than this is not read: the
# call's step keeps no states of it (as Pi's extension, capture/pi/git-ot.ts).
EDIT_MAX = 4 * 1024 * 1024


def _edits(location, cwd, files) -> list[dict] | None:
    """A tool call's edits (`{"file", "before", "after"}`, as Pi's extension
    sends them) from the blobs its hooks wrote before and after it
    (store/inbox.py, `Entry.files`); None when a file's state before the
    call is not there, a blob cannot be read or is not UTF-8 text."""
    if not files or not isinstance(cwd, str) or not os.path.isabs(cwd):
        return None
    before = {path: oid for which, oid, path in files if which == "before"}
    out = []
    for which, oid, path in files:
        if which != "after":
            continue
        if oid is None or path not in before:
            return None
        old = _blob_text(location, before[path]) if before[path] is not None else None
        new = _blob_text(location, oid)
        if new is None or (before[path] is not None and old is None):
            return None
        out.append({"file": os.path.normpath(os.path.join(cwd, path)), "before": old, "after": new})
    return out or None


def _blob_text(location, oid: str) -> str | None:
    data = git_blob(location.common_dir, oid)
    if data is None or len(data) > EDIT_MAX:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _logged(location, what: str, work) -> None:
    """Run `work()`; a failure is logged, never the caller's."""
    try:
        work()
    except Exception as exc:
        log_failure(location, what, exc)


def _ensure_inbox(location) -> None:
    """The inbox, so that the next events that need no Python go there."""
    try:
        os.mkdir(state.inbox(location.state_dir))
    except FileExistsError:
        pass


def _being_written(entry, raw: bytes, now: float) -> bool:
    """Whether an inbox entry's hook may still be writing it: a hook's sh
    writes the payload in place (store/inbox.py), and a payload is a JSON
    value only once whole. One that is not, written less than STALE_TMP
    seconds ago, is left for a later drain; an older one is taken with what
    it holds, as a `.tmp` file is."""
    from ..store import inbox

    try:
        fastjson.loads(raw.decode("utf-8", "surrogateescape"))
        return False
    except Exception:  # RecursionError included
        pass
    try:
        return now - os.stat(entry.path).st_mtime < inbox.STALE_TMP
    except OSError:
        return True  # gone: spooled by another drain


def _set_aside_entry(location, entry) -> None:
    folder = state.spool_damaged(location.state_dir)
    os.makedirs(folder, exist_ok=True)
    target = os.path.join(folder, "inbox-" + entry.name)
    n = 0
    while os.path.exists(target):
        n += 1
        target = os.path.join(folder, f"inbox-{entry.name}.{n}")
    os.replace(entry.path, target)


def _drain_detached(location) -> int:
    """`git ot hook drain`: started in the background by the sh hook of a
    turn's or a session's end (capture/hookfile.py, inbox_command), which
    the agent does not wait on: spool the inbox, then seal the sessions
    that ended, in this process, each under its detached seal lock, taken
    before the inbox's lock is let go."""
    try:
        os.setsid()  # out of the harness's process group: its exit kills nothing here
    except OSError:
        pass
    held: list = []

    def take(home, session_id: str) -> None:
        lock = state.detached_seal_lock(home.state_dir, session_id)
        os.makedirs(os.path.dirname(lock), exist_ok=True)
        fd = _take_lock(lock)
        if fd is not None:  # else a seal of it runs, and looks at the spool again when done
            held.append((home, session_id, fd))

    drain_inbox(location, on_end=take)  # at full priority: a hook may wait for the inbox's lock
    _yield_cpu()
    for home, session_id, fd in held:
        try:
            _seal_detached(home, session_id, [str(fd)])
        except Exception as exc:
            log_failure(home, f"hook drain {session_id}", exc)
    return 0


def _yield_cpu() -> None:
    """For the background seals, which no one waits on: the agent and the
    person come first."""
    try:
        os.nice(BACKGROUND_NICE)
    except OSError:
        pass


def _fill(location, adapter, event: dict) -> None:
    """Spool, before the event, the calls of tools no hook sees that the
    session's transcript gained since its last hook call (claude_code/fill.py)."""
    _spool_read(location, event["session"], lambda: adapter.fill(location, event))


def _settle(location, session_id: str, quick: bool = False) -> None:
    """Spool the calls no hook saw that the session's files gained after its
    last hook call, once they stopped growing (claude_code/fill.py); with
    `quick`, those they hold now."""
    for name in registry.names():
        harness = registry.find(name)
        _spool_read(location, session_id, lambda: harness.settle(location, session_id, quick))


def _spool_read(location, session_id: str, read) -> None:
    """Spool the events `read()` gives, read from a harness's session files;
    a failure is logged and never the hook's (its own event is still recorded)."""
    _logged(location, "transcript fill",
            lambda: Spool(location.state_dir).append_many(session_id, read()))


def record(location, event: dict, t: float | None = None, event_id: str | None = None,
           look: bool = True) -> None:
    """Give the event an id and time, snapshot if it may write (and `look`:
    the hook runs as the event happens), spool it."""
    event = {"v": 1, "id": event_id or os.urandom(8).hex(), "t": _now() if t is None else t, **event}
    if look and event["kind"] == "session_start" and not isinstance(event["data"].get("head"), dict):
        event["data"]["head"] = _head(location)
    if event.pop("writes", False) and location.worktree is not None:
        event["writes"] = True
    # A snapshot is of the moment the hook runs: none for an event left in
    # the inbox (its harness sent there only what needs no look), nor for
    # one that carries its file before and after (`edits`: Pi's write and
    # edit, read by its extension as they ran).
    if event.get("writes") and look and event["data"].get("edits") is None:
        try:
            event["snapshot"] = snapshot.take(location, snapshot.configured_max_file_size())
        except Exception as exc:  # the event is kept without its snapshot
            event["snapshot_error"] = str(exc)[:500]
            log_failure(location, "snapshot", exc)
    Spool(location.state_dir).append(event["session"], event, _large_strings(event))


def _large_strings(event: dict) -> list[list]:
    """Where a tool end's output holds strings too long for a spool line
    (store/spool.py, SPILL_LIMIT): each a list of keys from the event down."""
    data = event.get("data")
    if event.get("kind") != "tool_end" or not isinstance(data, dict) or data.get("output") is None:
        return []
    found: list[list] = []

    def walk(value, at: list) -> None:
        if isinstance(value, str):
            if len(value) > SPILL_LIMIT:
                found.append(at)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, at + [k])
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, at + [i])

    try:
        walk(data["output"], ["data", "output"])
    except RecursionError:
        return []  # nested too deep to walk: the line holds it all, as before
    return found


def _now() -> float:
    given = os.environ.get(EVENT_TIME_VARIABLE)
    if given:
        try:
            return float(given)
        except ValueError:
            pass
    return time.time()


def _head(location) -> dict:
    """The commit and branch a session starts from (its base)."""
    commit = None
    try:
        commit = run_git(["rev-parse", "-q", "--verify", "HEAD"],
                         cwd=location.worktree or location.git_dir).decode().strip() or None
    except Exception:
        pass  # an unborn branch: no commit yet
    branch = None
    try:
        with open(os.path.join(location.git_dir, "HEAD"), encoding="utf-8") as fh:
            head = fh.read().strip()
        if head.startswith("ref: refs/heads/"):
            branch = head[len("ref: refs/heads/"):]
    except OSError:
        pass
    return {"commit": commit, "branch": branch}


def _seal_in_background(location, session_id: str) -> None:
    """At turn or session end: seal the session, and any a crash left half
    sealed, each in a detached process the agent does not wait on."""
    for sid in [session_id] + [s for s in Spool(location.state_dir).has_leftover_batches()
                               if s != session_id]:
        _spawn_seal(location, sid)


def _spawn_seal(location, session_id: str) -> None:
    """Start `git ot hook seal <session>`, handing it the session's detached
    seal lock already held, so that whoever waits on that lock (a test, a
    script) waits for this seal from the moment the hook returns. When a
    detached seal of the session runs already, nothing is started: it looks
    at the spool again when it is done and seals what was appended meanwhile."""
    lock = state.detached_seal_lock(location.state_dir, session_id)
    os.makedirs(os.path.dirname(lock), exist_ok=True)
    fd = _take_lock(lock)
    if fd is None:
        return
    try:
        import subprocess

        # A crash point set for the hook (store/faults.py) stands for the
        # harness's hook timeout, which a detached process is not under.
        env = {k: v for k, v in os.environ.items() if k != "GIT_OT_TEST_KILL_AT"}
        subprocess.Popen([sys.executable, "-m", "git_ot", "hook", "seal", session_id, str(fd)],
                         cwd=location.worktree or location.git_dir, env=env, pass_fds=(fd,),
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    finally:
        os.close(fd)  # the child's copy holds the lock now


def _take_lock(path: str, block: bool = False) -> int | None:
    """A descriptor holding the flock on `path`, or (unless `block`) None
    when another process holds it. The holder deletes the file when done,
    so a lock taken on a file deleted meanwhile is taken again on the new
    one (store/locks.py, `take`)."""
    try:
        return locks.take(path, None if block else 0)
    except LockBusy:
        return None


def _seal_on_hook_path(location, store, session_ids, wait: float = HOOK_SEAL_WAIT) -> None:
    """Seal sessions from a harness hook; one whose seal kept being killed
    is handed to a detached process instead."""
    from ..domain.sealing import seal_on_hook_path

    for session_id in session_ids:
        if not seal_on_hook_path(store, session_id, wait):
            _start_detached_seal(location, session_id)


def _start_detached_seal(location, session_id: str) -> None:
    """Seal a session in a process of its own, unless one does already."""
    from ..domain.sealing import killed_seals, HOOK_ATTEMPTS

    if killed_seals(location.state_dir, session_id) < HOOK_ATTEMPTS:
        return  # another process held the seal lock: it seals the session
    _spawn_seal(location, session_id)


# How many times a detached seal seals its session again for events
# appended while it ran, before it leaves the rest to the next reader.
DETACHED_ROUNDS = 8


def _seal_detached(location, session_id: str | None, args: list[str] = ()) -> int:
    """`git ot hook seal <session> [<fd>]`: a seal outside the hook path, in
    a process no harness waits on (and none kills at its hook timeout).
    With `<fd>`, the hook that started it handed it the session's detached
    seal lock, held. It seals until the session has nothing spooled, then
    releases the lock and looks at the spool once more: an event a hook
    appended just before the release (that hook found the lock held and
    started no seal of its own) is sealed under the lock taken again.
    Whoever waits on the lock (support for tests) never makes it skip one."""
    validate_session_id(session_id or "")
    from ..domain.sealing import seal_outside_hooks
    from ..errors import GateBlocked
    from ..store.repository import Store

    lock = state.detached_seal_lock(location.state_dir, session_id)
    os.makedirs(os.path.dirname(lock), exist_ok=True)
    fd = int(args[0]) if args and args[0].isdigit() else _take_lock(lock)
    if fd is None:
        return 0  # another detached seal of it runs, and looks again when done
    _settle(location, session_id)
    store = None
    for _ in range(DETACHED_ROUNDS):
        try:
            store = store or Store(location)
            for _ in range(DETACHED_ROUNDS):
                seal_outside_hooks(store, session_id)
                if location.worktree is not None and not _unsealed(location):
                    from ..domain.trail.githooks import anchor_deferred

                    anchor_deferred(store)
                if session_id not in Spool(location.state_dir).pending_sessions():
                    break
        except GateBlocked as exc:
            # Its events wait in the spool; the log and 'git ot scan' say why.
            log_failure(location, f"hook seal {session_id}", exc)
            return 0
        except Exception as exc:
            # Logged while the lock is held: whoever waits on it for this
            # seal finds the failure in the log once it is free.
            log_failure(location, f"hook seal {session_id}", exc)
            return 0
        finally:
            try:
                os.unlink(lock)  # while held: a later one creates it afresh
            except FileNotFoundError:
                pass
            os.close(fd)
        # A hook that spooled an event between the last look and the
        # release found the lock held and started nothing: look once more.
        if session_id not in Spool(location.state_dir).pending_sessions():
            return 0
        fd = _take_lock(lock, block=True)
    return 0


def _unsealed(location) -> bool:
    """Whether events wait in the inbox or the spool, those of sessions the
    security gate holds back aside (they wait for the user, not for a
    seal). A commit left for anchoring (githooks.defer) is anchored only
    when none do: one of them may have written its lines. The inbox is
    looked at, not drained: its drain starts the seals of the turns that
    ended there."""
    from ..store import inbox

    if inbox.entries(location.state_dir, time.time()):
        return True
    return any(not os.path.exists(state.blocked_marker(location.state_dir, s))
               for s in Spool(location.state_dir).pending_sessions())


def _repair(location, current: str) -> None:
    """Seal what a crash left: half-sealed batches, and journals of other
    sessions idle for longer than STALE_SECONDS. A listdir when there are none."""
    spool = Spool(location.state_dir)
    todo = set(spool.has_leftover_batches())
    todo.update(s for s in spool.stale_sessions(STALE_SECONDS, time.time()) if s != current)
    # A session the security gate blocked waits for a seal at turn end or a
    # command; retrying it here would cost every hook call a seal.
    todo = {s for s in todo if not os.path.exists(state.blocked_marker(location.state_dir, s))}
    # A batch whose seal lock is held is being sealed right now (the
    # detached seal of a turn that just ended): that process finishes it,
    # and the agent waits neither for it nor for the imports of a seal
    # (pygit2, the gate: about 90 ms) that would only find the lock held.
    todo = {s for s in todo if not _being_sealed(location, s)}
    if todo:
        from ..store.repository import Store

        _seal_on_hook_path(location, Store(location), sorted(todo), wait=0.0)


def _being_sealed(location, session_id: str) -> bool:
    """Whether another process seals the session now, and no hook's seal of
    it was killed (seal_on_hook_path would then leave it alone)."""
    return (not os.path.exists(state.seal_attempts(location.state_dir, session_id))
            and Spool(location.state_dir).being_sealed(session_id))


def _git_event(location, event_name: str | None, args: list[str] = ()) -> int:
    """Git hooks: make every spooled event durable before history moves on,
    then anchor the commits git just made (git_ot/domain/trail/anchor.py);
    before a push, start the bucket's push (git_ot/domain/prepush.py)."""
    if event_name not in GIT_EVENTS:
        raise ValueError(f"unknown git hook event '{event_name}'")
    if event_name == "pre-push":
        # The code is about to leave: start the bucket's push beside it
        # (domain/prepush.py), never wait for it, seal nothing here.
        from ..domain.prepush import start

        start(location, args[0] if args else "")
        return 0
    _logged(location, "hook inbox", lambda: drain_inbox(location))  # sealed with the rest
    rewritten = b""
    if event_name == "post-rewrite":
        rewritten = sys.stdin.buffer.read()  # "<old> <new>" lines; also spares git a broken pipe
    if location.worktree is None:
        return 0
    pending = Spool(location.state_dir).pending_sessions()
    if event_name == "post-checkout" and not pending:
        return 0  # nothing to seal and nothing to anchor: spare the import of pygit2
    if event_name != "post-checkout":  # a checkout anchors nothing
        for session_id in pending:
            # A session still running may have written the commit's lines
            # with a tool no hook sees: read its transcript first.
            _settle(location, session_id, quick=True)
    from ..store.repository import Store

    store = Store(location)
    left: list[str] = []
    if pending:
        from ..domain.sealing import seal_pending_on_hook_path

        try:
            left = seal_pending_on_hook_path(store, GIT_HOOK_SEAL_WAIT)
        except Exception as exc:  # sealed sessions can still be anchored
            log_failure(location, f"hook git {event_name}: seal", exc)
        for session_id in left:
            _start_detached_seal(location, session_id)
    if event_name == "post-checkout":
        return 0
    from ..domain.trail import githooks

    if left and event_name in ANCHORING_EVENTS:
        # A session still unsealed may have written the commit's lines:
        # anchoring it now would give them to the person. The next run
        # (this hook, the detached seal, `git ot anchor`) anchors it.
        githooks.defer(store)
        return 0
    githooks.on_git_event(store, event_name, list(args), rewritten.decode("utf-8", "replace"))
    if not left:
        githooks.anchor_deferred(store)
    return 0
