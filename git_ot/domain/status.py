"""`git ot status`: is git-ot set up here, and what keeps it from capturing.

Read only: nothing is written (not even `.git/opentraces/`), nothing is
sealed, nothing goes over the network. It gathers the git hooks `git ot
init` installs, what each harness has wired in each of its scopes, the
sessions sealed, spooled and held back by the gate, and the sharing remote
as configured; then `problems` turns that into one problem and one hint per
thing to fix (a pure function of the report).

The harnesses come from the caller (the command line asks the registry),
as objects with the few members `HarnessWiring` names: the domain does not
import capture/.
"""

from __future__ import annotations

import os
from typing import Protocol

from ..errors import GitOtError
from ..store import approvals, inbox, runfile, state
from ..store.gitdir import Location
from ..store.repository import Store
from ..store.spool import Spool
from . import install, prepush
from .share import remote_info


class HarnessWiring(Protocol):
    """What status needs of a harness (capture/harness.py's `Harness` has it)."""

    name: str
    title: str
    scopes: tuple[str, ...]

    def installed(self, scope: str, cwd: str | None = None) -> dict | None:
        """`{"settings", "events", "missing"}` wired in `scope`, or None."""


def status(location: Location, harnesses: list[HarnessWiring]) -> dict:
    """`{"set_up", "hooks", "harnesses", "sessions", "sharing", "problems"}`."""
    store = Store(location)
    cwd = location.worktree or location.git_dir
    report = {
        "hooks": git_hooks(location),
        "harnesses": [harness_wiring(h, cwd) for h in harnesses],
        "sessions": sessions(store),
        "telemetry": telemetry(location),
        "watcher": watcher(location.worktree_state_dir),
        "sharing": sharing(store),
    }
    report["set_up"] = (os.path.isdir(location.state_dir)
                        or any(h["state"] == "installed" for h in report["hooks"]["hooks"].values())
                        or any(s["wired"] for h in report["harnesses"] for s in h["scopes"]))
    report["problems"] = problems(report)
    return {k: report[k] for k in ("set_up", "hooks", "harnesses", "sessions", "telemetry", "watcher",
                                   "sharing", "problems")}


def git_hooks(location: Location) -> dict:
    """Each hook `git ot init` installs: installed, missing or not ours, and
    whether a hook that was there before is kept aside and chained."""
    directory = install.hooks_dir(location)
    names = install.HOOKS + ((install.PUSH_HOOK,) if prepush.enabled(location) else ())
    hooks = {}
    for hook in names:
        path = os.path.join(directory, hook)
        if not os.path.lexists(path):
            hook_state = "missing"
        elif install.is_ours(path):
            hook_state = "installed"
        else:
            hook_state = "not ours"
        chained = os.path.lexists(path + install.LEGACY_SUFFIX)
        hooks[hook] = {"state": hook_state, "chained": hook + install.LEGACY_SUFFIX if chained else None}
    return {"hooks_dir": directory, "hooks": hooks}


def harness_wiring(harness: HarnessWiring, cwd: str) -> dict:
    """Per scope: whether git-ot's hooks are wired, which events, or what
    kept the settings file from being read."""
    scopes = []
    for scope in harness.scopes:
        entry = {"scope": scope, "wired": False, "settings": None, "events": [], "missing": [],
                 "error": None, "hint": None}
        try:
            found = harness.installed(scope, cwd)
        except GitOtError as exc:
            entry.update(error=exc.message, hint=exc.hint)
            found = None
        if found:
            entry.update(wired=True, settings=found["settings"], events=list(found["events"]),
                         missing=list(found.get("missing", [])))
        scopes.append(entry)
    return {"harness": harness.name, "title": harness.title, "scopes": scopes}


def sessions(store: Store) -> dict:
    """Sealed sessions, those with events waiting in the spool, and those of
    them the security gate keeps from sealing (with its reason)."""
    state_dir = store.location.state_dir
    try:
        inbox.drain(store.location)  # a turn's events still in the inbox count as spooled
    except Exception:
        pass  # counted once spooled
    pending = Spool(state_dir).pending_sessions()
    blocked = []
    for sid in pending:
        reason = _read_marker(state.blocked_marker(state_dir, sid))
        if reason is not None:
            blocked.append({"session": sid, "reason": reason})
    return {"sealed": len(store.session_ids()), "pending": len(pending), "blocked": blocked}


def receiver(state_dir: str) -> dict | None:
    """The OTLP receiver running for this repository (`git ot otel serve`):
    `{"pid", "bind", "grpc_port", "http_port", "repository", "started"}`,
    or None when none runs."""
    return runfile.running(state.otel_receiver(state_dir))


def watcher(worktree_state_dir: str) -> dict | None:
    """The watcher running for this working tree (`git ot watch`):
    `{"pid", "worktree", "started"}`, or None when none runs."""
    return runfile.running(state.watcher(worktree_state_dir))


# How long telemetry of a session this repository never comes to know is
# held after its last record arrived (`git ot otel serve` deletes it then).
HELD_MAX_AGE_KEY = "ot.otel.heldMaxAge"
HELD_MAX_AGE_DEFAULT = "7d"


