"""The command line imports only the module of the command that runs.

`git ot` is a lazy click group (git_ot/cli/lazy.py): its table names each
command's module, and a run imports that one module. These tests check what
a fresh interpreter has imported after a run, that the table and the
commands agree, and that the group's help is byte for byte what click makes
of the loaded commands.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import click
import pytest

from git_ot.cli.main import COMMANDS, cli

# What `git ot blame` must leave alone: the modules of sharing, the gate,
# import, the demo and install, and every command module but its own.
NOT_FOR_BLAME = ("git_ot.domain.share", "git_ot.domain.gate", "git_ot.domain.importing",
                 "git_ot.domain.install", "git_ot.demo", "git_ot.capture.claude_code.settings", "git_ot.capture.claude_code.transcript",
                 "git_ot.store.transport")


def imported_after(cwd, args: list[str]) -> list[str]:
    """The git_ot modules a fresh interpreter holds after `git_ot.cli.run(args)`."""
    code = ("import json, sys\n"
            "from git_ot.cli import run\n"
            f"status = run({args!r})\n"
            "sys.stdout.flush()\n"
            "sys.stderr.write(json.dumps([status, sorted(m for m in sys.modules if m.startswith('git_ot'))]))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True)
    status, modules = json.loads(proc.stderr.decode().splitlines()[-1])
    assert status == 0, proc.stderr.decode()
    return modules


def command_modules(modules: list[str]) -> list[str]:
    return [m for m in modules if m.startswith("git_ot.cli.") and m.endswith("_cmd")]


@pytest.mark.parametrize("args", [["--version"], ["--help"]])
def test_version_and_help_import_no_command_module(repo, args):
    modules = imported_after(repo.path, args)
    assert command_modules(modules) == []
    assert not [m for m in modules if m.startswith(("git_ot.domain", "git_ot.store"))], modules


@pytest.mark.parametrize("args", [["blame", "--help"], ["blame", "app.py"]])
def test_blame_imports_only_what_blame_needs(repo, args):
    modules = imported_after(repo.path, args)
    assert command_modules(modules) == ["git_ot.cli.blame_cmd"]
    assert not [m for m in modules if m.startswith(NOT_FOR_BLAME)], modules


def test_a_subcommand_imports_its_groups_module_only(repo):
    assert command_modules(imported_after(repo.path, ["trace", "list", "--json"])) == ["git_ot.cli.trace_cmd"]


def test_the_table_names_every_command_and_its_help():
    ctx = click.Context(cli, info_name="git ot")
    assert cli.list_commands(ctx) == sorted(COMMANDS)
    for name, (path, summary) in COMMANDS.items():
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name
        module, _, attribute = path.partition(":")
        assert getattr(sys.modules[module], attribute) is command
        first = inspect.cleandoc(command.help).partition("\n\n")[0]
        assert summary == " ".join(first.split()), f"the summary of '{name}' in COMMANDS is stale"
    assert cli.get_command(ctx, "nosuch") is None


def test_list_commands_and_get_command_walk_the_whole_tree():
    """What man/generate.py walks: every command and every subcommand."""
    def walk(group, ctx, path):
        for name in group.list_commands(ctx):
            command = group.get_command(ctx, name)
            yield path + (name,)
            if isinstance(command, click.Group):
                yield from walk(command, click.Context(command, info_name=name, parent=ctx), path + (name,))

    found = list(walk(cli, click.Context(cli, info_name="git ot"), ()))
    assert found == [
        ("anchor",), ("approve",), ("blame",), ("capsule",), ("capsule", "open"),
        ("capsule", "replay"), ("capsule", "seal"), ("capsule", "show"), ("ctx",), ("ctx", "resume"), ("ctx", "show"),
        ("dataset",), ("dataset", "approve"), ("dataset", "new"), ("dataset", "publish"), ("dataset", "reject"),
        ("dataset", "review"), ("dataset", "run"), ("demo",), ("export",), ("export", "agent-trace"),
        ("fetch",), ("forget",), ("fsck",), ("hook",),
        ("import",), ("init",), ("install",), ("otel",), ("otel", "serve"), ("push",), ("remote",), ("remote", "set"),
        ("remote", "show"), ("scan",), ("skill",), ("skill", "list"), ("skill", "rate"), ("skill", "score"),
        ("snapshot",), ("status",), ("trace",), ("trace", "list"),
        ("trace", "map"), ("trace", "query"), ("trace", "show"), ("track",), ("uninstall",), ("version",), ("watch",),
    ]
    assert sorted(cli.commands) == sorted(COMMANDS)


@pytest.mark.parametrize("width", [40, 80, 120])
def test_group_help_is_what_click_makes_of_the_loaded_commands(width):
    plain = click.Group(name=cli.name, commands=dict(cli.commands), params=cli.params,
                        help=cli.help, context_settings=cli.context_settings)

    def help_of(group):
        return group.get_help(click.Context(group, info_name="git ot", terminal_width=width,
                                            max_content_width=width, **group.context_settings))

    assert help_of(cli) == help_of(plain)
    # The same with nothing loaded yet, as a fresh `git ot --help` runs.
    fresh = type(cli)(name=cli.name, lazy_subcommands=COMMANDS, params=cli.params,
                      help=cli.help, context_settings=cli.context_settings)
    assert help_of(fresh) == help_of(plain)
    assert fresh._commands == {}


def test_a_mistyped_command_is_still_offered_its_near_name(repo):
    proc = repo.ot("blam")
    assert proc.returncode == 1
    assert proc.stderr.decode().splitlines() == [
        "error: no such command 'blam'. Did you mean 'blame'?", "hint: see 'git ot --help'"]
