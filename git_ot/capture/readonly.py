"""Shell commands that cannot change the working tree.

A shell tool may write anything, so its hooks snapshot the working tree
before and after it ran, and a call with no snapshot is a blind window
(domain/trail/windows.py). Most of an agent's shell calls only look:
`sed -n '1,200p' src/main.rs`, `rg -n needle`, `ls`, `cat README.md`. Such
a call needs no snapshot and opens no window: what changed while it ran
was not its doing. This module says which calls those are, by rules narrow
enough to be sure, never by guessing: a command that does not fit them is
taken as one that may write, as before.

A command only reads when all of these hold:

- it is one line of at most COMMAND_LIMIT characters, each an ASCII letter
  or digit, a space, or one of `._/=:,+@%'-`: no redirection, pipe, list,
  substitution, variable, escape, glob (a file named `-i` would be an
  option) or second line can occur, so the shell runs exactly one
  program, the command's first word;
- it holds no `--pre` or `--hostname-bin`, quoted or not (ripgrep runs the
  program those name);
- its first word is one of READERS (programs with no option that writes a
  file), or it is `sed -n 'A,Bp' FILE...`: a script of digits and commas
  ending in `p`, and after it no `-` that starts a word, quoted or not
  (GNU sed takes `-i` anywhere).

The command is read as it is written: a program of a reader's name that a
user's shell set up to do something else (an alias, a function, a program
of that name first on PATH) is the user's.

`SH` spells the same rules in POSIX sh, for hook commands that decide
without starting Python (Codex's PreToolUse and PostToolUse, codex/config.py),
and Pi's extension in JavaScript (pi/git-ot.ts, `readsOnly`): a call they
send to the inbox must be one this module also calls read-only, or its step
would be a blind window. tests/capture/test_readonly.py holds the three to
each other (the sh in dash and bash, the extension's function in node).
"""

from __future__ import annotations

COMMAND_LIMIT = 1000
# Programs none of whose options writes a file.
READERS = frozenset({"cat", "head", "tail", "wc", "nl", "ls", "pwd", "grep", "rg"})
SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._/=:,+@%'-")
_SED = "sed -n '"
_ADDRESS = frozenset("0123456789,")
# The shell tools' inputs that hold the command line, by harness.
COMMAND_KEYS = ("command", "cmd")


def reads_only(command) -> bool:
    """Whether running `command` in a POSIX shell cannot change a file (see the module's doc)."""
    if not isinstance(command, str) or not command or len(command) > COMMAND_LIMIT:
        return False
    if not SAFE.issuperset(command):
        return False
    if "--pre" in command or "--hostname-bin" in command:
        return False
    if command.partition(" ")[0] in READERS:
        return True
    if command.startswith(_SED):
        script, sep, files = command[len(_SED):].partition("p' ")
        return (bool(sep) and bool(script) and _ADDRESS.issuperset(script)
                and " -" not in " " + files and "'-" not in files)
    return False


def shell_reads_only(tool_input) -> bool:
    """Whether a shell tool's input is a command that only reads: its
    `command` (or `cmd`) when that is a string."""
    if not isinstance(tool_input, dict):
        return False
    for key in COMMAND_KEYS:
        if key in tool_input:
            return reads_only(tool_input[key])
    return False


def _sh() -> str:
    """The rules of `reads_only` as a POSIX sh `&&` chain on `$x` (see the module's doc)."""
    letters = "".join(sorted(SAFE - set(" '-")))
    readers = "|".join(f"{r}|{r}\\ *" for r in sorted(READERS))
    return (f"&& case $x in ''|*[!{letters}\\ \\'-]*) false;; esac "
            f"&& [ ${{#x}} -le {COMMAND_LIMIT} ] "
            "&& case $x in *--pre*|*--hostname-bin*) false;; esac "
            f"&& case $x in {readers}) ;; "
            f"\"{_SED}\"*) s=${{x#\"{_SED}\"}}; case $s in *\"p' \"*) ;; *) false;; esac "
            "&& case ${s%%\"p' \"*} in ''|*[!0123456789,]*) false;; esac "
            "&& case \" ${s#*\"p' \"}\" in *' -'*|*\"'-\"*) false;; esac;; "
            "*) false;; esac ")


SH = _sh()
