"""Codex CLI: its hook payloads, its rollout files and its hooks.json.

`hooks.py` turns a hook payload into a normalised event (the fast path
Codex waits for, so it imports almost nothing), `rollout.py` turns rollout
lines into the same events for `git ot import`, and `config.py` wires
`git ot hook codex` into Codex's hooks.json and records Codex's trust in
it. This module joins them into the one object the registry hands out
(capture/registry.py); the heavier halves are imported only when used.
"""

from __future__ import annotations

from ..modular import ModularHarness
from . import hooks

NO_TRANSCRIPTS_HINT = ("name the rollout files or folders to import, or set CODEX_HOME to "
                       "Codex's home folder")
EMPTY_FOLDER_HINT = "Codex keeps them in ~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl"


class Codex(ModularHarness):
    """The `Harness` (capture/harness.py) for the Codex CLI."""

    package = __name__
    hooks = hooks
    installer = "config"
    transcripts = "rollout"
    name = hooks.SOURCE
    title = "Codex"
    scopes = ("user", "project")
    seal_kinds = hooks.SEAL_KINDS
    no_transcripts_hint = NO_TRANSCRIPTS_HINT
    empty_folder_hint = EMPTY_FOLDER_HINT

    def apply_change(self, before: str | None, change: dict) -> str | None:
        """A file's contents after one apply_patch operation of an edit (see
        domain/importing.py): None when it does not apply to `before`."""
        from ..edits import apply_file_op

        return apply_file_op(before, change)

    # Telemetry (`git ot install codex --otel`): optional methods, see
    # capture/harness.py.
    def install_otel(self, scope: str, cwd: str | None = None) -> dict:
        return self._module(self.installer).install_otel(scope, cwd)

    def uninstall_otel(self, scope: str, cwd: str | None = None) -> dict:
        return self._module(self.installer).uninstall_otel(scope, cwd)

    def belongs(self, worktree: str, lines: list) -> bool:
        return self._module(self.transcripts).belongs(worktree, lines)


HARNESS = Codex()
