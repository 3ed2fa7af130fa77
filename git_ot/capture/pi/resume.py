"""Resuming a session in Pi from a step: a new version 3 session file.

Pi keeps a session in `<agent dir>/sessions/--<cwd>--/<time>_<id>.jsonl`:
a header line (`{"type": "session", "version": 3, "id", "timestamp",
"cwd", "parentSession"}`), then entries linked by `id` and `parentId`.
`write` makes one holding the messages of a step's context (domain/ctx.py)
as one branch, so `pi --session <id>` continues from exactly there.
"""

from __future__ import annotations

import json
import os
import time
import uuid

from ..claude_code.resume import at, system_turn
from .transcript import default_folder

HARNESS = "pi"
TOOLS = frozenset({"read", "write", "edit", "bash", "grep", "find", "ls"})


def write(ctx: dict, cwd: str, env=os.environ) -> dict:
    """Write a new Pi session holding `ctx`'s messages, run in `cwd`; what
    resumes it, and what could not be carried."""
    session = str(uuid.uuid4())
    now = time.time()
    stamp = _iso(now)
    folder = default_folder(cwd, env)
    os.makedirs(folder, exist_ok=True)
    header = {"type": "session", "version": 3, "id": session, "timestamp": stamp, "cwd": cwd,
              "parentSession": ctx["session"]}
    entries, dropped = session_entries(ctx, now)
    name = stamp.replace(":", "-").replace(".", "-") + f"_{session}.jsonl"
    path = os.path.join(folder, name)
    tmp = os.path.join(folder, f".{session}.jsonl.tmp")
    with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as f:
        for line in [header, *entries]:
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
    os.replace(tmp, path)  # never a half-written session under its name
    return {"harness": HARNESS, "session": session, "cwd": cwd,
            "command": f"pi --session {session}", "file": path, "dropped": dropped}


def session_entries(ctx: dict, now: float) -> tuple[list[dict], list[str]]:
    """The entries of one branch holding `ctx`'s messages; what was not carried."""
    info = ctx.get("info") or {}
    model = info.get("model") or "unknown"
    messages: list[dict] = []
    dropped: list[str] = []
    for item in ctx["messages"]:
        message = item["message"]
        ms = int(now * 1000) - len(ctx["messages"]) + len(messages)
        last_user = None
        if message.get("role") == "system":
            dropped.append(system_turn(item))
            continue
        if message["role"] == "assistant":
            content = []
            for block in message["content"]:
                kind = block.get("type")
                if kind == "text":
                    content.append({"type": "text", "text": block.get("text", "")})
                elif kind == "thinking":
                    # Pi holds thinking, signed or not (unsigned, it goes
                    # back to the model as text).
                    thinking = {"type": "thinking", "thinking": block.get("thinking", "")}
                    if block.get("signature"):
                        thinking["thinkingSignature"] = block["signature"]
                    content.append(thinking)
                elif kind == "redacted_thinking":
                    dropped.append(f"a redacted thinking block{at(item)} (Pi holds no redacted thinking)")
                elif kind == "tool_use":
                    if block.get("name") not in TOOLS:
                        dropped.append(f"the tool '{block.get('name')}' (Pi lacks it; its past calls "
                                       "are kept as history)")
                    content.append({"type": "toolCall", "id": block.get("id"), "name": block.get("name"),
                                    "arguments": block.get("input") or {}})
            if not content:
                continue
            last = messages[-1] if messages else None
            if last and last["role"] == "assistant":
                last["content"].extend(content)  # one reply, as Pi writes it
            else:
                messages.append({"role": "assistant", "content": content, "api": "anthropic-messages",
                                 "provider": info.get("harness") or "git-ot", "model": model,
                                 "usage": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0,
                                           "totalTokens": 0, "cost": {"input": 0, "output": 0,
                                                                      "cacheRead": 0, "cacheWrite": 0,
                                                                      "total": 0}},
                                 "stopReason": "stop", "timestamp": ms})
            continue
        for block in message["content"]:
            if block.get("type") == "tool_result":
                messages.append({"role": "toolResult", "toolCallId": block.get("tool_use_id"),
                                 "toolName": _tool_name(messages, block.get("tool_use_id")),
                                 "content": result_blocks(block.get("content")),
                                 "isError": bool(block.get("is_error")), "timestamp": ms})
            elif block.get("type") == "text":
                part = {"type": "text", "text": block.get("text", "")}
                if messages and messages[-1] is last_user:
                    last_user["content"].append(part)  # one message's words are one message
                else:
                    last_user = {"role": "user", "content": [part], "timestamp": ms}
                    messages.append(last_user)
    for m in messages:
        if m["role"] == "assistant" and m["content"][-1]["type"] == "toolCall":
            m["stopReason"] = "toolUse"
    entries, parent = [], None
    for i, m in enumerate(messages):
        eid = uuid.uuid4().hex[:8]
        entries.append({"type": "message", "id": eid, "parentId": parent,
                        "timestamp": _iso(now - len(messages) + i), "message": m})
        parent = eid
    return entries, sorted(set(dropped), key=dropped.index)


def result_blocks(content) -> list[dict]:
    """A tool's result as Pi's content blocks."""
    if isinstance(content, dict) and isinstance(content.get("content"), list):
        content = content["content"]  # Pi's own results
    if isinstance(content, list) and all(isinstance(b, dict) and b.get("type") for b in content):
        return content
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return [{"type": "text", "text": text}]


def _tool_name(messages: list[dict], call_id) -> str | None:
    for m in reversed(messages):
        if m["role"] == "assistant":
            for b in m["content"]:
                if b.get("type") == "toolCall" and b.get("id") == call_id:
                    return b.get("name")
    return None


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"
