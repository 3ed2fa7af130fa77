"""The hook commands `git ot install` writes, spelt out for the tests to
compare the files against (capture/hookfile.py builds them)."""

from __future__ import annotations

import sys

# This interpreter running git-ot's entry point, the current directory off
# the import path.
PYTHON = f"{sys.executable} -P -c 'import sys;from git_ot.__main__ import main;sys.exit(main())'"


# The arrival time in nanoseconds, into `t`: bash's EPOCHREALTIME
# (microseconds) read once, else `date`.
ARRIVAL = ("&& { e=${EPOCHREALTIME-}; case $e in [1-9]*[.,][0-9][0-9][0-9][0-9][0-9][0-9]) "
           "t=${e%[.,]*}${e#*[.,]}000;; *) t=$(date +%s%N 2>/dev/null);; esac; } "
           "&& case $t in ''|*[!0-9]*) false;; esac ")


def runner(harness: str, event: str, scope: str) -> str:
    """A hook that runs git-ot: in the committed project file, whichever
    git-ot the machine has; elsewhere, this interpreter."""
    if scope == "project":
        return (f"if command -v git-ot >/dev/null 2>&1; then exec git-ot hook {harness} {event}; fi; "
                f'd=$(git --exec-path 2>/dev/null) && [ -x "$d/git-ot" ] && '
                f'exec "$d/git-ot" hook {harness} {event}; exit 0')
    return f"{PYTHON} hook {harness} {event}"


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
        run = '"$r" -P -c \'import sys;from git_ot.__main__ import main;sys.exit(main())\' hook'
    after = f"{{ {run} drain </dev/null >/dev/null 2>&1 & exit 0; }}" if drain else "exit 0"
    return (find + 'd=; if [ -z "$GIT_DIR$GIT_WORK_TREE$GIT_COMMON_DIR" ]; then d=$PWD; '
            'while [ -n "$d" ] && [ ! -e "$d/.git" ]; do d=${d%/*}; done; fi; '
            'if [ -n "$d" ] && [ -d "$d/.git" ]; then c=$d/.git; '
            'else c=$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null); fi '
            '&& [ -d "$c/opentraces/inbox" ] && [ -z "$GIT_OT_EVENT_TIME" ] ' + ARRIVAL
            + f'&& f="$c/opentraces/inbox/$t.$$.{harness}.{event}.json" '
            + ('&& { b=; h=; if [ -n "$d" ] && [ -f "$d/.git/HEAD" ] && IFS= read -r b <"$d/.git/HEAD" '
               "&& case $b in 'ref: refs/'*) b=${b#'ref: '};; *) false;; esac; then "
               'if [ -f "$d/.git/$b" ] && IFS= read -r h <"$d/.git/$b" && case $h in *[!0-9a-f]*) false;; esac '
               '&& case ${#h} in 40|64) ;; *) false;; esac; then :; '
               'else h=$(git rev-parse -q --verify HEAD 2>/dev/null); fi; '
               'else b=$(git symbolic-ref -q HEAD 2>/dev/null); h=$(git rev-parse -q --verify HEAD 2>/dev/null); fi; '
               'printf \'%s\\n%s\\n\' "$h" "$b" >"${f%.json}.head"; } ' if head else "")
            + '&& cat >"$f" '
            f"&& {after}; exec {run} {harness} {event}")


# What `patch` reads from an apply_patch payload: the one file it adds (A)
# or updates (U), into `k` and `x`; it fails on a deletion, a move, a path
# with a quote or a backslash, and on no file or more than one.
PATCH_FILE = (
    "&& case $p in *'\\n*** Add File: '*'\\n*** Add File: '*|*'\\n*** Add File: '*'\\n*** Update File: '*"
    "|*'\\n*** Update File: '*'\\n*** Add File: '*|*'\\n*** Update File: '*'\\n*** Update File: '*"
    "|*'\\n*** Delete File: '*|*'\\n*** Move to: '*) false;; "
    "*'\\n*** Add File: '*) k=A; x=${p#*'\\n*** Add File: '};; "
    "*'\\n*** Update File: '*) k=U; x=${p#*'\\n*** Update File: '};; *) false;; esac "
    "&& x=${x%%'\\n'*} && case $x in ''|*'\"'*|*\\\\*) false;; esac ")


