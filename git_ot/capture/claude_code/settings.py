"""Claude Code's settings files: wire `git ot hook claude-code` in, take it out.

Claude Code reads hooks from three settings files, one per scope:
`<project>/.claude/settings.json` (project, usually committed),
`<project>/.claude/settings.local.json` (local, for one clone) and
`~/.claude/settings.json` (user; `$CLAUDE_CONFIG_DIR/settings.json` when
that is set). Each holds `"hooks": {<event>: [<group>, ...]}`, a group being
`{"matcher": ..., "hooks": [{"type": "command", "command": ...}, ...]}`.

Installing adds one group per event with one command hook, beside whatever
groups are there (the tool events' groups match every tool but those that
cannot write and Write, Edit and MultiEdit, TOOL_MATCHER: their calls are
read from the transcript, fill.py); it is idempotent, and uninstalling
removes exactly those entries (and the event lists, `hooks` object or file that held nothing
else), so install then uninstall gives the file back byte for byte when it
was written as Claude Code writes it (JSON, two-space indent). git-ot
recognises its own entries by their command (see `is_ours`), never by
position, so the user may reorder or add hooks freely. Claude Code's
transcript is never opened.

Every entry is a plain synchronous command hook, on purpose. Claude Code
2.1.328 also runs `"async": true` command hooks (and a hook may go async by
printing `{"async": true}`), but tried with the real CLI in print mode
(`claude -p`), an async hook still running when the turn ends gets SIGTERM,
then SIGKILL about 1.5 s later, and the exit waits out that grace: an
async Stop hook was killed before it had read its payload, and every
session took 1.5 s longer. Async hooks also finish in any order, while the
spool's order is the order steps are folded in. So no event can be async
without losing evidence: PreToolUse and PostToolUse snapshot the working
tree around a tool and must finish before the tool (or the next one) runs;
UserPromptSubmit, SessionStart, the subagent and compaction events only
append, which costs about as much as the start-up an async hook saves;
Stop and SessionEnd append too, and leave the seal to a detached process
of git-ot's own (capture/hook.py), which no turn end kills and the agent
does not wait on: what an async hook would save, without the risk of an
event killed before it was spooled. `"type": "http"` hooks need a server,
which git-ot does not run (no daemon).

The command depends on the scope. The local and user files belong to one
machine, so there it names the interpreter that ran the install by its
absolute path (`<python> -P -c '<entry point>' hook claude-code <Event>`), as the git
hooks do, and works whatever PATH Claude Code passes on. The project file
is committed and run on every teammate's machine, where that path means
nothing, so there it is a short POSIX sh line (Claude Code runs every
command hook as `/bin/sh -c <command>`, the payload on stdin):

    if command -v git-ot >/dev/null 2>&1; then exec git-ot hook claude-code <Event>; fi;
    d=$(git --exec-path 2>/dev/null) && [ -x "$d/git-ot" ] && exec "$d/git-ot" hook claude-code <Event>;
    exit 0

(one line in the file). It runs `git-ot` from PATH, else the `git-ot` in
git's exec-path (the other place `git ot` finds it), and otherwise exits 0
having said nothing: on a machine without git-ot a hook that failed or
printed would show as a hook error in every turn, and a SessionStart or
UserPromptSubmit hook's stdout is even added to the model's context.
(Plain `git ot hook ...` cannot be told apart from an absent git-ot
without running it: git prints "'ot' is not a git command" and exits 1.)
`command -v` is a shell builtin and `git --exec-path` reads no stdin, so
the payload reaches git-ot untouched; `exec` replaces the shell, so no
extra process stays and git-ot's exit status (always 0, see
capture/hook.py) is the hook's; git is forked for its exec-path only
when git-ot is not on PATH. Nothing is
looked up in the working tree: an empty PATH entry (the current directory)
is never added, so a clone cannot plant a `git-ot` of its own.
"""

from __future__ import annotations

import os

from ...errors import BareRepository, SettingsError
from ...store.gitdir import locate
from ..hookfile import (INBOX_RUNNER, PYTHON_RUNNER, HookFile, hook_command, install_hooks, ours,
                        uninstall_hooks)
from .hooks import UNHOOKED_TOOLS

