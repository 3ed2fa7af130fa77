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

from ..modular import ModularHarness
from . import hooks

NO_TRANSCRIPTS_HINT = ("name the session files or folders to import, or set PI_CODING_AGENT_DIR "
                       "to Pi's agent folder")
EMPTY_FOLDER_HINT = "Pi keeps them in ~/.pi/agent/sessions/--<project>--/"


class Pi(ModularHarness):
    """The `Harness` (capture/harness.py) for Pi."""

    package = __name__
    hooks = hooks
    installer = "extension"
    name = hooks.SOURCE
    title = "Pi"
    scopes = ("project", "user")
    seal_kinds = hooks.SEAL_KINDS
    no_transcripts_hint = NO_TRANSCRIPTS_HINT
    empty_folder_hint = EMPTY_FOLDER_HINT


HARNESS = Pi()
