"""`git ot remote`, `push`, `fetch` and `approve`: sharing the bucket."""

from __future__ import annotations

import sys

import click

from ..domain import share
from ..domain.opening import open_store
from .main import json_option
from .output import emit, emit_json
from .progress import shown as progress_shown

# A progress bar only pays for itself past this many sessions to merge.
PROGRESS_MIN_SESSIONS = 20


def _chosen(remote: str, reason: str) -> None:
    """One line on stderr, as git says where it fetches from: the remote used
    when none was named or set (stdout stays the result, JSON or text)."""
    sys.stderr.write(f"using remote '{remote}', {reason}; "
                     f"'git ot remote set NAME' chooses another\n")
    sys.stderr.flush()


@click.group(invoke_without_command=True)
@json_option
@click.pass_context
def remote(ctx, as_json):
    """Show or set the remote that sessions are shared with.

    Without a command, the same as 'git ot remote show'.
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(remote_show, as_json=as_json)


@remote.command("show")
@json_option
def remote_show(as_json=False):
    """Show the remote sessions are pushed to and fetched from."""
    info = share.remote_info(open_store())
    if as_json:
        emit_json(info)
        return
    if info["remote"] is None:
        emit("no remote set; choose one with 'git ot remote set NAME URL'")
        return
    _show(info)


@remote.command("set")
@click.argument("name")
@click.argument("url", required=False)
@click.option("--plain-git/--no-plain-git", default=None,
              help="Add (or remove) fetch refspecs so that a plain 'git fetch NAME' "
                   "also fetches the sessions and notes, and a plain 'git push NAME' "
                   "starts 'git ot push' in the background (from a pre-push hook this "
                   "installs; --no-plain-git removes it).")
@json_option
def remote_set(name, url, plain_git, as_json):
    """Share sessions with remote NAME, adding it with URL if git has none.

    The remote's own refspecs are left as they are unless --plain-git is given.
    """
    info = share.set_remote(open_store(), name, url, plain_git)
    if as_json:
        emit_json(info)
        return
    _show(info)


def _show(info: dict) -> None:
    emit(f"{info['remote']}\t{info['url']}")
    emit(f"plain git fetch/push: {'yes' if info['plain_git'] else 'no'}")
    emit(f"approval required: {'yes' if info['require_approval'] else 'no'}")


@click.command()
@click.argument("remote_name", metavar="REMOTE", required=False)
@click.argument("sessions", metavar="SESSION", nargs=-1)
@json_option
def push(remote_name, sessions, as_json):
    """Push approved sessions and the notes to the remote.

    A commit's note goes only when every line of it names sessions the
    remote holds or receives now; the others stay here, whole, and are listed.

    Never forced: what the remote holds that this clone lacks is fetched and
    merged first, and the push is tried again when another clone got there first.
    """
    result = share.push(open_store(seal=True), remote_name, list(sessions), chosen=_chosen)
    if as_json:
        emit_json(result)
    else:
        n = len(result["pushed"])
        emit(f"pushed {n} session{'s' if n != 1 else ''} to {result['remote']}; "
             f"notes {result['notes']}")
        if result["merged"]:
            emit(f"merged {len(result['merged'])} diverged session(s): "
                 + ", ".join(s[:12] for s in result["merged"]))
        held = result["notes_held_back"]
        if held:
            emit(f"kept back the notes of {len(held)} commit{'s' if len(held) != 1 else ''} "
                 f"that name sessions not shared: " + ", ".join(c[:12] for c in held[:5])
                 + (f" and {len(held) - 5} more" if len(held) > 5 else ""))
        ent = result["entities"]
        if ent["pushed"]:
            emit("pushed " + ", ".join(ent["pushed"]))
        if ent["held_back"]:
            emit("kept back " + ", ".join(ent["held_back"])
                 + ": they name sessions the remote does not hold; push those sessions first")
    error = share.held_back_error(result)
    if error is not None:
        raise error


@click.command()
@click.argument("remote_name", metavar="REMOTE", required=False)
@json_option
def fetch(remote_name, as_json):
    """Fetch the remote's sessions and notes and merge them into this clone."""
    with progress_shown("merging", PROGRESS_MIN_SESSIONS) as progress:
        result = share.fetch(open_store(), remote_name, progress=progress, chosen=_chosen)
    if as_json:
        emit_json(result)
        return
    emit(f"fetched from {result['remote']}: {len(result['new'])} new, "
         f"{len(result['updated'])} updated, {len(result['merged'])} merged, "
         f"{result['unchanged']} unchanged session(s); notes {result['notes']}")
    ent = result["entities"]
    for what in ("new", "updated", "merged"):
        if ent[what]:
            emit(f"{what}: " + ", ".join(ent[what]))


@click.command()
@click.argument("sessions", metavar="SESSION", nargs=-1)
@click.option("--all", "everything", is_flag=True,
              help="Approve every session there is now (not those recorded later).")
@json_option
def approve(sessions, everything, as_json):
    """Approve sessions for 'git ot push'; nothing is pushed until approved.

    Approval is local to this clone (.git/opentraces/approved) and is never pushed.
    """
    if not sessions and not everything:
        raise click.UsageError("name the sessions to approve, or give --all")
    if sessions and everything:
        raise click.UsageError("give either SESSION arguments or --all, not both")
    result = share.approve(open_store(seal=True), list(sessions), everything)
    if as_json:
        emit_json(result)
        return
    for sid in result["approved"]:
        emit(f"approved {sid}")
    for sid in result["already"]:
        emit(f"already approved {sid}")
