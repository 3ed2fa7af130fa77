"""`git ot watch`: record every change of the working tree as a snapshot."""

from __future__ import annotations

import json
import sys

import click

from ..domain.opening import locate_repository
from .main import json_option
from .output import emit, emit_json


@click.command()
@json_option
def watch(as_json):
    """Record every change of the working tree as a snapshot, until stopped.

    Runs in the foreground. Each burst of changes (files git does not
    ignore; never .git) becomes one snapshot, appended with its time to
    .git/opentraces/watch.jsonl when the tree changed; a burst made while
    git holds the index lock (a checkout) is one snapshot. SIGTERM or
    Ctrl-C records what changed since the last snapshot and exits 0.
    """
    from ..capture.watcher import watch as run_watcher

    def ready(info):
        if as_json:
            sys.stdout.write(json.dumps({"watching": info}) + "\n")
            sys.stdout.flush()
        else:
            emit(f"watching {info['worktree']} (pid {info['pid']})")

    result = run_watcher(locate_repository(), ready=ready)
    if as_json:
        emit_json(result)
        return
    emit(f"recorded {result['recorded']} change(s) in {result['snapshots']} snapshot(s) "
         f"of {result['bursts']} burst(s); {result['ignored']} burst(s) touched only ignored files")
