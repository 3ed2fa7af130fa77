"""Hook files shaped as Claude Code's settings, read and written back in their own style.

Claude Code's settings files and Codex's hooks.json hold hooks the same
way: `{"hooks": {<event>: [<group>, ...]}}`, a group being `{"matcher":
..., "hooks": [{"type": "command", "command": ...}, ...]}`. A harness's
installer reads its file with `HookFile.read`, adds its groups with
`install_hooks` and removes them with `uninstall_hooks`, recognising its
own entries by a predicate on the entry (never by position, so the user may
reorder or add hooks freely); the file is written back atomically with the
indentation, separators, final line feed and byte-order mark it had, so
install then uninstall gives it back byte for byte when it was written as
JSON with two-space indents.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from typing import Callable

from .. import PYTHON_ARGS_SH
from ..errors import SettingsError


# How the inbox command (below) names git-ot once it found it, in the
# project scope: a hook entry whose command holds this and the harness's
# name is git-ot's.
INBOX_RUNNER = '"$r" hook '
# How the command of a hook outside the project scope names git-ot (see
# `python_command`): a hook entry whose command holds this and the
# harness's name is git-ot's.
PYTHON_RUNNER = f"{PYTHON_ARGS_SH} hook "


def python_command(python: str) -> str:
    """`python` (quoted for sh already) running git-ot (git_ot.PYTHON_ARGS);
    the hook's arguments follow."""
    return f"{python} {PYTHON_ARGS_SH}"


def runner_command(source: str, event: str, scope: str, python: str) -> str:
    """The command of a hook that runs git-ot for one event: in the project
    scope, which is committed and runs on every teammate's machine, a short
    POSIX sh line finding `git-ot` on PATH, else in git's exec-path, else
    doing nothing; in the other scopes, which belong to one machine, the
    interpreter that ran the install, by its absolute path."""
    if scope == "project":
        run = f"hook {source} {event}"
        return (f"if command -v git-ot >/dev/null 2>&1; then exec git-ot {run}; fi; "
                f'd=$(git --exec-path 2>/dev/null) && [ -x "$d/git-ot" ] && exec "$d/git-ot" {run}; exit 0')
    return f"{python_command(python)} hook {source} {event}"


# The repository's common git directory, into `c`, as the inbox command
# finds it: the `.git` directory of the nearest folder up from the current
# one that has a `.git`, looked up with the shell's builtins alone; where
# that `.git` is a file (a linked worktree, a submodule) or git's
# environment names the repository, git's own answer (a few milliseconds).
LOCATE = ('d=; if [ -z "$GIT_DIR$GIT_WORK_TREE$GIT_COMMON_DIR" ]; then d=$PWD; '
          'while [ -n "$d" ] && [ ! -e "$d/.git" ]; do d=${d%/*}; done; fi; '
          'if [ -n "$d" ] && [ -d "$d/.git" ]; then c=$d/.git; '
          'else c=$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null); fi ')


# The inbox is there to be written (git-ot keeps state in this repository)
# and the event is live, not replayed with a given time.
INBOX_OPEN = '&& [ -d "$c/opentraces/inbox" ] && [ -z "$GIT_OT_EVENT_TIME" ] '


# The arrival time in nanoseconds since the epoch, into `t`: from bash's
# EPOCHREALTIME (microseconds, read once; Codex runs its hooks with bash)
# with no process started, else from a `date` that has nanoseconds.
ARRIVAL = ("&& { e=${EPOCHREALTIME-}; case $e in [1-9]*[.,][0-9][0-9][0-9][0-9][0-9][0-9]) "
           "t=${e%[.,]*}${e#*[.,]}000;; *) t=$(date +%s%N 2>/dev/null);; esac; } "
           "&& case $t in ''|*[!0-9]*) false;; esac ")


