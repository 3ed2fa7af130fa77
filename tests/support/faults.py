"""Fault injection for tests/faults/: harnesses replayed with kills, and the
promises every fault test checks afterwards.

A harness is a parameter: `HARNESSES` maps a name to what the suite needs
of it (its recorded sessions, the hook command, a tool's effect on the
working tree). Claude Code, Codex and Pi are here, each replayed from a
real session; another harness adds one `Harness` with its recordings and every
fault test runs it too.

The promises (`check`), after the faults and a final `git commit`:
- no event that reached the spool is lost: every event id seen in a spool
  file at any moment is in its session's ref;
- no step is duplicated: an event id is folded once, a tool call is one step;
- no agent line is called human: every line the replayed agent wrote (every
  line added since the base commit: the person writes none) reads as the
  agent's, unattributed or unknown, never as the person's;
- `git fsck --strict` is clean, and the user's git commands succeeded.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from git_ot.capture import registry
from git_ot.demo.replay import RECORDER_KEYS, apply_tool, read_payloads
from git_ot.store.faults import POINTS

from .repo import FIXTURES

# Kept short so the suite stays within a few minutes on 2 cores; the long
# run (GIT_OT_FAULTS_LONG=1) takes more seeds and more rounds.
LONG = os.environ.get("GIT_OT_FAULTS_LONG") == "1"
# Upper bound on any one process or wait, so that a regression fails rather than hangs.
PROCESS_LIMIT = 120
# Crash points a hook process passes (store/faults.py); push-after-send is git ot push's,
# and after-spill is passed only with an output too large for a spool line, which the
# replayed sessions have none of (tests/store/test_spill.py kills there).
HOOK_POINTS = tuple(p for p in POINTS if p not in ("push-after-send", "after-spill"))


def seeds(short: int, long: int) -> list[int]:
    """The derandomised seeds of a test: a few in CI, many in the long run."""
    return list(range(long if LONG else short))


@dataclass(frozen=True)
class Harness:
    """What the fault suite needs of one harness."""

    name: str  # its name in git_ot.capture.registry
    recordings: Path  # a directory of recorded sessions, each <scenario>/hooks.jsonl
    scenarios: tuple  # the recorded sessions that replay without running shell commands
    session_key: str  # the payload field naming the session
    event_key: str  # the payload field naming the hook event
    tool_key: Callable[[dict], str | None]  # a tool call's id (its start and end share it), or None
    is_tool_start: Callable[[dict], bool]
    apply: Callable[[str, dict], None]  # the tool's effect on the working tree, between start and end
    rename: Callable[[dict, str, str], dict]  # the payload as session `sid` writing under directory `sub`

    def payloads(self, scenario: str, session: str | None = None, sub: str = "") -> list[dict]:
        """The recorded payloads of a scenario, as session `session` writing under `sub`."""
        out = []
        for p in read_payloads(str(self.recordings / scenario / "hooks.jsonl")):
            p = {k: v for k, v in p.items() if k not in RECORDER_KEYS}
            if session is not None or sub:
                p = self.rename(p, session or p[self.session_key], sub)
            out.append(p)
        return out

    def command(self, event: str) -> list[str]:
        return ["/bin/sh", "-c", registry.find(self.name).hook_command(event, "local")]


def _claude_rename(payload: dict, session: str, sub: str) -> dict:
    payload = dict(payload, session_id=session)
    ti = payload.get("tool_input")
    if sub and isinstance(ti, dict) and isinstance(ti.get("file_path"), str):
        cwd = payload.get("cwd") or ""
        rel = os.path.relpath(ti["file_path"], cwd) if cwd else os.path.basename(ti["file_path"])
        payload["tool_input"] = dict(ti, file_path=os.path.join(cwd, sub, rel))
    return payload


def _claude_apply(worktree: str, payload: dict) -> None:
    ti = payload.get("tool_input") or {}
    if payload.get("tool_name") == "Write" and isinstance(ti.get("file_path"), str):
        os.makedirs(os.path.dirname(os.path.join(worktree, os.path.relpath(ti["file_path"], payload["cwd"]))),
                    exist_ok=True)
    apply_tool(worktree, payload)


CLAUDE_CODE = Harness(
    name="claude-code",
    recordings=FIXTURES / "claude-code" / "recorded-2.1.328",
    scenarios=("linear-edit", "parallel-tools"),
    session_key="session_id",
    event_key="hook_event_name",
    tool_key=lambda p: p.get("tool_use_id") if p.get("hook_event_name") in ("PreToolUse", "PostToolUse") else None,
    is_tool_start=lambda p: p.get("hook_event_name") == "PreToolUse",
    apply=_claude_apply,
    rename=_claude_rename,
)

def _codex_paths(command: str, sub: str) -> str:
    """An apply_patch text with every file it names moved under `sub`."""
    out = []
    for line in command.split("\n"):
        for header in ("*** Add File: ", "*** Update File: ", "*** Delete File: ", "*** Move to: "):
            if line.startswith(header):
                line = header + os.path.join(sub, line[len(header):])
        out.append(line)
    return "\n".join(out)


def _codex_rename(payload: dict, session: str, sub: str) -> dict:
    payload = dict(payload, session_id=session)
    ti = payload.get("tool_input")
    if sub and isinstance(ti, dict) and isinstance(ti.get("command"), str):
        if payload.get("tool_name") == "apply_patch":
            payload["tool_input"] = dict(ti, command=_codex_paths(ti["command"], sub))
        else:
            payload["tool_input"] = dict(ti, command=f"mkdir -p {sub} && cd {sub} && {{ {ti['command']}; }}")
    return payload


def _codex_apply(worktree: str, payload: dict) -> None:
    """What Codex's apply_patch or shell did, done again (paths relative to the recorded cwd)."""
    from git_ot.capture.edits import apply_file_op, parse_apply_patch

    command = (payload.get("tool_input") or {}).get("command")
    if payload.get("tool_name") == "apply_patch":
        for op in parse_apply_patch(command) or []:
            path = os.path.join(worktree, op["path"])
            before = Path(path).read_text() if os.path.exists(path) else None
            after = apply_file_op(before, op)
            if op["op"] == "delete" or (op["op"] == "update" and op.get("move_to")):
                os.unlink(path)
            if op["op"] == "update" and op.get("move_to"):
                path = os.path.join(worktree, op["move_to"])
            if after is not None:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                Path(path).write_text(after)
    elif payload.get("tool_name") == "Bash":
        subprocess.run(["sh", "-c", command], cwd=worktree, check=True, capture_output=True)


