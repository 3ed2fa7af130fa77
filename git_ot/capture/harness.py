"""The one interface every harness implements.

A harness (a coding agent git-ot captures) is one package under capture/,
`capture/<name>/`, whose `__init__` defines an object implementing
`Harness` and names it `HARNESS`, registered by one line in
capture/registry.py. Live capture (`git ot hook <name> <Event>`) calls
`normalise`; `git ot install`/`uninstall` call `install`/`uninstall`,
and `git ot status` calls `installed` (the domain's `HarnessWiring`,
domain/status.py);
`git ot import` drives the transcript methods, which are the domain's
`TranscriptSource` (domain/importing.py). Every harness produces the same
normalised events (refs/README.md, the spool event), which one fold turns
into steps, so snapshots, sealing, anchoring, blame and track need nothing
per harness.

A harness that exports OpenTelemetry may also have `install_otel(scope,
cwd)` and `uninstall_otel(scope, cwd)`: point its exporter at `git ot otel
serve` in its own configuration, and take exactly that out again (`git ot
install <name> --otel`; `--otel` is refused for a harness without them).
They are optional, so they are not members of the Protocol.

Nothing imports this module at run time: the registry hands out the
objects, and `tests/capture/test_harness.py` checks each against the
Protocol. Resuming a session in a harness (Ctx) will add its methods here.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..domain.importing import TranscriptSource


@runtime_checkable
class Harness(TranscriptSource, Protocol):
    """A coding agent git-ot captures: its hooks, installers and transcripts."""

    name: str  # as in `git ot hook NAME`, `git ot install NAME`, `git ot import NAME`
    title: str  # as people write it, for messages: "Claude Code"
    scopes: tuple[str, ...]  # where `install` can write; the first is the default
    seal_kinds: frozenset[str]  # normalised event kinds after which the spool is sealed

    def normalise(self, event_name: str | None, payload) -> dict:
        """The normalised event of one hook payload (no id or time yet).

        Runs on the hook path the agent waits for: import nothing heavy.
        Raises BadPayload (errors.py) on a payload it cannot use.
        """

    def fill(self, location, event: dict) -> list[dict]:
        """The events of calls no hook of the harness sees (tools its install
        does not hook), read from its session files since the session's last
        hook call, to be spooled before `event`; [] for a harness whose hooks
        see every call. Runs on the hook path too."""

    def settle(self, location, session: str, quick: bool = False) -> list[dict]:
        """In the detached seal at a turn's end: `fill`'s events for the
        session once its session files have stopped growing; [] when the
        harness has no `fill` or the session never read one. With `quick`
        (a git hook, before it anchors), what they hold now, waiting only
        briefly for the results of write calls already started."""

    def hook_command(self, event: str, scope: str) -> str:
        """The shell command `install` writes for `event` into `scope`."""

    def install(self, scope: str, cwd: str | None = None) -> dict:
        """Wire `git ot hook <name>` into the harness's configuration (idempotent)."""

    def uninstall(self, scope: str, cwd: str | None = None) -> dict:
        """Remove exactly what `install` wrote, nothing else."""

    def installed(self, scope: str, cwd: str | None = None) -> dict | None:
        """What `install` wired into `scope`, read without writing anything:
        `{"settings": <file>, "events": [wired], "missing": [not wired]}`,
        or None when nothing of git-ot's is there."""
