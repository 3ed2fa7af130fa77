"""`git ot status`: is git-ot set up here, and what to fix when it is not."""

from __future__ import annotations

import time

import click

from ..capture import registry
from ..domain.opening import locate_repository
from ..domain.status import status as get_status
from .main import json_option
from . import output
from .output import emit, emit_json


@click.command()
@json_option
def status(as_json):
    """Show whether git-ot is set up here and what keeps it from capturing.

    Reports the git hooks 'git ot init' installs, where each coding agent
    runs git-ot, the sessions sealed, waiting in the spool or held back by
    the security gate, and the sharing remote; then one 'problem:' line per
    thing to fix, each with a 'hint:'. Writes nothing and needs no network.
    """
    result = get_status(locate_repository(), [registry.find(n) for n in registry.names()])
    if as_json:
        emit_json(result)
        return
    for line in render(result):
        if line.startswith("problem:"):  # in red, where colour is on
            line = output.paint("problem:", "red") + line[len("problem:"):]
        emit(line)


def render(result: dict) -> list[str]:
    out = []
    if not result["set_up"]:
        out += ["git-ot is not set up in this repository", ""]
    hooks = result["hooks"]
    out.append(f"git hooks in {hooks['hooks_dir']}")
    width = max(len(h) for h in hooks["hooks"])
    for hook, info in hooks["hooks"].items():
        line = f"  {hook.ljust(width)}  {info['state']}"
        if info["chained"]:
            line += f", runs {info['chained']} first"
        out.append(line)
    out += ["", "harnesses"]
    width = max((len(s["scope"]) for h in result["harnesses"] for s in h["scopes"]), default=0)
    name_width = max((len(h["harness"]) for h in result["harnesses"]), default=0)
    for harness in result["harnesses"]:
        for scope in harness["scopes"]:
            head = f"  {harness['harness'].ljust(name_width)}  {scope['scope'].ljust(width)}  "
            if scope["error"]:
                out.append(head + "unreadable")
            elif scope["wired"]:
                n, total = len(scope["events"]), len(scope["events"]) + len(scope["missing"])
                out.append(head + f"{n} of {total} events, in {scope['settings']}")
            else:
                out.append(head + "not wired")
    sessions = result["sessions"]
    share = result["sharing"]
    remote = share["remote"] or "none"
    if share["remote"] and share["url"]:
        remote += f" ({share['url']})"
    out += ["", "sessions",
            f"  sealed        {sessions['sealed']}",
            f"  pending seal  {sessions['pending']}",
            f"  held back     {len(sessions['blocked'])}",
            "", "telemetry",
            f"  receiver      {_receiver(result['telemetry']['receiver'])}",
            f"  held          {_held(result['telemetry'])}",
            "", "watcher",
            f"  working tree  {_watcher(result['watcher'])}",
            "", "sharing",
            f"  remote        {remote}",
            f"  not approved  {share['not_approved']}", ""]
    if not result["problems"]:
        out.append("no problems found")
    for p in result["problems"]:
        out += [f"problem: {p['problem']}", f"hint: {p['hint']}"]
    return out


def _receiver(info) -> str:
    if info is None:
        return "not running"
    return (f"running (pid {info['pid']}, grpc {info['bind']}:{info['grpc_port']}, "
            f"http {info['bind']}:{info['http_port']})")


def _held(info: dict) -> str:
    line = f"{info['held']} session(s) not known here"
    if info["held"]:
        line += f", {info['held_records']} record(s)"
        if info["held_since"] is not None:
            line += f", the oldest {_age(time.time() - info['held_since'])} old"
        if info["held_max_age"] is not None:
            line += f"; deleted {_age(info['held_max_age'])} after a session's last record"
    return line


def _age(seconds: float) -> str:
    """`45s`, `12m`, `3h`, `2d`: the largest unit the age has whole."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _watcher(info) -> str:
    if info is None:
        return "not running"
    return f"running (pid {info['pid']})"