# A real Codex 0.169.0 session (tests/fixtures/codex/recorded-0.169.0/hooks.jsonl),
# cut at its second prompt into two scenarios: an apply_patch update of app.py
# and a shell command that writes x.py; then an apply_patch that adds b.py.
CODEX = Harness(
    name="codex",
    recordings=FIXTURES / "codex" / "faults",
    scenarios=("update-and-shell", "add-file"),
    session_key="session_id",
    event_key="hook_event_name",
    tool_key=lambda p: p.get("tool_use_id") if p.get("hook_event_name") in ("PreToolUse", "PostToolUse") else None,
    is_tool_start=lambda p: p.get("hook_event_name") == "PreToolUse",
    apply=_codex_apply,
    rename=_codex_rename,
)

def _pi_rename(payload: dict, session: str, sub: str) -> dict:
    payload = dict(payload, sessionId=session)
    ti = payload.get("input")
    if sub and isinstance(ti, dict):
        if isinstance(ti.get("path"), str):
            payload["input"] = dict(ti, path=os.path.join(sub, ti["path"]))
        elif isinstance(ti.get("command"), str):
            payload["input"] = dict(ti, command=f"mkdir -p {sub} && cd {sub} && {{ {ti['command']}; }}")
    return payload


def _pi_apply(worktree: str, payload: dict) -> None:
    """What Pi's write, edit or bash did, done again (paths relative to the recorded cwd)."""
    ti = payload.get("input") or {}
    tool = payload.get("toolName")
    if tool in ("write", "edit"):
        path = os.path.join(worktree, ti["path"])
        if tool == "write":
            os.makedirs(os.path.dirname(path), exist_ok=True)
            text = ti["content"]
        else:
            text = Path(path).read_text()
            for edit in ti["edits"]:
                text = text.replace(edit["oldText"], edit["newText"], 1)
        Path(path).write_text(text)
    elif tool == "bash":
        subprocess.run(["sh", "-c", ti["command"]], cwd=worktree, check=True, capture_output=True)


