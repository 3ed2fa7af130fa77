"""Printing: exact JSON for machines, plain aligned text for people.

On a terminal, human text is shaped as git shapes its own (one mechanism
for every command, the `Terminal` below):

- Width: a command fits its lines to `width()`, git's `term_columns()`:
  `COLUMNS`, else the terminal's size. Piped output is never fitted.
- Pager: `page()` sends what follows through the pager git would choose
  (`git var GIT_PAGER`: `GIT_PAGER`, `core.pager`, `PAGER`, else `less`),
  with `LESS=FRX` and `LV=-c` unless set, as git runs it; `pager.ot`
  (false, true, or a command used when GIT_PAGER is not set) as git
  reads `pager.<cmd>`; `git ot
  --no-pager` (`-P`) never pages, `--paginate` (`-p`) pages even when
  `pager.ot` is false. Only when standard output is a terminal.
- Colour: `paint()` colours when `--color=always`, or with `--color=auto`
  (the default) when `color.ot`, else `color.ui` (`git config
  --get-colorbool`), says so for a terminal, as git decides: auto means on a
  terminal, or into the pager (git's or ours).

Piped output, `--porcelain` and `--json` are never fitted, paged or
coloured (unless asked for with `--color=always` or `color.ot=always`).
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys

# git's colour slots, as `git log` paints them.
COLORS = {"yellow": "\033[33m", "green": "\033[32m", "red": "\033[31m", "cyan": "\033[36m",
          "bold": "\033[1m", "dim": "\033[2m"}
RESET = "\033[m"


class Terminal:
    """What this run of git-ot does with its standard output (one per run)."""

    def __init__(self) -> None:
        self.color_choice = "auto"  # --color
        self.pager_choice: bool | None = None  # --paginate True, --no-pager False, else config
        self._tty = None
        self._color = None
        self._width = None
        self._width_known = False
        self.pager: subprocess.Popen | None = None

    # -- what standard output is ---------------------------------------

    def tty(self) -> bool:
        """Standard output is a terminal (decided once, before any pager)."""
        if self._tty is None:
            try:
                self._tty = os.isatty(sys.stdout.fileno())
            except (AttributeError, ValueError, OSError):
                self._tty = False
        return self._tty

    @staticmethod
    def git_pager_in_use() -> bool:
        """git started a pager and runs git-ot into it (`pager.ot`, `git -p ot`)."""
        return os.environ.get("GIT_PAGER_IN_USE", "").lower() in ("true", "yes", "on", "1")

    def human(self) -> bool:
        """Output goes to a person: a terminal, or a pager in front of one."""
        return self.tty() or self.git_pager_in_use()

    def width(self) -> int | None:
        """The columns to fit to, or None (piped: do not fit)."""
        if not self._width_known:
            self._width_known = True
            if self.human():
                self._width = _columns()
        return self._width

    # -- colour ----------------------------------------------------------

    def color(self) -> bool:
        if self._color is None:
            if self.color_choice == "always":
                self._color = True
            elif self.color_choice == "never":
                self._color = False
            else:
                on_terminal = self.human() or self.pager is not None
                self._color = _git_colorbool(on_terminal)
        return self._color

    # -- the pager -------------------------------------------------------

    def page(self) -> None:
        """Send the rest of standard output through the pager, if one is wanted."""
        if self.pager is not None or self.pager_choice is False or not self.tty():
            return
        self.width()  # decided on the terminal, before output is a pipe
        command = _pager_command(self.pager_choice)
        if not command:
            return
        # The pager's environment as git's setup_pager() makes it.
        env = dict(os.environ)
        env.setdefault("LESS", "FRX")
        env.setdefault("LV", "-c")
        if self._width is not None:
            env.setdefault("COLUMNS", str(self._width))
        sys.stdout.flush()
        try:
            proc = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, env=env)
        except OSError:
            return  # no pager to start: print to the terminal, as git does
        os.dup2(proc.stdin.fileno(), 1)
        proc.stdin.close()
        self.pager = proc
        # As git: what this process starts from now on writes into a pager.
        os.environ["GIT_PAGER_IN_USE"] = "true"

    def finish(self) -> None:
        """Close the pager's input and wait for the user to leave it."""
        if self.pager is None:
            return
        try:
            sys.stdout.flush()
        except (BrokenPipeError, OSError):
            pass  # the user left the pager early: what is left is dropped
        # Closes our end of the pipe, so the pager sees the end of its
        # input; nothing more goes to standard output (not even what a
        # pager that left early did not take, at the interpreter's exit).
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the pager handles Ctrl-C
        try:
            self.pager.wait()
        finally:
            signal.signal(signal.SIGINT, previous)
        self.pager = None


