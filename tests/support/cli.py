"""git-ot's command line run inside the test process, as the program runs it.

A new `git-ot` process costs a Python start-up and the imports of click and
pygit2 (a few hundred milliseconds on a busy machine) before it does
anything; a test that reads `git ot trace list --json` or an error message
needs none of that. `run_here` calls the program's own entry point
(`git_ot.__main__.main`, which hands the command line to the top-level
error handler), so the exit code and the `error:`/`hint:` lines are the ones
the program prints; click's `CliRunner` supplies stdin and captures stdout
and stderr, file descriptors 1 and 2 are captured too for what a git the
command starts prints there (after what Python printed), and the working
directory is the repository's for the call.

What stays a real process (`support.repo.run_ot`): `git ot hook` (git and
the harnesses start it), whatever a git hook starts, the end-to-end tests,
the demo, and at least one test per command family of the real program's
exit codes, so the entry point itself stays tested.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
from dataclasses import dataclass

import click.formatting
from click.testing import CliRunner

from git_ot.__main__ import main


@dataclass
class Ran:
    """What a run printed and returned: the fields of a subprocess.CompletedProcess the tests read."""
    args: list[str]
    returncode: int
    stdout: bytes
    stderr: bytes


def run_here(cwd, *args: str, input: bytes | str | None = None, env=None) -> Ran:
    """`git ot ARGS` in `cwd`, in this process. `env`, if given, is the whole
    environment, as for subprocess.run."""
    args = [str(a) for a in args]
    if args[:1] == ["hook"]:
        raise AssertionError("git ot hook runs as its own process: use run_ot")
    overrides = None
    if env is not None:
        overrides = {**{key: None for key in os.environ if key not in env}, **env}
    if threading.current_thread() is not threading.main_thread():
        raise AssertionError("the working directory is the whole process's: run in-process calls one at a time")
    if "GIT_OT_TEST_KILL_AT" in (env if env is not None else os.environ):
        raise AssertionError("a run told to kill itself would kill the test process: use run_ot")
    runner = CliRunner()
    with contextlib.chdir(cwd), runner.isolation(input=input, env=overrides) as (out, err, _), \
            _descriptors() as (fd_out, fd_err):
        click.formatting.FORCED_WIDTH = _help_width()  # CliRunner's 80; put back on leaving
        try:
            code = main(args)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
    with fd_out, fd_err:
        return Ran(args, code, out.getvalue() + fd_out.read(), err.getvalue() + fd_err.read())


@contextlib.contextmanager
def _descriptors():
    """Descriptors 1 and 2 pointed at files while the command runs: what the
    processes it starts write there, as a process of its own would have it."""
    saved = [os.dup(1), os.dup(2)]
    files = [tempfile.TemporaryFile(), tempfile.TemporaryFile()]
    try:
        os.dup2(files[0].fileno(), 1)
        os.dup2(files[1].fileno(), 2)
        try:
            yield files
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for f in files:
                f.seek(0)
    finally:
        for fd in saved:
            os.close(fd)


def _help_width() -> int:
    """The width click wraps help at in a process whose stdout is a pipe, as
    the program's is in the tests: COLUMNS, else shutil.get_terminal_size's
    fallback of 80 columns; click leaves two of them free."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    return max(min(columns if columns > 0 else 80, 80) - 2, 50)
