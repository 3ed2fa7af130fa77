"""The command line: parse, make one call into the domain, format the result.

Only this package turns git-ot's typed errors into messages and exit codes:
expected errors print one `error:` line (and a `hint:`) on stderr and exit 1;
an internal error exits 3 and points at the log with the traceback; Ctrl-C
exits 130. What a command stepped around to give its answer (a damaged
session among many, a seal that could not run) is printed as `warning:`
lines on stderr when it ends.
"""

from __future__ import annotations

import os
import sys

import click

from ..errors import GitOtError
from .main import cli


def _err(line: str) -> None:
    sys.stderr.write(line + "\n")


def _warnings(show: bool = True) -> None:
    """What the readers stepped around (store/notices.py), one line each."""
    notices = sys.modules.get("git_ot.store.notices")  # imported by what gave one, only
    for line in notices.drain() if notices is not None else ():
        if show:
            _err(f"warning: {line}")


# click derives its completion variable from the program's name; `run` names
# the program "git ot" for messages, from which click would make a variable
# and shell functions with a space in their names.
COMPLETE_VAR = "_GIT_OT_COMPLETE"


def complete() -> int:
    """Answer the shell's completion request in COMPLETE_VAR (click's protocol:
    `bash_source` prints the script to source, `bash_complete` the candidates)."""
    from click.shell_completion import shell_complete

    return shell_complete(cli, {}, "git-ot", COMPLETE_VAR, os.environ[COMPLETE_VAR])


def run(args: list[str]) -> int:
    from .output import finish

    try:
        return _run(args)
    finally:
        try:
            finish()  # wait for the pager, if one was started
        except Exception:
            pass


def _run(args: list[str]) -> int:
    _warnings(show=False)  # a run in a process that ran commands before starts clean
    try:
        status = cli.main(args=args, prog_name="git ot", standalone_mode=False)
        _warnings()
        # A command that ends with ctx.exit(n) (fsck finding damage) returns n here.
        return status if isinstance(status, int) else 0
    except GitOtError as exc:
        _warnings()
        _err(f"error: {exc.message}")
        if exc.hint:
            _err(f"hint: {exc.hint}")
        return 1
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help())
        return 1
    except click.UsageError as exc:
        # click's messages are sentences; git's are lowercase with no full stop.
        text = exc.format_message().strip().rstrip(".")
        _err(f"error: {text[:1].lower()}{text[1:]}")
        cmd = exc.ctx.command_path if exc.ctx else "git ot"
        _err(f"hint: see '{cmd} --help'")
        return 1
    except click.exceptions.Exit as exc:
        _warnings()
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        _err("interrupted")
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # internal error: keep the traceback for a report
        from ..store.gitdir import locate
        from ..store.log import log_failure

        try:
            location = locate()
        except Exception:
            location = None
        path = log_failure(location, "git ot " + " ".join(args), exc)
        _err(f"error: internal error in git-ot: {type(exc).__name__}: {exc}")
        if path:
            _err(f"hint: the traceback and versions are in '{path}'; please include it in a report")
        return 3
