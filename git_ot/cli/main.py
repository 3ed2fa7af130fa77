"""The `git ot` group: every command by name, each imported only when it runs.

A command lives in its own module (`*_cmd.py`): it parses, makes one domain
call, and formats. This module imports none of them (git_ot/cli/lazy.py).
"""

from __future__ import annotations

import click

from .. import __version__
from .lazy import LazyGroup

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the result as JSON (a stable schema, see refs/README.md).")

# Every command: its name, where it is defined, and the first paragraph of
# its help (what 'git ot --help' lists; tests/test_cli_lazy.py keeps the two
# equal).
COMMANDS = {
    "anchor": ("git_ot.cli.anchor_cmd:anchor",
               "Recompute and write the notes of commits that have none."),
    "approve": ("git_ot.cli.share_cmd:approve",
                "Approve sessions for 'git ot push'; nothing is pushed until approved."),
    "blame": ("git_ot.cli.blame_cmd:blame",
              "Show which agent session, step and prompt wrote each line of a file."),
    "capsule": ("git_ot.cli.capsule_cmd:capsule",
                "Seal a failing step into one file, open it anywhere, and replay it."),
    "ctx": ("git_ot.cli.ctx_cmd:ctx",
            "Show what the model saw at a step, or resume a session from there."),
    "dataset": ("git_ot.cli.dataset_cmd:dataset",
                "Build, review and publish datasets from sessions, as code."),
    "demo": ("git_ot.cli.demo_cmd:demo",
             "Replay a recorded Claude Code session in a new repository and read it back."),
    "export": ("git_ot.cli.export_cmd:export",
               "Write what git-ot knows of commits in another tool's format."),
    "fetch": ("git_ot.cli.share_cmd:fetch",
              "Fetch the remote's sessions and notes and merge them into this clone."),
    "forget": ("git_ot.cli.security_cmd:forget",
               "Delete sessions for good: refs, note lines, spool, objects."),
    "fsck": ("git_ot.cli.fsck_cmd:fsck",
             "Check every session, spool file and note, and say how to repair what is damaged."),
    "hook": ("git_ot.cli.hook_cmd:hook",
             "Plumbing: record one hook event; the payload is read on stdin."),
    "import": ("git_ot.cli.import_cmd:import_",
               "Build sessions from a harness's transcript files."),
    "init": ("git_ot.cli.init_cmd:init",
             "Install git-ot's git hooks in this repository (idempotent)."),
    "install": ("git_ot.cli.install_cmd:install",
                "Wire git-ot into a coding agent's hooks (idempotent)."),
    "otel": ("git_ot.cli.otel_cmd:otel",
             "Receive OpenTelemetry (OTLP) from coding agents into this repository."),
    "push": ("git_ot.cli.share_cmd:push",
             "Push approved sessions and the notes to the remote."),
    "remote": ("git_ot.cli.share_cmd:remote",
               "Show or set the remote that sessions are shared with."),
    "scan": ("git_ot.cli.security_cmd:scan",
             "Show what the security gate finds in sessions, and their risk."),
    "skill": ("git_ot.cli.skill_cmd:skill",
              "Score the versions of the project's skills by what became of their runs."),
    "snapshot": ("git_ot.cli.snapshot_cmd:snapshot",
                 "Plumbing: write a tree of the working tree and print its id."),
    "trace": ("git_ot.cli.trace_cmd:trace",
              "List, show, search and map captured sessions and their steps."),
    "status": ("git_ot.cli.status_cmd:status",
               "Show whether git-ot is set up here and what keeps it from capturing."),
    "track": ("git_ot.cli.track_cmd:track",
              "Show whether each hunk the agents wrote landed, and whether it survives."),
    "uninstall": ("git_ot.cli.init_cmd:uninstall",
                  "Remove git-ot's git hooks, or its hooks from a harness's settings."),
    "version": ("git_ot.cli.version_cmd:version",
                "Show the versions of git-ot, git, Python and the coding agents found."),
    "watch": ("git_ot.cli.watch_cmd:watch",
              "Record every change of the working tree as a snapshot, until stopped."),
}


class _Group(LazyGroup):
    """git's `--color` alone means `--color=always`; a value only ever
    follows its `=` (so `git ot --color blame` blames)."""

    def parse_args(self, ctx, args):
        args = list(args)
        for i, arg in enumerate(args):
            if not arg.startswith("-") or arg == "--":
                break  # the command's name: its own arguments are its own
            if arg == "--color":
                args[i] = "--color=always"
        return super().parse_args(ctx, args)


@click.group(cls=_Group, lazy_subcommands=COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="git-ot", message="%(prog)s %(version)s")
@click.option("-p", "--paginate", "pager", flag_value=True, default=None,
              help="Page the output even when pager.ot is false.")
@click.option("-P", "--no-pager", "pager", flag_value=False,
              help="Do not page the output (as 'git --no-pager').")
@click.option("--color", "color", metavar="WHEN",
              type=click.Choice(["auto", "always", "never"]), default=None,
              help="Colour the output: auto (on a terminal, the default), always or never; "
                   "color.ot and color.ui set the default.")
def cli(pager, color):
    """Keep the evidence of coding-agent sessions inside the git repository.

    Sessions are stored as git objects under refs/opentraces/ and travel with
    the repository. See 'git help ot' for the full manual.
    """
    from .output import configure

    configure(color, pager)
