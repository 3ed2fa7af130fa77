"""`git ot trace list`, `show`, `query` and `map`: the captured sessions and their steps."""

from __future__ import annotations

import click

from ..domain import query as query_domain
from ..store.refs import abbreviate
from .main import json_option
from . import output
from .output import emit, emit_json, one_line, table


@click.group()
def trace():
    """List, show, search and map captured sessions and their steps."""


@trace.command("list")
@json_option
def trace_list(as_json):
    """List sessions, newest first.

    Shows each session's id, harness, model, start, steps, files touched and
    commits anchored.
    """
    from ..domain import sessions
    from ..domain.opening import open_store

    rows = sessions.list_sessions(open_store(seal=True))
    if as_json:
        emit_json({"sessions": rows})
        return
    if not rows:
        emit("no sessions")
        return
    # On a terminal: the shortest unambiguous ids, times to the second.
    fit = output.width()
    shorts = abbreviate([r["session"] for r in rows]) if fit is not None else {}
    body = [[shorts.get(r["session"], r["session"][:12]), r["harness"], ",".join(r["models"]) or "-",
             (output.seconds(r["start"]) if fit is not None else r["start"]) or "-",
             str(r["steps"]), str(r["files"]), str(r["commits"])] for r in rows]
    output.page()
    emit(table(body, ["SESSION", "HARNESS", "MODEL", "START", "STEPS", "FILES", "COMMITS"],
               right={4, 5, 6}, colors={0: lambda _: "yellow"}, fit=fit, shrink=2))


@trace.command("show")
@click.argument("spec", metavar="SESSION[:STEP]")
@json_option
def trace_show(spec, as_json):
    """Show a session's steps in order, or one step in full.

    SESSION may be any unique prefix of a session id.
    """
    from ..domain import sessions
    from ..domain.opening import open_store

    result = sessions.show(open_store(seal=True), spec)
    if as_json:
        emit_json(result)
        return
    s = result["session"]
    fit = output.width()
    output.page()
    emit(output.paint(f"session {s['session']}", "yellow"))
    start = output.seconds(s["start"]) if fit is not None else s["start"]
    emit(output.fields([f"harness {s['harness']}", f"model {','.join(s['models']) or '-'}",
                        f"start {start or '-'}", f"steps {s['steps']}", f"files {s['files']}"], fit))
    if s["continues"]:
        emit(f"continues session {s['continues']} (after a /clear)")
    if "step" in result:
        _show_step(result["step"])
        return
    for step in result["steps"]:
        emit(_step_line(step, fit))


# The input field that says what a tool was asked to do, for a tool that
# changed no file: a shell command, else the file, pattern or address.
TOOL_SUMMARY_KEYS = ("command", "file_path", "notebook_path", "path", "pattern", "url", "query")


def _step_line(step: dict, fit: int | None = None) -> str:
    """One step on one line: a tool with its change, or what it was asked
    (a Bash command, whole when piped); a prompt or message cut to 72
    columns; on a terminal, each cut to what the width leaves."""
    n, kind = step["n"], step["kind"]
    indent = "  " if step.get("parent") else ""
    lead = f"{n:>5}  {indent}{kind:<10} "
    room = 72 if fit is None else max(fit - len(lead), 16)
    if kind == "tool":
        what = step["name"]
        files = step.get("patch", {}).get("files", [])
        change = " ".join(f"{f['path']} +{f['added']} -{f['removed']}" for f in files)
        detail = f"{what} {step['status']}"
        if change:
            detail += f"  {change}"
        else:
            given = step.get("input")
            asked = next((given[k] for k in TOOL_SUMMARY_KEYS
                          if isinstance(given, dict) and isinstance(given.get(k), str) and given[k]), None)
            if asked:  # whole when piped, like a prompt's text cut on a terminal
                asked = one_line(asked, len(asked))
                detail += "  " + (asked if fit is None else output.cut(asked, max(room - len(detail) - 2, 16)))
        if fit is not None:
            detail = output.cut(detail, room)
    elif kind in ("prompt", "message"):
        detail = one_line(step.get("text"), room)
    elif kind == "subagent":
        detail = f"{step.get('agent_type') or 'agent'} {step.get('agent_id') or ''}".strip()
    else:
        detail = step.get("trigger") or ""
    return f"{lead}{detail}".rstrip()