HARNESS = "claude-code"
TITLE = "Claude Code"
SCOPES = ("project", "local", "user")
# Every event that carries evidence, in the order Claude Code sends them.
EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse",
          "PostToolUseFailure", "Stop", "SubagentStart", "SubagentStop",
          "PreCompact", "PostCompact", "SessionEnd")
# Events whose groups take a tool-name matcher; the others match everything
# without one.
TOOL_EVENTS = frozenset({"PreToolUse", "PostToolUse", "PostToolUseFailure"})
# The tools whose calls git-ot hooks: every tool but those known not to
# change the working tree (hooks.READ_ONLY_TOOLS) and those whose
# transcript result holds the file they wrote (hooks.TRANSCRIPT_WRITE_TOOLS);
# Bash, MCP tools and tools unknown to this version are hooked. Claude Code
# matches a matcher that is not a plain list of names as a JavaScript
# regular expression against the tool's name. A call of an unhooked tool
# costs the agent no hook process; its step is read from the transcript by
# the session's next hook call (fill.py).
TOOL_MATCHER = "^(?!(?:" + "|".join(sorted(UNHOOKED_TOOLS)) + ")$)"

# What `install --otel` adds to the settings' `env` block, which Claude Code
# applies to its own process (never to its hooks: it strips OTEL_* from
# them): export logs, metrics and traces to `git ot otel serve` on its
# default HTTP port, with prompts and tool details, which stay on this
# machine. A key the user set to another value is left alone.
OTEL_ENV = {
    "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
    "CLAUDE_CODE_ENHANCED_TELEMETRY_BETA": "1",
    "OTEL_LOGS_EXPORTER": "otlp",
    "OTEL_METRICS_EXPORTER": "otlp",
    "OTEL_TRACES_EXPORTER": "otlp",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
    "OTEL_LOG_USER_PROMPTS": "1",
    "OTEL_LOG_TOOL_DETAILS": "1",
}
# A command hook is git-ot's when its command runs one of these.
MARKERS = (PYTHON_RUNNER + HARNESS, "-m git_ot hook claude-code", "git-ot hook claude-code",
           "git ot hook claude-code", INBOX_RUNNER + HARNESS)
# The events that need no live look at the working tree: their payloads go
# to the inbox with no Python started (hookfile.inbox_command); a session's
# start with the commit and branch HEAD is at, written beside it. A tool's
# start and end snapshot the working tree.
INBOX_EVENTS = frozenset(EVENTS) - TOOL_EVENTS
# Those after which the session is sealed, in the background.
DRAIN_EVENTS = frozenset({"Stop", "SessionEnd"})


def settings_path(scope: str, cwd: str | None = None, what: str = "install") -> str:
    """The settings file Claude Code reads for `scope`."""
    if scope == "user":
        base = os.environ.get("CLAUDE_CONFIG_DIR") or os.path.join(os.path.expanduser("~"), ".claude")
        return os.path.join(os.path.abspath(base), "settings.json")
    if scope not in ("project", "local"):
        raise SettingsError(f"unknown scope '{scope}'", hint="use one of: " + ", ".join(SCOPES))
    # Claude Code reads project settings from the directory it is started
    # in; git-ot writes them at the top of the working tree, where a
    # session of the whole repository starts.
    top = locate(cwd).require_worktree(f"git ot {what} {HARNESS} --scope {scope}")
    name = "settings.json" if scope == "project" else "settings.local.json"
    return os.path.join(top, ".claude", name)


def command_for(event: str, scope: str) -> str:
    """The hook command for one event in `scope`'s settings file (see above)."""
    return hook_command(HARNESS, event, scope, INBOX_EVENTS, DRAIN_EVENTS)


def is_ours(hook) -> bool:
    command = hook.get("command") if isinstance(hook, dict) else None
    return isinstance(command, str) and any(m in command for m in MARKERS)


def _group(event: str, scope: str) -> dict:
    group = {"matcher": TOOL_MATCHER} if event in TOOL_EVENTS else {}
    group["hooks"] = [{"type": "command", "command": command_for(event, scope)}]
    return group


