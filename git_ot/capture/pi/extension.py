"""git-ot's Pi extension: write it where Pi loads it, take it away.

Pi has no hook settings: it runs TypeScript extensions, which it loads
without a build step from `<agent dir>/extensions/*.ts` (user scope; the
agent dir is `$PI_CODING_AGENT_DIR`, by default `~/.pi/agent`) and from
`<project>/.pi/extensions/*.ts` (project scope, usually committed). Installing
writes one file there, `git-ot.ts`, from the template beside this module;
uninstalling removes exactly that file (and, in the project, the
`.pi/extensions/` and `.pi/` folders it leaves empty). A file of that name
is git-ot's when it carries MARKER; one that does not is never overwritten
or removed.

The extension hands Pi's events to `git ot hook pi <event>` (see the
template and hooks.py). In the project file, which is run on every
teammate's machine, it finds `git-ot` on PATH (absolute entries only, so a
clone cannot plant one), else in git's exec-path, and when there is none it
registers nothing: no error, no output, no cost but the look-up. The user
file belongs to one machine, so there it names the interpreter that ran
the install by its absolute path, as the git hooks do.

The extension runs git-ot only where the working tree must be seen at
that moment: before and after a write, edit or bash tool, one call at a
time, and the agent waits for it. Every other event it writes into the
repository's inbox (store/inbox.py) with no process started, in the order
Pi fired them, behind the calls still running; at a turn's end
(`agent_end`) and at session shutdown it starts `git ot hook drain` in the
background, which spools them and seals the session. A session's start
carries the commit and branch the extension sees (`gitHead`). Where the
repository has no inbox (git-ot keeps no state there yet), each event runs
git-ot, queued, as the tool events do.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from importlib import resources

from ... import PYTHON_ARGS
from ...errors import BareRepository, SettingsError
from ...store.gitdir import locate

HARNESS = "pi"
SCOPES = ("project", "user")
FILENAME = "git-ot.ts"
MARKER = "git-ot-extension-marker"
_RUNNER_LINE = "const RUNNER: string[] | null = null;"
_EVENTS = re.compile(r"^const EVENTS = \[([^\]]*)\];", re.M)


def template() -> str:
    return resources.files(__package__).joinpath(FILENAME).read_text(encoding="utf-8")


# The events the extension hands to git-ot, as the template lists them.
EVENTS = tuple(json.loads("[" + _EVENTS.search(template()).group(1).replace("\n", " ") + "]"))


def extension_path(scope: str, cwd: str | None = None, what: str = "install") -> str:
    """Where Pi loads git-ot's extension from, for `scope`."""
    if scope == "user":
        from .transcript import agent_dir

        return os.path.join(os.path.abspath(agent_dir()), "extensions", FILENAME)
    if scope != "project":
        raise SettingsError(f"unknown scope '{scope}' for Pi", hint="use one of: " + ", ".join(SCOPES))
    top = locate(cwd).require_worktree(f"git ot {what} {HARNESS} --scope {scope}")
    return os.path.join(top, ".pi", "extensions", FILENAME)


def runner(scope: str) -> list[str] | None:
    """The command the extension runs git-ot with (None: git-ot from PATH)."""
    return None if scope == "project" else [sys.executable, *PYTHON_ARGS]


def command_for(event: str, scope: str) -> str:
    """The command the extension runs for `event`, as a shell would read it."""
    run = runner(scope)
    prefix = "git-ot" if run is None else " ".join(shlex.quote(a) for a in run)
    return f"{prefix} hook {HARNESS} {event}"


def render(scope: str) -> str:
    text = template()
    run = runner(scope)
    if run is not None:
        text = text.replace(_RUNNER_LINE, f"const RUNNER: string[] | null = {json.dumps(run)};")
    return text


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SettingsError(f"cannot read '{path}': {exc.strerror}") from None


def _not_ours(path: str) -> SettingsError:
    return SettingsError(f"'{path}' is not git-ot's extension",
                         hint="move it aside (Pi would load both), then run the command again")


def install(scope: str = "project", cwd: str | None = None) -> dict:
    """Write git-ot's extension where Pi loads it for `scope` (idempotent)."""
    path = extension_path(scope, cwd)
    text = render(scope)
    old = _read(path)
    if old is not None and MARKER not in old:
        raise _not_ours(path)
    action = "installed" if old is None else ("unchanged" if old == text else "updated")
    if action != "unchanged":
        tmp = os.path.join(os.path.dirname(path), f".{FILENAME}.git-ot-{os.getpid()}.tmp")
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, path)
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise SettingsError(f"cannot write '{path}': {exc.strerror}") from None
    return {"harness": HARNESS, "scope": scope, "settings": path,
            "command": command_for("<event>", scope), "events": {e: action for e in EVENTS}}


def uninstall(scope: str = "project", cwd: str | None = None) -> dict:
    """Remove git-ot's extension from `scope`, nothing else."""
    path = extension_path(scope, cwd, "uninstall")
    old = _read(path)
    if old is not None and MARKER not in old:
        raise _not_ours(path)
    if old is None:
        return {"harness": HARNESS, "scope": scope, "settings": path,
                "events": {e: "absent" for e in EVENTS}, "file": "absent"}
    wired = _wired(old)
    try:
        os.unlink(path)
    except OSError as exc:
        raise SettingsError(f"cannot remove '{path}': {exc.strerror}") from None
    if scope == "project":
        for folder in (os.path.dirname(path), os.path.dirname(os.path.dirname(path))):
            try:
                os.rmdir(folder)  # only if now empty
            except OSError:
                break
    return {"harness": HARNESS, "scope": scope, "settings": path,
            "events": {e: "removed" if e in wired else "absent" for e in EVENTS}, "file": "deleted"}


def installed(scope: str = "project", cwd: str | None = None) -> dict | None:
    """What of git-ot's extension is in `scope`, read only: `{"settings",
    "events", "missing"}`, or None when there is none."""
    try:
        path = extension_path(scope, cwd, "status")
    except BareRepository:
        return None  # no working tree: no project extensions
    text = _read(path)
    if text is None or MARKER not in text:
        return None
    wired = _wired(text)
    return {"settings": path, "events": [e for e in EVENTS if e in wired] + sorted(set(wired) - set(EVENTS)),
            "missing": [e for e in EVENTS if e not in wired]}


def _wired(text: str) -> list[str]:
    """The events an extension file of git-ot's hands on (an older one may list fewer)."""
    m = _EVENTS.search(text)
    if m is None:
        return []
    return re.findall(r'"([^"]+)"', m.group(1))
