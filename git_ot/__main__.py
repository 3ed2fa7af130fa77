"""The `git-ot` command. `git ot hook ...` takes a fast path without click."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if os.environ.get("_GIT_OT_COMPLETE"):  # cli.COMPLETE_VAR: the shell asks for completions
        from .cli import complete

        return complete()
    if args[:1] == ["hook"] and not ({"--help", "-h"} & set(args)):
        from .capture.hook import main as hook_main

        return hook_main(args[1:])
    if args[:1] == ["blame"]:
        # git works on the blame while Python imports the rest (see blame_prestart.py).
        from .store.blame_prestart import spawn

        spawn(args[1:])
        from .cli import run
        from .store.blame_prestart import discard

        status = run(args)
        discard()  # a git blame started for nothing (a usage error, say)
        if argv is not None:
            return status  # called from Python, not as the program
        # Tearing down the interpreter (every module and object, pygit2's
        # caches) costs about as much as the look-ups after git's blame; the
        # output is complete once flushed, so leave without it.
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except (BrokenPipeError, OSError):
            pass
        os._exit(status)
    from .cli import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
