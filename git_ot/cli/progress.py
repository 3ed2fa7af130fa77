"""A progress bar on standard error, for the commands that can run long.

Shown only when standard error is a terminal and the work is large enough
to be worth watching; otherwise nothing at all is written. The domain
reports through a plain `progress(done, total)` callback and never sees
click.
"""

from __future__ import annotations

import contextlib
import sys
import time

import click


class Bar:
    """A click progress bar labelled `label`, shown once the size reaches `minimum`."""

    def __init__(self, label: str, minimum: int):
        self.label = label
        self.minimum = minimum
        self.bar = None
        self.started = time.monotonic()

    def update(self, done: int, total: int, size: int | None = None) -> None:
        """`size` (default: `total`) is what the minimum is compared with."""
        if (total if size is None else size) < self.minimum:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr,
                                         show_pos=True, item_show_func=self._rate)
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)

    def _rate(self, _item) -> str | None:
        if self.bar is None:
            return None
        elapsed = time.monotonic() - self.started
        return f"{self.bar.pos / elapsed:.1f}/s" if elapsed > 0 else None

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@contextlib.contextmanager
def shown(label: str, minimum: int):
    """The `progress` callback to hand the domain while the block runs: a
    Bar's update when standard error is a terminal, else None (nothing is
    shown); the bar is closed however the block ends."""
    if not sys.stderr.isatty():
        yield None
        return
    shown_bar = Bar(label, minimum)
    try:
        yield shown_bar.update
    finally:
        shown_bar.close()
