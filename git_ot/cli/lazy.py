"""A click group that imports a command's module only when that command runs.

click's documented pattern ("Lazily Loading Subcommands" in click's docs):
the group holds a table of command name -> "module:attribute";
`list_commands` names every command from the table and imports nothing,
`get_command` imports the one module asked for. So `git ot blame` does not
pay for the imports of `push` or `import`, and `--version` for none.
"""

from __future__ import annotations

import importlib

import click


class LazyGroup(click.Group):
    """A group whose commands are named in a table and imported when looked up.

    `lazy_subcommands` maps each command's name to `("module:attribute",
    summary)`; the summary is the first paragraph of the command's help,
    which the group's own help lists, so `git ot --help` imports no command
    module either (tests/test_cli_lazy.py keeps each summary equal to its
    command's help).
    """

    def __init__(self, *args, lazy_subcommands: dict[str, tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = dict(lazy_subcommands)

    def list_commands(self, ctx: click.Context | None) -> list[str]:
        return sorted({*self._commands, *self.lazy_subcommands})

    def get_command(self, ctx: click.Context | None, name: str) -> click.Command | None:
        if name not in self._commands and name in self.lazy_subcommands:
            self._commands[name] = self._load(name)
        return self._commands.get(name)

    def _load(self, name: str) -> click.Command:
        _know_the_inbox()
        module, _, attribute = self.lazy_subcommands[name][0].partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command) or command.name != name:
            raise TypeError(f"{module}:{attribute} is not the click command '{name}'")
        return command

    @property
    def commands(self) -> dict[str, click.Command]:
        """Every command, each module imported: click reads this for the names
        it suggests after a mistyped command, and tools that walk the whole
        tree (man/generate.py) may; running a command never reads it."""
        for name in self.lazy_subcommands:
            self.get_command(None, name)
        return self._commands

    @commands.setter
    def commands(self, value) -> None:  # click.Group.__init__ sets it
        self._commands = dict(value)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list:
        """Shell completion of the command names, from the table: `git-ot <TAB>`
        imports no command module (click's own would import every one)."""
        from click.shell_completion import CompletionItem

        items = []
        for name in self.list_commands(ctx):
            if name.startswith(incomplete):
                command = self._commands.get(name) or click.Command(name, help=self.lazy_subcommands[name][1])
                if not command.hidden:
                    items.append(CompletionItem(name, help=command.get_short_help_str()))
        # click.Command's part: the group's own options, for an incomplete '-'.
        return items + click.Command.shell_complete(self, ctx, incomplete)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The group's list of commands, from the summaries in the table: a
        stand-in command with the summary as its help gives the same short
        help click would make of the command's own."""
        rows = []
        for name in self.list_commands(ctx):
            command = self._commands.get(name)
            if command is None:
                command = click.Command(name, help=self.lazy_subcommands[name][1])
            if not command.hidden:
                rows.append((name, command))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, command.get_short_help_str(limit)) for name, command in rows])


def _drain_inbox(location) -> None:
    """Spool what harnesses left in the inbox (the capture layer's work),
    for the domain's readers, which reach it through store/inbox.py."""
    from ..capture.hook import drain_inbox

    drain_inbox(location)


def _know_the_inbox() -> None:
    """A command runs: the readers it calls spool the inbox first
    (domain/opening.py). Not for --help or --version, which load nothing."""
    from ..store import inbox

    inbox.set_drainer(_drain_inbox)
