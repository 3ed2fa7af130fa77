#!/usr/bin/env python3
"""Generate git-ot's manual pages, man/man1/*.1, from their sources.

    python man/generate.py                      write the pages
    python man/generate.py --check              exit 1 if the committed pages differ,
                                                or an example's output is stale
    python man/generate.py --check --no-examples  the same, running no example
    python man/generate.py --refresh-examples   run the examples, write what they
                                                print into man/src/, write the pages

Each page's NAME line, SYNOPSIS, option list and git-ot(1)'s COMMANDS come
from the click commands themselves (git_ot.cli.main.cli); descriptions,
examples and the rest are the prose in man/src/git-ot-<command>.txt (and
man/src/git-ot.txt for git-ot(1)). The date is the release date of the
version, so the output depends on nothing but the sources. A click command
without a page, prose for an option or argument that no longer exists, or
an option without help text stops the generator with a message, so the
manual cannot silently drift from the code. (In the spirit of git-bug's
doc/generate.go.)

A source file is a few sections, each headed by a line "== TITLE", in this
order: DESCRIPTION (required), COMMANDS, OPTIONS, EXAMPLES, then any of
DISCUSSION, CONFIGURATION, FILES, ENVIRONMENT and EXIT STATUS, and SEE
ALSO. Lines starting with "//" before the first section are comments.

- COMMANDS holds a "=== <command>" subsection per subcommand of a group,
  with prose that follows the subcommand's one-line summary. In
  git-ot.txt it holds a "=== <heading>" subsection per group of commands,
  listing their names, comma-separated: git-ot(1) lists them so.
- OPTIONS holds a "=== --option" subsection per option that needs more
  than its click help (the prose follows the help), and a "=== METAVAR"
  subsection, named as click names it (SESSION[:STEP]), per argument:
  every argument must have one.
- SEE ALSO lists the other pages, comma-separated. git-ot(1) comes first
  on every command's page; git-ot(1) itself names every command's page
  first.

The prose uses a small markup (the subset of AsciiDoc that git's own
documentation uses):

- Paragraphs are separated by blank lines.
- `code` is set in bold: commands, options, paths, ref names, literal values.
- *word* is set in italics.
- A paragraph whose first line ends in "::" is a list item: the text before
  "::" is the term, the rest of the paragraph its body; following blocks
  indented by four spaces continue the body.
- Lines between two "----" lines are shown verbatim (examples, formats).
- A paragraph whose lines start with "- " is a bulleted list.
- A page name such as git-ot-trace(1) is set in bold automatically.
- A line "[run: demo]" right above a "----" line, at its indent, marks that
  literal block as an example that runs (the line itself is not shown);
  see below.

Examples that run show what their commands really print, so they cannot
drift. In such a block each line starting with "$ " is a command (a line
ending in "|", "\\", "&&" or "||" goes on on the next line) and the lines
up to the next command are its output. `--refresh-examples` runs the
commands and writes their output in; `--check` (and tests/test_docs.py)
fails when the output in the source is not what they print now.

- Where: "[run: demo]" runs the commands in /home/dev/src/app, a fresh copy
  of the repository `git ot demo` makes (one replayed Claude Code session,
  three commits); "[run: empty]" in an empty /home/dev/src/app. HOME is
  /home/dev and TMPDIR /tmp, all inside a scratch directory (see
  ExampleRunner): paths under /tmp and /home/dev in a command are taken
  there, and what a command prints shows them as /tmp and /home/dev.
- Each command runs in a shell of its own (`cd` lasts for its line only),
  its standard output and error shown together, as a terminal shows them,
  and must exit with 0; in a block marked "[run: demo, fails]" the last command must
  fail instead.
- A line "..." in a command's output leaves lines out: what the command
  prints is shown from its start and its end, as many lines before and
  after the "..." as the source has.
- Trailing blanks and blank lines at the end are dropped, as on the page.
  The demo session's start, which the hooks read from the clock, is shown
  as the recording has it. Any other time read from the clock while the
  examples ran, or a printed line that would read as a command or end the
  block, stops the generator: such an example cannot be run-produced.

Nothing in a source repeats an option's help text; change that in the
click command and regenerate. Keep the sources ASCII; the generator
refuses anything else.
"""

from __future__ import annotations

import argparse
import datetime
import difflib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT_DIR = os.path.join(HERE, "man1")
SRC_DIR = os.path.join(HERE, "src")

# The source tree's git_ot, not whichever one is installed.
sys.path[:0] = [ROOT]

try:
    import click

    import git_ot
    from git_ot.cli.main import cli
except ImportError as exc:  # run with a Python that lacks git-ot's dependencies
    sys.exit(f"error: cannot import {exc.name!r}\n"
             f"hint: run it with the Python git-ot is installed in, "
             f"as in '.venv/bin/python man/generate.py'")

# The date each version was released, printed in every page's footer. A new
# version needs its date here: the pages must not depend on the clock.
RELEASE_DATES = {
    "0.1.0": "2026-11-24",
}
MANUAL = "git-ot Manual"
PROG = "git ot"
# Sections after EXAMPLES, in this order, as in git's pages.
LATER_SECTIONS = ("DISCUSSION", "CONFIGURATION", "FILES", "ENVIRONMENT", "EXIT STATUS")


class SourceError(Exception):
    """The sources disagree or a page's prose is malformed."""


# -- roff ---------------------------------------------------------------------

