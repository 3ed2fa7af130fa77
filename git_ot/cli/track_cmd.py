"""`git ot track`: did the agents' work land, and does it survive?"""

from __future__ import annotations

import click

from ..domain.opening import open_store
from ..domain.trail import track as track_domain
from ..store.refs import abbreviate
from .main import json_option
from . import output
from .output import emit, emit_json, table
from .progress import shown as progress_shown

# A progress bar only pays for itself past this many commits and hunks.
PROGRESS_MIN_ITEMS = 20


@click.command()
@click.argument("sessions", metavar="SESSION", nargs=-1)
@click.option("--since", metavar="WHEN",
              help="Only sessions started since WHEN: an age ('7d', '2w', '24h', '30m') or an "
                   "ISO 8601 date or time ('2024-05-01', '2024-05-01T12:00:00Z').")
@click.option("--at", "at", metavar="REV",
              help="The revision to judge survival at (default: HEAD).")
@json_option
def track(sessions, since, at, as_json):
    """Show whether each hunk the agents wrote landed, and whether it survives.

    Every hunk of the sessions' patches gets a state (alive_on_path,
    alive_transformed, moved, partially_preserved, reverted, repaired, lost,
    unknown, pending or unlanded) with its evidence, and each session and
    the whole a summary: lines written, landed and alive. SESSION may be any
    unique prefix of a session id; without one, every session.
    """
    store = open_store(seal=True)
    with progress_shown("tracking", PROGRESS_MIN_ITEMS) as progress:
        result = track_domain.track(store, sessions, since=since, at=at, progress=progress)
    if as_json:
        emit_json(result)
        return
    _print_human(result, store.session_ids() if output.width() is not None else ())


def _short(commit: str | None) -> str:
    return commit[:8] if commit else "?"


def _spans(path: str, spans: list) -> str:
    return f"{path}:" + ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in spans)


def evidence(h: dict) -> str:
    """One line of evidence for a hunk's state."""
    state = h["state"]
    parts: list[str] = []
    if state in ("alive_on_path", "alive_transformed", "moved", "partially_preserved", "repaired"):
        for a in h["alive"]:
            parts.append(("-> " if a["moved"] else "") + _spans(a["path"], a["lines"]))
        if state == "repaired":
            parts.append(f"restored by {_short(h['restored_by'])}")
    if state in ("alive_transformed", "partially_preserved", "reverted", "lost", "repaired", "moved"):
        for r in h["removed"]:
            if r["commit"] is None:
                continue
            if r["reverts"]:
                parts.append(f"reverted by {_short(r['commit'])} (reverts {_short(r['reverts'])})")
            elif r.get("steps"):
                steps = ", ".join(str(n) for n in r["steps"])
                parts.append(f"removed by step{'s' if len(r['steps']) > 1 else ''} {steps} "
                             f"of this session ({_short(r['commit'])})")
            else:
                parts.append(f"removed by {_short(r['commit'])}")
    if state == "pending":
        parts += [f"working tree {_spans(w['path'], w['lines'])}" for w in h["worktree"]]
    if state == "unlanded":
        if h["elsewhere"] or h["missing"]:
            shown = sorted({_short(e["commit"]) for e in h["elsewhere"]} | {_short(m) for m in h["missing"]})
            parts.append("only in " + ", ".join(shown))
        else:
            parts.append("never committed")
    if state == "unknown":
        if h["missing"]:
            parts.append("missing commit " + ", ".join(_short(m) for m in h["missing"]))
        if h["elsewhere"]:
            parts.append("beyond the history here: " + ", ".join(_short(e["commit"]) for e in h["elsewhere"]))
    return "; ".join(parts)


def _totals(lines: dict) -> str:
    def pct(n: int) -> str:
        return f" ({100 * n // lines['written']}%)" if lines["written"] else ""

    return (f"written {lines['written']}, landed {lines['landed']}{pct(lines['landed'])}, "
            f"alive {lines['alive']}{pct(lines['alive'])}, pending {lines['pending']}")


# The colour of each state on a terminal.
STATE_COLORS = {"alive_on_path": "green", "alive_transformed": "green", "moved": "green",
                "repaired": "green", "partially_preserved": "yellow", "pending": "yellow",
                "unknown": "yellow", "unlanded": "red", "lost": "red", "reverted": "red"}


def _print_human(result: dict, session_ids=()) -> None:
    """A table per session, a step's hunks on rows of their own. On a
    terminal: short session ids, times to the second, the evidence cut to
    the width."""
    fit = output.width()
    target = result["target"]
    output.page()
    emit(f"at {target['rev']} ({_short(target['commit']) if target['commit'] else 'no commits yet'})"
         + (f", sessions started since {result['since']}" if result["since"] else ""))
    if not result["sessions"]:
        emit("no sessions")
        return
    shorts = {}
    if fit is not None:
        shorts = abbreviate({*session_ids, *(s["session"] for s in result["sessions"])})
    for s in result["sessions"]:
        emit("")
        start = output.seconds(s["start"]) if fit is not None else s["start"]
        sid = shorts.get(s["session"], s["session"])
        head = output.fields([f"session {sid}", s["harness"] or "-", f"model {','.join(s['models']) or '-'}",
                              f"start {start or '-'}"], fit)
        emit(head.replace(f"session {sid}", f"session {output.paint(sid, 'yellow')}", 1))
        if s["hunks"]:
            rows = [[str(h["step"]), h["path"] or "?", h["state"], str(h["lines"]["written"]),
                     str(h["lines"]["landed"]), str(h["lines"]["alive"]), evidence(h)] for h in s["hunks"]]
            body = table(rows, ["STEP", "PATH", "STATE", "WRITTEN", "LANDED", "ALIVE", "EVIDENCE"],
                         right={0, 3, 4, 5}, fit=(fit - 2) if fit is not None else None,
                         colors={2: STATE_COLORS.get})
            emit("\n".join("  " + line for line in body.splitlines()))
        else:
            emit("  no hunks")
        emit(f"  {_totals(s['lines'])}")
    t = result["total"]
    emit("")
    head = (f"total: {t['sessions']} session{'s' if t['sessions'] != 1 else ''}, {t['hunks']} hunk"
            f"{'s' if t['hunks'] != 1 else ''}:")
    if fit is not None and len(head) + 1 + len(_totals(t["lines"])) > fit:
        emit(f"{head}\n  {_totals(t['lines'])}")  # on a terminal too narrow for one line
    else:
        emit(f"{head} {_totals(t['lines'])}")
    counts = ", ".join(f"{state} {n}" for state, n in t["states"].items() if n)
    if counts:
        emit(f"states: {counts}")
