"""The hand-written prose of git-ot's manual pages.

man/generate.py builds every page from two sources: the click commands in
git_ot/cli/main.py (each page's NAME line, SYNOPSIS, the option list and the
one-line summaries in git-ot(1)'s COMMANDS) and this file, which holds what
the code cannot say: descriptions, examples and the discussion of the
on-disk format. Nothing here repeats an option's help text; change that in
the click command and regenerate.

The prose uses a small markup (the subset of AsciiDoc that git's own
documentation uses, so it reads naturally here too):

- Paragraphs are separated by blank lines.
- `code` is set in bold: commands, options, paths, ref names, literal values.
- *word* is set in italics.
- A paragraph whose first line ends in "::" is a list item: the text before
  "::" is the term, the rest of the paragraph its body; following blocks
  indented by four spaces continue the body.
- Lines between two "----" lines are shown verbatim (examples, formats).
- A paragraph whose lines start with "- " is a bulleted list.
- A page name such as git-ot-trace(1) is set in bold automatically.

Keep it ASCII; the generator refuses anything else.
"""

# git-ot(1) lists the commands under these headings, in this order. Every
# top-level click command must be in exactly one group.
COMMAND_GROUPS = [
    ("Main commands", ["init", "uninstall", "trace"]),
    ("Plumbing commands", ["hook", "snapshot"]),
]

# Pages about other programs, named in SEE ALSO.
GIT_SEE_ALSO = ["git(1)", "githooks(5)", "git-notes(1)", "git-worktree(1)"]

_JSON_NOTE = """\
The schemas of every command's JSON output are in `refs/README.md` in the
git-ot source tree.
"""