def esc(text: str) -> str:
    """Escape plain text for roff: backslashes, minus signs, quotes."""
    return (text.replace("\\", "\\e")
                .replace("-", "\\-")  # an ASCII minus, so options can be copied
                .replace("'", "\\(aq")
                .replace("`", "\\(ga"))


_INLINE = re.compile(
    r"`(?P<code>[^`]+)`"
    r"|(?<![\w*])\*(?P<em>\S(?:[^*]*\S)?)\*(?![\w*])"
    r"|\b(?P<page>[a-z][a-z0-9-]*)\((?P<sect>[1-8])\)"
)


def inline(text: str) -> str:
    """Prose markup to roff: `code` bold, *word* italic, page(1) bold."""
    out, pos = [], 0
    for m in _INLINE.finditer(text):
        out.append(esc(text[pos:m.start()]))
        if m.group("code") is not None:
            out.append("\\fB" + esc(m.group("code")) + "\\fR")
        elif m.group("em") is not None:
            out.append("\\fI" + esc(m.group("em")) + "\\fR")
        else:
            out.append("\\fB" + esc(m.group("page")) + "\\fR(" + m.group("sect") + ")")
        pos = m.end()
    out.append(esc(text[pos:]))
    return "".join(out)


def _protect(line: str) -> str:
    # A line starting with '.' or a quote would be a roff request.
    return "\\&" + line if line.startswith((".", "'")) else line


def fill(roff: str) -> list[str]:
    """Lines of rendered text: one sentence a line, wrapped at 78 columns.

    A sentence per line is roff's own convention: it is how groff knows
    where sentences end.
    """
    lines = []
    for sentence in re.split(r"(?<=[.?!])\s+", " ".join(roff.split())):
        for line in textwrap.wrap(sentence, 78, break_long_words=False,
                                  break_on_hyphens=False):
            lines.append(_protect(line))
    return lines


def literal(lines: list[str]) -> list[str]:
    out = [".sp", ".RS 4", ".nf"]
    out += [_protect(esc(line)) if line else "\\&" for line in lines]
    return out + [".fi", ".RE"]


# -- the prose markup -----------------------------------------------------------

class Block:
    def __init__(self, kind: str, indent: int, lines: list[str], term: str | None = None):
        self.kind, self.indent, self.lines, self.term = kind, indent, lines, term


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def parse(text: str) -> list[Block]:
    """Split prose into paragraphs, list items, bullets and verbatim blocks."""
    lines = textwrap.dedent(text).splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        indent = _indent(line)
        if RUN_MARKER.match(line.strip()):
            # It marks the literal block below as run-produced; not shown.
            if i + 1 == len(lines) or lines[i + 1].strip() != "----" or _indent(lines[i + 1]) != indent:
                raise SourceError(f"{line.strip()!r} must be followed by a '----' line at its indent")
            i += 1
            continue
        if line.strip() == "----":
            body = []
            i += 1
            while i < len(lines) and lines[i].strip() != "----":
                raw = lines[i]
                if raw.strip() and (_indent(raw) < indent):
                    raise SourceError(f"verbatim line less indented than its '----': {raw!r}")
                body.append(raw[indent:].rstrip())
                i += 1
            if i == len(lines):
                raise SourceError("a '----' block is not closed")
            i += 1
            blocks.append(Block("literal", indent, body))
            continue
        para = []
        while (i < len(lines) and lines[i].strip() and lines[i].strip() != "----"
               and not RUN_MARKER.match(lines[i].strip())):
            para.append(lines[i])
            i += 1
        blocks += _paragraph(para, indent)
    return blocks


def _paragraph(para: list[str], indent: int) -> list[Block]:
    """One paragraph: plain text, bullets, or list items ("term::" + body).

    A term may span lines (the last one ends in "::"); its body is the more
    indented lines that follow, and a paragraph may hold several items.
    """
    blocks: list[Block] = []
    pending: list[str] = []  # lines at the paragraph's indent, not yet a term
    item: Block | None = None
    for raw in para:
        line = raw.strip()
        if _indent(raw) > indent and item is not None and not pending:
            item.lines.append(line)
        elif line.endswith("::") and _indent(raw) == indent:
            item = Block("term", indent, [], term=" ".join(pending + [line[:-2]]))
            blocks.append(item)
            pending = []
        else:
            pending.append(raw)
    if pending:
        if blocks:
            raise SourceError(f"text after a list item must be indented: {pending[0].strip()!r}")
        if pending[0].strip().startswith("- "):
            bullets: list[list[str]] = []
            for raw in pending:
                if raw.strip().startswith("- ") and _indent(raw) == indent:
                    bullets.append([raw.strip()[2:]])
                else:
                    bullets[-1].append(raw.strip())
            blocks.append(Block("bullets", indent, [" ".join(b) for b in bullets]))
        else:
            blocks.append(Block("para", indent, [l.strip() for l in pending]))
    return blocks