# Two real Pi 0.73.1 runs, as git-ot's extension handed them to the hook
# (tests/fixtures/pi/faults/): an edit of app.py and a shell command that
# writes x.py; then a write of b.py.
PI = Harness(
    name="pi",
    recordings=FIXTURES / "pi" / "faults",
    scenarios=("update-and-shell", "add-file"),
    session_key="sessionId",
    event_key="type",
    tool_key=lambda p: p.get("toolCallId") if p.get("type") in ("tool_call", "tool_result") else None,
    is_tool_start=lambda p: p.get("type") == "tool_call",
    apply=_pi_apply,
    rename=_pi_rename,
)

HARNESSES = {"claude-code": CLAUDE_CODE, "codex": CODEX, "pi": PI}


def harnesses() -> list[Harness]:
    return list(HARNESSES.values())


# -- running hooks with faults ----------------------------------------------


class Spooled:
    """Every event id seen in the spool, by session, over a whole run."""

    def __init__(self, repo_path: Path):
        self.dir = repo_path / ".git" / "opentraces" / "spool"
        self.ids: dict[str, set] = {}

    def look(self) -> None:
        try:
            names = os.listdir(self.dir)
        except FileNotFoundError:
            return
        for name in names:
            if not (name.endswith(".jsonl") or name.endswith(".sealing")):
                continue
            try:
                data = (self.dir / name).read_bytes()
            except FileNotFoundError:
                continue  # sealed meanwhile
            for line in data.splitlines():
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # a line a kill cut short never reached the spool whole
                if isinstance(event, dict) and isinstance(event.get("id"), str):
                    self.ids.setdefault(event.get("session"), set()).add(event["id"])


def run_hook(harness: Harness, worktree: str, payload: dict, fault=None, env=None) -> int:
    """One hook call as the harness makes it, with `fault`: None, ("point", name)
    (a crash point: the hook kills itself there) or ("kill", seconds) (its
    process group is killed then, as a harness kills a hook past its timeout).
    Returns its exit status (negative: the signal that killed it)."""
    payload = dict(payload, cwd=worktree)
    env = dict(os.environ if env is None else env)
    if fault is not None and fault[0] == "point":
        env["GIT_OT_TEST_KILL_AT"] = fault[1]
    proc = subprocess.Popen(harness.command(payload[harness.event_key]), cwd=worktree, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    if fault is not None and fault[0] == "kill":
        try:
            proc.stdin.write(json.dumps(payload).encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        proc.stdin = None
        try:
            proc.wait(timeout=fault[1])
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=PROCESS_LIMIT)
    else:
        out, err = proc.communicate(json.dumps(payload).encode(), timeout=PROCESS_LIMIT)
    assert out == b"", f"a hook printed into the harness: {out[:200]!r}"
    status = proc.returncode
    if status == 128 + signal.SIGKILL:
        status = -signal.SIGKILL  # the shell in between reports its child's SIGKILL so
    if status >= 0:
        assert status == 0, err.decode("utf-8", "replace")
    else:
        assert fault is not None, f"a hook died of signal {-status} unasked"
    return status


def replay(harness: Harness, repo_path: Path, payloads: list[dict], spooled: Spooled,
           rng: random.Random | None = None, kill_rate: float = 0.0, env=None) -> int:
    """Replay payloads, each tool's effect inside its window, killing hooks
    at random (seeded by `rng`); returns how many faults were injected
    (a kill timed after the hook's end kills nothing).

    At most one of a tool call's two hooks is killed, so every tool call
    leaves some trace in the spool for the promises to hold it to (a call
    whose both hooks die is invisible to any capture)."""
    worktree = str(repo_path)
    killed_tools: set = set()
    killed = 0
    for p in payloads:
        key = harness.tool_key(p)
        fault = None
        if rng is not None and rng.random() < kill_rate and (key is None or key not in killed_tools):
            if rng.random() < 0.5:
                fault = ("point", rng.choice(HOOK_POINTS))
            else:
                fault = ("kill", rng.uniform(0.0, 0.15))
            if key is not None:
                killed_tools.add(key)
            killed += 1
        run_hook(harness, worktree, p, fault, env)
        if harness.is_tool_start(p):
            harness.apply(worktree, p)  # paths as recorded, relative to the recorded cwd
        spooled.look()
    return killed


# -- the promises ------------------------------------------------------------


def git(cwd, *args, check=True, env=None) -> subprocess.CompletedProcess:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=PROCESS_LIMIT)
    if check:
        assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc


