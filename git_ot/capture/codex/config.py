"""Codex's hooks.json: wire `git ot hook codex` in, record its trust, take it out.

Codex 0.169.0 reads command hooks from `$CODEX_HOME/hooks.json` (user;
CODEX_HOME defaults to ~/.codex) and `<project>/.codex/hooks.json`
(project), in the shape Claude Code's settings use:
`{"hooks": {<Event>: [{"matcher": ..., "hooks": [{"type": "command",
"command": ...}]}]}}`. Installing adds one group per event beside the
groups already there; it is idempotent, and uninstalling removes exactly
git-ot's entries (recognised by their command, never by position), and the
event lists, `hooks` object or file that held nothing else.

Which events: those that carry evidence. PreToolUse and PostToolUse
snapshot around a tool; SessionStart, UserPromptSubmit, the subagent and
compaction events append; Stop, Interrupt and SessionEnd seal. Three are
left out on purpose: PreModelRequest and PostModelRequest fire on every
request to the model (each would cost a process start per request, and
the rollout already records every request's context and usage), and
PermissionRequest only asks whether a tool may run, which the PreToolUse
that follows records anyway.

Trust. Codex runs a hook only once its current hash is recorded as trusted
in the user's config.toml (`hooks.state."<file>:<event>:<i>:<j>".trusted_hash`);
an untrusted hook is skipped without a word. After writing the file,
`install` asks Codex itself, through `codex app-server` (JSON-RPC over
stdio), for the hooks it sees (`hooks/list`: each hook's key and
`currentHash`) and records, with `config/batchWrite`, the hash of exactly
the hooks git-ot wrote, as Codex's own hook review does. When that cannot
be done (no `codex` on PATH, an error), the install stands and says which
command records the trust.

The command depends on the scope, as for Claude Code (see
capture/claude_code/settings.py): the user file belongs to one machine and
names the interpreter that ran the install; the project file is committed,
so its command is the portable sh line that runs the `git-ot` on PATH or in
git's exec-path and otherwise exits 0 having said nothing.

Telemetry (`install codex --otel`). Codex reads its exporters from the
`[otel]` table of the user's `$CODEX_HOME/config.toml`. `install_otel`
appends OTEL_BLOCK, which sends logs, traces and metrics over gRPC to
`git ot otel serve` on its default port, to the end of that file and
touches nothing else in it; `uninstall_otel` (and `uninstall`) takes out
exactly that text. An `[otel]` table of the user's own is never changed:
installing beside one that differs is refused.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading

from ...errors import BareRepository, SettingsError
from ...store.gitdir import locate
from .. import readonly
from ..hookfile import (INBOX_OPEN, INBOX_RUNNER, LOCATE, PYTHON_RUNNER, HookFile, hook_command, inbox_entry,
                        install_hooks, uninstall_hooks)

HARNESS = "codex"
TITLE = "Codex"
SCOPES = ("user", "project")
# Every event that carries evidence, in the order Codex sends them.
EVENTS = ("SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "Stop", "Interrupt",
          "SubagentStart", "SubagentStop", "PreCompact", "PostCompact", "SessionEnd")
MARKERS = (PYTHON_RUNNER + "codex ", "-m git_ot hook codex ", "git-ot hook codex ", "git ot hook codex ",
           INBOX_RUNNER + "codex ")
# The events that need no live look at the working tree: their payloads go
# to the inbox with no Python started (hookfile.inbox_command); a session's
# start with the commit and branch HEAD is at, written beside it. A tool's
# start and end snapshot the working tree.
INBOX_EVENTS = frozenset(EVENTS) - {"PreToolUse", "PostToolUse"}
# Those after which the session is sealed, in the background.
DRAIN_EVENTS = frozenset({"Stop", "Interrupt", "SessionEnd"})
# Codex's keys name events in snake case: "<file>:pre_tool_use:0:0".
TRUST_TIMEOUT = 60.0
OTEL_ENDPOINT = "http://127.0.0.1:4317"
OTEL_KEYS = ("exporter", "trace_exporter", "metrics_exporter")
OTEL_TABLE = {key: {"otlp-grpc": {"endpoint": OTEL_ENDPOINT}} for key in OTEL_KEYS}
OTEL_BLOCK = ("# Added by 'git ot install codex --otel'; 'git ot uninstall codex --otel' removes it.\n"
              "[otel]\n" + "".join(f'{key} = {{ otlp-grpc = {{ endpoint = "{OTEL_ENDPOINT}" }} }}\n'
                                    for key in OTEL_KEYS))


def codex_home(env=os.environ) -> str:
    return os.path.abspath(env.get("CODEX_HOME") or os.path.join(os.path.expanduser("~"), ".codex"))


def hooks_path(scope: str, cwd: str | None = None, what: str = "install") -> str:
    """The hooks.json Codex reads for `scope`."""
    if scope == "user":
        return os.path.join(codex_home(), "hooks.json")
    if scope != "project":
        raise SettingsError(f"unknown scope '{scope}' for codex", hint="use one of: " + ", ".join(SCOPES))
    top = locate(cwd).require_worktree(f"git ot {what} {HARNESS} --scope {scope}")
    return os.path.join(top, ".codex", "hooks.json")


def command_for(event: str, scope: str) -> str:
    """The hook command for one event in `scope`'s hooks.json (see above)."""
    command = hook_command(HARNESS, event, scope, INBOX_EVENTS, DRAIN_EVENTS)
    if event in ("PreToolUse", "PostToolUse"):
        return patch_command(event, command)
    return command


