"""The hook commands `git ot install` writes, spelt out for the tests to
compare the files against (capture/hookfile.py builds them)."""

from __future__ import annotations

import sys


def runner(harness: str, event: str, scope: str) -> str:
    """A hook that runs git-ot: in the committed project file, whichever
    git-ot the machine has; elsewhere, this interpreter."""
    if scope == "project":
        return (f"if command -v git-ot >/dev/null 2>&1; then exec git-ot hook {harness} {event}; fi; "
                f'd=$(git --exec-path 2>/dev/null) && [ -x "$d/git-ot" ] && '
                f'exec "$d/git-ot" hook {harness} {event}; exit 0')
    return f"{sys.executable} -m git_ot hook {harness} {event}"


def inbox(harness: str, event: str, scope: str, drain: bool, head: bool = False) -> str:
    """A hook that leaves the payload in the inbox with no Python started,
    starting `git ot hook drain` in the background when `drain`; with
    `head` (a session's start), HEAD's commit and branch written beside it."""
    if scope == "project":
        find = ('if command -v git-ot >/dev/null 2>&1; then r=git-ot; else d=$(git --exec-path 2>/dev/null) '
                '&& [ -x "$d/git-ot" ] || exit 0; r="$d/git-ot"; fi; ')
        run = '"$r" hook'
    else:
        find = f"r={sys.executable}; "
        run = '"$r" -m git_ot hook'
    after = f"{{ {run} drain </dev/null >/dev/null 2>&1 & exit 0; }}" if drain else "exit 0"
    return (find + 'd=; if [ -z "$GIT_DIR$GIT_WORK_TREE$GIT_COMMON_DIR" ]; then d=$PWD; '
            'while [ -n "$d" ] && [ ! -e "$d/.git" ]; do d=${d%/*}; done; fi; '
            'if [ -n "$d" ] && [ -d "$d/.git" ]; then c=$d/.git; '
            'else c=$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null); fi '
            '&& [ -d "$c/opentraces/inbox" ] && [ -z "$GIT_OT_EVENT_TIME" ] && t=$(date +%s%N) '
            '&& case $t in *[!0-9]*) false;; esac '
            f'&& f="$c/opentraces/inbox/$t.$$.{harness}.{event}.json" '
            + ('&& { h=$(git rev-parse -q --verify HEAD 2>/dev/null); b=$(git symbolic-ref -q HEAD 2>/dev/null); '
               'printf \'%s\\n%s\\n\' "$h" "$b" >"${f%.json}.head"; } ' if head else "")
            + '&& cat >"$f.tmp" && mv "$f.tmp" "$f" '
            f"&& {after}; exec {run} {harness} {event}")
