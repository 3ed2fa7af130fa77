"""`git ot import <harness> [FILES|DIRS]`: build sessions from transcript files."""

from __future__ import annotations

import contextlib

import click

from ..capture import registry
from ..domain import importing
from ..domain.opening import open_store
from .main import json_option
from .output import emit, emit_json
from .progress import shown as progress_shown

# A progress bar only pays for itself past a few files.
PROGRESS_MIN_FILES = 4


@click.command("import")
@click.argument("harness", metavar="HARNESS")
@click.argument("paths", nargs=-1, metavar="PATH")
@click.option("-j", "--jobs", type=int, default=None, metavar="N",
              help="seal sessions, and examine commits, in N processes at once "
                   "(default: one per CPU, at most 8)")
@json_option
def import_(harness, paths, jobs, as_json):
    """Build sessions from a harness's transcript files.

    HARNESS is 'claude-code', 'codex' or 'pi'. Each PATH is a transcript
    (session, rollout) file or a folder of them; without one, this
    repository's folder under ~/.claude/projects/ (or
    $CLAUDE_CONFIG_DIR/projects/), for pi under ~/.pi/agent/sessions/ (or
    $PI_CODING_AGENT_DIR/sessions/), is imported, and for codex the rollouts
    under ~/.codex/sessions/ (or $CODEX_HOME/sessions/) that ran in this
    repository or a checkout of it. A
    session captured live, or imported before, is merged into, never
    duplicated. Then the commits of HEAD made since the imported work began
    that have no note and took some of it get the note the hooks would have
    written (as 'git ot anchor' recomputes it). Both are done by --jobs
    processes at once.
    """
    # With --json, standard error stays empty as well: the output is data.
    with (contextlib.nullcontext() if as_json else progress_shown("importing", PROGRESS_MIN_FILES)) as progress:
        result = importing.import_transcripts(open_store(),
                                              registry.get(harness, "import", "import transcripts of"),
                                              list(paths), progress=progress, jobs=jobs)
    if as_json:
        emit_json(result)
        return
    for s in result["sessions"]:
        skipped = sum(s["skipped"].values())
        why = ", ".join(f"{n} {reason}" for reason, n in s["skipped"].items())
        line = (f"{s['session']}: {s['lines']} lines: {s['steps']} as steps, "
                f"{s['kept_raw']} kept raw, {skipped} skipped" + (f" ({why})" if why else ""))
        if not s["changed"]:
            line += "; nothing new"
        elif s["merged_into_live"]:
            line += "; merged into the live capture"
        emit(line)
    emit(f"{result['files']} file{'s' if result['files'] != 1 else ''}, {result['bytes']} bytes, "
         f"{len(result['sessions'])} session{'s' if len(result['sessions']) != 1 else ''}")
    others = result.get("other_projects") or []
    if others:
        n = len(others)
        emit(f"skipped {n} session{'s' if n != 1 else ''} of other projects (run elsewhere, from "
             "commits this repository does not have): " + ", ".join(o["session"] for o in others))
    if result["anchored"]:
        n = len(result["anchored"])
        emit(f"anchored {n} commit{'s' if n != 1 else ''}: " + " ".join(c[:12] for c in result["anchored"]))

