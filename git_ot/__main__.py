"""The `git-ot` command. `git ot hook ...` takes a fast path without click."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["hook"] and not ({"--help", "-h"} & set(args)):
        from .capture.hook import main as hook_main

        return hook_main(args[1:])
    from .cli import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