OVERVIEW = {
    "description": """\
git-ot keeps the evidence of coding-agent work inside the repository the
work was done in. A coding agent (currently Claude Code) works in a
*session*; git-ot records each session's steps (the prompts, the assistant's
messages, every tool call with its input, output and status) together with
snapshots of the working tree taken around every tool call that may write
files, and stores all of it as ordinary git objects under
`refs/opentraces/`. Sessions therefore clone, push, fetch, pack and
garbage-collect like the rest of the repository: there is no server and no
second database.

Capture runs from hooks. The agent's harness runs `git ot hook` for each
event it reports (see git-ot-hook(1)); the event is appended to a local
spool under the git directory and later *sealed* into the session's ref:
at the end of every agent turn, at the end of the session, whenever one of
the git hooks installed by `git ot init` runs (after a commit, a history
rewrite or a merge), before `git ot trace` reads the sessions, and on the
next hook call after a crash. A seal never loses an event the spool had,
and sealing the same events twice records them once.

A session is named by the id its harness gave it, or by any prefix of that
id that matches exactly one session. A step is named by its number within
the session, counted from 1, as `<session>:<step>`.

Every command that prints a result takes `--json` and then prints one JSON
document with a stable schema instead of text for people. Errors are one
`error:` line on standard error, usually followed by a `hint:` line that
names the way out; see EXIT STATUS.

`git ot --help` and `git help ot` show this page, and
`git help git-ot-<command>` or `man git-ot-<command>` shows a command's
page (for example `git help git-ot-trace`). `git ot -h` and
`git ot <command> -h` print a short usage summary instead.
""",
    "options": {
        "--help": """\
Note that git itself turns `git ot --help` into `git help ot`, which shows
this manual page; the summary is what `git ot -h` and `git-ot --help`
print.
""",
    },
    "examples": """\
Set git-ot up in a repository, keeping the post-commit hook that was there::
    ----
    $ git ot init
    post-commit: chained
    post-rewrite: installed
    post-merge: installed
    git-ot is set up in /home/dev/src/app/.git/hooks
    ----

See what an agent did, step by step, then one step in full::
    ----
    $ git ot trace list
    $ git ot trace show 265a
    $ git ot trace show 265a:3
    ----

Read a session's manifest with git alone::
    ----
    $ id=265a3953-3ae5-4217-ac1f-2e0725711a3c
    $ git show refs/opentraces/sessions/$id:manifest.json
    ----

Share the sessions with a remote; they are ordinary refs::
    ----
    $ git push origin 'refs/opentraces/*:refs/opentraces/*'
    $ git fetch origin 'refs/opentraces/*:refs/opentraces/*'
    ----
""",
    "sections": [
        ("DISCUSSION", """\
Everything git-ot keeps for good is a git object reachable from a ref under
`refs/opentraces/`; what lives outside the object database (the spool, the
log, the snapshot index) is local to one clone. This section is an
overview; the full specification of the format, with a JSON Schema for every
record, is `refs/README.md` and `refs/schemas/` in the git-ot source tree
(the `refs/` folder of the repository git-ot is developed in).

`refs/opentraces/sessions/<id>`::
    One ref per session, named by the harness's session id (1 to 128
    letters, digits, `.`, `_` or `-`, starting with a letter or digit). It
    points at a chain of commits: each seal appends one commit whose parent
    is the previous tip and whose tree holds the whole session as of that
    seal, so `git log refs/opentraces/sessions/<id>` lists the seals. The
    ref is moved inside a reference transaction with a compare-and-swap on
    the tip the sealer started from, so two sealers never overwrite each
    other. The commits are made by `GIT_COMMITTER_NAME` and
    `GIT_COMMITTER_EMAIL`, else by `user.name` and `user.email`, else by
    `git-ot <git-ot@localhost>`.

A session commit's tree has these entries:

`manifest.json`::
    Plain JSON, so `git show <ref>:manifest.json` reads it by hand: the
    session id, the harness and its version, the model(s), the commit and
    branch the session started from, its start and end times, counts
    (steps, prompts, tools, events, files, commits) and the files it
    changed. `git ot trace list` reads only this record.

`trace.cbor.zst`::
    The steps of the session in order (prompts, assistant messages, tool
    calls with their input, output and status, subagents, compactions) and
    its lifecycle events (start, turn ends, end).

`trail.cbor.zst`::
    The outcome side: the index of snapshots (which step, before or after,
    when), the patch each tool step made (per file its status, hunks and
    the lines added and removed), and the anchors that tie patches to the
    commits that accepted them.

`ctx.cbor.zst`::
    What the model could see at each step: the messages in order and, per
    step, the range of them in view (a compaction starts a new range).

`blobs/<oid[:2]>/<oid[2:]>`::
    Payloads too long to keep inline in a record (tool input and output and
    message text over 2048 characters), stored once each as a git blob
    named by its object id and referred to from the records.

`snapshots/<step>-before`, `snapshots/<step>-after`::
    Trees of the working tree taken just before and just after each tool
    step that may write (see git-ot-snapshot(1)). They are tree entries,
    not gitlinks, so they are reachable, pushed and fetched with the
    session, and they share unchanged subtrees with the repository's own
    commits.

The three `.cbor.zst` records are CBOR maps compressed with zstandard.
Every record, the manifest included, names its schema (`git-ot/manifest`,
`git-ot/trace`, ...) and its version (`v`); git-ot refuses to read a record
whose version is newer than it knows, and says to upgrade, rather than
guess.

`refs/notes/opentraces`::
    The notes ref reserved for the anchor index: per commit, a note in JSON
    Lines with one line per attributed range (session, step, patch and
    hunk, path, line ranges, harness, model), read with
    `git notes --ref=opentraces show <commit>`, so that notes written by
    two clones merge line by line with `git notes merge -s cat_sort_uniq`.
    This version of git-ot does not write it yet.

While a session runs, the events its hooks report are appended to a local
spool under the common git directory, `.git/opentraces/spool/` (see
FILES). A seal takes the spooled events under a lock, folds them onto the
records at the ref's tip, writes one commit, moves the ref, and only then
deletes the events it took; a crash at any point leaves them for the next
seal, and event ids make a repeated seal a no-op. The spool is shared by
all worktrees of a repository and is never pushed.
"""),
        ("FILES", """\
Paths are shown for a repository whose git directory is `.git`. The spool
and the log live in the common git directory
(`git rev-parse --git-common-dir`), shared by all linked worktrees; the
snapshot index lives in each worktree's own git directory.

`.git/opentraces/spool/<session>.jsonl`::
    Events of a session not yet sealed, one JSON object a line. Deleting it
    loses those events.

`.git/opentraces/spool/<session>.<n>.sealing`::
    A batch of events taken by a seal and not yet in the session ref; the
    next seal picks it up if the last one was interrupted.

`.git/opentraces/spool/<session>.lock`, `.git/opentraces/spool/<session>.seal.lock`::
    Lock files for appending and for sealing; always safe to delete when no
    git-ot process runs.

`.git/opentraces/log`, `.git/opentraces/log.1`::
    What went wrong in hooks, and the traceback and versions of every
    internal error. Rotated to `log.1` past 1 MiB.

`$TMPDIR/git-ot-<uid>.log`::
    The same log, for failures outside any repository (or when the
    repository's log cannot be written); `/tmp` when `TMPDIR` is unset.

`.git/opentraces/snapshot.index`, `.git/opentraces/large-files.json`::
    The private index snapshots are built against, and the cache of large
    file pointers. Derived; safe to delete.

`.git/hooks/post-commit`, `.git/hooks/post-rewrite`, `.git/hooks/post-merge`::
    The git hooks `git ot init` installs (in the directory
    `core.hooksPath` names, if set), and beside them `<hook>.pre-git-ot`,
    the hooks they chain.
"""),
        ("ENVIRONMENT", """\
`GIT_OT_MAX_FILE_SIZE`::
    The size in bytes above which a snapshot records a file by a pointer
    instead of its content (see git-ot-snapshot(1)). The default is
    10485760 (10 MiB).

`GIT_COMMITTER_NAME`, `GIT_COMMITTER_EMAIL`, `GIT_COMMITTER_DATE`::
    The committer of the commits a seal writes, as for git (the date only
    in git's raw form, `<unix-time> <+hhmm>`).

`GIT_DIR`, `GIT_WORK_TREE`::
    git-ot finds the repository by asking git (`git rev-parse`), so these
    and git's other variables mean what they mean to git.
"""),
        ("EXIT STATUS", """\
`0`::
    Success. A closed output pipe (as in `git ot trace list | head -1`) is
    not an error.

`1`::
    An expected error: not a git repository, no such session, an ambiguous
    prefix, a bare repository where a working tree is needed, a record
    that cannot be read, a usage error. One `error:` line is printed on
    standard error, usually followed by a `hint:` line. `git ot` or
    `git ot trace` without a command prints the usage summary and exits
    with 1 too.

`3`::
    An internal error, that is, a bug in git-ot. The `error:` line names
    the exception, and the `hint:` line names the log that holds the
    traceback and the versions of git-ot and Python
    (`.git/opentraces/log`, or `$TMPDIR/git-ot-<uid>.log` outside a
    repository); please include it in a report.

`130`::
    Interrupted (Ctrl-C); `interrupted` is printed on standard error.

`git ot hook` is the exception: it always exits 0 (see git-ot-hook(1)).
"""),
    ],
}

