"""Pi (npm @mariozechner/pi-coding-agent): its extension events, its session
files and the extension git-ot installs.

`hooks.py` turns what git-ot's extension sends into a normalised event (the
fast path Pi waits for, so it imports almost nothing), `transcript.py`
turns session files into the same events for `git ot import`, and
`extension.py` writes the extension (`git-ot.ts`, beside it) where Pi loads
it. This module joins them into the one object the registry hands out
(capture/registry.py); the heavier halves are imported only when used.
"""

from __future__ import annotations

from . import hooks

NO_TRANSCRIPTS_HINT = ("name the session files or folders to import, or set PI_CODING_AGENT_DIR "
                       "to Pi's agent folder")
EMPTY_FOLDER_HINT = "Pi keeps them in ~/.pi/agent/sessions/--<project>--/"


class Pi:
    """The `Harness` (capture/harness.py) for Pi."""

    name = hooks.SOURCE
    title = "Pi"
    scopes = ("project", "user")
    seal_kinds = hooks.SEAL_KINDS
    transcript_suffix = ".jsonl"
    no_transcripts_hint = NO_TRANSCRIPTS_HINT
    empty_folder_hint = EMPTY_FOLDER_HINT

    # -- live capture ------------------------------------------------------

    def normalise(self, event_name: str | None, payload) -> dict:
        return hooks.normalise(event_name, payload)

    # -- install -----------------------------------------------------------

    def hook_command(self, event: str, scope: str) -> str:
        from .extension import command_for

        return command_for(event, scope)

    def install(self, scope: str, cwd: str | None = None) -> dict:
        from .extension import install

        return install(scope, cwd)

    def uninstall(self, scope: str, cwd: str | None = None) -> dict:
        from .extension import uninstall

        return uninstall(scope, cwd)

    def installed(self, scope: str, cwd: str | None = None) -> dict | None:
        from .extension import installed

        return installed(scope, cwd)

    # -- import ------------------------------------------------------------

    def default_folder(self, worktree: str) -> str:
        from .transcript import default_folder

        return default_folder(worktree)

    def read_transcript(self, path: str, data: bytes) -> list:
        from .transcript import read_transcript

        return read_transcript(path, data)

    def by_session(self, files: list[list]) -> dict[str, list]:
        from .transcript import by_session

        return by_session(files)

    def convert(self, session_id: str, lines: list) -> tuple[list[dict], object]:
        from .transcript import convert

        return convert(session_id, lines)

    def session_cwd(self, lines: list) -> str | None:
        from .transcript import session_cwd

        return session_cwd(lines)

    def relpath_mapper(self, worktree: str, cwd: str | None):
        from ..edits import relpath_mapper

        return relpath_mapper(worktree, cwd)


HARNESS = Pi()