def render(text: str, at_body_start: bool = False) -> list[str]:
    """Prose markup (see the top of this file) to roff lines.

    `at_body_start`: the text opens the body of a list item, right under its
    term, so its first paragraph needs no paragraph break.
    """
    out: list[str] = []
    open_items: list[int] = []  # indents of the list items whose body is open
    for b in parse(text):
        while open_items and b.indent <= open_items[-1]:
            out.append(".RE")
            open_items.pop()
            at_body_start = False
        if b.kind == "term":
            out.append(".PP")
            out += fill(inline(b.term))
            out.append(".RS 4")
            open_items.append(b.indent)
            at_body_start = True
            if b.lines:
                out += fill(inline(" ".join(b.lines)))
                at_body_start = False
        elif b.kind == "para":
            if not at_body_start:
                out.append(".PP")
            out += fill(inline(" ".join(b.lines)))
            at_body_start = False
        elif b.kind == "bullets":
            for item in b.lines:
                out.append(".IP \\(bu 2")
                out += fill(inline(item))
            at_body_start = False  # what follows starts with .PP, ending the list
        else:
            out += literal(b.lines)
            at_body_start = False
    out += [".RE"] * len(open_items)
    return out


# -- the sources -----------------------------------------------------------------

# A source's sections, in the order a file holds them.
SOURCE_SECTIONS = ("DESCRIPTION", "COMMANDS", "OPTIONS", "EXAMPLES") + LATER_SECTIONS + ("SEE ALSO",)
_HEADING = re.compile(r"^(?P<level>={2,3}) (?P<title>\S.*?)\s*$")


class Source:
    """One page's prose, as read from man/src/<page>.txt."""

    def __init__(self, where: str):
        self.where = where  # the file, as error messages name it
        self.description = ""
        self.commands: dict[str, str] = {}  # subsection title -> prose
        self.options: dict[str, str] = {}
        self.arguments: dict[str, str] = {}
        self.examples = ""
        self.sections: list[tuple[str, str]] = []  # the later sections, in order
        self.see_also: list[str] = []


def source_path(name: str) -> str:
    return os.path.join(SRC_DIR, name + ".txt")


def source_names() -> list[str]:
    """The pages man/src/ has a source for."""
    if not os.path.isdir(SRC_DIR):
        return []
    return sorted(f[:-len(".txt")] for f in os.listdir(SRC_DIR) if f.endswith(".txt"))


def read_source(name: str) -> Source:
    where = os.path.relpath(source_path(name), ROOT)
    try:
        with open(source_path(name), encoding="ascii", newline="") as fh:
            text = fh.read()
    except UnicodeDecodeError as exc:
        raise SourceError(f"{where}: non-ASCII text at byte {exc.start}; the sources are kept ASCII") from None
    return parse_source(text, where)


def parse_source(text: str, where: str) -> Source:
    """A source's sections and subsections (see the top of this file)."""
    src = Source(where)
    chunks: list[tuple[str, str | None, list[str]]] = []  # (section, subsection, lines)
    verbatim = False
    for number, line in enumerate(text.splitlines(), 1):
        m = None if verbatim else _HEADING.match(line)
        if m and m.group("level") == "==":
            chunks.append((m.group("title"), None, []))
        elif m:
            if not chunks:
                raise SourceError(f"{where}:{number}: a subsection before any section")
            chunks.append((chunks[-1][0], m.group("title"), []))
        elif not chunks:
            if line.strip() and not line.startswith("//"):
                raise SourceError(f"{where}:{number}: text before the first '== SECTION' line")
        else:
            chunks[-1][2].append(line)
            if line.strip() == "----":
                verbatim = not verbatim
    if verbatim:
        raise SourceError(f"{where}: a '----' block is not closed")

    titles = []
    for title, sub, _ in chunks:
        if sub is None:
            titles.append(title)
    unknown = [t for t in titles if t not in SOURCE_SECTIONS]
    if unknown or titles != sorted(titles, key=SOURCE_SECTIONS.index) or len(set(titles)) != len(titles):
        raise SourceError(f"{where}: sections must be some of {', '.join(SOURCE_SECTIONS)}, "
                          f"once each and in that order; got {', '.join(titles)}")
    if "DESCRIPTION" not in titles:
        raise SourceError(f"{where}: no DESCRIPTION section")
    for title, sub, lines in chunks:
        body = "\n".join(lines).strip("\n")
        body = body + "\n" if body else ""
        if sub is not None:
            if title == "COMMANDS":
                table = src.commands
            elif title == "OPTIONS":
                table = src.options if sub.startswith("-") else src.arguments
            else:
                raise SourceError(f"{where}: {title} has no subsections, but '=== {sub}' is in it")
            if sub in table:
                raise SourceError(f"{where}: {title} describes '{sub}' twice")
            table[sub] = body
        elif title in ("COMMANDS", "OPTIONS"):
            if body.strip():
                raise SourceError(f"{where}: {title} holds only '=== <name>' subsections")
        elif title == "DESCRIPTION":
            src.description = body
        elif title == "EXAMPLES":
            src.examples = body
        elif title == "SEE ALSO":
            src.see_also = [ref for ref in re.split(r"[,\s]+", body) if ref]
        else:
            src.sections.append((title, body))
    return src


# -- the click side -------------------------------------------------------------

def root_context() -> click.Context:
    return click.Context(cli, info_name=PROG, **cli.context_settings)


def child_context(cmd: click.Command, name: str, parent: click.Context) -> click.Context:
    return click.Context(cmd, info_name=name, parent=parent, **cmd.context_settings)


def summary(cmd: click.Command) -> str:
    """The one-line description: the help's first sentence, as for NAME."""
    text = cmd.get_short_help_str(limit=1 << 16).strip()
    if not text:
        raise SourceError(f"command '{cmd.name}' has no help text")
    if text.startswith("Plumbing: "):  # git-ot(1) lists plumbing under its own heading
        text = text[len("Plumbing: "):]
    text = text[:1].upper() + text[1:]
    return text[:-1] if text.endswith(".") else text