def held_max_age(location: Location) -> float:
    """Seconds held telemetry is kept after its session's last record
    (`ot.otel.heldMaxAge`, default 7 days); BadDate when it cannot be read."""
    from ..store import times
    from ..store.transport import config_get

    text = config_get(location, HELD_MAX_AGE_KEY)
    return times.parse_age(HELD_MAX_AGE_DEFAULT if text is None else text, HELD_MAX_AGE_KEY)


def held_telemetry(state_dir: str) -> dict:
    """The telemetry held for sessions this repository does not know:
    `{"sessions", "records", "oldest", "newest"}`, the last two the receipt
    times of the first and the last record (None when nothing is held)."""
    pen = Spool(state_dir)
    pen.dir = state.otel_held(state_dir)
    sessions = pen.pending_sessions()
    records, times_seen = 0, []
    for sid in sessions:
        events = [e for e in pen.peek(sid) if isinstance(e.get("t"), (int, float))]
        records += len(events)
        times_seen += [events[0]["t"], events[-1]["t"]] if events else []
        try:
            times_seen.append(os.stat(os.path.join(pen.dir, sid + ".jsonl")).st_mtime)
        except OSError:
            pass
    return {"sessions": len(sessions), "records": records,
            "oldest": min(times_seen, default=None), "newest": max(times_seen, default=None)}


def telemetry(location: Location) -> dict:
    """Whether a receiver runs here, how many sessions' telemetry it holds
    because this repository does not know them (yet), how many records,
    since when, and how long it keeps them (`held_max_age`, in seconds;
    None when the setting cannot be read)."""
    held = held_telemetry(location.state_dir)
    try:
        max_age, bad = held_max_age(location), None
    except GitOtError as exc:
        max_age, bad = None, exc.message
    return {"receiver": receiver(location.state_dir), "held": held["sessions"],
            "held_records": held["records"], "held_since": held["oldest"], "held_max_age": max_age,
            "held_max_age_error": bad}


def sharing(store: Store) -> dict:
    """The sharing remote as configured and how many sessions are not
    approved; what the remote holds is not asked (that needs the network)."""
    info = remote_info(store)
    approved = approvals.approvals(store.location.state_dir).read()
    not_approved = [s for s in store.session_ids() if s not in approved]
    return {"remote": info["remote"], "url": info["url"], "plain_git": info["plain_git"],
            "require_approval": info["require_approval"], "not_approved": len(not_approved)}


def problems(report: dict) -> list[dict]:
    """One `{"problem", "hint"}` per thing to fix, in the order of the report."""
    out = []
    hooks = report["hooks"]["hooks"]
    missing = [h for h, v in hooks.items() if v["state"] == "missing"]
    foreign = [h for h, v in hooks.items() if v["state"] == "not ours"]
    if missing:
        out.append({"problem": "git hooks not installed: " + ", ".join(missing),
                    "hint": "run 'git ot init'"})
    if foreign:
        out.append({"problem": "git hooks not git-ot's: " + ", ".join(foreign),
                    "hint": "run 'git ot init' (it keeps each as <hook>" + install.LEGACY_SUFFIX
                            + " and runs it first)"})
    for harness in report["harnesses"]:
        for scope in harness["scopes"]:
            if scope["error"]:
                out.append({"problem": f"cannot read {harness['title']}'s {scope['scope']} settings: "
                                       + scope["error"],
                            "hint": scope["hint"] or "fix the file, then run 'git ot status' again"})
            elif scope["wired"] and scope["missing"]:
                out.append({"problem": f"{harness['title']}'s {scope['scope']} settings do not run "
                                       "git-ot for: " + ", ".join(scope["missing"]),
                            "hint": f"run 'git ot install {harness['harness']} --scope {scope['scope']}'"})
    harnesses = report["harnesses"]
    if harnesses and not any(s["wired"] for h in harnesses for s in h["scopes"]):
        # One agent wired is enough: the others may simply not be used here.
        out.append({"problem": "no harness runs git-ot: " + ", ".join(
                        f"{h['title']} ({', '.join(s['scope'] for s in h['scopes'])})" for h in harnesses),
                    "hint": " or ".join(f"run 'git ot install {h['harness']}'" for h in harnesses)})
    for blocked in report["sessions"]["blocked"]:
        sid = blocked["session"]
        out.append({"problem": f"the security gate holds back session '{sid}': {blocked['reason']}",
                    "hint": f"'git ot scan {sid}' shows the findings; 'git ot forget {sid}' drops it"})
    if report["telemetry"]["held_max_age_error"]:
        out.append({"problem": report["telemetry"]["held_max_age_error"],
                    "hint": f"give an age such as '7d', '2w', '24h' or '30m' ('git config {HELD_MAX_AGE_KEY} 7d'), "
                            f"or unset it for the default of {HELD_MAX_AGE_DEFAULT}; 'git ot otel serve' "
                            "does not start until then"})
    share = report["sharing"]
    if share["remote"] and share["url"] is None:
        out.append({"problem": f"the sharing remote '{share['remote']}' is not a git remote",
                    "hint": f"add it with 'git ot remote set {share['remote']} <url>'"})
    return out


def _read_marker(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read().strip() or "held back"
    except FileNotFoundError:
        return None
    except OSError:
        return "held back"