# The file an apply_patch call adds or updates, into `x`, and `A` or `U`
# into `k`, from its payload as Codex writes it (compact JSON, the patch in
# one string whose lines are separated by `\n`), with the shell's pattern
# matching alone; a failure when the patch deletes or moves a file, names
# none or more than one (a step's partial states hold one file:
# domain/edit_states.py), or names one whose path JSON escapes (a quote, a
# backslash, a control character).
_HEADER = ("'\\n*** Add File: '", "'\\n*** Update File: '")
_PATCH_FILE = (
    "&& case $p in " + "|".join(f"*{a}*{b}*" for a in _HEADER for b in _HEADER)
    + "|*'\\n*** Delete File: '*|*'\\n*** Move to: '*) false;; "
    f"*{_HEADER[0]}*) k=A; x=${{p#*{_HEADER[0]}}};; *{_HEADER[1]}*) k=U; x=${{p#*{_HEADER[1]}}};; "
    "*) false;; esac && x=${x%%'\\n'*} && case $x in ''|*'\"'*|*\\\\*) false;; esac ")


# A shell call whose command only reads (readonly.py), from its payload as
# Codex writes it: the payload names one tool, the shell, and holds one
# `"command":`, the first key of its `tool_input`, a string with no escape
# in it (readonly.SH admits no backslash), read into `x`. Any other shape
# goes on to the apply_patch line or the runner, which read the payload as
# JSON.
READ_ONLY_CALL = (
    "&& case $p in *'\"tool_name\":\"'*'\"tool_name\":\"'*) false;; *'\"tool_name\":\"Bash\"'*) ;; "
    "*) false;; esac " + INBOX_OPEN
    + "&& case $p in *'\"tool_input\":'*'\"tool_input\":'*|*'\"command\":'*'\"command\":'*) false;; "
    "*'\"tool_input\":{\"command\":\"'*) ;; *) false;; esac "
    "&& x=${p#*'\"tool_input\":{\"command\":\"'} && x=${x%%'\"'*} " + readonly.SH)


# The payload written as the inbox entry `f` names (hookfile.inbox_entry),
# in place, with the shell's own printf (store/inbox.py).
_KEEP_PAYLOAD = "&& printf '%s' \"$p\" >\"$f\" "