terminal = Terminal()


def configure(color: str | None, pager: bool | None) -> None:
    """The options of `git ot` itself: --color, and --paginate/--no-pager."""
    global terminal
    terminal = Terminal()
    terminal.color_choice = color or "auto"
    terminal.pager_choice = pager


def finish() -> None:
    """At the end of every run: wait for the pager, forget this run's choices."""
    global terminal
    try:
        terminal.finish()
    finally:
        terminal = Terminal()


def page() -> None:
    terminal.page()


def human() -> bool:
    """Output goes to a person (a terminal, or git's pager in front of one)."""
    return terminal.human()


def width() -> int | None:
    return terminal.width()


def paint(text: str, color: str) -> str:
    """`text` in `color` (a COLORS name) when colour is on, else unchanged."""
    if not text or not terminal.color():
        return text
    return COLORS[color] + text + RESET


def _columns() -> int | None:
    """git's term_columns(): COLUMNS when a positive number, else the terminal's."""
    value = os.environ.get("COLUMNS", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    try:
        columns = os.get_terminal_size(sys.stdout.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return None
    return columns or None


def _git(args: list[str]) -> str | None:
    try:
        proc = subprocess.run(["git", *args], stdin=subprocess.DEVNULL, capture_output=True)
    except OSError:
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", "replace").rstrip("\n")


def _git_colorbool(on_terminal: bool) -> bool:
    """git's want_color() for `color.ot`, falling back to `color.ui` (default auto)."""
    got = _git(["config", "--get-colorbool", "color.ot", "true" if on_terminal else "false"])
    if got is None:
        return on_terminal
    return got == "true"


def _pager_command(choice: bool | None) -> str | None:
    """The pager git would run for `git ot`, or None for none.

    `pager.ot` as git reads `pager.<cmd>`: a boolean turns paging off or
    on, any other value is the pager to run unless `GIT_PAGER` is set.
    Else git's own choice (`git var GIT_PAGER`: `GIT_PAGER`, `core.pager`,
    `PAGER`, `less`); `cat` and the empty command mean no pager.
    """
    setting = _git(["config", "--get", "pager.ot"])
    if setting is not None:
        as_bool = setting.strip().lower()
        if as_bool in ("false", "no", "off", "0"):
            if choice is not True:
                return None
        elif as_bool not in ("true", "yes", "on", "1", "") and "GIT_PAGER" not in os.environ:
            setting = setting.strip()
            return None if setting in ("", "cat") else setting
    command = _git(["var", "GIT_PAGER"])
    if command is None:
        command = os.environ.get("GIT_PAGER") or os.environ.get("PAGER") or "less"
    command = command.strip()
    if not command or command == "cat":
        return None
    return command


# -- text ---------------------------------------------------------------------

def _default(value):
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def emit_json(value) -> None:
    text = json.dumps(value, indent=2, ensure_ascii=False, default=_default) + "\n"
    _write(text)


def emit(text: str = "") -> None:
    _write(text + "\n")


def _write(text: str) -> None:
    sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))
    sys.stdout.flush()