def placeholder(metavar: str) -> str:
    """click's SESSION[:STEP] in git's spelling, <session>[:<step>]."""
    return re.sub(r"[A-Z][A-Z0-9_]*", lambda m: "<" + m.group(0).lower().replace("_", "-") + ">", metavar)


def arg_metavar(arg: click.Argument) -> str:
    return arg.metavar or arg.name.upper()


def options(cmd: click.Command, ctx: click.Context, with_help: bool) -> list[click.Option]:
    params = cmd.get_params(ctx) if with_help else cmd.params
    return [p for p in params if isinstance(p, click.Option) and not p.hidden]


def arguments(cmd: click.Command) -> list[click.Argument]:
    return [p for p in cmd.params if isinstance(p, click.Argument)]


def option_value(opt: click.Option) -> str | None:
    if opt.is_flag or opt.count:
        return None
    return "<" + (opt.metavar or opt.name).lower().replace("_", "-") + ">"


def synopsis_piece(param: click.Parameter) -> str:
    if isinstance(param, click.Option):
        names = param.opts + param.secondary_opts
        value = option_value(param)
        text = " | ".join(names) if value is None else f"{names[-1]}={value}"
        if param.multiple:
            text += "..."
        return text if param.required else f"[{text}]"
    text = placeholder(arg_metavar(param))
    if param.nargs == -1 and " " not in text:  # a metavar of several words spells out its own arity
        text += "..."
    return text if param.required else f"[{text}]"


def synopsis_line(words: str, cmd: click.Command, ctx: click.Context, with_help: bool) -> str:
    pieces = [synopsis_piece(p) for p in options(cmd, ctx, with_help)]
    pieces += [synopsis_piece(a) for a in arguments(cmd)]
    if isinstance(cmd, click.Group):
        pieces.append("<command> [<args>]")
    return "\\fB" + esc(words) + "\\fR" + "".join(" " + esc(p) for p in pieces)


def option_term(opt: click.Option) -> str:
    value = option_value(opt)
    names = []
    for name in opt.opts + opt.secondary_opts:
        term = "\\fB" + esc(name) + "\\fR"
        if value is not None:
            term += ("=" if name.startswith("--") else " ") + "\\fI" + esc(value) + "\\fR"
        names.append(term)
    return ", ".join(names)


# -- pages ------------------------------------------------------------------------

def page_name(command_name: str | None) -> str:
    return "git-ot" if command_name is None else f"git-ot-{command_name}"


def page_ref(command_name: str | None) -> str:
    return page_name(command_name) + "(1)"


class Page:
    def __init__(self, name: str, description: str):
        self.name = name
        version = git_ot.__version__
        if version not in RELEASE_DATES:
            raise SourceError(f"no release date for version {version}: add it to "
                              f"RELEASE_DATES in man/generate.py")
        self.lines = [
            f'.\\" Generated by man/generate.py from the click commands (git_ot/cli/) and man/src/{name}.txt;',
            '.\\" do not edit: change those and run "python man/generate.py".',
            f'.TH "{esc(name.upper())}" "1" "{esc(RELEASE_DATES[version])}" '
            f'"{esc("git-ot " + version)}" "{esc(MANUAL)}"',
            # No hyphenation and a ragged right margin, as in git's own pages.
            ".nh",
            ".ad l",
            '.SH "NAME"',
            f"{esc(name)} \\- {esc(description)}",
        ]
        self.sections = ["NAME"]

    def section(self, title: str, body: list[str]) -> None:
        if not body:
            return
        self.sections.append(title)
        self.lines.append(f'.SH "{title}"')
        self.lines += body

    def text(self) -> str:
        out = "\n".join(self.lines) + "\n"
        try:
            out.encode("ascii")
        except UnicodeEncodeError as exc:
            bad = out[exc.start:exc.end]
            raise SourceError(f"{self.name}: non-ASCII text {bad!r}; the pages are kept ASCII") from None
        return out


def check_keys(src: Source, given: dict, known: list[str], what: str) -> None:
    stale = sorted(set(given) - set(known))
    if stale:
        raise SourceError(f"{src.where}: describes {what} {', '.join(stale)}, "
                          f"which the command does not have (it has: {', '.join(known) or 'none'})")


def options_section(src: Source, entries: list[tuple[click.Option, str]],
                    args: list[click.Argument], where: str) -> list[str]:
    """OPTIONS: each option's click help plus prose, then each argument's prose."""
    extra = src.options
    known = [n for opt, _ in entries for n in opt.opts + opt.secondary_opts]
    check_keys(src, extra, known, "options")
    arg_prose = src.arguments
    check_keys(src, arg_prose, [arg_metavar(a) for a in args], "arguments")
    out: list[str] = []
    for opt, qualifier in entries:
        if not (opt.help or "").strip():
            raise SourceError(f"{where}: option {'/'.join(opt.opts)} has no help text")
        out += [".PP", option_term(opt), ".RS 4"]
        out += fill(inline(opt.help.strip() + qualifier))
        for name in opt.opts + opt.secondary_opts:
            if name in extra:
                out += render(extra[name])
        out.append(".RE")
    for arg in args:
        metavar = arg_metavar(arg)
        if metavar not in arg_prose:
            raise SourceError(f"{src.where}: does not describe its argument {metavar} "
                              f"(add a '=== {metavar}' subsection to OPTIONS)")
        out += [".PP", "\\fI" + esc(placeholder(metavar)) + "\\fR", ".RS 4"]
        out += render(arg_prose[metavar], at_body_start=True)
        out.append(".RE")
    return out


