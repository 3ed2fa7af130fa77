"""`git ot fsck`: check every session, spool file and note; say how to repair each."""

from __future__ import annotations

import click

from ..domain.fsck import fsck as fsck_domain
from ..domain.opening import open_store
from .main import json_option
from .output import emit, emit_json


@click.command()
@json_option
@click.pass_context
def fsck(ctx, as_json):
    """Check every session, spool file and note, and say how to repair what is damaged.

    Every session ref must point at a commit whose records decode and have
    the right shape; every spool file must belong to a session and hold
    events; every note on refs/notes/opentraces must be valid JSON Lines;
    every record of a dataset's rows and of the ratings must decode.
    Nothing is changed. Each problem comes with the command that repairs or
    forgets it. Exits 1 when it finds damage, as 'git fsck' exits non-zero.
    """
    result = fsck_domain(open_store())
    problems = result["problems"]
    if as_json:
        emit_json(result)
    else:
        for p in problems:
            emit(f"damaged {p['kind']} {p['name']}: {p['problem']}")
            emit(f"  repair: {p['repair']}")
        c = result["checked"]
        emit(f"checked {c['sessions']} session{'s' if c['sessions'] != 1 else ''}, "
             f"{c['spool_files']} spool file{'s' if c['spool_files'] != 1 else ''}, "
             f"{c['notes']} note{'s' if c['notes'] != 1 else ''}"
             + (f", {c['entities']} dataset or ratings ref{'s' if c['entities'] != 1 else ''}"
                if c["entities"] else "") + ": "
             + (f"{len(problems)} problem{'s' if len(problems) != 1 else ''}" if problems else "no damage"))
    if problems:
        ctx.exit(1)
