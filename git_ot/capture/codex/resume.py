"""Resuming a session in Codex from a step: a new rollout.

Codex keeps a thread in `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<id>.jsonl`,
a `session_meta` line naming it, then `response_item` lines in the shape
of the Responses API. `codex resume <id>` looks the thread up in
`$CODEX_HOME/state_5.sqlite` first, then by the file's name; `write` makes
the rollout of a step's context (domain/ctx.py) and, when that database
exists, the thread's row in it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import tomllib
import uuid

from ..claude_code.resume import at, system_turn
from .config import codex_home

HARNESS = "codex"
TOOLS = frozenset({"exec_command", "apply_patch", "write_stdin", "update_plan", "view_image", "shell"})


def write(ctx: dict, cwd: str, env=os.environ) -> dict:
    """Write a new Codex thread holding `ctx`'s messages, run in `cwd`; what
    resumes it, and what could not be carried."""
    home = codex_home(env)
    thread = str(uuid.uuid4())
    now = time.time()
    day = time.gmtime(now)
    folder = os.path.join(home, "sessions", time.strftime("%Y", day), time.strftime("%m", day),
                          time.strftime("%d", day))
    os.makedirs(folder, exist_ok=True)
    provider = _provider(home)
    items, dropped, first_prompt = response_items(ctx)
    stamp = _iso(now)
    meta = {"id": thread, "session_id": thread, "timestamp": stamp, "cwd": cwd, "originator": "codex_exec",
            "cli_version": (ctx.get("info") or {}).get("harness_version") or "",
            "source": "exec", "model_provider": provider}
    lines = [{"timestamp": stamp, "type": "session_meta", "payload": meta}]
    lines += [{"timestamp": stamp, "type": "response_item", "payload": item} for item in items]
    path = os.path.join(folder, f"rollout-{time.strftime('%Y-%m-%dT%H-%M-%S', day)}-{thread}.jsonl")
    tmp = os.path.join(folder, f".{thread}.jsonl.tmp")
    with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as f:
        for line in lines:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    os.replace(tmp, path)  # never a half-written rollout under its name
    _register(home, thread, path, now, provider, cwd, first_prompt, meta["cli_version"])
    return {"harness": HARNESS, "session": thread, "cwd": cwd,
            "command": f"codex resume {thread}", "file": path, "dropped": dropped}


def response_items(ctx: dict) -> tuple[list[dict], list[str], str]:
    """The Responses API items of `ctx`'s messages; what was not carried; the first prompt."""
    items: list[dict] = []
    dropped: list[str] = []
    custom: set = set()
    first = ""
    last_text = None
    # A Codex session's calls, as its hooks named them, go back as Codex made them.
    native = (ctx.get("info") or {}).get("harness") == HARNESS
    for item in ctx["messages"]:
        message = item["message"]
        last_text = None
        if message.get("role") == "system":
            dropped.append(system_turn(item))
            continue
        for block in message["content"]:
            kind = block.get("type")
            if kind == "text":
                role = "user" if message["role"] == "user" else "assistant"
                part = {"type": "input_text" if role == "user" else "output_text", "text": block.get("text", "")}
                if items and items[-1] is last_text and last_text["role"] == role:
                    last_text["content"].append(part)  # one message's words are one item
                else:
                    last_text = {"type": "message", "role": role, "content": [part]}
                    items.append(last_text)
            elif kind in ("thinking", "redacted_thinking"):
                # Codex sends back only its own encrypted reasoning.
                dropped.append(f"a thinking block{at(item)} (Codex takes back only its own "
                               "encrypted reasoning)")
            elif kind == "tool_use":
                name, arguments = block.get("name"), block.get("input")
                if native:
                    name, arguments = codex_call(name, arguments)
                if name not in TOOLS:
                    dropped.append(f"the tool '{name}' (Codex lacks it; its past calls are kept as history)")
                if isinstance(arguments, str):
                    custom.add(block.get("id"))
                    items.append({"type": "custom_tool_call", "name": name, "input": arguments,
                                  "call_id": block.get("id")})
                else:
                    items.append({"type": "function_call", "name": name, "call_id": block.get("id"),
                                  "arguments": json.dumps(arguments if arguments is not None else {},
                                                          ensure_ascii=False)})
            elif kind == "tool_result":
                content = block.get("content")
                if isinstance(content, dict) and isinstance(content.get("content"), list):
                    content = content["content"]
                if isinstance(content, list):
                    content = "\n".join(b.get("text", "") for b in content if isinstance(b, dict))
                elif not isinstance(content, str):
                    content = json.dumps(content, ensure_ascii=False)
                items.append({"type": "custom_tool_call_output" if block.get("tool_use_id") in custom
                              else "function_call_output", "call_id": block.get("tool_use_id"),
                              "output": content})
    for item in items:
        if item.get("role") == "user" and not first:
            first = item["content"][-1]["text"]  # the prompt, after what the harness put before it
    return items, sorted(set(dropped), key=dropped.index), first


def codex_call(name, arguments) -> tuple:
    """A tool call as Codex's hooks name it (capture/codex/rollout.py,
    `tool_call`), as Codex made it: apply_patch's patch as its freeform
    input, the shell (`Bash`) as `exec_command` with its `cmd`."""
    if not isinstance(arguments, dict) or not isinstance(arguments.get("command"), str):
        return name, arguments
    rest = {k: v for k, v in arguments.items() if k != "command"}
    if name == "apply_patch" and not rest:
        return name, arguments["command"]
    if name == "Bash":
        return "exec_command", {"cmd": arguments["command"], **rest}
    return name, arguments


def _provider(home: str) -> str:
    """The model provider Codex is configured with: a thread names it, and
    Codex resumes only a thread whose provider it knows."""
    try:
        with open(os.path.join(home, "config.toml"), "rb") as f:
            value = tomllib.load(f).get("model_provider")
    except (OSError, tomllib.TOMLDecodeError):
        value = None
    return value if isinstance(value, str) and value else "openai"


def _register(home: str, thread: str, path: str, now: float, provider: str, cwd: str,
              first_prompt: str, version: str) -> None:
    """The thread's row in Codex's state database, when it has one."""
    db = os.path.join(home, "state_5.sqlite")
    if not os.path.exists(db):
        return  # Codex finds the rollout by its name, and makes the database itself
    with sqlite3.connect(db, timeout=10) as conn:
        conn.execute(
            "INSERT INTO threads (id, rollout_path, created_at, updated_at, source, model_provider, cwd,"
            " title, sandbox_policy, approval_mode, has_user_event, cli_version, first_user_message,"
            " preview) VALUES (?, ?, ?, ?, 'exec', ?, ?, ?, ?, ?, 1, ?, ?, ?)",
            (thread, path, int(now), int(now), provider, cwd, first_prompt[:80],
             json.dumps({"type": "danger-full-access"}), "never", version, first_prompt, first_prompt[:80]))


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"
