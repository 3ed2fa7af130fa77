"""`git ot version`: git-ot's version and those of git, Python and the harnesses."""

from __future__ import annotations

import click

from ..domain.versions import versions
from .main import json_option
from .output import emit, emit_json


@click.command()
@json_option
def version(as_json):
    """Show the versions of git-ot, git, Python and the coding agents found.

    Each harness's program (claude, codex, pi) is asked with '--version' if
    it is on PATH; one that is missing says 'not found', one that fails or
    takes more than 5 seconds says 'unknown'. The command never fails.
    """
    result = versions()
    found = result.pop("found")
    if as_json:
        emit_json(result)
        return
    rows = [("git-ot", result["git-ot"]), ("git", result["git"] or "not found"),
            ("python", result["python"])]
    for name, ver in result["harnesses"].items():
        rows.append((name, ver or ("unknown" if found[name] else "not found")))
    width = max(len(name) for name, _ in rows)
    for name, ver in rows:
        emit(f"{name.ljust(width)}  {ver}")