def patch_command(event: str, runner: str) -> str:
    """The PreToolUse or PostToolUse command: a POSIX sh line that puts the
    payload in the inbox, no Python started, for a shell call whose
    command only reads (READ_ONLY_CALL: no snapshot is needed), and for an
    apply_patch call with the file the patch names as it is (`git
    hash-object -w`); for any other tool, or a patch it cannot read for
    sure, `runner`, given the payload, which snapshots the working tree.

    PreToolUse keeps the file before the call in `<tool_use_id>.codex.before`
    beside the inbox's entries (`before <blob or -> <path>`); PostToolUse
    checks that it is that whole line for the same path and writes it, then
    the line of the file after the call (`after <blob> <path>`), to
    `<entry>.files`, which the drain makes the call's edits
    (capture/hook.py) before it deletes the `.before` file. A patch that
    deletes or moves a file, a file it updates that is not there (or one it
    adds that is not there after), a symbolic link (git keeps the link, not
    what it points at), a payload whose `cwd` is not the hook's directory,
    and a PostToolUse whose PreToolUse left nothing whole go to the runner.
    So does a patch of more than one file: a step's partial states hold one
    file, and the runner's snapshots hold them all.

    Besides the payload's `cat`, it runs a `git hash-object` (and outside
    bash a `date`: hookfile.ARRIVAL), a few milliseconds; every file is
    written with the shell's own printf."""
    pre = event == "PreToolUse"
    blob = ('&& if [ -L "$x" ]; then false; elif [ -f "$x" ]; then o=$(git hash-object -w -- "$x"); '
            + ('elif [ "$k" = A ]; then o=-; ' if pre else '') + 'else false; fi ')
    keep = ('&& printf \'before %s %s\\n\' "$o" "$x" >"$b" ' if pre else
            '&& [ -f "$b" ] && IFS= read -r v <"$b" && case $v in "before "*" $x") ;; *) false;; esac '
            '&& printf \'%s\\nafter %s %s\\n\' "$v" "$o" "$x" >"${f%.json}.files" ')
    return ("p=$(cat); " + LOCATE + READ_ONLY_CALL + inbox_entry(HARNESS, event)
            + _KEEP_PAYLOAD + "&& exit 0; [ -n \"$c\" ] "
            + "&& case $p in *'\"tool_name\":\"apply_patch\"'*) ;; *) false;; esac "
            + INBOX_OPEN
            + '&& u=${p#*\'"tool_use_id":"\'} && u=${u%%\'"\'*} && case $u in \'\'|*[!A-Za-z0-9_-]*) false;; esac '
            '&& w=${p#*\'"cwd":"\'} && w=${w%%\'"\'*} && [ "$w" = "$PWD" ] '
            + _PATCH_FILE + inbox_entry(HARNESS, event) + blob
            + f'&& b="$c/opentraces/inbox/$u.{HARNESS}.before" '
            + keep
            + _KEEP_PAYLOAD
            + f"&& exit 0; printf '%s' \"$p\" | {{ {runner}; }}")


def is_ours(hook) -> bool:
    command = hook.get("command") if isinstance(hook, dict) else None
    return isinstance(command, str) and any(m in command + " " for m in MARKERS)


def install(scope: str = "user", cwd: str | None = None, trust: bool = True) -> dict:
    """Add git-ot's hook to every event in the scope's hooks.json, then record
    Codex's trust in exactly those hooks."""
    path = hooks_path(scope, cwd)
    doc = HookFile.read(path, TITLE)
    actions = install_hooks(doc, EVENTS, lambda event: command_for(event, scope),
                            lambda event: {"hooks": [{"type": "command", "command": command_for(event, scope)}]},
                            is_ours)
    if any(a != "unchanged" for a in actions.values()):
        doc.write()
    result = {"harness": HARNESS, "scope": scope, "settings": path,
              "command": command_for("<Event>", scope), "events": actions}
    if trust:
        result["trust"] = record_trust(path, os.path.dirname(os.path.dirname(path))
                                       if scope == "project" else (cwd or os.getcwd()))
        if "error" in result["trust"]:
            result["trust"]["command"] = trust_command(scope)
    return result


def uninstall(scope: str = "user", cwd: str | None = None) -> dict:
    """Remove every git-ot hook from the scope's hooks.json, nothing else."""
    path = hooks_path(scope, cwd, "uninstall")
    doc = HookFile.read(path, TITLE)
    actions = uninstall_hooks(doc, EVENTS, is_ours)
    file_action = "unchanged" if doc.existed else "absent"
    if any(a == "removed" for a in actions.values()):
        file_action = doc.write_or_delete(remove_dir=scope != "user")
    result = {"harness": HARNESS, "scope": scope, "settings": path, "events": actions, "file": file_action}
    if scope == "user":
        try:
            otel = uninstall_otel(scope, cwd)
        except SettingsError:
            otel = {"otel": {}}  # a config.toml that cannot be read holds nothing of git-ot's
        if "removed" in otel["otel"].values():
            result["otel"] = otel["otel"]  # `install --otel` had added the [otel] table
    return result


