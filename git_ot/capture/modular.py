"""The harness object every harness package defines, from its modules.

A harness package (capture/<name>/) keeps its halves in modules: one that
normalises hook payloads (imported by the package itself: it is the fast
path the agent waits for), one that installs and uninstalls, and one that
reads transcripts for `git ot import`. `ModularHarness` implements the
`Harness` Protocol (capture/harness.py) by calling those modules'
functions of the same names, importing the installer and the transcript
reader only when one of their methods is called, so a hook call loads
neither. A package's `HARNESS` is an instance of a subclass that names its
modules and its facts; a method a harness does differently is overridden
there.
"""

from __future__ import annotations

import sys

from ..errors import BadPayload


class ModularHarness:
    """A `Harness` whose methods are functions of its package's modules."""

    # Set by each harness package.
    package: str  # the package, as `__name__` gives it
    hooks = None  # its payload module (already imported): normalise()
    installer = "settings"  # module: command_for, install, uninstall, installed
    transcripts = "transcript"  # module: default_folder, read_transcript, by_session, convert, session_cwd
    name: str
    title: str
    scopes: tuple[str, ...]
    seal_kinds: frozenset[str]
    transcript_suffix = ".jsonl"
    # module: fill(location, event), the events of tool calls no hook of
    # the harness sees, read from its session files as the session goes
    filler: str | None = None
    no_transcripts_hint: str
    empty_folder_hint: str

    def _module(self, name: str):
        name = f"{self.package}.{name}"
        __import__(name)  # as registry.find: no importlib on the hook path
        return sys.modules[name]

    # -- live capture ------------------------------------------------------

    def normalise(self, event_name: str | None, payload) -> dict:
        return self.hooks.normalise(event_name, payload)

    def fill(self, location, event: dict) -> list[dict]:
        if self.filler is None:
            return []
        return self._module(self.filler).fill(location, event)

    def settle(self, location, session: str, quick: bool = False) -> list[dict]:
        if self.filler is None:
            return []
        return self._module(self.filler).settle(location, session, quick)

    # -- install -----------------------------------------------------------

    def hook_command(self, event: str, scope: str) -> str:
        return self._module(self.installer).command_for(event, scope)

    def install(self, scope: str, cwd: str | None = None) -> dict:
        return self._module(self.installer).install(scope, cwd)

    def uninstall(self, scope: str, cwd: str | None = None) -> dict:
        return self._module(self.installer).uninstall(scope, cwd)

    def installed(self, scope: str, cwd: str | None = None) -> dict | None:
        return self._module(self.installer).installed(scope, cwd)

    # -- import ------------------------------------------------------------

    def default_folder(self, worktree: str) -> str:
        return self._module(self.transcripts).default_folder(worktree)

    def read_transcript(self, path: str, data: bytes) -> list:
        return self._module(self.transcripts).read_transcript(path, data)

    def by_session(self, files: list[list]) -> dict[str, list]:
        return self._module(self.transcripts).by_session(files)

    def convert(self, session_id: str, lines: list) -> tuple[list[dict], object]:
        return self._module(self.transcripts).convert(session_id, lines)

    def session_cwd(self, lines: list) -> str | None:
        return self._module(self.transcripts).session_cwd(lines)

    def relpath_mapper(self, worktree: str, cwd: str | None):
        from ..domain.paths import relpath_mapper

        return relpath_mapper(worktree, cwd)


def payload_header(source: str, event_name: str | None, payload, event_key: str, session_key: str,
                   event_what: str | None = None) -> tuple[str, str]:
    """A hook payload's event name (`event_name`, else its `event_key`) and
    session id (its `session_key`); BadPayload, naming `source`, when it is
    no JSON object or lacks either."""
    if not isinstance(payload, dict):
        raise BadPayload(f"{source} hook payload is not a JSON object")
    name = event_name or payload.get(event_key)
    sid = payload.get(session_key)
    if not name or not isinstance(name, str):
        raise BadPayload(f"{source} hook payload has no {event_what or event_key}")
    if not sid or not isinstance(sid, str):
        raise BadPayload(f"{source} {name} payload has no {session_key}")
    return name, sid