def later_sections(page: Page, src: Source, see_also: list[str]) -> None:
    for title, text in src.sections:
        page.section(title, render(text))
    for ref in see_also:
        m = re.fullmatch(r"(git-ot(?:-[a-z]+)?)\(1\)", ref)
        if m and m.group(1) not in _PAGE_NAMES:
            raise SourceError(f"{src.where}: SEE ALSO names {ref}, which is not a page")
    page.section("SEE ALSO", fill(inline(", ".join(see_also))))


_PAGE_NAMES: set[str] = set()


def subcommands(group: click.Group, ctx: click.Context, src: Source | None) -> list[tuple[str, click.Command]]:
    """A group's commands, in the order its page describes them.

    Asked of the group (list_commands, get_command) rather than read from
    `group.commands`, so that a group that loads its commands on demand
    works too. Commands the page does not describe follow, in the group's
    own order.
    """
    names = group.list_commands(ctx)
    described = [n for n in (src.commands if src else {}) if n in names]
    out = []
    for name in described + [n for n in names if n not in described]:
        cmd = group.get_command(ctx, name)
        if cmd is None:
            raise SourceError(f"'{ctx.command_path} {name}' is listed but cannot be loaded")
        out.append((name, cmd))
    return out


def overview_page(root: click.Context, src: Source, commands: dict[str, click.Command]) -> Page:
    page = Page("git-ot", summary(cli))
    page.section("SYNOPSIS", [".nf", synopsis_line(PROG, cli, root, with_help=True), ".fi"])
    page.section("DESCRIPTION", render(src.description))

    groups = [(heading, [n for n in re.split(r"[,\s]+", text) if n])
              for heading, text in src.commands.items()]
    grouped = [name for _, names in groups for name in names]
    missing = [n for n in commands if n not in grouped]
    unknown = [n for n in grouped if n not in commands]
    if missing or unknown or len(set(grouped)) != len(grouped):
        raise SourceError(
            f"{src.where}: COMMANDS must list every command once"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; no such command: {', '.join(unknown)}" if unknown else ""))
    body: list[str] = []
    for heading, names in groups:
        body.append(f'.SS "{esc(heading)}"')
        for name in names:
            cmd = commands[name]
            if isinstance(cmd, click.Group):
                subs = subcommands(cmd, child_context(cmd, name, root), _sources.get(page_name(name)))
            else:
                subs = [(None, cmd)]
            for sub_name, sub in subs:
                words = f"{PROG} {name}" + (f" {sub_name}" if sub_name else "")
                body += [".PP", "\\fB" + esc(words) + "\\fR", ".RS 4"]
                body += fill(inline(f"{summary(sub)}. See {page_ref(name)}."))
                body.append(".RE")
    page.section("COMMANDS", body)

    entries = [(opt, "") for opt in options(cli, root, with_help=True)]
    page.section("OPTIONS", options_section(src, entries, [], "git-ot"))
    page.section("EXAMPLES", render(src.examples))
    later_sections(page, src, [page_ref(n) for n in grouped] + src.see_also)
    return page


def command_page(root: click.Context, name: str, cmd: click.Command, src: Source) -> Page:
    ctx = child_context(cmd, name, root)
    page = Page(page_name(name), summary(cmd))
    where = page.name

    if isinstance(cmd, click.Group):
        subs = [(s, sub, child_context(sub, s, ctx)) for s, sub in subcommands(cmd, ctx, src)]
        if not subs:
            raise SourceError(f"group '{name}' has no commands")
        synopsis = [synopsis_line(f"{PROG} {name} {s}", sub, sctx, with_help=False)
                    for s, sub, sctx in subs]
        page.section("SYNOPSIS", [".nf", *synopsis, ".fi"])
        page.section("DESCRIPTION", render(src.description))
        sub_prose = src.commands
        check_keys(src, sub_prose, [s for s, _, _ in subs], "commands")
        body = []
        for s, sub, sctx in subs:
            term = " ".join([s] + [placeholder(arg_metavar(a)) if a.required
                                   else f"[{placeholder(arg_metavar(a))}]" for a in arguments(sub)])
            body += [".PP", "\\fB" + esc(term) + "\\fR", ".RS 4"]
            body += fill(inline(summary(sub) + "."))
            if s in sub_prose:
                body += render(sub_prose[s])
            body.append(".RE")
        page.section("COMMANDS", body)
        # One entry per distinct option, saying which commands take it
        # when not all of them do.
        seen: dict[tuple, list[str]] = {}
        first: dict[tuple, click.Option] = {}
        for s, sub, sctx in subs:
            for opt in options(sub, sctx, with_help=False):
                key = (tuple(opt.opts + opt.secondary_opts), opt.help)
                seen.setdefault(key, []).append(s)
                first.setdefault(key, opt)
        entries = []
        for key, users in seen.items():
            qualifier = "" if len(users) == len(subs) else \
                " (" + ", ".join(f"`{u}`" for u in users) + " only.)"
            entries.append((first[key], qualifier))
        args: list[click.Argument] = []
        for _, sub, _ in subs:
            args += [a for a in arguments(sub) if arg_metavar(a) not in [arg_metavar(b) for b in args]]
        page.section("OPTIONS", options_section(src, entries, args, where))
    else:
        page.section("SYNOPSIS", [".nf", synopsis_line(f"{PROG} {name}", cmd, ctx, with_help=False), ".fi"])
        page.section("DESCRIPTION", render(src.description))
        if src.commands:
            raise SourceError(f"{src.where}: describes subcommands, but '{name}' has none")
        entries = [(opt, "") for opt in options(cmd, ctx, with_help=False)]
        page.section("OPTIONS", options_section(src, entries, arguments(cmd), where))

    page.section("EXAMPLES", render(src.examples))
    later_sections(page, src, [page_ref(None)] + src.see_also)
    return page


_sources: dict[str, Source] = {}


def top_commands(root: click.Context) -> dict[str, click.Command]:
    """git-ot's commands by name, asked of the group (it may load them on demand)."""
    return dict(subcommands(cli, root, None))


def generate() -> dict[str, str]:
    """Every page's file name and text."""
    root = root_context()
    commands = top_commands(root)
    names = [page_name(None)] + [page_name(n) for n in commands]
    stale = sorted(set(source_names()) - set(names))
    if stale:
        raise SourceError("man/src/ describes commands that do not exist: "
                          + ", ".join(f"{n}.txt" for n in stale))
    for name in commands:
        if not os.path.isfile(source_path(page_name(name))):
            raise SourceError(f"command '{name}' has no page: write its prose in "
                              f"man/src/{page_name(name)}.txt")
    if not os.path.isfile(source_path(page_name(None))):
        raise SourceError(f"git-ot(1) has no source: write man/src/{page_name(None)}.txt")
    _sources.clear()
    _sources.update((n, read_source(n)) for n in names)
    _PAGE_NAMES.clear()
    _PAGE_NAMES.update(names)
    out = {"git-ot.1": overview_page(root, _sources[page_name(None)], commands).text()}
    for name, cmd in commands.items():
        out[page_name(name) + ".1"] = command_page(root, name, cmd, _sources[page_name(name)]).text()
    return out


# -- examples that run -------------------------------------------------------------

# "[run: demo]" or "[run: empty]", optionally ", fails", on the line before a
# literal block whose commands are run.
RUN_MARKER = re.compile(r"^\[run: (?P<place>[^],]+?)(?:, (?P<fails>fails))?\]$")
PLACES = ("demo", "empty")
# The directory the commands run in, and home, as the pages show them.
WORKDIR = "/home/dev/src/app"
SHOWN_ROOTS = ("/tmp", "/home/dev")
# Commits made in an example are made by the demo's author, at this date.
EXAMPLE_DATE = "1795546800 +0000"  # 2026-11-24T19:00:00Z, after the demo's commits
COMMAND_TIMEOUT = 300
_TIME = re.compile(r"\b(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?")
# A command continues on the next line after these, as in the shell.
_CONTINUED = ("|", "\\", "&&", "||")


class Example:
    """A literal block marked to run: where it is, and its commands with their output."""

    def __init__(self, where: str, line: int, indent: int, start: int, end: int,
                 place: str, fails: bool, body: list[str]):
        self.where, self.line, self.indent = where, line, indent
        self.start, self.end = start, end  # the body's lines in the file, [start, end)
        self.place, self.fails = place, fails
        self.steps: list[tuple[list[str], list[str]]] = []  # (command lines, output lines)
        for text in body:
            if text.startswith("$ "):
                if self.steps and self.steps[-1][0][-1].endswith(_CONTINUED) and not self.steps[-1][1]:
                    raise SourceError(f"{self.id}: a command goes on on the next line, "
                                      f"which is another command: {text!r}")
                self.steps.append(([text], []))
            elif self.steps and not self.steps[-1][1] and self.steps[-1][0][-1].endswith(_CONTINUED):
                self.steps[-1][0].append(text)
            elif self.steps:
                self.steps[-1][1].append(text)
            else:
                raise SourceError(f"{self.id}: a run block must start with a '$ ' command line")
        if not self.steps:
            raise SourceError(f"{self.id}: a run block has no command")
        for _, output in self.steps:
            if output.count("...") > 1:
                raise SourceError(f"{self.id}: a command's output leaves lines out ('...') once at most")

    @property
    def id(self) -> str:
        return f"{self.where}:{self.line}"

    def body(self, outputs: list[list[str]] | None = None) -> list[str]:
        """The block's lines, unindented; with `outputs`, those in place of its own."""
        out = []
        for n, (command, output) in enumerate(self.steps):
            out += command + (output if outputs is None else outputs[n])
        return out


def find_examples(name: str) -> list[Example]:
    """The run blocks of one source, in order."""
    with open(source_path(name), encoding="ascii", newline="") as fh:
        return examples_in(fh.read(), os.path.relpath(source_path(name), ROOT))


def examples_in(text: str, where: str) -> list[Example]:
    """The run blocks of a source's text; `where` names it in messages."""
    lines = text.splitlines()
    found = []
    i = 0
    while i < len(lines):
        m = RUN_MARKER.match(lines[i].strip())
        if lines[i].strip() == "----":  # skip a plain literal block
            i += 1
            while i < len(lines) and lines[i].strip() != "----":
                i += 1
        elif m:
            indent = _indent(lines[i])
            if m.group("place") not in PLACES:
                raise SourceError(f"{where}:{i + 1}: no place '{m.group('place')}' to run in; "
                                  f"it is one of: {', '.join(PLACES)}")
            if i + 1 == len(lines) or lines[i + 1] != " " * indent + "----":
                raise SourceError(f"{where}:{i + 1}: '{lines[i].strip()}' must be followed by "
                                  f"a '----' line at its indent")
            start = end = i + 2
            while end < len(lines) and lines[end].strip() != "----":
                if lines[end].strip() and _indent(lines[end]) < indent:
                    raise SourceError(f"{where}:{end + 1}: verbatim line less indented than its '----'")
                end += 1
            body = [line[indent:].rstrip() for line in lines[start:end]]
            found.append(Example(where, i + 1, indent, start, end, m.group("place"),
                                 m.group("fails") is not None, body))
            i = end
        i += 1
    return found


def all_examples() -> list[Example]:
    return [ex for name in source_names() for ex in find_examples(name)]


def _iso(t: float) -> str:
    # As git-ot writes times (git_ot/store/times.py).
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).isoformat().replace("+00:00", "Z")


