"""Claude Code: its hook payloads, its transcript files and its settings files.

`hooks.py` turns a hook payload into a normalised event (the fast path
Claude Code waits for, so it imports almost nothing), `transcript.py` turns
transcript lines into the same events for `git ot import`, and
`settings.py` wires `git ot hook claude-code` into Claude Code's settings.
This module joins them into the one object the registry hands out
(capture/registry.py); the heavier halves are imported only when used.
"""

from __future__ import annotations

from . import hooks

# Where Claude Code keeps transcripts, for the messages of `git ot import`.
NO_TRANSCRIPTS_HINT = ("name the transcript files or folders to import, or set "
                       "CLAUDE_CONFIG_DIR to Claude Code's configuration folder")
EMPTY_FOLDER_HINT = "Claude Code keeps them in ~/.claude/projects/<project>/"


class ClaudeCode:
    """The `Harness` (capture/harness.py) for Claude Code."""

    name = hooks.SOURCE
    title = "Claude Code"
    scopes = ("project", "local", "user")
    seal_kinds = hooks.SEAL_KINDS
    transcript_suffix = ".jsonl"
    no_transcripts_hint = NO_TRANSCRIPTS_HINT
    empty_folder_hint = EMPTY_FOLDER_HINT

    # -- live capture ------------------------------------------------------

    def normalise(self, event_name: str | None, payload) -> dict:
        return hooks.normalise(event_name, payload)

    # -- install -----------------------------------------------------------

    def hook_command(self, event: str, scope: str) -> str:
        from .settings import command_for

        return command_for(event, scope)

    def install(self, scope: str, cwd: str | None = None) -> dict:
        from .settings import install

        return install(scope, cwd)

    def uninstall(self, scope: str, cwd: str | None = None) -> dict:
        from .settings import uninstall

        return uninstall(scope, cwd)

    def installed(self, scope: str, cwd: str | None = None) -> dict | None:
        from .settings import installed

        return installed(scope, cwd)

    def install_otel(self, scope: str, cwd: str | None = None) -> dict:
        from .settings import install_otel

        return install_otel(scope, cwd)

    def uninstall_otel(self, scope: str, cwd: str | None = None) -> dict:
        from .settings import uninstall_otel

        return uninstall_otel(scope, cwd)

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
        """The directory the session started in: its first line's `cwd`."""
        return next((ln.obj.get("cwd") for ln in lines
                     if ln.obj and isinstance(ln.obj.get("cwd"), str)), None)

    def relpath_mapper(self, worktree: str, cwd: str | None):
        from ..edits import relpath_mapper

        return relpath_mapper(worktree, cwd)


HARNESS = ClaudeCode()