def _show_step(step: dict) -> None:
    import json

    emit(_step_line(step))
    for key in ("input", "output", "text"):
        if key in step:
            value = step[key]
            emit(f"{key}:")
            text = value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)
            for line in text.splitlines():
                emit("    " + line)
    patch = step.get("patch")
    if patch:
        if patch.get("source") == "transcript":
            emit("patch: from the transcript (no snapshots)")
        else:
            emit(f"patch: {patch['before']} -> {patch['after']}")
        for f in patch["files"]:
            emit(f"    {f['status']} {f['path']} +{f['added']} -{f['removed']}")


# A bar for the index's update only when it reads this many sessions (the first query).
QUERY_PROGRESS_MIN = 50


@trace.command("query")
@click.argument("text", metavar="TEXT")
@click.option("--since", metavar="WHEN",
              help="Only sessions started since WHEN: an age ('7d', '2w', '24h', '30m') or an "
                   "ISO 8601 date or time.")
@click.option("--harness", metavar="NAME", help="Only sessions of this harness ('claude-code', 'codex', 'pi').")
@click.option("--path", "path", metavar="GLOB",
              help="Only sessions that changed a file whose path matches GLOB ('*' matches '/' too).")
@click.option("--state", "state", metavar="STATE", type=click.Choice(query_domain.STATES),
              help="Only sessions with a hunk in this survival state at HEAD (see 'git ot track').")
@click.option("--limit", metavar="N", type=click.IntRange(min=1), default=20, show_default=True,
              help="At most N sessions.")
@json_option
def trace_query(text, since, harness, path, state, limit, as_json):
    """Find the sessions whose text matches TEXT, best first.

    Searches prompts, assistant messages, tool inputs and outputs, the paths
    of changed files and the messages of the commits that took the work.
    TEXT is words (all must match), "quoted phrases", prefix* terms and
    -words to leave out, with AND, OR, NOT and parentheses as SQLite FTS5
    reads them. Prompts weigh most in the ranking, tool outputs least.
    """
    from .progress import shown as progress_shown

    with progress_shown("indexing sessions", QUERY_PROGRESS_MIN) as progress:
        result = query_domain.query(text, since=since, harness=harness, path=path,
                                    state_filter=state, limit=limit, progress=progress)
    if as_json:
        emit_json(result)
        return
    if not result["sessions"]:
        emit("no matches")
        return
    fit = output.width()
    output.page()
    for s in result["sessions"]:
        start = (output.seconds(s["start"]) if fit is not None else s["start"]) or "-"
        head = output.fields([f"session {s['session']}", s["harness"] or "-", f"start {start}",
                              f"score {s['score']:.2f}",
                              f"{s['matches']} match{'es' if s['matches'] != 1 else ''}"], fit)
        emit(head.replace(f"session {s['session']}", f"session {output.paint(s['session'], 'yellow')}", 1))
        for m in s["steps"]:
            emit(_match_line(m, fit))


def _match_line(m: dict, fit: int | None) -> str:
    """A matching step: where, what matched (a tool's name and which of its
    fields), and the snippet."""
    if m["step"] is None:
        lead, label = m["name"][:8], "commit"
    else:
        lead = f"step {m['step']}"
        label = f"{m['name'] or '?'} {m['field']}" if m["kind"] == "tool" else m["kind"]
    line = f"  {lead:<10} {label}: "
    snippet = m["snippet"] if fit is None else output.cut(m["snippet"], max(fit - len(line), 16))
    return (line + snippet).rstrip()


@trace.command("map")
@click.argument("spec", metavar="SESSION")
@click.option("--bursts", is_flag=True,
              help="A line per burst of edits and per run of other tool steps, not one per prompt.")
