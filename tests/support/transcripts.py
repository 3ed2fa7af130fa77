"""Claude Code transcripts written by tests, line by line, in the form
Claude Code 2.1 writes them (the fields its import reads)."""

from __future__ import annotations

import datetime
import json

MODEL = "claude-opus-4-5"


def _iso(t: float) -> str:
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Transcript:
    """A Claude Code transcript (JSONL) built line by line."""

    def __init__(self, cwd: str, session: str, slug: str | None = None, branch: str | None = None):
        """`slug`: the conversation's name, on every line (Claude Code 2.1.3x
        named every conversation; later versions only those with a plan).
        `branch`: the branch the checkout is on (`gitBranch`), on every line
        from then on; set the attribute when the checkout switches."""
        self.cwd, self.session, self.slug, self.branch = cwd, session, slug, branch
        self.lines: list[dict] = []
        self.n = 0

    def _line(self, t: float, **fields) -> None:
        """One line; `cwd` (where the session is now: it moves) and `gitBranch`
        may be given, else the session's own."""
        self.n += 1
        fields.setdefault("cwd", self.cwd)
        if self.slug is not None:
            fields.setdefault("slug", self.slug)
        if self.branch is not None:
            fields.setdefault("gitBranch", self.branch)
        self.lines.append({"parentUuid": None, "isSidechain": False, "uuid": f"{self.session[:8]}-{self.n:04d}",
                           "timestamp": _iso(t), "sessionId": self.session,
                           "version": "2.1.328", "userType": "external", **fields})

    def started(self, t: float, source: str) -> None:
        """The progress line of a SessionStart hook (one a user configured)
        as the session starts: `source` is `startup`, `clear`, ..."""
        tid = f"{self.session[:8]}-start"
        self._line(t, type="progress", parentToolUseID=tid, toolUseID=tid, data={
            "type": "hook_progress", "hookEvent": "SessionStart", "hookName": f"SessionStart:{source}",
            "command": "bash .claude/scripts/setup.sh"})

    def prompt(self, t: float, text: str) -> None:
        self._line(t, type="user", message={"role": "user", "content": text})

    def tool(self, t: float, t_end: float, name: str, tool_input: dict, result: dict,
             cwd: str | None = None) -> None:
        tid = f"toolu_{self.session[:8]}{self.n:04d}"
        where = {"cwd": cwd} if cwd else {}
        self._line(t, **where, type="assistant", message={
            "id": f"msg_{self.n}", "role": "assistant", "model": MODEL,
            "content": [{"type": "tool_use", "id": tid, "name": name, "input": tool_input}]})
        self._line(t_end, **where, type="user", toolUseResult=result, message={
            "role": "user", "content": [{"tool_use_id": tid, "type": "tool_result", "content": "ok"}]})

    def edit(self, t: float, t_end: float, path: str, original: str, old: str, new: str,
             root: str | None = None, cwd: str | None = None) -> None:
        """`root`: the checkout the file is in (else the session's directory);
        `cwd`: where the session is (else `root`)."""
        full = f"{root or self.cwd}/{path}"
        cwd = cwd or root
        self.tool(t, t_end, "Edit", {"file_path": full, "old_string": old, "new_string": new},
                   {"filePath": full, "oldString": old, "newString": new, "originalFile": original,
                    "structuredPatch": [], "userModified": False, "replaceAll": False}, cwd)

    def write(self, t: float, t_end: float, path: str, content: str, cwd: str | None = None) -> None:
        full = f"{cwd or self.cwd}/{path}"
        self.tool(t, t_end, "Write", {"file_path": full, "content": content},
                   {"type": "create", "filePath": full, "content": content, "structuredPatch": [],
                    "originalFile": None}, cwd)

    def say(self, t: float, text: str) -> None:
        self._line(t, type="assistant", message={"id": f"msg_{self.n}", "role": "assistant", "model": MODEL,
                                                 "content": [{"type": "text", "text": text}]})

    def save(self, path) -> str:
        path.write_text("".join(json.dumps(line) + "\n" for line in self.lines))
        return str(path)