def table(rows: list[list[str]], header: list[str], right: set[int] = frozenset(),
          fit: int | None = None, colors: dict[int, object] | None = None,
          shrink: int | None = None) -> str:
    """Aligned columns. With `fit`, a last cell too long for `fit` columns
    goes on as many lines as it needs, broken after its "; " separators
    (a piece still too long is cut with an ellipsis), or under its row
    when the column would be narrower than MIN_LAST_COLUMN; with `fit` and
    `shrink`, the cells of that column are cut instead. `colors` maps a
    column to a function of the cell giving a COLORS name (or None),
    painted once the cells are aligned."""
    widths = [len(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    room = None
    below = False  # the last cells on lines of their own, under their row
    if fit is not None and rows and shrink is not None:
        # Cut the cells of column `shrink` (with an ellipsis) as far as its header.
        over = sum(widths) + 2 * (len(widths) - 1) - fit
        if over > 0:
            widths[shrink] = max(len(header[shrink]), widths[shrink] - over)
            rows = [[cut(c, widths[shrink]) if i == shrink else c for i, c in enumerate(r)] for r in rows]
    elif fit is not None and rows:
        lead = sum(widths[:-1]) + 2 * (len(widths) - 1)
        room = fit - lead
        if room < MIN_LAST_COLUMN and max(len(r[-1]) for r in rows) > room:
            below, room = True, max(fit - 4, 1)

    def line(cells, head=False):
        out = []
        for i, c in enumerate(cells):
            padded = c.rjust(widths[i]) if i in right else c.ljust(widths[i])
            color = None if head or not colors or i not in colors else colors[i](c)
            if color and c:
                padded = padded.replace(c, paint(c, color), 1)
            out.append(padded)
        return "  ".join(out).rstrip()

    if below:
        widths[-1] = 0
        lines = [line(header[:-1], head=True)]
        for row in rows:
            lines.append(line(row[:-1]))
            lines += ["    " + p for p in wrapped(row[-1], room) if p]
        return "\n".join(lines)
    lines = [line(header, head=True)]
    for row in rows:
        pieces = [row[-1]] if room is None else wrapped(row[-1], room)
        lines.append(line(row[:-1] + pieces[:1]))
        lines += [line([""] * (len(row) - 1) + [p], head=True) for p in pieces[1:]]
    return "\n".join(lines)


# With `fit`, a last column narrower than this goes under its row instead.
MIN_LAST_COLUMN = 30


def wrapped(text: str, columns: int, separator: str = "; ") -> list[str]:
    """`text` on lines of at most `columns`, broken after each `separator`
    where needed; a part longer than a line is cut with an ellipsis."""
    out: list[str] = []
    for part in text.split(separator):
        if out and len(out[-1]) + len(separator) + len(part) <= columns:
            out[-1] += separator + part
        else:
            if out:
                out[-1] += separator.rstrip()
            out.append(part)
    return [cut(p, columns) for p in out] or [""]


def fields(parts: list[str], columns: int | None, separator: str = "  ") -> str:
    """`parts` on one line, separated; with `columns`, on as many lines as
    keep each within it (a part is never split)."""
    if columns is None:
        return separator.join(parts)
    lines: list[str] = []
    for part in parts:
        if lines and len(lines[-1]) + len(separator) + len(part) <= columns:
            lines[-1] += separator + part
        else:
            lines.append(part)
    return "\n".join(lines)


def cut(text: str, columns: int) -> str:
    """`text` in at most `columns` characters, an ellipsis marking a cut."""
    if len(text) <= columns:
        return text
    return text[: max(columns - 1, 0)] + "…" if columns > 0 else ""


def seconds(when: str | None) -> str | None:
    """An ISO time with its fraction of a second dropped, for a terminal."""
    if not when or "." not in when:
        return when
    head, _, tail = when.partition(".")
    zone = tail.lstrip("0123456789")
    return head + zone


def one_line(text, width: int = 72) -> str:
    if isinstance(text, dict):
        return f"<{text.get('size', '?')} bytes>"
    text = " ".join(str(text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"