def inbox_entry(source: str, event: str) -> str:
    """The sh that names an inbox entry (store/inbox.py) in `f`: its arrival
    time in nanoseconds (ARRIVAL), the writer's pid, the harness and the
    event."""
    return ARRIVAL + f'&& f="$c/opentraces/inbox/$t.$$.{source}.{event}.json" '


# The commit and branch HEAD is at, into `<entry>.head` (see
# `inbox_command`): in the `.git` directory LOCATE found, read from the files
# git keeps them in (`HEAD` holding `ref: <branch>`, the branch's own file
# holding its commit: no process started); else, or when the branch is
# packed, detached or not born yet, what `git symbolic-ref -q HEAD` and `git
# rev-parse -q --verify HEAD` say.
HEAD_AT = ('&& { b=; h=; if [ -n "$d" ] && [ -f "$d/.git/HEAD" ] && IFS= read -r b <"$d/.git/HEAD" '
           "&& case $b in 'ref: refs/'*) b=${b#'ref: '};; *) false;; esac; then "
           'if [ -f "$d/.git/$b" ] && IFS= read -r h <"$d/.git/$b" && case $h in *[!0-9a-f]*) false;; esac '
           '&& case ${#h} in 40|64) ;; *) false;; esac; then :; '
           'else h=$(git rev-parse -q --verify HEAD 2>/dev/null); fi; '
           'else b=$(git symbolic-ref -q HEAD 2>/dev/null); h=$(git rev-parse -q --verify HEAD 2>/dev/null); fi; '
           'printf \'%s\\n%s\\n\' "$h" "$b" >"${f%.json}.head"; } ')


def inbox_command(source: str, event: str, scope: str, python: str, drain: bool,
                  head: bool = False) -> str:
    """The command of a hook whose event needs no live look at the working
    tree: a POSIX sh line that writes the payload into the repository's
    inbox (store/inbox.py) and returns, with no Python started; with
    `drain` (a turn's or a session's end), it then starts `git ot hook
    drain` in the background, which spools the inbox and seals, and which
    the agent does not wait on. Where the inbox cannot be used (no git-ot
    state in this repository yet, a `date` without nanoseconds, a replay
    that sets GIT_OT_EVENT_TIME) it runs the hook as `runner_command` does.

    With `head` (a session's start), it first writes beside the payload
    the commit and branch HEAD is at (`<name>.head`: what `git rev-parse
    -q --verify HEAD` and `git symbolic-ref -q HEAD` say, a line each;
    HEAD_AT), the session's base, looked at as the session starts.

    It costs a `cat` and, outside bash, a `date` (and in a linked worktree
    a `git rev-parse`; with `head`, up to two git commands more): a few
    milliseconds, against tens for starting Python and git-ot. The payload
    is written in place: the drain takes an entry once it is a whole JSON
    value (store/inbox.py)."""
    if scope == "project":
        find = ('if command -v git-ot >/dev/null 2>&1; then r=git-ot; '
                'else d=$(git --exec-path 2>/dev/null) && [ -x "$d/git-ot" ] || exit 0; r="$d/git-ot"; fi; ')
        run = INBOX_RUNNER.strip()
    else:
        find = f"r={python}; "
        run = python_command('"$r"') + " hook"
    after = (f"{{ {run} drain </dev/null >/dev/null 2>&1 & exit 0; }}" if drain else "exit 0")
    return (find + LOCATE + INBOX_OPEN + inbox_entry(source, event)
            + (HEAD_AT if head else '')
            + '&& cat >"$f" '
            f"&& {after}; exec {run} {source} {event}")


def hook_command(source: str, event: str, scope: str, inbox_events, drain_events,
                 head_events=frozenset({"SessionStart"})) -> str:
    """The command of one event's hook for a harness whose hooks are
    commands (Claude Code, Codex): `inbox_command` for the events that need
    no look at the working tree (`inbox_events`; with a drain after those of
    `drain_events`, with HEAD written beside those of `head_events`),
    `runner_command` for the others; both name the interpreter that runs
    this outside the project scope."""
    python = shlex.quote(sys.executable)
    if event in inbox_events:
        return inbox_command(source, event, scope, python, drain=event in drain_events,
                             head=event in head_events)
    return runner_command(source, event, scope, python)


