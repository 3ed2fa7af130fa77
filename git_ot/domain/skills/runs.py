"""Skill runs: the steps of a session that invoked a skill, and which version ran.

A *run* is one step that invoked a skill:

- Claude Code: a `Skill` tool call (`input.skill` names the skill), or a
  prompt that is a slash command, `/NAME args` as the hooks record it or
  `<command-name>/NAME</command-name>` as the transcript does. A slash
  command is a run only when the snapshot holds the skill's SKILL.md: the
  built-in commands (`/clear`, `/help`) and plain commands are not skills.
- Pi: a prompt that Pi expanded from `/skill:NAME` (it stores it as
  `<skill name="NAME" location=".../SKILL.md">` and the skill's text), or
  a `read` tool call of a skill's SKILL.md, which is how Pi's model loads
  a skill it chose (its system prompt lists the skills). Pi's project
  skills are folders of `.pi/skills/` and `.agents/skills/`; a skill is
  named by its folder.
- Codex: not recognised. Its model reads a skill's SKILL.md with its shell
  when it chooses to, or has it injected when the prompt mentions `$NAME`;
  neither is an event of its own that git-ot could tell apart.

Its *work* is the patches of that session from that step to the end of the
turn: up to the next prompt, or the next run in the same turn, which takes
over from there, so no patch is counted for two runs.

Its *version* is the skill's folder at that step, as git stores it: the
tree of `.claude/skills/NAME/` and the blob of its `SKILL.md`, in the
snapshot of the working tree at that step. A skill step writes nothing, so
the snapshot is the first one taken at or after the step in the same turn
(the worktree before the turn's first write), else the last one before it,
else the session's base commit. Versions need no tagging, and a version
belongs to a run for good: editing SKILL.md later makes a new version for
the runs to come and changes nothing of the runs made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pygit2

from ...store.repository import SessionTree, Store

SKILL_FILE = "SKILL.md"
# Where each harness keeps a project's skills, one folder per skill.
SKILL_DIRS = {"claude-code": (".claude/skills",), "pi": (".pi/skills", ".agents/skills")}

_SLASH = re.compile(r"^/([A-Za-z0-9][A-Za-z0-9_.:-]{0,127})(?:\s|$)")
_COMMAND_NAME = re.compile(r"<command-name>/?([A-Za-z0-9][A-Za-z0-9_.:-]{0,127})</command-name>")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# A SKILL.md in one of Pi's project skill folders, by its path's end.
_PI_SKILL_FILE = re.compile(r"(?:^|/)(?:\.pi|\.agents)/skills/([A-Za-z0-9][A-Za-z0-9_.-]{0,127})/SKILL\.md$")
_PI_SKILL_BLOCK = re.compile(r'^<skill name="([^"]+)" location="([^"]+)">')


@dataclass
class Run:
    """One invocation of a skill in a session."""

    session: str
    step: int
    skill: str
    how: str  # "tool" (the Skill tool), "command" (a slash command) or "read" (Pi's read of SKILL.md)
    t: float | None
    start: str | None  # the session's start, for ordering
    version: str | None = None  # the tree of the skill's folder
    blob: str | None = None  # the blob of its SKILL.md
    steps: list[int] = field(default_factory=list)  # the steps whose patches are its work


def invoked(harness: str | None, step: dict) -> tuple[str, str] | None:
    """(skill, how) when the step invokes a skill, else None; a pure rule."""
    if harness not in SKILL_DIRS:
        return None
    if harness == "pi":
        return _pi_invoked(step)
    if step.get("kind") == "tool" and step.get("name") == "Skill":
        name = (step.get("input") or {}).get("skill")
        if isinstance(name, str):
            name = name.strip().lstrip("/")
            if _NAME.match(name):
                return name, "tool"
        return None
    if step.get("kind") == "prompt" and step.get("parent") is None:
        text = step.get("text")
        if not isinstance(text, str):
            return None
        m = _COMMAND_NAME.search(text) or _SLASH.match(text.lstrip())
        if m and _NAME.match(m.group(1)):
            return m.group(1), "command"
    return None


def _pi_invoked(step: dict) -> tuple[str, str] | None:
    if step.get("kind") == "tool" and step.get("name") == "read":
        path = (step.get("input") or {}).get("path")
        m = _PI_SKILL_FILE.search(path) if isinstance(path, str) else None
        return (m.group(1), "read") if m else None
    if step.get("kind") == "prompt" and step.get("parent") is None and isinstance(step.get("text"), str):
        m = _PI_SKILL_BLOCK.match(step["text"])
        if m:
            folder = _PI_SKILL_FILE.search(m.group(2))
            name = folder.group(1) if folder else m.group(1)
            if _NAME.match(name):
                return name, "command"
    return None


def session_runs(store: Store, tree: SessionTree) -> list[Run]:
    """The skill runs of one session, in step order, each with its version and work."""
    manifest = tree.record("manifest")
    harness = (manifest.get("harness") or {}).get("name")
    if harness not in SKILL_DIRS:
        return []
    steps = tree.record("trace").get("steps", [])
    snapshots = tree.record("trail").get("snapshots", {})
    base = (manifest.get("base") or {}).get("commit")
    runs: list[Run] = []
    current: Run | None = None
    for step in steps:
        if step.get("kind") == "prompt" and step.get("parent") is None:
            current = None  # a new turn
        got = invoked(harness, step)
        if got is not None:
            name, how = got
            current = Run(tree.session_id, step["n"], name, how, step.get("t"), manifest.get("start"))
            located = _version(store, harness, name, _snapshot_at(steps, snapshots, step["n"]), base)
            if located is None and how == "command":
                current = None  # not a skill of this project: a built-in or plain command
                continue
            if located is not None:
                current.version, current.blob = located
            runs.append(current)
            continue
        if current is not None and step.get("kind") == "tool":
            current.steps.append(step["n"])
    return runs


def _snapshot_at(steps: list[dict], snapshots: dict, n: int) -> str | None:
    """The tree of the working tree at step `n`: the first snapshot at or
    after it within its turn, else the last one before it."""
    for step in steps[n - 1:]:
        if step["n"] > n and step.get("kind") == "prompt" and step.get("parent") is None:
            break
        for side in ("before", "after"):
            got = snapshots.get(f"{step['n']}-{side}")
            if got and not got.get("partial") and got.get("tree"):
                return got["tree"]
    for step in reversed(steps[:n - 1]):
        for side in ("after", "before"):
            got = snapshots.get(f"{step['n']}-{side}")
            if got and not got.get("partial") and got.get("tree"):
                return got["tree"]
    return None


def _version(store: Store, harness: str, name: str, tree_id: str | None,
             base: str | None) -> tuple[str, str] | None:
    """(folder tree, SKILL.md blob) of skill `name` in a snapshot tree, or
    in the base commit's tree when there is no snapshot; None when neither holds it."""
    repo = store.repo
    root = None
    try:
        if tree_id is not None:
            root = repo[tree_id]
        elif base:
            root = repo[base].peel(pygit2.Commit).tree
    except (KeyError, ValueError, pygit2.GitError):
        root = None
    if root is None:
        return None
    for folder in SKILL_DIRS[harness]:
        try:
            entry = root[f"{folder}/{name}"]
            if entry.type_str != "tree":
                continue
            skill = repo[entry.id][SKILL_FILE]
        except (KeyError, ValueError, pygit2.GitError):
            continue
        if skill.type_str == "blob":
            return str(entry.id), str(skill.id)
    return None
