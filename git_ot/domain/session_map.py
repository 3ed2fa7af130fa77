"""`git ot trace map`: a long session in a few lines.

Under each prompt, the steps it led to are cut into segments: a burst is a
run of consecutive edit steps (tool steps whose patch changed a file),
with the files they changed, the commits that took their lines and the
survival of their hunks at HEAD; the tool steps between bursts (reads,
shell runs that changed nothing, the rest) are collapsed into counts.
Messages and subagent starts do not cut a run.
"""

from __future__ import annotations

from ..store.repository import Store
from .fold import expand
from .sessions import resolve, summary

# Tool names (of every harness) that only read, and those that run a shell.
READ_TOOLS = frozenset({"Read", "Grep", "Glob", "LS", "NotebookRead", "WebFetch", "WebSearch",
                        "read", "grep", "find", "ls", "read_file", "list_dir", "view_image"})
SHELL_TOOLS = frozenset({"Bash", "BashOutput", "KillShell", "bash", "shell", "exec_command",
                         "local_shell", "shell_command", "write_stdin"})


def tool_class(name: str | None) -> str:
    """`read`, `shell` or `other`, for a tool step that changed no file."""
    if name in READ_TOOLS:
        return "read"
    if name in SHELL_TOOLS:
        return "shell"
    return "other"


def session_map(store: Store, spec: str) -> dict:
    """The prompts of a session, each with its bursts of edits and the
    counts of the other tool steps between them."""
    sid = resolve(store, spec)
    tree = store.session(sid)
    trace = tree.record("trace")
    trail = tree.record("trail")
    patches = {p["step"]: p for p in trail["patches"] if p.get("files")}
    commits: dict[int, list[str]] = {}
    for a in trail["anchors"]:
        if isinstance(a.get("commit"), str) and isinstance(a.get("step"), int):
            got = commits.setdefault(a["step"], [])
            if a["commit"] not in got:
                got.append(a["commit"])
    states = _states(store, sid) if patches else {}

    prompts: list[dict] = []
    group = None
    for step in trace["steps"]:
        kind, n = step["kind"], step["n"]
        if kind == "prompt" and not step.get("parent"):
            group = {"step": n, "t": step.get("t"), "text": _text(expand(store, sid, step.get("text"))),
                     "messages": 0, "segments": []}
            prompts.append(group)
            continue
        if group is None:  # steps before the first prompt (a resumed or hook-less session)
            group = {"step": None, "t": None, "text": None, "messages": 0, "segments": []}
            prompts.append(group)
        if kind == "message":
            group["messages"] += 1
        if kind != "tool":
            continue
        segments = group["segments"]
        if n in patches:
            if not segments or segments[-1]["kind"] != "burst":
                segments.append({"kind": "burst", "steps": [], "files": [], "commits": [], "states": {}})
            _add_edit(segments[-1], n, patches[n], commits.get(n, []), states.get(n, {}))
        else:
            if not segments or segments[-1]["kind"] != "tools":
                segments.append({"kind": "tools", "steps": [], "read": 0, "shell": 0, "other": 0})
            segments[-1]["steps"].append(n)
            segments[-1][tool_class(step.get("name"))] += 1
    for g in prompts:
        for seg in g["segments"]:
            if seg["kind"] == "burst":
                seg["states"] = dict(sorted(seg["states"].items()))
    return {"session": summary(store, sid), "prompts": prompts}


def _add_edit(burst: dict, n: int, patch: dict, commits: list[str], states: dict) -> None:
    burst["steps"].append(n)
    files = {f["path"]: f for f in burst["files"]}
    for f in patch["files"]:
        path = f.get("path")
        if path not in files:
            files[path] = {"path": path, "added": 0, "removed": 0}
            burst["files"].append(files[path])
        files[path]["added"] += f.get("added") or 0
        files[path]["removed"] += f.get("removed") or 0
    for c in commits:
        if c not in burst["commits"]:
            burst["commits"].append(c)
    for state, count in states.items():
        burst["states"][state] = burst["states"].get(state, 0) + count


def _text(value) -> str | None:
    return value if isinstance(value, str) or value is None else str(value)


def _states(store: Store, sid: str) -> dict[int, dict[str, int]]:
    """Per step, how many of its hunks are in each survival state at HEAD."""
    from .trail.track import track

    out: dict[int, dict[str, int]] = {}
    for s in track(store, [sid])["sessions"]:
        for h in s["hunks"]:
            counts = out.setdefault(h["step"], {})
            counts[h["state"]] = counts.get(h["state"], 0) + 1
    return out
