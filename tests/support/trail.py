"""An agent driven through the real hook processes, for the trail tests.

Every tool call is what Claude Code does: a PreToolUse hook, the tool's
effect on the working tree, a PostToolUse hook; every `git commit` runs the
git hooks `git ot init` installed, as separate processes. What the tests
then ask git-ot (`blame --json`, `init`) runs inside the test process
(support/cli.py), as the program would.
"""

from __future__ import annotations

import json

MODEL = "claude-opus-4-5"
HUMAN = {"kind": "human"}
NOT_ANCHORED = {"kind": "unknown", "reason": "not-anchored"}


class Agent:
    """One session of a scripted agent."""

    def __init__(self, repo, session: str, model: str | None = MODEL):
        self.repo = repo
        self.session = session
        self.calls = 0
        start = {"session_id": session, "source": "startup"}
        if model:
            start["model"] = model
        repo.hook("SessionStart", start)

    def prompt(self, text: str) -> None:
        self.repo.hook("UserPromptSubmit", {"session_id": self.session, "prompt": text})

    def payload(self, name: str, path: str | None = None, command: str | None = None) -> dict:
        self.calls += 1
        tool_input = {"file_path": str(self.repo.path / path)} if path else {"command": command or ""}
        return {"session_id": self.session, "tool_name": name,
                "tool_use_id": f"{self.session}-{self.calls}", "tool_input": tool_input}

    def start(self, payload: dict) -> None:
        self.repo.hook("PreToolUse", payload)

    def end(self, payload: dict) -> None:
        self.repo.hook("PostToolUse", {**payload, "tool_response": {}})

    def tool(self, name: str, path: str | None = None, effect=None, command: str | None = None) -> None:
        p = self.payload(name, path, command)
        self.start(p)
        if effect is not None:
            effect()
        self.end(p)

    def write(self, path: str, text: str) -> None:
        """The Write/Edit tools: the file's new content, inside the tool's window."""
        self.tool("Edit", path, lambda: self.repo.write(path, text))

    def stop(self) -> None:
        self.repo.hook("Stop", {"session_id": self.session})


def one_turn(repo, session: str, path: str, text: str, prompt: str = "write it") -> Agent:
    """A session's turn: a prompt, one Edit that gives `path` the content
    `text`, and the turn's end (the session sealed)."""
    a = Agent(repo, session)
    a.prompt(prompt)
    a.write(path, text)
    a.stop()
    return a


def agent_line(session: str, step: int, hunk: str, prompt: str, prompt_step: int,
               model: str | None = MODEL) -> dict:
    return {"kind": "agent", "session": session, "step": step, "hunk": hunk,
            "harness": "claude-code", "model": model, "prompt": prompt, "prompt_step": prompt_step}


def blame(repo, path: str, *args: str) -> list[tuple[str, dict]]:
    """(content, attribution) per line of `git ot blame --json`."""
    out = repo.cli_json("blame", path, *args)
    return [(line["content"], line["attribution"]) for line in out["lines"]]


def note(repo, rev: str = "HEAD") -> list[dict] | None:
    """The commit's note as objects, None when it has none."""
    proc = repo.git("notes", "--ref=opentraces", "show", rev, check=False)
    if not proc and repo.git("notes", "--ref=opentraces", "list", rev, check=False) == "":
        return None
    return [json.loads(line) for line in proc.splitlines() if line]


def head(repo) -> str:
    return repo.git("rev-parse", "HEAD").strip()


def read_records(repo, session: str) -> dict:
    """The decoded records at the tip of a session's ref, read with git itself."""
    import subprocess

    import cbor2
    import zstandard

    def blob(name: str) -> bytes:
        return subprocess.run(["git", "cat-file", "blob", f"refs/opentraces/sessions/{session}:{name}"],
                              cwd=repo.path, capture_output=True, check=True).stdout

    out = {"manifest": json.loads(blob("manifest.json"))}
    for kind in ("trace", "trail", "ctx"):
        out[kind] = cbor2.loads(zstandard.ZstdDecompressor().decompress(blob(f"{kind}.cbor.zst")))
    return out


def check_against_schemas(repo, session: str | None = None, revs=("HEAD",)) -> None:
    """Every line of the notes of `revs`, and the session's trail, validate against refs/schemas."""
    from pathlib import Path

    import jsonschema

    schemas = Path(__file__).resolve().parents[2] / "refs" / "schemas"

    def validator(name):
        return jsonschema.Draft202012Validator(json.loads((schemas / f"{name}.schema.json").read_text()))

    lines = validator("note-line")
    for rev in revs:
        for line in note(repo, rev) or []:
            errors = list(lines.iter_errors(line))
            assert not errors, (line, errors[0].message)
    if session is not None:
        import base64

        trail = read_records(repo, session)["trail"]
        defs = json.loads((schemas / "trail.schema.json").read_text())["$defs"]
        for snapshot in trail["snapshots"].values():
            errors = list(jsonschema.Draft202012Validator({"$defs": defs, "$ref": "#/$defs/snapshot"})
                          .iter_errors(snapshot))
            assert not errors, (snapshot, errors[0].message)
        for anchor in trail["anchors"]:
            if isinstance(anchor.get("path_raw"), bytes):
                anchor = {**anchor, "path_raw": base64.b64encode(anchor["path_raw"]).decode()}
            errors = list(jsonschema.Draft202012Validator({"$defs": defs, "$ref": "#/$defs/anchor"})
                          .iter_errors(anchor))
            assert not errors, (anchor, errors[0].message)


def set_up(repo, hooks: bool) -> None:
    """`git ot init`, then, without hooks, `git ot uninstall`."""
    repo.cli_json("init")
    if not hooks:
        repo.cli_json("uninstall")
