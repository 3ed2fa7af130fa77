"""`git ot snapshot`: plumbing, a tree of the working tree."""

from __future__ import annotations

import click

from ..domain.opening import take_snapshot
from .main import json_option
from .output import emit, emit_json


@click.command()
@json_option
def snapshot(as_json):
    """Plumbing: write a tree of the working tree and print its id.

    Touches neither the index, HEAD nor any branch (compare 'git stash create').
    """
    tree = take_snapshot()
    if as_json:
        emit_json({"tree": tree})
    else:
        emit(tree)