# -- telemetry -----------------------------------------------------------------

def config_path(scope: str) -> str:
    """The config.toml whose `[otel]` table Codex exports by: the user's."""
    if scope != "user":
        raise SettingsError(f"Codex reads its telemetry settings from the user's config.toml, not "
                            f"from the {scope} scope", hint="run it with --scope user (the default)")
    return os.path.join(codex_home(), "config.toml")


def _read_config(path: str) -> tuple[str, dict]:
    import tomllib

    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        return "", {}
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read '{path}': {exc}", hint="fix the file, then run again") from None
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"'{path}' is not valid TOML ({exc})",
                            hint="fix it by hand (Codex cannot read it either), then run again") from None


def _write_config(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.git-ot-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def install_otel(scope: str = "user", cwd: str | None = None) -> dict:
    """Append OTEL_BLOCK to Codex's config.toml, unless it is there."""
    path = config_path(scope)
    text, config = _read_config(path)
    if "otel" in config:
        if config["otel"] != OTEL_TABLE:
            raise SettingsError(f"'{path}' has an [otel] table of its own",
                                hint="remove it, or point its exporters at 'git ot otel serve' by hand")
        action = "unchanged"
    else:
        sep = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        _write_config(path, text + sep + OTEL_BLOCK)
        action = "installed"
    return {"harness": HARNESS, "scope": scope, "settings": path,
            "otel": {f"otel.{key}": action for key in OTEL_KEYS}}


def uninstall_otel(scope: str = "user", cwd: str | None = None) -> dict:
    """Take out exactly the text `install_otel` appended, and nothing else."""
    path = config_path(scope)
    text, config = _read_config(path)
    if OTEL_BLOCK in text:
        start = text.index(OTEL_BLOCK)
        before, after = text[:start], text[start + len(OTEL_BLOCK):]
        if not after.strip():
            before = before.rstrip("\n") + "\n" if before.strip() else ""
        rest = before + after
        if rest:
            _write_config(path, rest)
        else:
            os.remove(path)
        action, file_action = "removed", ("updated" if rest else "deleted")
    else:
        action = "kept" if "otel" in config else "absent"
        file_action = "unchanged" if os.path.exists(path) else "absent"
    return {"harness": HARNESS, "scope": scope, "settings": path,
            "otel": {f"otel.{key}": action for key in OTEL_KEYS}, "file": file_action}


def installed(scope: str = "user", cwd: str | None = None) -> dict | None:
    """What of git-ot is wired into the scope's hooks.json, read only.

    An event whose hook Codex has no trust recorded for is not wired: Codex
    skips it. Whether a recorded hash is still the command's own only Codex
    can tell; here a hook counts as trusted when a hash is recorded for its
    place in the file (`<file>:<event>:<i>:<j>`).
    """
    try:
        path = hooks_path(scope, cwd, "status")
    except BareRepository:
        return None
    hooks = HookFile.read(path, TITLE).hooks(create=False) or {}
    places = {event: [f"{_snake(event)}:{i}:{j}" for i, g in enumerate(groups)
                      if isinstance(g, dict) and isinstance(g.get("hooks"), list)
                      for j, h in enumerate(g["hooks"]) if is_ours(h)]
              for event, groups in hooks.items() if isinstance(groups, list)}
    ours = {event for event, keys in places.items() if keys}
    if not ours:
        return None
    trusted = _trusted_keys()
    if trusted is not None:
        files = {path, os.path.realpath(path)}
        ours = {e for e in ours if any(f"{f}:{k}" in trusted for f in files for k in places[e])}
    wired = [e for e in EVENTS if e in ours] + sorted(ours - set(EVENTS))
    return {"settings": path, "events": wired, "missing": [e for e in EVENTS if e not in wired]}


def _snake(event: str) -> str:
    """Codex's name of an event in its hook keys: PreToolUse -> pre_tool_use."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", event).lower()


def _trusted_keys() -> set[str] | None:
    """The hook keys with a trusted hash in Codex's config.toml; None when
    the file cannot be read (then trust is not judged)."""
    import tomllib

    try:
        with open(os.path.join(codex_home(), "config.toml"), "rb") as fh:
            config = tomllib.load(fh)
    except FileNotFoundError:
        return set()
    except (OSError, tomllib.TOMLDecodeError):
        return None
    state = (config.get("hooks") or {}).get("state") if isinstance(config.get("hooks"), dict) else None
    if not isinstance(state, dict):
        return set()
    return {k for k, v in state.items() if isinstance(v, dict) and isinstance(v.get("trusted_hash"), str)}


# -- trust ---------------------------------------------------------------------

def trust_command(scope: str) -> str:
    """The command that records the trust (running the install again does)."""
    return f"git ot install {HARNESS} --scope {scope}"


def record_trust(path: str, cwd: str) -> dict:
    """Record Codex's trust in git-ot's hooks of `path` through `codex app-server`.

    Returns `{"trusted": [keys newly trusted], "already": [keys trusted
    before], "events": {event: "trusted" | "already trusted"}}`, or
    `{"error": why}` when it could not be done.
    """
    program = shutil.which("codex")
    if program is None:
        return {"error": "'codex' is not on PATH"}
    try:
        with _AppServer(program, cwd) as server:
            server.call("initialize", {"clientInfo": {"name": "git-ot", "title": "git-ot",
                                                      "version": _version()}})
            server.notify("initialized")
            listed = server.call("hooks/list", {"cwds": [cwd]})
            mine = [h for entry in listed.get("data") or [] for h in entry.get("hooks") or []
                    if _same_file(h.get("sourcePath"), path) and h.get("handlerType") == "command"
                    and is_ours(h)]
            mine = list({h["key"]: h for h in mine}.values())
            todo = [h for h in mine if h.get("trustStatus") != "trusted"]
            if todo:
                server.call("config/batchWrite", {"edits": [
                    {"keyPath": f'hooks.state."{h["key"]}".trusted_hash', "value": h["currentHash"],
                     "mergeStrategy": "replace"} for h in todo]})
            if not mine:
                if os.path.basename(os.path.dirname(path)) == ".codex" and not _same_file(
                        os.path.dirname(path), codex_home()):
                    return {"error": f"Codex does not read '{path}' yet: it reads a project's .codex/ "
                                     "only once the project is trusted ('codex exec --trust' trusts it)"}
                return {"error": f"codex lists none of git-ot's hooks in '{path}'"}
            names = {_snake(e): e for e in EVENTS}
            events = {}
            for h in mine:
                event = names.get(h["key"].rsplit(":", 3)[-3], h.get("eventName"))
                events[event] = "trusted" if h in todo else "already trusted"
            return {"trusted": sorted(h["key"] for h in todo),
                    "already": sorted(h["key"] for h in mine if h not in todo),
                    "events": events}
    except (OSError, ValueError, KeyError, TypeError, _RpcError, subprocess.SubprocessError) as exc:
        return {"error": str(exc) or type(exc).__name__}


def _same_file(a, b) -> bool:
    return isinstance(a, str) and os.path.realpath(a) == os.path.realpath(b)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("git-ot")
    except Exception:
        return "0"


class _RpcError(Exception):
    pass


class _AppServer:
    """`codex app-server`: newline-delimited JSON-RPC on its stdin and stdout."""

    def __init__(self, program: str, cwd: str, env: dict | None = None):
        self.program, self.cwd, self.env = program, cwd, env
        self.next_id = 0

    def __enter__(self) -> "_AppServer":
        self.proc = subprocess.Popen([self.program, "app-server"], cwd=self.cwd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=self.env)
        # A server that never answers is ended, so an install cannot hang.
        self.timer = threading.Timer(TRUST_TIMEOUT, self.proc.kill)
        self.timer.daemon = True
        self.timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self.timer.cancel()
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=TRUST_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()

    def _send(self, message: dict) -> None:
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()

    def notify(self, method: str) -> None:
        self._send({"method": method})

    def call(self, method: str, params: dict) -> dict:
        self.next_id += 1
        self._send({"id": self.next_id, "method": method, "params": params})
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise _RpcError(f"codex app-server ended before answering '{method}'")
            message = json.loads(line)
            if message.get("id") != self.next_id or "method" in message:
                continue  # a notification, or a request of the server's
            if "error" in message:
                raise _RpcError(f"codex app-server: {method}: "
                                f"{(message['error'] or {}).get('message', 'error')}")
            return message.get("result") or {}