def install(scope: str = "project", cwd: str | None = None) -> dict:
    """Add git-ot's hook to every event in the scope's settings file."""
    path = settings_path(scope, cwd)
    doc = HookFile.read(path, TITLE)
    actions = install_hooks(doc, EVENTS, lambda event: command_for(event, scope),
                            lambda event: _group(event, scope), is_ours)
    if any(a != "unchanged" for a in actions.values()):
        doc.write()
    return {"harness": HARNESS, "scope": scope, "settings": path,
            "command": command_for("<Event>", scope), "events": actions}


def uninstall(scope: str = "project", cwd: str | None = None) -> dict:
    """Remove every git-ot hook from the scope's settings file, nothing else."""
    path = settings_path(scope, cwd, "uninstall")
    doc = HookFile.read(path, TITLE)
    actions = uninstall_hooks(doc, EVENTS, is_ours)
    env = _remove_env(doc, path)
    file_action = "unchanged" if doc.existed else "absent"
    if any(a == "removed" for a in actions.values()) or "removed" in env.values():
        file_action = doc.write_or_delete(remove_dir=scope != "user")
    result = {"harness": HARNESS, "scope": scope, "settings": path,
              "events": actions, "file": file_action}
    if "removed" in env.values():
        result["env"] = env  # `install --otel` had added exporter settings
    return result


def install_otel(scope: str = "project", cwd: str | None = None) -> dict:
    """Add the exporter settings (OTEL_ENV) to the scope's settings `env`."""
    path = settings_path(scope, cwd)
    doc = HookFile.read(path, TITLE)
    env = _env(doc, path, create=True)
    actions = {}
    for key, value in OTEL_ENV.items():
        if key not in env:
            env[key] = value
            actions[key] = "installed"
        else:
            actions[key] = "unchanged" if env[key] == value else "kept"
    if "installed" in actions.values():
        doc.write()
    return {"harness": HARNESS, "scope": scope, "settings": path, "env": actions}


def uninstall_otel(scope: str = "project", cwd: str | None = None) -> dict:
    """Remove the exporter settings `install_otel` added, and nothing else."""
    path = settings_path(scope, cwd, "uninstall")
    doc = HookFile.read(path, TITLE)
    env = _remove_env(doc, path)
    file_action = "unchanged" if doc.existed else "absent"
    if "removed" in env.values():
        file_action = doc.write_or_delete(remove_dir=scope != "user")
    return {"harness": HARNESS, "scope": scope, "settings": path, "env": env, "file": file_action}


def _env(doc: HookFile, path: str, create: bool) -> dict | None:
    env = doc.data.get("env")
    if env is None and create:
        env = doc.data["env"] = {}
    if env is not None and not isinstance(env, dict):
        raise SettingsError(f"'env' in '{path}' is not a JSON object",
                            hint="fix it by hand (Claude Code expects an object of variables), then run again")
    return env


def _remove_env(doc: HookFile, path: str) -> dict:
    """Take out each OTEL_ENV key that still has git-ot's value (a value the
    user changed is theirs now, and stays); `env` goes when left empty."""
    env = _env(doc, path, create=False)
    actions = {}
    for key, value in OTEL_ENV.items():
        if env is not None and key in env:
            if env[key] == value:
                del env[key]
                actions[key] = "removed"
            else:
                actions[key] = "kept"
        else:
            actions[key] = "absent"
    if env is not None and not env and "removed" in actions.values():
        del doc.data["env"]
    return actions


def installed(scope: str = "project", cwd: str | None = None) -> dict | None:
    """What of git-ot is wired into the scope's settings file, read only:
    `{"settings", "events", "missing"}` (the events whose hooks run git-ot,
    and those that carry evidence but do not), or None when none does."""
    try:
        path = settings_path(scope, cwd, "status")
    except BareRepository:
        return None  # no working tree: no project or local settings
    hooks = HookFile.read(path, TITLE).hooks(create=False) or {}
    hooked = {event for event, groups in hooks.items() if isinstance(groups, list) and ours(groups, is_ours)}
    wired = [e for e in EVENTS if e in hooked] + sorted(hooked - set(EVENTS))
    if not wired:
        return None
    return {"settings": path, "events": wired, "missing": [e for e in EVENTS if e not in wired]}