@json_option
def trace_map(spec, bursts, as_json):
    """Show a session on one screen: its prompts and what each led to.

    Under each prompt: the bursts of consecutive edit steps, with the files
    they changed, the commits that took them and the survival of their
    hunks at HEAD; reads, shell runs and other tool steps collapsed into
    counts. SESSION may be any unique prefix of a session id.
    """
    from ..domain import session_map
    from ..domain.opening import open_store

    result = session_map.session_map(open_store(seal=True), spec)
    if as_json:
        emit_json(result)
        return
    fit = output.width()
    output.page()
    s = result["session"]
    emit(output.paint(f"session {s['session']}", "yellow"))
    start = output.seconds(s["start"]) if fit is not None else s["start"]
    emit(output.fields([f"harness {s['harness']}", f"model {','.join(s['models']) or '-'}",
                        f"start {start or '-'}", f"steps {s['steps']}", f"files {s['files']}",
                        f"commits {s['commits']}"], fit))
    for p in result["prompts"]:
        emit("")
        lead = f"step {p['step']:<4} " if p["step"] is not None else "before the first prompt"
        room = 72 if fit is None else max(fit - len(lead), 16)
        emit((lead + (one_line(p["text"], room) if p["step"] is not None else "")).rstrip())
        lines = [_segment_line(seg) for seg in p["segments"]] if bursts else _prompt_lines(p)
        for line in lines:
            emit("  " + (line if fit is None else output.cut(line, max(fit - 2, 16))))


def _steps(steps: list[int]) -> str:
    return f"step {steps[0]}" if len(steps) == 1 else f"steps {steps[0]}-{steps[-1]}"


def _files(files: list[dict]) -> str:
    return ", ".join(f"{f['path']} +{f['added']} -{f['removed']}" for f in files)


def _counts(seg: dict) -> str:
    return ", ".join(f"{seg[k]} {k}" for k in ("read", "shell", "other") if seg[k])


def _taken(commits: list[str], states: dict) -> str:
    out = ""
    if commits:
        out += " -> " + " ".join(c[:8] for c in commits)
    else:
        out += " -> not committed"
    if states:
        out += " (" + ", ".join(f"{k} {v}" for k, v in states.items()) + ")"
    return out


def _segment_line(seg: dict) -> str:
    """One burst or run of other tool steps (`--bursts`)."""
    head = f"{_steps(seg['steps']):<12} "
    if seg["kind"] == "burst":
        return head + "edit  " + _files(seg["files"]) + _taken(seg["commits"], seg["states"])
    return head + "tools " + _counts(seg)


def _prompt_lines(p: dict) -> list[str]:
    """A prompt's segments summed up: its edits in one line, the rest in another."""
    bursts = [seg for seg in p["segments"] if seg["kind"] == "burst"]
    runs = [seg for seg in p["segments"] if seg["kind"] == "tools"]
    lines = []
    if bursts:
        files: dict[str, dict] = {}
        commits: list[str] = []
        states: dict[str, int] = {}
        steps = 0
        for seg in bursts:
            steps += len(seg["steps"])
            for f in seg["files"]:
                got = files.setdefault(f["path"], {"path": f["path"], "added": 0, "removed": 0})
                got["added"] += f["added"]
                got["removed"] += f["removed"]
            commits += [c for c in seg["commits"] if c not in commits]
            for k, v in seg["states"].items():
                states[k] = states.get(k, 0) + v
        lines.append(f"edit  {steps} step{'s' if steps != 1 else ''} in {len(bursts)} "
                     f"burst{'s' if len(bursts) != 1 else ''}: {_files(list(files.values()))}"
                     + _taken(commits, dict(sorted(states.items()))))
    if runs:
        total = {k: sum(seg[k] for seg in runs) for k in ("read", "shell", "other")}
        lines.append("tools " + _counts(total))
    if not lines:
        lines.append("no tool steps")
    return lines