COMMANDS = {
    "init": {
        "description": """\
Installs git-ot's git hooks, `post-commit`, `post-rewrite` and `post-merge`,
in the directory git runs hooks from, as `git rev-parse --git-path hooks`
names it: `.git/hooks` by default, the directory `core.hooksPath` names
when that is set, and the main repository's hooks directory when run in a
linked worktree (worktrees share their hooks). It also creates git-ot's
local state directory, `opentraces/` in the common git directory.

The hooks seal every session that has events in the spool into its ref
after a commit, a history rewrite (`git commit --amend`, `git rebase`) or a
merge, so that captured events are in the object database before history
moves on. They never make the git command fail: git-ot's output is
discarded, its failures go to `.git/opentraces/log`, and the hook exits with
the status of the hook it chains, if any (see below).
A hook calls git-ot through the Python interpreter that ran `git ot init`
(its path is written into the hook); if that interpreter is gone, it runs
`git-ot` from `PATH`.

A hook that is already there and is not git-ot's is kept: it is renamed to
`<hook>.pre-git-ot`, and git-ot's hook runs it first, with the same
arguments and standard input, and exits with its exit status, so it works
exactly as before. A chained hook that is not executable is skipped, as git
itself would skip it. git-ot recognises its own hooks by a marker line,
`git-ot-hook-marker:`, near the top of the file.

Running `git ot init` again is safe. A hook that is git-ot's is rewritten
only if it differs from what this version installs (after an upgrade, or
when git-ot now runs from another Python interpreter), and an existing
`<hook>.pre-git-ot` is never overwritten: if a hook that is not git-ot's
and a `<hook>.pre-git-ot` both exist (a hook manager replaced git-ot's hook
after `git ot init`, say), init stops with an error before touching that
hook, and the two are for you to merge.

For each hook, one line says what was done: `installed` (there was no hook),
`chained` (the hook that was there now runs first), `updated` or
`unchanged`. The last line names the hooks directory.

Capturing an agent's sessions also needs the agent's harness to call
`git ot hook`; see git-ot-hook(1). A bare repository has no working tree to
capture, and init refuses it.
""",
        "options": {
            "--json": """\
The object has `hooks_dir`, the absolute path of the hooks directory, and
`hooks`, which maps each hook's name to what was done to it.
""",
        },
        "examples": """\
Set git-ot up in a repository that already has a post-commit hook::
    ----
    $ git ot init
    post-commit: chained
    post-rewrite: installed
    post-merge: installed
    git-ot is set up in /home/dev/src/app/.git/hooks
    $ ls .git/hooks | grep -v sample
    post-commit
    post-commit.pre-git-ot
    post-merge
    post-rewrite
    ----

Run it again; nothing changes::
    ----
    $ git ot init
    post-commit: unchanged
    post-rewrite: unchanged
    post-merge: unchanged
    git-ot is set up in /home/dev/src/app/.git/hooks
    ----

In a repository whose hooks are versioned in `.githooks`::
    ----
    $ git config core.hooksPath .githooks
    $ git ot init
    post-commit: installed
    post-rewrite: installed
    post-merge: installed
    git-ot is set up in /home/dev/src/app/.githooks
    ----
""",
        "see_also": ["git-ot-uninstall(1)", "git-ot-hook(1)", "githooks(5)",
                     "git-worktree(1)"],
    },
    "uninstall": {
        "description": """\
Removes the git hooks `git ot init` installed from the hooks directory (the
one `git rev-parse --git-path hooks` names, as for init) and puts back the
hooks they chained: each `<hook>.pre-git-ot` is renamed back to `<hook>`,
so the directory is left as it was before `git ot init`. A hook in
git-ot's place that is not git-ot's own (one a hook manager wrote after
`git ot init`, say) is left in place, together with any `.pre-git-ot` file
beside it, and reported.

Before the hooks go, every session with events still in the spool is
sealed into its ref, so nothing captured is lost. Uninstalling deletes no
history: the sessions under `refs/opentraces/` and the local state under
`.git/opentraces/` are kept (see EXAMPLES to delete them too). In a bare
repository nothing is sealed.

The hooks of the agent's harness (the `git ot hook` commands in Claude
Code's settings) are not touched; remove them there to stop capturing
sessions.

One line is printed for each session sealed, `sealed <session>`, then one
for each hook: `removed`, `restored` (the chained hook is back),
`absent` (there was nothing to remove) or `not ours, left in place`.
""",
        "options": {
            "--json": """\
The object has `hooks_dir`, `hooks` (each hook's name and what was done to
it) and `sealed`, the list of the sessions sealed.
""",
        },
        "examples": """\
Take git-ot out of a repository whose post-commit hook it had chained::
    ----
    $ git ot uninstall
    sealed 265a3953-3ae5-4217-ac1f-2e0725711a3c
    post-commit: restored
    post-rewrite: removed
    post-merge: removed
    ----

Delete the recorded sessions as well, for good (they are ordinary refs; the
objects go at the next `git gc` once no other ref or reflog reaches them)::
    ----
    $ git for-each-ref --format='delete %(refname)' refs/opentraces |
      git update-ref --stdin
    $ rm -r .git/opentraces
    ----
""",
        "see_also": ["git-ot-init(1)", "githooks(5)"],
    },
    "trace": {
        "description": """\
Reads back the sessions stored under `refs/opentraces/sessions/`. Before
reading, both commands seal the events still waiting in the local spool
(in a repository with a working tree), so a session that is still running
shows every step up to its last hook call.
""",
        "subcommands": {
            "list": """\
Prints a header line, then one line per session, ordered by start time,
with these columns:

`SESSION`::
    The first 12 characters of the session id; any unique prefix names the
    session for `git ot trace show`.
`HARNESS`::
    The harness that ran the session, such as `claude-code`.
`MODEL`::
    The model or models, comma-separated, or `-` if the harness reported
    none.
`START`::
    The time of the session's first event, in ISO 8601 and UTC, or `-`.
`STEPS`::
    The number of steps.
`FILES`::
    The number of files the session's tool steps changed.
`COMMITS`::
    The number of commits anchored to the session's patches.

With no session in the repository it prints `no sessions`.
""",
            "show": """\
Without a step, prints a header (the session id; its harness, model, start,
number of steps and files) and then one line per step: its number, its
kind and a summary. The kinds are `prompt` and `message` (the text, on one
line, cut at 72 characters), `tool` (the tool's name; its status,
`running`, `ok` or `error`; and, for each file its patch changed, the path
and the lines added and removed), `subagent` (the agent's type and id;
the steps it ran are indented under it) and `compaction` (what triggered
it).

With `:<step>`, prints the same header and then that step in full: its
line; its `input`, `output` and `text`, with structured values as indented
JSON and long payloads read back from the session's `blobs/`; and for a
tool step its `patch`, the snapshots before and after and, per file, the
change (`A`, `M`, `D`, `R` as in `git diff --name-status`), the path and the
lines added and removed.

A session prefix that matches more than one session is an error whose hint
lists the candidates; a step number out of range is an error whose hint
gives the range.
""",
        },
        "arguments": {
            "SESSION[:STEP]": """\
A session id, or any prefix of one that matches exactly one session,
optionally followed by a colon and a step number (from 1, as
`git ot trace show <session>` numbers them).
""",
        },
        "options": {
            "--json": """\
`list` prints an object whose `sessions` is a list, newest first, with for
each session its `session` id, `harness`, `harness_version`, `models`,
`start`, `end`, the counts `steps`, `prompts`, `tools`, `files` and
`commits`, the `base` commit and `branch` it started from, and the `tip` of
its ref. `show` prints an object with that summary as `session` and either
every step, as `steps`, or the one asked for, in full, as `step`.
""" + "\n" + _JSON_NOTE,
        },
        "examples": """\
Show a session, named by a prefix of its id::
    ----
    $ git ot trace show 265a
    session 265a3953-3ae5-4217-ac1f-2e0725711a3c
    harness claude-code  model -  start 2026-11-24T19:47:23.151737Z  steps 9  files 2
        1  prompt     add a farewell function with a test
        2  tool       Edit ok  app.py +4 -0
        3  tool       Write ok  test_app.py +9 -0
        4  tool       Bash ok
        5  message    Added farewell() with a test; tests pass.
        6  prompt     make greet say hello instead of hi
        7  tool       Edit ok  app.py +1 -1
        8  tool       Edit ok  test_app.py +1 -1
        9  message    greet now says hello.
    ----

Show step 3 in full, with its input, output and patch::
    ----
    $ git ot trace show 265a:3
    ----

A prefix that names more than one session::
    ----
    $ git ot trace show demo
    error: session prefix 'demo' is ambiguous
    hint: candidates: demo-1, demo-2
    ----

The ids of the sessions that no commit has accepted yet::
    ----
    $ git ot trace list --json |
      jq -r '.sessions[] | select(.commits == 0) | .session'
    ----
""",
        "see_also": ["git-ot-hook(1)"],
    },
    "hook": {
        "description": """\
The command the installed hooks run, with the hook's payload on standard
input; a plumbing command, not meant to be typed.

`git ot hook claude-code [<event>]` records one Claude Code hook event. The
payload is the JSON object Claude Code sends; the event is `<event>` or,
when that is omitted, the payload's `hook_event_name`. The repository is
found from the payload's `cwd`, else from the current directory. The event
is appended to the session's journal in the spool,
`.git/opentraces/spool/<session>.jsonl`. Around every tool call that may
write files (every tool but the read-only ones, such as Read, Grep, Glob,
WebFetch, WebSearch and TodoWrite; MCP tools count as writing) a snapshot of
the working tree is taken, at `PreToolUse` and again at `PostToolUse` or
`PostToolUseFailure`, from which the seal computes the step's patch (see
git-ot-snapshot(1)). At `Stop` (the end of a turn) and `SessionEnd` the
session is sealed into `refs/opentraces/sessions/<session>`; at any other
event only what a crash left behind is sealed, such as a batch that an
interrupted seal had taken.

The events git-ot knows are `SessionStart`, `UserPromptSubmit`,
`PreToolUse`, `PostToolUse`, `PostToolUseFailure`, `Stop`, `SubagentStart`,
`SubagentStop`, `PreCompact`, `PostCompact` and `SessionEnd`; any other
event is kept whole in the session's lifecycle.

`git ot hook git <event>` is what the git hooks `git ot init` installs run,
with `<event>` one of `post-commit`, `post-rewrite`, `post-merge` and
`post-checkout`: it seals every session that has events in the spool.

The command prints nothing and always exits 0, whatever happens, because a
hook must never fail the agent or git. A failure (a payload that is not
JSON or lacks a session id, a session id that cannot name a ref, an unknown
source or git hook, no repository) is appended with its traceback to
`.git/opentraces/log`, or to `$TMPDIR/git-ot-<uid>.log` when no repository
was found, and an event that reached the spool stays there for the next
seal. So that the harness waits as little as possible, the command starts
without loading click or pygit2; only a seal loads pygit2.
""",
        "arguments": {
            "SOURCE": """\
Who calls: `claude-code` for Claude Code's hooks, `git` for the git hooks
`git ot init` installs.
""",
            "EVENT": """\
The hook event: a Claude Code hook event name (by default, the payload's
`hook_event_name`) or a git hook name. Arguments after it, such as those
git passes to its hooks, are ignored.
""",
        },
        "examples": """\
Have Claude Code report its events, in `.claude/settings.json` (the same
entry for each of `SessionStart`, `UserPromptSubmit`, `PreToolUse`,
`PostToolUse`, `PostToolUseFailure`, `Stop`, `SubagentStart`,
`SubagentStop`, `PreCompact` and `SessionEnd`)::
    ----
    {
      "hooks": {
        "PreToolUse": [
          {"matcher": "*",
           "hooks": [{"type": "command",
                      "command": "git ot hook claude-code"}]}
        ]
      }
    }
    ----

Record an event by hand and read it back::
    ----
    $ echo '{"session_id": "demo-1", "prompt": "add a test"}' |
      git ot hook claude-code UserPromptSubmit
    $ git ot trace show demo-1
    session demo-1
    harness claude-code  model -  start 2026-11-24T19:49:51.788256Z  steps 1  files 0
        1  prompt     add a test
    ----

See why an event was not recorded::
    ----
    $ tail .git/opentraces/log
    ----
""",
        "see_also": ["git-ot-init(1)", "git-ot-trace(1)", "githooks(5)"],
    },
    "snapshot": {
        "description": """\
Writes a git tree object of the working tree, as the capture hooks do
around a tool call, and prints its id. The tree holds every tracked file
and every untracked file that is not ignored (by `.gitignore`,
`.git/info/exclude` or `core.excludesFile`), with the content each has on
disk now, staged or not; ignored files and the git directory never go in.
Like `git stash create`, it touches neither the index, HEAD nor any branch,
and it writes no ref: the tree and its new blobs stay unreachable until a
session refers to them, and `git gc` prunes them after `gc.pruneExpire` if
none does.

Files, symbolic links and executable bits are recorded as git records them
in a commit. The tree is built by git itself, against a private index per
worktree, `.git/opentraces/snapshot.index`, which starts as a copy of the
user's index; git's stat cache in that index makes every snapshot after
the first incremental, as `git add -A` is on a warm index.

A regular file larger than the size limit, 10 MiB unless
`GIT_OT_MAX_FILE_SIZE` sets another number of bytes, is recorded by a small
pointer blob instead of its content (see DISCUSSION), so that a stray data
set or build output never bloats the repository. A pointer is computed
once for each version of a large file and cached in
`.git/opentraces/large-files.json`.

The command needs a working tree; in a bare repository it is an error.
""",
        "options": {
            "--json": """\
The object has one key, `tree`, the id of the tree.
""",
        },
        "examples": """\
Take a snapshot, list it and compare it with the last commit (the new file
is untracked, and still in the snapshot)::
    ----
    $ git ot snapshot
    0dfe3603040fb2d84fa4b4c045235ab1f1b84fdb
    $ git ls-tree -r --name-only 0dfe360
    README.md
    app.py
    test_app.py
    $ git diff --stat HEAD 0dfe360
     app.py      | 1 +
     test_app.py | 1 +
     2 files changed, 2 insertions(+)
    ----
""",
        "sections": [
            ("DISCUSSION", """\
A pointer blob stands in a snapshot for a file over the size limit. It is
entered with mode 100644, whatever the file's own mode, and holds this
ASCII text:

----
git-ot large file v1
size <bytes>
sha256 <hex digest of the file's content>
----
"""),
        ],
        "see_also": ["git-ot-hook(1)", "git-stash(1)", "git-write-tree(1)"],
    },
}
