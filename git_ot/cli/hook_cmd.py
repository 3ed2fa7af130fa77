"""`git ot hook SOURCE [EVENT]`: the plumbing the installed hooks call.

A hook run as a program takes git_ot/__main__.py's fast path, without
click; this command is its help, and the same call made through click.
"""

from __future__ import annotations

import click


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("source")
@click.argument("event", required=False)
def hook(source, event):
    """Plumbing: record one hook event; the payload is read on stdin.

    Called by the hooks git-ot installs (SOURCE is 'claude-code', 'codex', 'pi'
    or 'git'; 'seal' for a background seal of the session EVENT names, 'drain'
    to spool and seal what the hooks left in the inbox).
    Always exits 0: a failure is logged to .git/opentraces/log.
    """
    from ..capture.hook import main as hook_main

    raise SystemExit(hook_main([source] + ([event] if event else [])))
