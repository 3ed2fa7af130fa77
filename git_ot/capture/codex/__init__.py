"""Codex CLI: its hook payloads, its rollout files and its hooks.json.

`hooks.py` turns a hook payload into a normalised event (the fast path
Codex waits for, so it imports almost nothing), `rollout.py` turns rollout
lines into the same events for `git ot import`, and `config.py` wires
`git ot hook codex` into Codex's hooks.json and records Codex's trust in
it. This module joins them into the one object the registry hands out
(capture/registry.py); the heavier halves are imported only when used.
"""

from __future__ import annotations

from . import hooks

NO_TRANSCRIPTS_HINT = ("name the rollout files or folders to import, or set CODEX_HOME to "
                       "Codex's home folder")
EMPTY_FOLDER_HINT = "Codex keeps them in ~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl"


class Codex:
    """The `Harness` (capture/harness.py) for the Codex CLI."""

    name = hooks.SOURCE
    title = "Codex"
    scopes = ("user", "project")
    seal_kinds = hooks.SEAL_KINDS
    transcript_suffix = ".jsonl"
    no_transcripts_hint = NO_TRANSCRIPTS_HINT
    empty_folder_hint = EMPTY_FOLDER_HINT

    # -- live capture ------------------------------------------------------

    def normalise(self, event_name: str | None, payload) -> dict:
        return hooks.normalise(event_name, payload)

    # -- install -----------------------------------------------------------

    def hook_command(self, event: str, scope: str) -> str:
        from .config import command_for

        return command_for(event, scope)

    def install(self, scope: str, cwd: str | None = None) -> dict:
        from .config import install

        return install(scope, cwd)

    def uninstall(self, scope: str, cwd: str | None = None) -> dict:
        from .config import uninstall

        return uninstall(scope, cwd)

    def installed(self, scope: str, cwd: str | None = None) -> dict | None:
        from .config import installed

        return installed(scope, cwd)

    # -- import ------------------------------------------------------------

    def default_folder(self, worktree: str) -> str:
        from .rollout import default_folder

        return default_folder(worktree)

    def read_transcript(self, path: str, data: bytes) -> list:
        from .rollout import read_rollout

        return read_rollout(path, data)

    def by_session(self, files: list[list]) -> dict[str, list]:
        from .rollout import by_session

        return by_session(files)

    def convert(self, session_id: str, lines: list) -> tuple[list[dict], object]:
        from .rollout import convert

        return convert(session_id, lines)

    def session_cwd(self, lines: list) -> str | None:
        from .rollout import session_cwd

        return session_cwd(lines)

    def apply_change(self, before: str | None, change: dict) -> str | None:
        """A file's contents after one apply_patch operation of an edit (see
        domain/importing.py): None when it does not apply to `before`."""
        from ..edits import apply_file_op

        return apply_file_op(before, change)

    def belongs(self, worktree: str, lines: list) -> bool:
        from .rollout import belongs

        return belongs(worktree, lines)

    def relpath_mapper(self, worktree: str, cwd: str | None):
        from ..edits import relpath_mapper

        return relpath_mapper(worktree, cwd)


HARNESS = Codex()