def user_commit(cwd, message: str) -> None:
    """The user's `git commit -a` of everything; it must succeed."""
    git(cwd, "add", "-A")
    proc = git(cwd, "commit", "-q", "--allow-empty", "-m", message, check=False)
    assert proc.returncode == 0, f"the user's git commit failed: {proc.stderr}"


def settle(repo_path: Path) -> None:
    """Wait for detached seals, then seal what is left as a command does."""
    deadline = time.monotonic() + PROCESS_LIMIT
    attempts = repo_path / ".git" / "opentraces" / "seal-attempts"
    while (attempts.exists() and any("." not in p.name for p in attempts.iterdir())
           and time.monotonic() < deadline):
        time.sleep(0.1)
    proc = subprocess.run([sys.executable, "-m", "git_ot", "trace", "list", "--json"], cwd=repo_path,
                          capture_output=True, timeout=PROCESS_LIMIT)
    assert proc.returncode == 0, proc.stderr.decode()


def sealed_ids(repo, session: str) -> list[str]:
    from .trail import read_records

    trace = read_records(repo, session)["trace"]
    ids = [e for s in trace["steps"] for e in s["events"]]
    # A turn end that carried the agent's closing words is both a step and a lifecycle entry.
    step_ids = set(ids)
    ids += [e["id"] for e in trace["lifecycle"] if e["id"] not in step_ids]
    return ids


def check(repo, spooled: Spooled, base: str, sessions=None) -> None:
    """The promises (see the module's doc), after a final commit."""
    from .trail import read_records

    settle(repo.path)
    sessions = sorted(spooled.ids if sessions is None else sessions)
    for sid in sessions:
        ids = sealed_ids(repo, sid)
        assert len(ids) == len(set(ids)), f"session {sid}: an event folded twice"
        lost = spooled.ids.get(sid, set()) - set(ids)
        assert not lost, f"session {sid}: {len(lost)} spooled events lost"
        tools = [s.get("tool_use_id") for s in read_records(repo, sid)["trace"]["steps"]
                 if s["kind"] == "tool" and s.get("tool_use_id")]
        assert len(tools) == len(set(tools)), f"session {sid}: a tool call is two steps"
    user_commit(repo.path, "the user's commit")
    no_human_agent_lines(repo, base)
    repo.fsck()


def no_human_agent_lines(repo, base: str) -> None:
    """Every line added since `base` (the agent's: the person wrote none) is not the person's."""
    changed = git(repo.path, "diff", "--name-only", "--diff-filter=AM", base, "HEAD").stdout.split()
    older: dict[str, bool] = {}
    for path in changed:
        out = subprocess.run([sys.executable, "-m", "git_ot", "blame", path, "--json"], cwd=repo.path,
                             capture_output=True, timeout=PROCESS_LIMIT)
        assert out.returncode == 0, out.stderr.decode()
        for line in json.loads(out.stdout)["lines"]:
            sha = line["commit"]
            if sha not in older:
                older[sha] = git(repo.path, "merge-base", "--is-ancestor", sha, base,
                                 check=False).returncode == 0
            if older[sha]:
                continue  # older than the agent's work
            assert line["attribution"]["kind"] != "human", \
                f"{path}:{line['line']} {line['content']!r}: an agent's line called human"