def install_hooks(doc: "HookFile", events, command: Callable[[str], str],
                  new_group: Callable[[str], dict], is_ours: Callable[[dict], bool]) -> dict:
    """Give each event one hook of ours running `command(event)` (a new
    group `new_group(event)` where it has none); what was done per event:
    installed, updated or unchanged."""
    hooks = doc.hooks(create=True)
    actions = {}
    for event in events:
        groups = doc.event_groups(hooks, event)
        found = ours(groups, is_ours)
        if not found:
            groups.append(new_group(event))
            actions[event] = "installed"
            continue
        action = "unchanged"
        want = new_group(event).get("matcher")
        group = next(g for g in groups if isinstance(g, dict) and isinstance(g.get("hooks"), list)
                     and any(h is found[0] for h in g["hooks"]))
        if want is not None and group.get("matcher") != want and all(map(is_ours, group["hooks"])):
            # An older git-ot's matcher (every tool): a group of git-ot's
            # own takes the one it installs now.
            group["matcher"] = want
            action = "updated"
        if found[0].get("command") != command(event):
            # Another interpreter (a new venv), the other scope's form (an
            # older git-ot wrote the interpreter's path into the project
            # file) or a hand-written entry: only the command is
            # rewritten; other keys the user set stay.
            found[0]["command"] = command(event)
            action = "updated"
        if len(found) > 1:
            drop(groups, found[1:])
            action = "updated"
        actions[event] = action
    return actions


def uninstall_hooks(doc: "HookFile", events, is_ours: Callable[[dict], bool]) -> dict:
    """Remove every hook of ours (and the groups, event lists and `hooks`
    object left empty), nothing else; per event: removed or absent."""
    actions = {event: "absent" for event in events}
    hooks = doc.hooks(create=False)
    if hooks is not None:
        for event in list(hooks):
            groups = hooks[event]
            if not isinstance(groups, list):
                continue
            found = ours(groups, is_ours)
            if not found:
                continue
            drop(groups, found)
            if not groups:
                del hooks[event]
            actions[event] = "removed"
        if not hooks:
            del doc.data["hooks"]
    return actions


def ours(groups: list, is_ours: Callable[[dict], bool]) -> list[dict]:
    """The hook entries of `groups` that `is_ours` recognises, in order."""
    return [h for g in groups if isinstance(g, dict) and isinstance(g.get("hooks"), list)
            for h in g["hooks"] if is_ours(h)]


def drop(groups: list, doomed: list[dict]) -> None:
    """Remove the given hook entries; a group left with no hook goes too."""
    ids = {id(h) for h in doomed}
    kept = []
    for g in groups:
        if isinstance(g, dict) and isinstance(g.get("hooks"), list):
            remaining = [h for h in g["hooks"] if id(h) not in ids]
            if len(remaining) != len(g["hooks"]):
                if not remaining:
                    continue
                g["hooks"] = remaining
        kept.append(g)
    groups[:] = kept


