"""Claude Code: its hook payloads, its transcript files and its settings files.

`hooks.py` turns a hook payload into a normalised event (the fast path
Claude Code waits for, so it imports almost nothing), `transcript.py` turns
transcript lines into the same events for `git ot import`, and
`fill.py` reads the calls of the tools no hook is installed for from the
transcript as the session goes, and `settings.py` wires `git ot hook claude-code` into Claude Code's settings.
This module joins them into the one object the registry hands out
(capture/registry.py); the heavier halves are imported only when used.
"""

from __future__ import annotations

from ..modular import ModularHarness
from . import hooks

# Where Claude Code keeps transcripts, for the messages of `git ot import`.
NO_TRANSCRIPTS_HINT = ("name the transcript files or folders to import, or set "
                       "CLAUDE_CONFIG_DIR to Claude Code's configuration folder")
EMPTY_FOLDER_HINT = "Claude Code keeps them in ~/.claude/projects/<project>/"


class ClaudeCode(ModularHarness):
    """The `Harness` (capture/harness.py) for Claude Code."""

    package = __name__
    hooks = hooks
    name = hooks.SOURCE
    title = "Claude Code"
    scopes = ("project", "local", "user")
    seal_kinds = hooks.SEAL_KINDS
    filler = "fill"  # the read-only tools' calls, which no hook sees
    no_transcripts_hint = NO_TRANSCRIPTS_HINT
    empty_folder_hint = EMPTY_FOLDER_HINT

    # Telemetry (`git ot install claude-code --otel`): optional methods, see
    # capture/harness.py.
    def install_otel(self, scope: str, cwd: str | None = None) -> dict:
        return self._module(self.installer).install_otel(scope, cwd)

    def uninstall_otel(self, scope: str, cwd: str | None = None) -> dict:
        return self._module(self.installer).uninstall_otel(scope, cwd)


HARNESS = ClaudeCode()
