"""`git ot scan` and `git ot forget`: the security gate on demand, and deletion for good."""

from __future__ import annotations

import click

from ..domain import forget as forget_domain
from ..domain.gate import scan as scan_domain
from ..errors import GitOtError
from ..domain.opening import open_store
from .main import json_option
from . import output
from .output import emit, emit_json


def _where(f: dict) -> str:
    line = f":{f['line']}" if "line" in f else ""
    if "snapshot" in f:
        return f"snapshot {f['snapshot']} {f['path']}{line}"
    if "step" in f:
        return f"step {f['step']} {f['field']}{line}"
    if "lifecycle" in f:
        return f"event {f['lifecycle']} {f['field']}{line}"
    if "spool" in f:
        return f"spool {f['spool']} {f['field']}{line}"
    return f"{f['field']}{line}"


@click.command()
@click.argument("sessions", nargs=-1, metavar="SESSION")
@json_option
def scan(sessions, as_json):
    """Show what the security gate finds in sessions, and their risk.

    Looks at the sessions named (any unique id prefix; all by default),
    sealed and still spooled, under the policy now in force (ot.security.*):
    what was redacted at seal, what is still open, and each session's risk.
    """
    result = scan_domain.scan(open_store(settle=True), list(sessions))
    if as_json:
        emit_json(result)
        return
    if not result["sessions"]:
        emit("no sessions")
        return
    output.page()
    for s in result["sessions"]:
        state = "" if s["sealed"] else "  (not sealed)"
        emit(f"session {output.paint(s['session'], 'yellow')}  risk {s['risk']}  open {s['open']}{state}")
        if not s["findings"]:
            emit("  no findings")
        for f in s["findings"]:
            status = f"{f['status']:<9}"
            if f["status"] == "open":
                status = output.paint(f["status"], "red") + status[len(f["status"]):]
            emit(f"  {status} {f['kind']:<26} {_where(f)}")


@click.command()
@click.argument("sessions", nargs=-1, metavar="SESSION")
@click.option("--all", "everything", is_flag=True,
              help="Forget every session of this repository: sealed, fetched from a remote or only spooled.")
@click.option("--since", metavar="WHEN",
              help="Forget the sessions started at or after WHEN: an age ('7d', '2w', '24h', '30m') "
                   "or an ISO 8601 date or time.")
@click.option("--before", metavar="WHEN",
              help="Forget the sessions started before WHEN, given as for --since.")
@click.option("--dry-run", is_flag=True, help="Say what would be forgotten, and change nothing.")
@click.option("--remote", "remote_name", metavar="REMOTE",
              help="Delete the sessions on REMOTE too: their refs, and their lines in its notes.")
@json_option
def forget(sessions, everything, since, before, dry_run, remote_name, as_json):
    """Delete sessions for good: refs, note lines, spool, objects.

    Takes whole session ids, or selects sessions with --all, --since and
    --before. Objects that anything else still reaches are kept. No later
    fetch brings a forgotten session back. With --remote, the sessions are
    deleted on that remote too; otherwise the command that does so is
    printed.
    """
    selecting = everything or since is not None or before is not None
    if sessions and selecting:
        raise click.UsageError("give either SESSION arguments or --all, --since and --before, not both")
    if not sessions and not selecting:
        raise click.UsageError("name the sessions to forget, or give --all, --since or --before")
    result = forget_domain.forget(open_store(), list(sessions), remote_name, everything=everything,
                                  since=since, before=before, dry_run=dry_run)
    if as_json:
        emit_json(result)
    else:
        _show_forget(result)
    there = result["remote"]
    if there is not None and "error" in there:
        ids = " ".join(s["session"] for s in result["sessions"])
        raise GitOtError(there["error"], hint=there["hint"] or (
            f"forgotten here; to delete on '{there['remote']}' too, run "
            f"'git ot forget --remote {there['remote']} {ids}' again"))


def _show_forget(result: dict) -> None:
    if not result["sessions"]:
        emit("no sessions to forget")
        return
    dry = result["dry_run"]
    for s in result["sessions"]:
        held = ", ".join(s["refs"]) or "no ref"
        emit(f"{'would forget' if dry else 'forgot'} {s['session']} "
             f"({held}{', spooled events' if s['spool'] else ''})")
    for n in result["notes"]:
        emit(f"{'would remove' if dry else 'removed'} {n['lines']} note line{'s' if n['lines'] != 1 else ''} "
             f"from {n['ref']}")
    if dry:
        if result["remote"] is not None:
            emit(f"would delete {'them' if len(result['sessions']) > 1 else 'it'} on "
                 f"{result['remote']['remote']} too")
        for r in result["remotes"]:
            emit(f"remote '{r['remote']}' may still hold {'them' if len(result['sessions']) > 1 else 'it'}")
        emit("dry run: nothing was deleted")
        return
    objects = result["objects"]
    emit(f"deleted {objects['deleted']} object{'s' if objects['deleted'] != 1 else ''}"
         + (f"; kept {objects['kept']} that other refs reach" if objects["kept"] else ""))
    for command in result["ran"]:
        emit(f"ran: {command}")
    if objects["remaining"]:
        emit(f"warning: {len(objects['remaining'])} objects are still in the repository: "
             + " ".join(objects["remaining"][:5]))
    there = result["remote"]
    if there is not None and "error" not in there:
        for ref in there["deleted"]:
            emit(f"deleted {ref} on {there['remote']}")
        if there["notes"] == "rewritten":
            n = there["note_lines"]
            emit(f"rewrote refs/notes/opentraces on {there['remote']} without its history: "
                 f"removed {n} note line{'s' if n != 1 else ''}")
    for r in result["remotes"]:
        emit(f"remote '{r['remote']}' may still hold {'them' if len(result['sessions']) > 1 else 'it'}; "
             f"to delete it there:")
        for command in r["commands"]:
            emit(f"  {command}")