class HookFile:
    """One hook file: its data, and the style to write it back in."""

    def __init__(self, path: str, data: dict, style: dict, existed: bool, title: str):
        self.path = path
        self.data = data
        self.style = style
        self.existed = existed
        self.title = title  # the harness that reads it, for messages

    @classmethod
    def read(cls, path: str, title: str) -> "HookFile":
        try:
            with open(path, "rb") as fh:
                raw = fh.read()
        except FileNotFoundError:
            return cls(path, {}, _style("", False), False, title)
        except OSError as exc:
            raise SettingsError(f"cannot read '{path}': {exc.strerror}") from None
        hint = "fix the file (or move it aside), then run the command again"
        bom = raw.startswith(b"\xef\xbb\xbf")
        try:
            text = raw[3:].decode("utf-8") if bom else raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SettingsError(f"'{path}' is not UTF-8 text", hint=hint) from None
        try:
            data = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise SettingsError(f"'{path}' is not valid JSON: {exc.msg} at line {exc.lineno} "
                                f"column {exc.colno}", hint=hint) from None
        if not isinstance(data, dict):
            raise SettingsError(f"'{path}' does not hold a JSON object", hint=hint)
        return cls(path, data, _style(text, bom), True, title)

    def hooks(self, create: bool) -> dict | None:
        hooks = self.data.get("hooks")
        if hooks is None and create:
            hooks = self.data["hooks"] = {}
        if hooks is not None and not isinstance(hooks, dict):
            raise SettingsError(f"'hooks' in '{self.path}' is not a JSON object",
                                hint=f"fix it by hand ({self.title} expects an object of events), then run again")
        return hooks

    def render(self) -> bytes:
        s = self.style
        item = "," if s["indent"] is not None else s["item_sep"]
        text = json.dumps(self.data, ensure_ascii=s["ascii"], indent=s["indent"],
                          separators=(item, s["key_sep"]))
        if s["newline"]:
            text += "\n"
        return (b"\xef\xbb\xbf" if s["bom"] else b"") + text.encode("utf-8")

    def write(self) -> None:
        """Replace the file atomically (a temp file renamed over it)."""
        target = os.path.realpath(self.path)  # keep a symlinked settings file a symlink
        directory = os.path.dirname(target)
        tmp = os.path.join(directory, f".{os.path.basename(target)}.git-ot-{os.getpid()}.tmp")
        try:
            os.makedirs(directory, exist_ok=True)
            mode = os.stat(target).st_mode & 0o7777 if self.existed else None
            with open(tmp, "wb") as fh:
                fh.write(self.render())
                fh.flush()
                os.fsync(fh.fileno())
            if mode is not None:
                os.chmod(tmp, mode)
            os.replace(tmp, target)
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise SettingsError(f"cannot write '{self.path}': {exc.strerror}") from None

    def write_or_delete(self, remove_dir: bool) -> str:
        """Write the file back, or delete it if nothing but git-ot's was in it."""
        if self.data:
            self.write()
            return "updated"
        try:
            os.unlink(self.path)
        except OSError as exc:
            raise SettingsError(f"cannot remove '{self.path}': {exc.strerror}") from None
        if remove_dir:
            try:
                os.rmdir(os.path.dirname(self.path))  # only if now empty
            except OSError:
                pass
        return "deleted"

    def event_groups(self, hooks: dict, event: str) -> list:
        """The event's list of hook groups, created empty if missing."""
        groups = hooks.get(event)
        if groups is None:
            groups = hooks[event] = []
        if not isinstance(groups, list):
            raise SettingsError(f"'hooks.{event}' in '{self.path}' is not a list",
                                hint=f"fix it by hand ({self.title} expects a list of hook groups), "
                                     "then run again")
        return groups


def _style(text: str, bom: bool) -> dict:
    """How a settings file is laid out, so a rewrite changes only what it must."""
    match = re.search(r"\n([ \t]+)\S", text)
    if match:
        indent = match.group(1)
    elif "\n" in text.strip():
        indent = ""  # newlines between items, no indentation
    else:
        indent = None if text.strip() not in ("", "{}") else "  "
    non_ascii = any(ord(c) > 127 for c in text)
    return {"indent": indent, "newline": text.endswith("\n") or not text.strip(),
            "key_sep": ":" if re.search(r'"[ \t]*:[^ \t\n]', text) and not re.search(r'":\s', text) else ": ",
            "item_sep": "," if re.search(r",\S", text) and not re.search(r",\s", text) else ", ",
            "ascii": not non_ascii and "\\u" in text, "bom": bom}