class ExampleRunner:
    """Runs examples' commands where the pages say they run, as a reader would.

    Every example gets a scratch directory of its own, the root, holding
    what the pages call /home/dev (HOME), /home/dev/src/app (where the
    commands run: a copy of the repository `git ot demo` makes, or an empty
    directory) and /tmp (TMPDIR). Paths under /tmp and /home/dev in a
    command are taken under the root, and the root is taken out of what it
    prints, so the output is the same on every machine. The environment
    holds nothing of the caller's but PATH: no git config but the
    repository's, a fixed identity and date for commits, TZ=UTC,
    LC_ALL=C.UTF-8. The demo repository is made once and copied.
    """

    def __init__(self, base: str | None = None):
        self.base = tempfile.mkdtemp(prefix="git-ot-man-", dir=base)
        self.started = time.time()
        self.bin = os.path.join(self.base, "bin")
        os.makedirs(self.bin)
        # `git ot` is this source tree's git-ot, run by this Python.
        shim = os.path.join(self.bin, "git-ot")
        with open(shim, "w") as fh:
            fh.write(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m git_ot "$@"\n')
        os.chmod(shim, 0o755)
        self.template: str | None = None  # the demo repository's root
        self.replace: list[tuple[str, str]] = []  # (as run, as shown), besides the roots
        self.count = 0

    def close(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)

    def env(self, root: str) -> dict:
        from git_ot.demo import IDENTITY
        return {
            "PATH": self.bin + os.pathsep + os.environ.get("PATH", os.defpath),
            "HOME": root + "/home/dev",
            "TMPDIR": root + "/tmp",
            "TZ": "UTC",
            "LC_ALL": "C.UTF-8",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_DATE": EXAMPLE_DATE,
            "GIT_COMMITTER_DATE": EXAMPLE_DATE,
            "PYTHONPATH": ROOT,
            **IDENTITY,
        }

    def _root(self, name: str) -> str:
        root = os.path.join(self.base, name)
        for d in ("home/dev/src", "tmp"):
            os.makedirs(os.path.join(root, d))
        return root

    def _demo(self) -> str:
        """The demo repository, made once; the session's start as the recording has it."""
        if self.template is None:
            from git_ot.demo import payloads
            root = self._root("demo")
            app = root + WORKDIR
            proc = subprocess.run([sys.executable, "-m", "git_ot", "demo", app], cwd=root + "/home/dev",
                                  env=self.env(root), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=COMMAND_TIMEOUT)
            if proc.returncode != 0:
                raise SourceError("'git ot demo' failed:\n" + proc.stdout.decode("utf-8", "replace"))
            # The hooks took the session's times from the clock; shown as
            # recorded, so the pages do not change with every run.
            first = payloads()[0]
            manifest = subprocess.run(
                ["git", "show", f"refs/opentraces/sessions/{first['session_id']}:manifest.json"],
                cwd=app, env=self.env(root), capture_output=True, check=True).stdout
            self.replace.append((json.loads(manifest)["start"], _iso(first["_received_at"])))
            self.template = root
        return self.template

    def run(self, ex: Example) -> list[list[str]]:
        """What each command of the example prints, shaped as its output in the source."""
        template = self._demo() if ex.place == "demo" else None
        self.count += 1
        root = self._root(f"example-{self.count}")
        cwd = root + WORKDIR
        if template is not None:
            shutil.copytree(template + WORKDIR, cwd, symlinks=True)
        else:
            os.mkdir(cwd)
        roots = sorted({r for t in (root, template) if t for r in (t, os.path.realpath(t))},
                       key=len, reverse=True)
        outputs = []
        try:
            for n, (command, shown) in enumerate(ex.steps):
                text = "\n".join(command)[2:]
                for r in SHOWN_ROOTS:  # /tmp and /home/dev are under the root
                    text = re.sub(r"(?<![\w./~-])(?=" + re.escape(r) + r"(?![\w.-]))", root, text)
                proc = subprocess.run(["/bin/sh", "-c", text], cwd=cwd, env=self.env(root),
                                      stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, timeout=COMMAND_TIMEOUT)
                printed = proc.stdout.decode("utf-8", "replace")
                for r in roots:
                    printed = printed.replace(r, "")
                for was, now in self.replace:
                    printed = printed.replace(was, now)
                lines = [line.rstrip() for line in printed.split("\n")]
                while lines and not lines[-1]:
                    lines.pop()
                last = n == len(ex.steps) - 1
                if (proc.returncode != 0) != (ex.fails and last):
                    said = "\n".join(lines[-20:])
                    raise SourceError(f"{ex.id}: '{command[0][2:]}' exited with {proc.returncode}"
                                      + (" (the block is marked 'fails')" if ex.fails and last else "")
                                      + (f":\n{said}" if said else ""))
                outputs.append(self._shape(ex, command[0], lines, shown))
        finally:
            shutil.rmtree(root, ignore_errors=True)
        return outputs

    def _shape(self, ex: Example, command: str, lines: list[str], shown: list[str]) -> list[str]:
        """The output as the source shows it: the same lines left out, if any."""
        if "..." in shown:
            head = shown.index("...")
            tail = len(shown) - head - 1
            if len(lines) > head + tail:
                lines = lines[:head] + ["..."] + lines[len(lines) - tail:]
        for line in lines:
            if line.startswith("$ ") or line.strip() == "----":
                raise SourceError(f"{ex.id}: '{command[2:]}' prints {line!r}, which would read as "
                                  f"part of the block; leave that line out with a '...' line")
            for m in _TIME.finditer(line):
                try:
                    when = datetime.datetime.fromisoformat(
                        f"{m.group(1)}T{m.group(2)}{m.group(4) or '+00:00'}".replace("Z", "+00:00"))
                except ValueError:
                    continue
                if self.started - 600 <= when.timestamp() <= time.time() + 600:
                    raise SourceError(f"{ex.id}: '{command[2:]}' prints the time {m.group(0)}, read "
                                      f"from the clock: it would differ on every run")
        return lines


def check_examples(runner: ExampleRunner, examples: list[Example] | None = None) -> list[str]:
    """A message for each example whose output is not what its commands print now."""
    problems = []
    for ex in all_examples() if examples is None else examples:
        body = ex.body()
        fresh = ex.body(runner.run(ex))
        if fresh != body:
            diff = difflib.unified_diff(body, fresh, "in the source", "printed now", lineterm="", n=1)
            problems.append(f"{ex.id}: the example's output is not what its commands print now\n"
                            + "\n".join(diff))
    return problems


def refresh_examples(runner: ExampleRunner) -> list[str]:
    """Write what the commands print now into the sources; the files changed."""
    changed = []
    for name in source_names():
        examples = find_examples(name)
        if not examples:
            continue
        path = source_path(name)
        with open(path, encoding="ascii", newline="") as fh:
            lines = fh.read().splitlines()
        for ex in reversed(examples):  # from the end, so earlier line numbers hold
            body = [" " * ex.indent + line if line else "" for line in ex.body(runner.run(ex))]
            lines[ex.start:ex.end] = body
        text = "\n".join(lines) + "\n"
        with open(path, encoding="ascii", newline="") as fh:
            same = fh.read() == text
        if not same:
            try:
                text.encode("ascii")
            except UnicodeEncodeError:
                raise SourceError(f"{os.path.relpath(path, ROOT)}: an example prints non-ASCII text; "
                                  f"the sources are kept ASCII") from None
            with open(path, "w", encoding="ascii", newline="\n") as fh:
                fh.write(text)
            changed.append(os.path.relpath(path, ROOT))
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate git-ot's manual pages into man/man1/.")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="write nothing; exit 1 if the pages in man/man1/ are not up to date "
                           "or an example's output is not what its commands print now")
    mode.add_argument("--refresh-examples", action="store_true",
                      help="run the examples marked '[run: ...]', write what they print into "
                           "man/src/, then write the pages")
    parser.add_argument("--no-examples", action="store_true",
                        help="with --check: check the pages only, running no example")
    args = parser.parse_args(argv)
    runner = ExampleRunner() if args.refresh_examples or (args.check and not args.no_examples) else None
    try:
        if args.refresh_examples:
            for path in refresh_examples(runner):
                print(f"refreshed the examples of {path}")
        wanted = generate()
        problems = check_examples(runner) if args.check and runner else []
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        if runner is not None:
            runner.close()
    existing = sorted(f for f in os.listdir(OUT_DIR) if f.endswith(".1")) if os.path.isdir(OUT_DIR) else []
    differ = []
    for name, text in wanted.items():
        path = os.path.join(OUT_DIR, name)
        try:
            with open(path, encoding="ascii", newline="") as fh:
                same = fh.read() == text
        except (OSError, UnicodeDecodeError):
            same = False
        if not same:
            differ.append(name)
    extra = [f for f in existing if f not in wanted]
    if args.check:
        for name in differ:
            print(f"man/man1/{name}: out of date", file=sys.stderr)
        for name in extra:
            print(f"man/man1/{name}: no command has this page", file=sys.stderr)
        if differ or extra:
            print("hint: run 'python man/generate.py' and commit the result", file=sys.stderr)
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            print("hint: run 'python man/generate.py --refresh-examples' and commit the result",
                  file=sys.stderr)
        return 1 if differ or extra or problems else 0
    os.makedirs(OUT_DIR, exist_ok=True)
    for name in differ:
        with open(os.path.join(OUT_DIR, name), "w", encoding="ascii", newline="\n") as fh:
            fh.write(wanted[name])
        print(f"wrote man/man1/{name}")
    for name in extra:
        os.unlink(os.path.join(OUT_DIR, name))
        print(f"removed man/man1/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