# What `patch` sends to the inbox with no Python started: a call of the
# shell whose command only reads (git_ot/capture/readonly.py's rules).
READ_ONLY = (
    "&& case $p in *'\"tool_name\":\"'*'\"tool_name\":\"'*) false;; *'\"tool_name\":\"Bash\"'*) ;; *) false;; esac "
    '&& [ -d "$c/opentraces/inbox" ] && [ -z "$GIT_OT_EVENT_TIME" ] '
    "&& case $p in *'\"tool_input\":'*'\"tool_input\":'*|*'\"command\":'*'\"command\":'*) false;; "
    "*'\"tool_input\":{\"command\":\"'*) ;; *) false;; esac "
    "&& x=${p#*'\"tool_input\":{\"command\":\"'} && x=${x%%'\"'*} "
    "&& case $x in ''|*[!%+,./0123456789:=@ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz\\ \\'-]*) false;; esac "
    "&& [ ${#x} -le 1000 ] && case $x in *--pre*|*--hostname-bin*) false;; esac "
    "&& case $x in cat|cat\\ *|grep|grep\\ *|head|head\\ *|ls|ls\\ *|nl|nl\\ *|pwd|pwd\\ *|rg|rg\\ *|"
    "tail|tail\\ *|wc|wc\\ *) ;; "
    "\"sed -n '\"*) s=${x#\"sed -n '\"}; case $s in *\"p' \"*) ;; *) false;; esac "
    "&& case ${s%%\"p' \"*} in ''|*[!0123456789,]*) false;; esac "
    "&& case \" ${s#*\"p' \"}\" in *' -'*|*\"'-\"*) false;; esac;; *) false;; esac ")


def patch(harness: str, event: str, scope: str) -> str:
    """Codex's PreToolUse and PostToolUse: an apply_patch call's payload to
    the inbox with the files it names hashed into git (before the call, into
    `<tool_use_id>.codex.before`; after, with those, into the entry's
    `.files`); any other call's payload given to `runner`."""
    pre = event == "PreToolUse"
    if pre:
        blob = ('&& if [ -L "$x" ]; then false; elif [ -f "$x" ]; then o=$(git hash-object -w -- "$x"); '
                'elif [ "$k" = A ]; then o=-; else false; fi ')
        keep = '&& printf \'before %s %s\\n\' "$o" "$x" >"$b" '
    else:
        blob = '&& if [ -L "$x" ]; then false; elif [ -f "$x" ]; then o=$(git hash-object -w -- "$x"); else false; fi '
        keep = ('&& [ -f "$b" ] && IFS= read -r v <"$b" && case $v in "before "*" $x") ;; *) false;; esac '
                '&& printf \'%s\\nafter %s %s\\n\' "$v" "$o" "$x" >"${f%.json}.files" ')
    return ("p=$(cat); "
            'd=; if [ -z "$GIT_DIR$GIT_WORK_TREE$GIT_COMMON_DIR" ]; then d=$PWD; '
            'while [ -n "$d" ] && [ ! -e "$d/.git" ]; do d=${d%/*}; done; fi; '
            'if [ -n "$d" ] && [ -d "$d/.git" ]; then c=$d/.git; '
            'else c=$(git rev-parse --path-format=absolute --git-common-dir 2>/dev/null); fi '
            + READ_ONLY
            + ARRIVAL + f"&& f=\"$c/opentraces/inbox/$t.$$.{harness}.{event}.json\" "
            "&& printf '%s' \"$p\" >\"$f\" && exit 0; [ -n \"$c\" ] "
            "&& case $p in *'\"tool_name\":\"apply_patch\"'*) ;; *) false;; esac "
            '&& [ -d "$c/opentraces/inbox" ] && [ -z "$GIT_OT_EVENT_TIME" ] '
            "&& u=${p#*'\"tool_use_id\":\"'} && u=${u%%'\"'*} && case $u in ''|*[!A-Za-z0-9_-]*) false;; esac "
            "&& w=${p#*'\"cwd\":\"'} && w=${w%%'\"'*} && [ \"$w\" = \"$PWD\" ] "
            + PATCH_FILE
            + ARRIVAL
            + f'&& f="$c/opentraces/inbox/$t.$$.{harness}.{event}.json" '
            + blob
            + f'&& b="$c/opentraces/inbox/$u.{harness}.before" '
            + keep
            + "&& printf '%s' \"$p\" >\"$f\" "
            + f"&& exit 0; printf '%s' \"$p\" | {{ {runner(harness, event, scope)}; }}")
