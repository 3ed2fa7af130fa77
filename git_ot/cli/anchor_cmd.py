"""`git ot anchor [REV-RANGE]`: write the notes of commits the hooks did not anchor."""

from __future__ import annotations

import click

from ..domain import parallel
from ..domain.opening import open_store
from ..domain.trail import recompute
from .main import json_option
from .output import emit, emit_json
from .progress import shown as progress_shown

# A progress bar only pays for itself past this many commits.
PROGRESS_MIN_COMMITS = 20


@click.command()
@click.argument("rev_range", metavar="REV-RANGE", required=False)
@click.option("--dry-run", is_flag=True, help="Show what would be anchored; write nothing.")
@click.option("-j", "--jobs", type=int, default=None, metavar="N",
              help="examine commits in N processes at once (default: one per CPU, at most 8)")
@json_option
def anchor(rev_range, dry_run, jobs, as_json):
    """Recompute and write the notes of commits that have none.

    A commit made where git-ot's hooks did not run (a squash or rebase merge
    on a server, a rebase on another machine, commits made before 'git ot
    init' or after 'git ot uninstall') is anchored as the hooks would have
    anchored it. REV-RANGE is what 'git log' takes (default: HEAD's commits
    made since the first agent write window git-ot knows of). A note that
    exists is never replaced, unless it is damaged (not valid JSON
    Lines): that one is written again.
    """
    jobs = parallel.check_jobs(jobs)
    with progress_shown("anchoring", PROGRESS_MIN_COMMITS) as progress:
        result = recompute.anchor_range(open_store(), rev_range, dry_run=dry_run,
                                        progress=progress, jobs=jobs)
    if as_json:
        emit_json(result)
        return
    verb = "would anchor" if dry_run else "anchored"
    for row in result["anchored"]:
        source = ""
        if row["source"]:
            source = f" ({row['source']['kind']} of {', '.join(c[:12] for c in row['source']['commits'])})"
        emit(f"{verb} {row['commit'][:12]}: agent {row['agent']}, unattributed {row['unattributed']}, "
             f"human {row['human']}{source}")
    n = len(result["anchored"])
    emit(f"{result['examined']} commit{'s' if result['examined'] != 1 else ''} examined: "
         f"{result['noted']} already noted, {n} {verb}, {len(result['unknown'])} unknown")
