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
    ("Main commands", ["init", "install", "uninstall", "import", "trace", "blame", "track", "anchor", "demo"]),
    ("Sharing commands", ["remote", "approve", "push", "fetch"]),
    ("Security commands", ["scan", "forget"]),
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
event it reports (see git-ot-hook(1); git-ot-install(1) sets Claude Code up
to do so); the event is appended to a local
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
    post-applypatch: installed
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
    Written by the git hooks `git ot init` installs; `git ot blame` reads it
    (see git-ot-blame(1)).

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

`.git/opentraces/push.log`, `.git/opentraces/push.log.1`::
    The output of every `git ot push` a plain `git push` started (see
    git-ot-remote(1)), each run after a line `--- <time> git ot push
    <remote>`. Rotated to `push.log.1` past 1 MiB.

`.git/opentraces/push.lock`::
    Present while such a push runs; it holds the pid of the process that
    pushes. One whose process is gone is taken over.

`$TMPDIR/git-ot-<uid>.log`::
    The same log, for failures outside any repository (or when the
    repository's log cannot be written); `/tmp` when `TMPDIR` is unset.

`.git/opentraces/snapshot.index`, `.git/opentraces/large-files.json`::
    The private index snapshots are built against, and the cache of large
    file pointers. Derived; safe to delete.

`.git/hooks/post-commit`, `.git/hooks/post-rewrite`, `.git/hooks/post-merge`, `.git/hooks/post-applypatch`::
    The git hooks `git ot init` installs (in the directory
    `core.hooksPath` names, if set), and beside them `<hook>.pre-git-ot`,
    the hooks they chain.

`.git/hooks/pre-push`::
    Installed by `git ot remote set --plain-git` (and by `git ot init`
    while that is on), removed by `--no-plain-git`.
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
Installs git-ot's git hooks, `post-commit`, `post-rewrite`, `post-merge`
and `post-applypatch` (and `pre-push`, while `git ot remote set --plain-git` is on
for the remote sessions are shared with), in the directory git runs hooks
from, as `git rev-parse --git-path hooks`
names it: `.git/hooks` by default, the directory `core.hooksPath` names
when that is set, and the main repository's hooks directory when run in a
linked worktree (worktrees share their hooks). It also creates git-ot's
local state directory, `opentraces/` in the common git directory.

The hooks seal every session that has events in the spool into its ref
after a commit, a history rewrite (`git commit --amend`, `git rebase`), a
merge or a patch `git am` applied, so that captured events are in the object database before history
moves on; then they anchor the new commits, writing the notes that
git-ot-blame(1) reads. The `pre-push` hook starts `git ot push` in the
background when the remote pushed to is the one sessions are shared with,
and returns at once (see git-ot-remote(1)); a repository without
`--plain-git` has no such hook, so its pushes run nothing of git-ot's. The
hooks never make the git command
fail: git-ot's output is discarded, its failures go to
`.git/opentraces/log`, and the hook exits with the status of the hook it
chains, if any (see below).
A hook calls git-ot through the Python interpreter that ran `git ot init`
(its path is written into the hook); if that interpreter is gone, it runs
`git-ot` from `PATH`.

A hook that is already there and is not git-ot's is kept: it is renamed to
`<hook>.pre-git-ot`, and git-ot's hook runs it first, with the same
arguments and standard input, and exits with its exit status, so it works
exactly as before: a chained `pre-push` hook that refuses a push still
refuses it, and then no sessions are pushed either. A chained hook that is not executable is skipped, as git
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
    post-applypatch: installed
    git-ot is set up in /home/dev/src/app/.git/hooks
    $ ls .git/hooks | grep -v sample
    post-applypatch
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
    post-applypatch: unchanged
    git-ot is set up in /home/dev/src/app/.git/hooks
    ----

In a repository whose hooks are versioned in `.githooks`::
    ----
    $ git config core.hooksPath .githooks
    $ git ot init
    post-commit: installed
    post-rewrite: installed
    post-merge: installed
    post-applypatch: installed
    git-ot is set up in /home/dev/src/app/.githooks
    ----
""",
        "see_also": ["git-ot-uninstall(1)", "git-ot-hook(1)", "githooks(5)",
                     "git-worktree(1)"],
    },
    "install": {
        "description": """\
Wires git-ot's capture into a coding agent's own hook mechanism, so that
every session the agent runs reports its events to git-ot-hook(1). This
version knows one harness, `claude-code`.

For Claude Code it adds, to the settings file of the chosen scope, one hook
group with one command hook for each event that carries evidence:
`SessionStart`, `UserPromptSubmit`, `PreToolUse`, `PostToolUse`,
`PostToolUseFailure`, `Stop`, `SubagentStart`, `SubagentStop`,
`PreCompact`, `PostCompact` and `SessionEnd` (the tool events with the
matcher `*`, all tools). The command is

    ----
    <python> -m git_ot hook claude-code <event>
    ----

where `<python>` is the absolute path of the Python interpreter that ran
`git ot install`, the one git-ot is installed in, so the hook does not
depend on the `PATH` Claude Code passes on. After moving git-ot to another
environment, run `git ot install` again: it rewrites the commands.

The hooks are added beside the hooks already there, on the same events or
not; every other setting is kept, and the file keeps its indentation. The
file is written whole to a temporary file that is then renamed over it, so
Claude Code never reads half a file; a settings file that is a symbolic
link stays one (the file it points at is written). A file that is not
valid JSON is refused with an error and left as it is. Claude Code's
transcripts are never written.

Running it again is safe: an event that already runs git-ot is left alone
(`unchanged`), or has only its command rewritten (`updated`, after a change
of interpreter; keys the user added to the entry, such as a `timeout`,
stay), and a second git-ot entry on one event is removed. git-ot
recognises its entries by their command: any command hook that runs
`-m git_ot hook claude-code`, `git-ot hook claude-code` or
`git ot hook claude-code`. `git ot uninstall claude-code` removes exactly
those, and with them what install created (empty groups and lists, the
`hooks` object, the file), so that a file written as Claude Code writes it
comes back byte for byte (see git-ot-uninstall(1)).

Every hook is synchronous: Claude Code waits for it. Claude Code 2.1.328
can also run a command hook in the background (`"async": true`), but in
print mode (`claude -p`) it ends every background hook still running when
the turn ends (SIGTERM, then SIGKILL after about 1.5 seconds, and the
command waits out that grace), and background hooks finish in any order.
No event can afford that: `PreToolUse` and `PostToolUse` snapshot the
working tree around a tool call and must be done before the tool, or the
next one, runs; `Stop` and `SessionEnd` seal the session; the other events
only append to the spool, in the order their steps are folded in, which
costs about what running in the background would save. Hooks of type
`http` would need a server, and git-ot runs none. What each hook call
costs is measured by `tests/benchmarks/bench_hook.py` in the git-ot source
tree; its figures are in the README.

Claude Code reads project settings from the directory it is started in;
git-ot writes them at the top of the working tree, so start Claude Code
there, or install with `--scope user` to capture sessions started
anywhere. Sessions are captured in the repository that holds the
directory Claude Code runs a hook in (the payload's `cwd`); outside any
repository a hook records nothing and logs why. The git hooks that seal
sessions before history moves on come from git-ot-init(1), which is a
separate step.

One line is printed for each event, `installed`, `updated` or
`unchanged`, then the settings file written.
""",
        "arguments": {
            "HARNESS": """\
The agent to wire: `claude-code`.
""",
        },
        "options": {
            "--scope": """\
`project` is the file a team commits, at the top of the working tree;
`local` is for this clone alone; `user` applies to every session the user
starts, and is `$CLAUDE_CONFIG_DIR/settings.json` when `CLAUDE_CONFIG_DIR`
is set. `project` and `local` need a repository with a working tree;
`user` works anywhere.
""",
            "--json": """\
The object has `harness`, `scope`, `settings` (the file's path),
`command` (the hook command, with `<Event>` for the event's name) and
`events`, which maps each event to what was done.
""",
        },
        "examples": """\
Capture every Claude Code session in this repository::
    ----
    $ git ot init
    $ git ot install claude-code
    SessionStart: installed
    UserPromptSubmit: installed
    PreToolUse: installed
    ...
    SessionEnd: installed
    Claude Code runs git-ot from /home/dev/src/app/.claude/settings.json
    $ claude
    $ git ot trace list
    ----

Only for this clone, without touching the committed settings::
    ----
    $ git ot install claude-code --scope local
    ----

What an entry looks like::
    ----
    "PostToolUse": [
      {
        "matcher": "*",
        "hooks": [
          {
            "type": "command",
            "command": "/home/dev/.venv/bin/python -m git_ot hook claude-code PostToolUse"
          }
        ]
      }
    ]
    ----
""",
        "see_also": ["git-ot-hook(1)", "git-ot-uninstall(1)", "git-ot-init(1)"],
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
Code's settings) are not touched by this form; the next one removes them.

One line is printed for each session sealed, `sealed <session>`, then one
for each hook: `removed`, `restored` (the chained hook is back),
`absent` (there was nothing to remove) or `not ours, left in place`.

`git ot uninstall claude-code [--scope <scope>]` undoes
`git ot install claude-code` (see git-ot-install(1)) in the settings file of
that scope, and touches nothing else: neither the git hooks nor the spool.
It removes every command hook whose command runs `git ot hook claude-code`
(as `-m git_ot hook claude-code`, `git-ot hook claude-code` or
`git ot hook claude-code`) from every event, then each hook group, event
list and `hooks` object that this leaves empty, and the file itself if
nothing else is left in it; the user's hooks, on the same events or not,
and every other setting stay exactly as they were. One line is printed for
each event, `removed` or `absent`, then the settings file and what became
of it: `updated`, `deleted`, `unchanged` or `absent` (there is no such
file).
""",
        "arguments": {
            "HARNESS": """\
Remove git-ot from this harness's settings instead of the git hooks:
`claude-code`, the only harness this version installs into.
""",
        },
        "options": {
            "--scope": """\
The same scopes and files as for git-ot-install(1); an error without
HARNESS.
""",
            "--json": """\
Without HARNESS, the object has `hooks_dir`, `hooks` (each hook's name and
what was done to it) and `sealed`, the list of the sessions sealed. With
HARNESS, it has `harness`, `scope`, `settings` (the file's path), `events`
(each event and what was done) and `file` (what became of the file).
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
    post-applypatch: removed
    ----

Delete the recorded sessions as well, for good (they are ordinary refs; the
objects go at the next `git gc` once no other ref or reflog reaches them)::
    ----
    $ git for-each-ref --format='delete %(refname)' refs/opentraces |
      git update-ref --stdin
    $ rm -r .git/opentraces
    ----

Stop capturing Claude Code sessions in this repository, keeping the git
hooks::
    ----
    $ git ot uninstall claude-code
    SessionStart: removed
    ...
    SessionEnd: removed
    /home/dev/src/app/.claude/settings.json: updated
    ----
""",
        "see_also": ["git-ot-init(1)", "git-ot-install(1)", "githooks(5)"],
    },
    "import": {
        "description": """\
Builds sessions from the transcript files a harness keeps on disk, for
sessions that ran before git-ot was installed, on another machine, or while
a hook was missing. `git ot import claude-code` reads Claude Code's
transcripts: `<session>.jsonl` files and the `<session>/subagents/` folders
beside them. Without a `<path>` it reads this repository's project folder,
`$CLAUDE_CONFIG_DIR/projects/<slug>`, or `~/.claude/projects/<slug>` when
`CLAUDE_CONFIG_DIR` is not set, where `<slug>` is the absolute path of the
working tree with every character that is not a letter or a digit replaced
by `-` (`/home/dev/src/app` is `-home-dev-src-app`); a session started in a
subfolder has a folder of its own, to be named explicitly.

The lines are turned into the same events the hooks record and sealed by
the same code, so an imported session reads like a captured one, with what
hooks never see besides: the assistant's messages and thinking, the model
and token usage of each reply, and every other line kept whole. The lines
of one session are gathered from all the files given, subagents' files and
files of a session resumed in several invocations included, and put in time
order. A compaction boundary becomes a compaction step, after which the
model's view starts afresh.

Every line is accounted for: it becomes part of a step; or it is kept whole
in the session's lifecycle, as a `raw` entry (attachments, system lines,
queue operations, API request records, summaries, file-history snapshots,
harness-written user messages such as compaction summaries and
interruption markers, lines of types this version does not know, and lines
that are not JSON); or it is skipped for one of these reasons:

`blank`::
    An empty line.
`progress`::
    A progress line: the transient state of a running hook, shell command or
    search, whose outcome a later line records. A subagent's message
    relayed in an `agent_progress` line is not skipped: it becomes the
    subagent's step.
`duplicate`::
    A line whose message another line of the session already carried: a
    subagent's message both in its own file and in its parent's
    `agent_progress` line, or history copied into a resumed session's file.
`empty-text`::
    An assistant line whose only content is blank text.

An Edit, MultiEdit or Write step has no snapshots of the working tree when
it is imported; its patch is rebuilt from the transcript, from the file's
contents before the edit and the edit itself as the tool's structured
result records them, with the hunks git would compute between snapshots,
and is marked `"source": "transcript"` in the trail (see `refs/README.md`).
When the result holds the file's whole contents, the step also gets
partial snapshots: trees holding that file alone, before and after the
tool ran, at the times the transcript gives, which anchoring reads as the
states of that one path. A step whose result holds only a
`structuredPatch` gets none. A shell command's changes cannot be rebuilt
and have no patch. Paths under this
working tree map to their place in it; a session recorded in another
checkout of the project, on another machine or in another clone, has its
paths under its own `cwd`, which is taken to be the project's root there.

Importing is idempotent. Event ids derive from the lines' own ids, so
importing a file again, or a file that has grown since, adds only what is
new. A session that was captured live is merged into, not duplicated: a
tool call with the same id, the prompt with the same prompt id (or the same
text within a minute), the closing message with the same text and the same
subagent become one step; the model's other messages, which hooks do not
report, are added after the live steps.

After importing, the imported work is anchored against the existing
history, as `git ot anchor` would: each commit of HEAD made since the first
write window of the imported sessions that has no note, and whose lines
the recomputation gives (some of them) to an imported session, gets the
note git-ot's git hooks would have written. A note that exists is never
replaced: when the hooks wrote it before the session was known, the lines
it left the human's that the recomputation gives to an imported step are
added to it, and its own lines stay. Other commits are left as they were.

For each session one line reports its lines and what became of them, and
whether it was merged into a live capture or had nothing new; a last line
names the commits anchored, if any. On a
terminal, a progress bar on standard error follows an import of more than
a few files.
""",
        "arguments": {
            "HARNESS": """\
The harness whose transcripts to read. Only `claude-code` is supported
now.
""",
            "PATH": """\
A transcript file, or a folder searched, with its subfolders, for
`*.jsonl` files. Any number may be given; by default, this repository's
project folder.
""",
        },
        "options": {
            "--json": """\
The object has `files` and `bytes`, the number of files and bytes read,
and `sessions`, a list with, for each session, its `session` id, its
`lines`, how many became `steps` and how many were `kept_raw`, the lines
`skipped` by reason, `merged_into_live` (the session held live-captured
events before the import) and `changed` (the import added to its ref); and
`anchored`, the commits whose notes the import wrote, oldest first.
""" + "\n" + _JSON_NOTE,
        },
        "examples": """\
Import the project's sessions that ran before git-ot was set up::
    ----
    $ git ot import claude-code
    265a3953-3ae5-4217-ac1f-2e0725711a3c: 59 lines: 19 as steps, 40 kept raw, 0 skipped
    1 file, 176076 bytes, 1 session
    ----

Import transcripts copied from another machine, then again (nothing new)::
    ----
    $ git ot import claude-code ~/Downloads/laptop-sessions/
    $ git ot import claude-code ~/Downloads/laptop-sessions/ --json |
      jq '.sessions[] | select(.changed)'
    ----
""",
        "see_also": ["git-ot-hook(1)", "git-ot-trace(1)"],
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
    "blame": {
        "description": """\
`git ot blame <file>` is `git blame` with one more column: for each line an
agent wrote, the session and step that wrote it, the harness and model, and
the prompt that asked for it (the session's last prompt before that step,
cut at 50 characters). It runs one `git blame --porcelain` with the same
file, revision, `-L`, `-M` and `-C`, so the lines, the commits and the
following of renames are exactly git's; then, for each line, it reads the
note of the commit git names as the line's origin (see DISCUSSION) at the
line's number and path in that commit. The column says:

`<session>:<step> <harness>/<model> <prompt>`::
    An agent step wrote the line: the first 8 characters of the session id
    and the step's number, as `git ot trace show <session>:<step>` takes
    them.
`human`::
    The origin commit was anchored by git-ot (it has a note) and the line
    changed outside every agent tool window git-ot knew of when the commit
    was made: typed in an editor, or by any program run outside an agent's
    tools.
`unknown`::
    git-ot cannot say. The origin commit has no note and none can be
    recomputed (it was made before the first agent write window git-ot
    knows of), or the line came in a commit without a note that this
    repository did not make (a squash merge on a server, fetched) and no
    agent window explains it, or its note marks the line unattributed: more than one tool window was
    open while it changed (tools running in parallel, or two sessions at
    once), or the tool that wrote it was still running when the commit was
    made, or it changed outside every window back to a text an agent wrote
    into the file (a `git stash pop`, an undo). An attribution is never
    guessed.

Lines not committed yet (without a revision, git blame reads the file in
the working tree) are attributed the same way a commit would attribute
them now, from the snapshots of the working tree.

Like git blame, `git ot blame` follows a file through renames; moved and
copied lines are followed with `-M` and `-C`, as in git.

`git ot blame commit <rev>` shows what one commit was for: the sessions
whose work it took, and for each of their steps the prompt behind it, the
hunks the commit took from it, the step's patch, and how many of those lines
`git blame` still gives to the commit at HEAD (*alive*). The first line
counts the lines the commit introduced by who wrote them. A file named
`commit` is blamed as `./commit` or after `--`.

The notes are written by the git hooks `git ot init` installs; see
DISCUSSION for what each hook does.
""",
        "options": {
            "--json": """\
For a file: an object with `path`, `rev` (or null) and `lines`, one object
per line of the file, each printed on a line of its own (so `grep` works
as well as `jq`), with `line` (its number in the file), `commit`, `orig_line` and
`path` (its number and path in that commit), `author`, `content` and
`attribution`. An attribution has `kind`, one of `agent`, `human` and
`unknown`; an agent's also has `session`, `step`, `hunk`, `harness`,
`model`, `prompt` (shortened) and `prompt_step`; an unknown one has
`reason` (`not-anchored`, `ambiguous`, `running` or `unknown`) and, when
known, `candidates`, the steps that could have written it
(`<session>:<step>`).

For `commit`: an object with `commit`, `summary`, `author`, `anchored`,
`lines` (the counts `introduced`, `agent`, `human`, `unknown` and
`alive_at_head`) and `sessions`, each with its `session`, `harness`,
`model`, `lines`, `alive` and `steps` (per step: `step`, `tool`, `lines`,
`alive`, `hunks`, `prompt_step`, `prompt` and `patch`).
""",
            "--porcelain": """\
Every line of `git blame --porcelain`, unchanged, and before each line's
content (the line that starts with a tab) the attribution as header lines:
`ot-kind`, then as they apply `ot-session`, `ot-step`, `ot-hunk`,
`ot-harness`, `ot-model`, `ot-prompt`, `ot-reason` and `ot-candidates`.
Programs that read git's porcelain and skip headers they do not know read
it unchanged.
""",
        },
        "arguments": {
            "FILE": """\
The file to blame, as for `git blame`; or the word `commit`, followed by a
revision, for `git ot blame commit <rev>`.
""",
            "REV": """\
The revision to blame the file at (default: the working tree, as for
`git blame`); after `commit`, the commit to explain.
""",
        },
        "examples": """\
Who wrote lines 10 to 20, and what was asked::
    ----
    $ git ot blame app.py -L 10,20
    ----

The prompts behind every agent line of a file, once each::
    ----
    $ git ot blame app.py --json |
      jq -r '.lines[].attribution | select(.kind == "agent") | .prompt' | sort -u
    ----

What the last commit was for, and how much of it is still there::
    ----
    $ git ot blame commit HEAD
    ----
""",
        "sections": [
            ("DISCUSSION", """\
*Anchoring.* After `git commit`, the `post-commit` hook writes the commit's
note on `refs/notes/opentraces`. For each line the commit introduced (a line
`git blame` gives to it: one that the diff from every parent adds), it
finds the step that wrote it from the snapshots the capture hooks took
around every tool call that may write: between two snapshots of the file,
the change belongs to the one tool whose window was open then, to the human
when none was, and to nobody when several were. Staged content is matched
against the working tree as it was then, so `git add -p`, hand edits after
the agent's, files no agent touched, several sessions on one file, and a
commit the agent makes itself in the middle of its turn are all told
apart. A merge commit is anchored the same way, by `post-commit` or, for a
merge `git merge` made itself, by `post-merge`; only lines that match no
parent (a conflict's resolution) can be new. The anchors are also recorded
in each session's trail, so `git ot trace list` counts the commits that
took a session's work.

*Rewrites.* After `git commit --amend` and `git rebase` (reorder, squash,
fixup, edit, drop), the `post-rewrite` hook gives each new commit the
attribution of the old commits it came from: a line keeps its attribution
while its text is unchanged; a line the rewrite changed (a conflict
resolved, an amend's edit) is anchored afresh, as a commit's line would be.
Commits split at an `edit` stop take the attribution of the commit being
edited. A rewrite of commits git-ot never anchored writes no note.

*The note.* One line of JSON per range of lines, in the commit's version of
the file: a range an agent step wrote (session, step, hunk of the step's
patch, path, lines, harness, model), or a range that could not be tied to
exactly one step (`unattributed`, with the candidate steps). A commit
anchored with no agent work has an empty note, which records that git-ot
looked. The lines are written in a canonical order, so notes that two clones
wrote for the same commit merge with `git notes merge -s cat_sort_uniq`.
The format is specified in `refs/README.md` in the git-ot source tree.

*Copies.* A commit `git cherry-pick` makes (with `-x` or without, one or a
range, or `--no-commit` followed by `git commit`) takes the attribution of
the lines of the commit it copied, as a rewrite does; a `git revert` gives
each line it brings back the attribution that line had in the reverted
commit's parent; a `git merge --squash` takes that of the commits it
squashed, and a commit made after `git reset --soft` or `--mixed` that of
the commits the reset took out. The source is named by git
(`CHERRY_PICK_HEAD`, the `-x` line, the revert's and the squash's
messages, the reflog), or else found by patch id among the commits that
have notes. A file renamed by hand is followed to its old name.

*Without the hooks.* A commit with no note (made where the hooks did not
run: a squash or rebase merge on a server, a rebase on another machine,
commits made after `git ot uninstall`) is anchored on the fly, as the hooks
would have anchored it at the time the commit was made, so `git ot blame`
answers the same, only slower; `git ot anchor` writes those notes. A
commit made before the first agent write window git-ot knows of stays
`unknown`.
"""),
        ],
        "see_also": ["git-ot-anchor(1)", "git-ot-trace(1)", "git-ot-init(1)", "git-blame(1)", "git-notes(1)"],
    },
    "anchor": {
        "description": """Writes the notes of commits that have none, as git-ot's git hooks would
have written them when the commits were made: for a commit made where the
hooks did not run (a squash or rebase merge done on a server, a rebase on
another machine, commits made before `git ot init` or after
`git ot uninstall`), each line the commit introduced is attributed from
the snapshots of the working tree as they stood at the commit's time, and
a copy (a cherry-pick, a revert, a squash) takes the attribution of the
commits it came from, named in its message or found by patch id.
`git ot blame` does the same on the fly; `git ot anchor` makes it fast for
everyone the notes are shared with.

A note that exists is never replaced. A commit made before the first agent
write window git-ot knows of is left without a note: nothing tells whether
an agent git-ot never saw wrote its lines. Running the command again
writes nothing new. Sessions imported from transcripts count too: their
Edit, MultiEdit and Write steps are write windows of the file they wrote
(`git ot import` anchors what it imports itself).
""",
        "options": {
            "--dry-run": """Show what would be anchored; write nothing.
""",
            "--json": """The object has `range` (as given, or null), `examined` (the commits in
the range), `noted` (those that already had a note), `anchored` (one
object per commit anchored, with `commit`, the counts of its introduced
lines `agent`, `unattributed` and `human`, the `sessions` that wrote them,
and `source`: null, or `kind` (`copy` or `revert`) and the `commits` it
came from), `unknown` (the commits left without a note), `written` and
`dry_run`.
""" + "\n" + _JSON_NOTE,
        },
        "arguments": {
            "REV-RANGE": """The commits to anchor, as `git log` takes them (`main..topic`, `HEAD~20..`,
a single revision for it and its history). Default: the commits of HEAD
made since the first agent write window git-ot knows of.
""",
        },
        "examples": """After a pull request was squash-merged on the server::
    ----
    $ git pull
    $ git ot anchor ORIG_HEAD..HEAD
    anchored 3f2a9c1e0b7d: agent 41, unattributed 0, human 6
    1 commit examined: 0 already noted, 1 anchored, 0 unknown
    $ git ot push
    ----
""",
        "see_also": ["git-ot-blame(1)", "git-ot-init(1)", "git-notes(1)"],
    },
    "demo": {
        "description": """\
Shows what git-ot records without an agent: it replays a real Claude Code
session that ships with git-ot in a new scratch repository and prints what
git-ot says about it.

The session was recorded with Claude Code 2.1.328 (its model's words
scripted, everything else Claude Code's own) over two prompts: an Edit, a
Write and a Bash that runs the new test, then two Edits. Its hook payloads,
their provenance and their licence are in the package, under
`git_ot/demo/linear-edit/`.

In the scratch repository the demo commits the files the session started
from, runs `git ot init`, and then sends every recorded payload to the
command `git ot install claude-code` writes into Claude Code's settings
(`<python> -m git_ot hook claude-code <event>`), one process per payload,
exactly as in live capture; between a tool's PreToolUse and PostToolUse it
applies the tool's recorded effect to the working tree (the Edit and Write;
a recorded shell command is not run, and this one changed no file). After
each turn it commits what the agent did, with the assistant's last message
as the commit message, so the git hooks anchor the commits as they do for
a user.

Then it prints, each under the command line that makes it, `git log
--oneline`, `git ot trace show <session>`, `git ot blame <file>` for every
file the session changed, and `git ot track`, each run as its own process
in the scratch repository; and last, where the repository is, to explore
further.

Every git and git-ot process of the demo runs without the GIT_* variables
of the caller and without the global and system git config (neither read
nor written), with a fixed author, committer and dates (when each turn
ended in the recording): the commits, and so what blame prints, are the
same on every run. The current repository, if there is one, is not
touched.
""",
        "arguments": {
            "DIRECTORY": """\
Where to make the scratch repository: a directory that does not exist yet
(it is made) or an empty one. Default: a new directory `git-ot-demo-*`
under the system's temporary directory (`$TMPDIR`, else `/tmp`). A
directory that is not empty, or a file, is an error.
""",
        },
        "options": {
            "--json": """\
Prints one object: the scratch repository's `directory`, the `session` id,
its `harness` and `harness_version`, the `commits` made (oldest first, each
its `commit` id and `subject`), and the JSON of the commands the text
output shows: `trace` (`git ot trace show --json`), `blame` (an object with
`git ot blame --json` per file changed) and `track` (`git ot track
--json`).
""" + "\n" + _JSON_NOTE,
        },
        "examples": """\
Replay the session in a new directory, then look around in it::
    ----
    $ git ot demo /tmp/ot-demo
    Replayed Claude Code 2.1.328 session 265a3953-3ae5-4217-ac1f-2e0725711a3c
    in a new repository, /tmp/ot-demo, with a commit after each turn:

    $ git log --oneline
    089159c greet now says hello.
    e58908e Added farewell() with a test; tests pass.
    5a86a47 Start the app
    ...
    The repository stays in /tmp/ot-demo; try: cd /tmp/ot-demo && git ot blame commit HEAD
    $ cd /tmp/ot-demo && git ot trace show 265a3953:2
    ----

A directory that is not empty::
    ----
    $ git ot demo .
    error: directory '.' is not empty
    hint: name a new or empty directory, or none for a new one under /tmp
    ----
""",
        "see_also": ["git-ot-trace(1)", "git-ot-blame(1)", "git-ot-track(1)", "git-ot-hook(1)",
                     "git-ot-install(1)"],
    },
    "track": {
        "description": """\
`git ot track` answers "did that work land, and does it survive?" for the
agents' work: every hunk of every patch in the chosen sessions' trails (a
hunk is named `<step>.<file>.<hunk>`, as in the notes; the lines it
*wrote* are the lines it added; hunks that add no line are not listed),
judged at a target revision (`--at`, default `HEAD`). It prints a table
per session (hunk, path, state, lines written, landed and alive, and the
evidence) and a summary per session and overall: lines written, landed,
alive now and still pending, and how many hunks are in each state.

Nothing is matched by "this text is somewhere in the file". Lines are
followed through history the way git follows them, with its diff and
`git blame`:

*Landed*::
    A commit that the target contains and whose note names the hunk (see
    git-ot-blame(1), DISCUSSION). A copy of the commit made by an amend or
    a rebase carries a note naming the same hunk, so it counts. Each line
    is counted once per distinct text, so a line brought back later (the
    revert of a revert) is not counted twice.
*Alive*::
    A line of the target that `git blame <target> -- <path>` gives to a
    landing commit, at a line that commit's note gives to the hunk. git
    follows renames of whole files. A landed line that blame does not find
    in place is looked for with `git blame -M -C` in its own file, when
    the commit that removed it added the same text there, and in the other
    files that commit changed where it added the same text: so code moved
    within a file or into another is found, and a `}` or a `return None`
    that happens to stand elsewhere in the file is never a survivor.
*Removed*::
    For a landed line that is not alive, the commit that removed it: the
    first commit after the landing one, on the target's first-parent
    history, whose diff removes it (`git log --first-parent -p`, the same
    diff `git blame` uses); for lines landed off that history, or removed
    by a merge or with their whole file, the commit after the last one
    `git blame --reverse <landing>..<target>` finds them in; when that is
    a merge, the lines were removed on the branch it merged, and the
    branch's own commit that removed them is found the same way (so a
    revert merged from a branch is the revert). That commit
    *reverts* the landing commit when its message says "This reverts commit
    <sha>" of a commit whose note names the hunk, or when its patch is the
    landing commit's patch inverted (equal `git patch-id --stable`).

The states of a hunk that landed, decided in this order:

`reverted`::
    No line alive, and a commit that removed some of them reverts a commit
    that landed the hunk.
`lost`::
    No line alive, and no revert among the commits that removed them.
`repaired`::
    Lines alive, and blame gives them to a landing commit that brought
    back lines an earlier landing commit (an ancestor of it) had taken:
    they had been removed in between, and came back (the revert of a
    revert committed as a commit of its own).
`alive_on_path`::
    Every landed line alive, in place, in the file it landed in.
`moved`::
    At least half of the landed lines alive, some of them in another file
    (the file was renamed, or the lines moved out of it) or moved within
    their file.
`alive_transformed`::
    At least half alive, in place; the others edited or removed since.
`partially_preserved`::
    Fewer than half alive.

A hunk that did not land on the target's history:

`unknown`::
    The repository is shallow (or its history cannot be walked), and a
    commit that holds the hunk, named by a note or by the session's
    anchors, is missing or not found in the history there is: whether the
    target contains it cannot be told.
`unlanded`::
    Commits hold the hunk, but the target contains none of them (work on a
    branch not merged, commits reset away, or an `--at` before it landed);
    or no commit ever held it and the working tree no longer has it
    (discarded work). The commits are the evidence.
`pending`::
    No commit holds it, and the working tree has lines of it not committed
    yet, attributed to it from the snapshots as `git ot blame` attributes
    uncommitted lines.

Spooled events are sealed first, so a session that is still running
counts every step up to its last hook call.
""",
        "options": {
            "--json": """\
An object with `target` (`rev` and the `commit` it names, null in a
repository with no commit yet), `since` (the cut-off in ISO 8601 and UTC,
or null), `sessions` and `total`. Each session has `session`, `harness`,
`models`, `start`, `lines` (`written`, `landed`, `alive`, `pending`),
`states` (the number of hunks in each state) and `hunks`; `total` has
`sessions`, `hunks`, `lines` and `states` over all of them. Each hunk has
`hunk`, `step`, `path` (in the patch), `state`, `lines` (as for a
session), `commits` (the landing commits on the target's history, each
with `commit`, `path` and `lines`, the ranges `[first, last]` its note
gives), `alive` (where the alive lines are at the target: `path`, `lines`
and `moved`), `removed` (each commit that removed landed lines, with the
number of `lines` and `reverts`, the landing commit it reverts or null;
`commit` is null when no commit could be named),
`restored_by` (for `repaired`), `elsewhere` (commits holding the hunk that
the target does not contain, as `commits`), `missing` (commits named as
holding it that are not in the repository) and `worktree` (for pending
lines: `path` and `lines` in the working tree).
""" + "\n" + _JSON_NOTE,
        },
        "arguments": {
            "SESSION": """\
A session id, or any prefix of one that matches exactly one session.
Repeatable; by default every session.
""",
        },
        "examples": """\
How much of last week's agent work never made it into history::
    ----
    $ git ot track --since 7d --json | jq '.total.lines'
    ----

What became of one session's work, as of the release tag::
    ----
    $ git ot track 265a3953 --at v1.2.0
    ----

The hunks that were reverted, and by which commit::
    ----
    $ git ot track --json |
      jq -r '.sessions[].hunks[] | select(.state == "reverted") |
             "\\(.hunk) \\(.removed[0].commit)"'
    ----
""",
        "see_also": ["git-ot-blame(1)", "git-ot-trace(1)", "git-blame(1)", "git-revert(1)",
                     "git-patch-id(1)"],
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
with `<event>` one of `post-commit`, `post-rewrite`, `post-merge`,
`post-applypatch` and `post-checkout`: it seals every session that has
events in the spool, then anchors what git just made: the commit
(`post-commit`, and `post-applypatch` for each commit `git am` makes), the
merge commit (`post-merge`), or the rewritten commits git lists on standard
input (`post-rewrite`); see git-ot-blame(1). With `pre-push`, followed by the
remote's name and URL as git gives them, it seals nothing: when that remote
is the one sessions are shared with and `--plain-git` is on for it, it
starts `git ot push <remote>` in the background (see git-ot-remote(1)).

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
`hook_event_name`) or a git hook name. Arguments after it are those git
passes to its hook.
""",
        },
        "examples": """\
Have Claude Code report its events, in `.claude/settings.json` (the same
entry for each of `SessionStart`, `UserPromptSubmit`, `PreToolUse`,
`PostToolUse`, `PostToolUseFailure`, `Stop`, `SubagentStart`,
`SubagentStop`, `PreCompact`, `PostCompact` and `SessionEnd`;
git-ot-install(1) writes these entries)::
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
        "see_also": ["git-ot-install(1)", "git-ot-init(1)", "git-ot-trace(1)", "githooks(5)"],
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
    "remote": {
        "description": """\
Names the git remote that sessions are shared with: `git ot push` and
`git ot fetch` use it when no remote is given. Until it is set, neither
guesses one, not even `origin`: the remote may be the repository's own
`origin` or a separate, private remote kept for the sessions alone. The
choice is stored as `ot.remote` in the repository's git config.

A remote that git does not know yet is added, as `git remote add` would,
with the URL given. The remote's own refspecs are left as they are: a plain
`git fetch` or `git push` of it carries code only. A plain fetch does not
even see the sessions (git's protocol v2 lists only the refs a fetch asks
for); but a push is shown every ref of the remote, sessions included,
before it sends anything (git's push protocol has no such filter): with
10,000 sessions on the code's own remote that is tens of milliseconds more
for every push of code. A separate remote for the sessions costs the
code's remote nothing. With
`--plain-git`, two fetch refspecs are added so that a plain
`git fetch <remote>` also brings the sessions and notes in, under the
remote's own namespace (see git-ot-fetch(1)); they are merged into the
local sessions by the next `git ot fetch`. The price is that every plain
fetch of that remote then lists, and every later git command that walks
all refs then reads, one ref per remote session. Pushing is never added to
the remote's refspecs: only `git ot push` pushes sessions, because only it
checks approval and the security gate, merges the notes line by line and
never fails, or is failed by, the push of your code.

With `--plain-git`, a plain `git push <remote>` starts that `git ot push`
too: `--plain-git` installs a `pre-push` hook (chaining one that was there,
as git-ot-init(1) does; `--no-plain-git`, or setting another remote that
lacks the refspecs, removes it and restores that one), which starts `git
ot push <remote>` in the background, in a session of its own with no terminal
(`GIT_TERMINAL_PROMPT=0`: it cannot ask for credentials), and returns at
once. The push of your code never waits for it and never fails because of
it; its output, whatever happens, is appended to
`.git/opentraces/push.log`. One such push runs at a time per repository
(`.git/opentraces/push.lock`); a `git push` while one runs starts none,
and the next one carries what it missed. A push to any other remote, or
one that a chained `pre-push` hook refuses, starts nothing; without
`--plain-git` there is no hook, and a `git push` runs nothing of git-ot's.
""",
        "subcommands": {
            "show": """\
Prints the remote's name and URL, tab-separated, and whether plain
`git fetch` and `git push` carry the sessions (`plain git fetch/push: yes`
or `no`) and
whether pushing needs approval (`approval required: yes` or `no`, see
git-ot-approve(1)). With no remote set it says so.
""",
            "set": """\
Sets the remote, adding it to git first when git has no remote of that
name. A remote that exists keeps its URL: give none, or the same one.
""",
        },
        "arguments": {
            "NAME": """\
The remote's name, as `git remote` lists it: letters, digits, `.`, `_`
and `-`.
""",
            "URL": """\
Where the remote is, in any form git understands (`git@host:repo.git`,
`https://...`, `git://...`, a path). Needed only when git does not know
the remote yet.
""",
        },
        "options": {
            "--plain-git": """\
The refspecs added are

----
+refs/opentraces/sessions/*:refs/opentraces/remotes/<name>/sessions/*
+refs/notes/opentraces*:refs/opentraces/remotes/<name>/notes*
----

and they are also what has a plain `git push` start `git ot push` (see
above); there is no separate setting. `--no-plain-git` removes them, and
with them both.
""",
            "--json": """\
The object has `remote` (null when none is set), `url`, `plain_git`
(whether plain `git fetch` and `git push` carry the sessions) and
`require_approval`.
""",
        },
        "examples": """\
Share sessions through a private remote, apart from the code's `origin`::
    ----
    $ git ot remote set traces git@example.com:team/app-traces.git
    traces	git@example.com:team/app-traces.git
    plain git fetch/push: no
    approval required: yes
    ----

Share them through `origin`, and let a plain `git fetch` bring them in
and a plain `git push` send the approved ones::
    ----
    $ git ot remote set origin --plain-git
    $ git fetch origin
    $ git for-each-ref --count=2 refs/opentraces/remotes/origin/
    $ git push origin main
    $ cat .git/opentraces/push.log
    --- 2026-11-24T10:02:11 git ot push origin
    pushed 2 sessions to origin; notes pushed
    ----
""",
        "see_also": ["git-ot-push(1)", "git-ot-fetch(1)", "git-remote(1)"],
    },
    "approve": {
        "description": """\
Approves sessions for sharing. `git ot push` sends only approved sessions:
nothing recorded on this machine leaves it until you have said so, after
reading it with `git ot trace show`. An approved session stays approved as
it grows (later turns of the same session are pushed too; the security
gate checks every push again). `--all` approves the sessions there are
now, after sealing what is still in the spool, and none recorded later.

Approval is a decision about this clone: it is kept in
`.git/opentraces/approved`, one session id a line, and is never pushed. A
repository whose sessions may all be shared, such as one with a private
remote only its owner reads, can turn approval off with
`git config ot.requireApproval false`.

One line is printed per session: `approved <session>`, or
`already approved <session>`.
""",
        "arguments": {
            "SESSION": """\
A session id or a unique prefix of one; several may be given.
""",
        },
        "options": {
            "--json": """\
The object has `approved`, the sessions approved now, and `already`, those
that were approved before.
""",
        },
        "examples": """\
Read a session, then approve it and push::
    ----
    $ git ot trace show 265a
    $ git ot approve 265a
    approved 265a3953-3ae5-4217-ac1f-2e0725711a3c
    $ git ot push
    pushed 1 session to origin; notes pushed
    ----
""",
        "see_also": ["git-ot-push(1)", "git-ot-trace(1)"],
    },
    "push": {
        "description": """\
Pushes sessions and the notes to the remote (the one `git ot remote set`
chose, or `<remote>`): every approved session the remote does not have yet
in its latest form, or only the sessions named, and `refs/notes/opentraces`.
Each session must pass the security gate at egress first (see
git-ot-scan(1)); a session it holds back is not pushed, and neither is a
session that is not approved (see git-ot-approve(1)). The others are pushed
all the same, and the command then exits 1 with an error that says which
session was held back and why, or how many were not approved and how to
approve them. Naming a session that is not approved is an error before
anything is pushed.

The notes go commit by commit: a commit's note is pushed only when every
line of it names sessions the remote holds or receives in this push (a
line names a session, the step and the path it wrote). A note that names
any other session (not approved, or held back by the gate) stays here,
whole, until that session is pushed: cut down, it would give the lines of
the session left out to the human. What is pushed is a notes commit made
on top of the remote's, so no history that holds a note kept back leaves
either; the local notes ref is not changed by a push.

Nothing is ever forced. Before pushing, the remote's tips are listed; what
the remote holds of these sessions and of the notes that this clone does
not contain is fetched and merged first (see git-ot-fetch(1)), so the push
is a fast-forward: a session sealed differently in two clones is joined in
a merge commit, and the notes are merged line by line. When another clone
pushes in between and the remote rejects a ref, that is done again, up to
20 times. Refs are pushed without `--atomic`, session refs first and the
notes last, so a push that is interrupted (a dropped connection, a killed
process) leaves the remote with some refs moved and the rest as they were,
every one complete, and the next push sends the rest.

`git ot push` is separate from `git push`: the push of your code never
carries the sessions, never waits for them, and never fails because of
them (with `git ot remote set --plain-git`, it starts a `git ot push` in
the background; see git-ot-remote(1)). git's `pre-push` hook is not run
for the bucket. The output is one
line, `pushed <n> session(s) to <remote>; notes <state>`, where the state
of the notes is `pushed` or `up to date`, a line naming the sessions
that were merged, if any, and a line naming the commits whose notes were
kept back, if any.
""",
        "arguments": {
            "REMOTE": """\
The remote to push to (default: the one `git ot remote` shows). To name
sessions, name the remote too.
""",
            "SESSION": """\
A session id or a unique prefix of one; several may be given. By default
every approved session is pushed.
""",
        },
        "options": {
            "--json": """\
The object has `remote`, `pushed` (the sessions the remote took now),
`merged` (sessions merged with the remote's copy on the way), `notes`
(`pushed` or `up to date`), `notes_held_back` (the commits whose notes
stayed here because they name sessions not shared), `unapproved` and
`blocked` (sessions held back,
each with the gate's `reasons`), and `rounds`, the number of attempts. It
is printed even when the command then exits 1 because something was held
back.
""",
        },
        "examples": """\
Push everything approved to the configured remote::
    ----
    $ git ot push
    pushed 3 sessions to origin; notes pushed
    ----

A session that is not approved yet::
    ----
    $ git ot push
    pushed 0 sessions to origin; notes up to date
    error: 1 session is not approved for sharing: 8d1f0c2a9e43
    hint: review with 'git ot trace show SESSION', then 'git ot approve SESSION...' (or 'git ot approve --all')
    ----
""",
        "see_also": ["git-ot-approve(1)", "git-ot-fetch(1)", "git-ot-remote(1)", "git-notes(1)"],
    },
    "fetch": {
        "description": """\
Fetches the sessions and notes of the remote (the one `git ot remote set`
chose, or `<remote>`) that this clone does not have, and merges them into
the local ones. The remote's tips are listed first, and only the sessions
whose tip differs from the local one are fetched; git then transfers only
the objects that are missing (snapshots share their trees and blobs with
the code, which is usually there already).

What is fetched lands first under the remote's own namespace,
`refs/opentraces/remotes/<remote>/sessions/<session>` and
`refs/opentraces/remotes/<remote>/notes`, and is then merged: a session new
here is created; a session the remote has extended moves forward; a session
sealed differently here and there is joined in a merge commit with both
tips as parents, which keeps every step of both (see DISCUSSION); and the
notes are merged with `git notes merge -s cat_sort_uniq`, the union of
their lines. Nothing local is ever overwritten. The staged refs are then
deleted, unless `git ot remote set --plain-git` keeps them as a mirror.
After fetching many sessions, refs are packed and the commit-graph is
extended, as `git gc` would, so that git itself stays fast. A session
this clone forgot (git-ot-forget(1)) is not fetched again, and the notes
come in without its lines.

A clone needs nothing else first: a fresh `git clone` followed by
`git ot fetch origin` reads the sessions and notes as the clone that
recorded them does, with no `git ot init`. The output is one line with the
number of sessions new, updated, merged and unchanged, and what happened to
the notes: `created`, `fast-forward`, `merged`, `up to date` or `none` (the
remote has no notes).
""",
        "arguments": {
            "REMOTE": """\
The remote to fetch from (default: the one `git ot remote` shows).
""",
        },
        "options": {
            "--json": """\
The object has `remote`, the lists `new`, `updated` and `merged` of
session ids, the count `unchanged`, `notes`, and `forgotten`, the sessions
the remote holds that this clone forgot and did not fetch.
""",
        },
        "examples": """\
Read a teammate's sessions in a fresh clone::
    ----
    $ git clone git@example.com:team/app.git && cd app
    $ git ot fetch origin
    fetched from origin: 12 new, 0 updated, 0 merged, 0 unchanged session(s); notes created
    $ git ot trace list
    ----
""",
        "sections": [
            ("DISCUSSION", """\
Two tips of the same session that neither contains are merged as follows.
The tip with more events is the primary (with as many, the greater object
id). Its steps keep their numbers; a step of the other tip that shares an
event with one of them is that step; every other step of the other tip is
appended, numbered on from the primary's last, and says where it came
from in `merged_from`. The merge commit's identity and date depend only on
the two tips, so two clones that merge them on their own write the same
commit. `refs/README.md` in the git-ot source tree specifies the details.
"""),
        ],
        "see_also": ["git-ot-push(1)", "git-ot-remote(1)", "git-notes(1)"],
    },
    "scan": {
        "description": """\
Runs the security gate over sessions and prints what it finds, without
changing them. With no `<session>`, every session of the repository is
scanned: the sealed ones under `refs/opentraces/sessions/`, and those with
events still waiting in the spool. The gate uses the policy in force now
(see CONFIGURATION), which may differ from the one in force when a session
was sealed.

Each finding has a kind (such as `aws-access-key` or `high-entropy`; see
DISCUSSION), a status and a place. The statuses are:

`redacted`::
    The gate replaced it when the session was sealed: a placeholder
    `[REDACTED:<kind>]` in a record, or a file stored redacted in a
    snapshot.
`open`::
    It is in the stored session and the current policy does not allow it,
    as when a detector was added after the seal. An open finding holds the
    session back at egress (`git ot push`).
`pending`::
    It is in spooled events that are not sealed yet; the seal will redact
    it, or, with `ot.security.action` set to `block`, refuse to seal them.

The place is a step and a field of it (`step 3 input.command:1`, the last
number a line within the field's text), an event of the session's
lifecycle, a field of the session's `info`, a snapshot and a file in it
(`snapshot 3-after config/.env:2`), or a spooled event.

A header line per session gives its risk, a score from 0 to 100 computed by
the gate's judge from what remains (open findings, names of internal
hosts, cloud account ids, dense identifiers; see DISCUSSION), and the
number of open findings. The exit status is 0 whatever was found; use
`--json` to act on the result.

Files of a snapshot that the session's base commit already holds at the
same path are not scanned: they are in the repository's own history. What
the gate found in a blob is remembered by its object id, so each file
version is read once per policy.
""",
        "arguments": {
            "SESSION": """\
A session id, or any prefix of one that matches exactly one session.
Repeatable; by default every session.
""",
        },
        "options": {
            "--json": """\
The object has `policy` (the settings used: `detectors`, `action`,
`allow`, `pii`, `trufflehog`, `max_risk`) and `sessions`, a list with, for
each session, its `session` id, `sealed` (false when it has only spooled
events), `risk`, `residual` (the counts `hosts`, `accounts` and
`identifiers`), `open` (the number of open findings) and `findings`. A
finding has `kind`, `status`, `detector` (for open and pending findings:
`pattern`, `entropy` or `trufflehog`), and its place: `step` and `field`,
`lifecycle` (an event id) and `field`, `spool` (an event id) and `field`,
`field` alone (`info.cwd`, say), or `snapshot` and `path`; and `line`.
""" + "\n" + _JSON_NOTE,
        },
        "examples": """\
Scan every session::
    ----
    $ git ot scan
    session 265a3953-3ae5-4217-ac1f-2e0725711a3c  risk 4  open 0
      redacted  aws-access-key             step 1 text:1
      redacted  password-assignment        step 2 input.content:1
      redacted  password-assignment        snapshot 2-after .env:1
    ----

Look for personal data as well, from now on, and see what the stored
sessions hold::
    ----
    $ git config ot.security.pii true
    $ git ot scan --json | jq '.sessions[] | {session, open}'
    ----

Let a test fixture's fake key through, in this repository::
    ----
    $ git config --add ot.security.allow '^AKIAIOSFODNN7EXAMPLE$'
    ----
""",
        "sections": [
            ("DISCUSSION", """\
The gate runs at every seal, before anything becomes reachable from a ref,
and again at egress. At seal it replaces what it finds: a secret becomes
a placeholder, `[REDACTED:<kind>]`, with nothing of the secret kept; a home
directory, a user name in a path, a configured value and (when asked)
personal data become stable tokens, `[HOME]`, `[USER:<hex>]`,
`[VALUE:<hex>]`, `[EMAIL:<hex>]`, `[PHONE:<hex>]`, `[IP:<hex>]`, the same
value giving the same token in every session of the repository. `<hex>` is
the start of an HMAC-SHA256 keyed by a salt that is made once per
repository, kept in `.git/opentraces/salt`, and never pushed. The local
spool keeps events as the harness sent them; it is never pushed either.

The secret kinds: `aws-access-key`, `aws-secret-key`, `github-token`,
`github-fine-grained-token`, `gitlab-token`, `slack-token`,
`slack-webhook`, `stripe-key`, `google-api-key`, `anthropic-key`,
`openai-key`, `huggingface-token`, `npm-token`, `pypi-token`, `jwt`,
`private-key` (PEM and OpenSSH), `database-url` and `url-password` (the
password of `scheme://user:password@host`), `bearer-token` and
`basic-auth` (an `Authorization` header), `password-assignment` (the value
of a key that names a secret, as in `DB_PASSWORD=...`), `high-entropy` (a
random-looking token of 20 characters or more that no rule names; hex
digests, UUIDs, identifiers, paths and blocks of base64 data are left
alone) and `trufflehog-<detector>` for what TruffleHog reports.

TruffleHog (version 3), when used, runs as `trufflehog filesystem --json
--no-update --no-verification` on a temporary file holding the text to
check; what it reports is replaced wherever it occurs.

A snapshot file that holds a secret is stored redacted, under rewritten
trees, and listed in the session's trail with the kinds and lines
replaced. The unredacted objects the hooks wrote before the seal are
unreachable; `git gc` prunes them in time, git-ot-forget(1) at once.

The risk score is min(100, 60 if anything is open, plus 8 per internal
host name, up to 5, plus 8 per cloud account id, up to 5, plus 2 per dense
identifier, up to 10). The manifest of every session records the gate's
report of its seals: `git show refs/opentraces/sessions/<id>:manifest.json`,
key `gate`. The format is specified in `refs/README.md`, section 13.
"""),
            ("CONFIGURATION", """\
`ot.security.detectors`::
    Comma-separated: `patterns` (every secret rule), `entropy`, or single
    kinds such as `aws-access-key`. Default `patterns,entropy`.
`ot.security.action`::
    `redact` (default): replace what is found and seal. `block`: a batch
    of events that holds a secret is not sealed; its events wait in the
    spool, `git ot scan` lists them as pending, and the session is sealed
    once the policy lets it through (or forgotten with git-ot-forget(1)).
`ot.security.allow`::
    A regular expression (Python syntax); repeatable. A finding whose text
    it matches anywhere is kept as it is.
`ot.security.pii`::
    `true`: e-mail addresses, phone numbers and IP addresses become tokens
    too. Default `false`.
`ot.security.trufflehog`::
    `auto` (default): run TruffleHog when `trufflehog` is on `PATH`.
    `true`: required; without it nothing is sealed and this command fails.
    `false`: never.
`ot.security.maxRisk`::
    The highest risk (0 to 100) a session may have to leave the machine.
    Default 50.
`ot.security.tokenize`::
    A literal value (an internal host name, a customer's name); repeatable.
    Written as a `[VALUE:<hex>]` token in every record.
"""),
            ("FILES", """\
`.git/opentraces/salt`::
    The repository's salt for tokens. Deleting it changes the tokens of
    every later seal.
`.git/opentraces/gate-cache.json`::
    What the gate found in each blob it read, by object id.
"""),
        ],
        "see_also": ["git-ot-forget(1)", "git-ot-trace(1)"],
    },
    "forget": {
        "description": """\
Deletes sessions for good, in this repository: everything that holds them
and every object that only they reached.

For each session: its ref, `refs/opentraces/sessions/<session>`, and any
copy of it fetched from a remote under `refs/opentraces/remotes/`; its
lines in the notes, `refs/notes/opentraces` (and fetched copies), which
are rewritten as one commit without history, since the old notes commits
would keep the lines; the reflog entries of those refs; its events in the
spool; and then the objects nothing else reaches any more: the session's
commits, records, payload blobs and snapshots, the old notes commits, and
the unredacted snapshot objects the hooks wrote before the security gate
replaced them. An object that any other ref, reflog entry or index
reaches is kept (a file the session shares with a commit, say), and so is
every other unreachable object of the repository.

To do so it runs, and prints, `git reflog expire --expire=now
--expire-unreachable=now refs/notes/opentraces` when the notes were
rewritten; `git repack -A -d -q` when an object to delete is in a pack
(reachable objects are repacked; unreachable ones come out loose, keep
their time and expire as git would have expired them, except the
session's, which are deleted); and `git commit-graph write --reachable`
when there was a commit-graph, which may list the deleted commits. Loose
objects are deleted directly. The private snapshot indexes
(`.git/opentraces/snapshot.index`) are reset, so the next snapshot starts
from a copy of the user's index.

A session is named by its whole id: forget does not take prefixes. A
session that is only in the spool is forgotten too. Its id is then listed
in `.git/opentraces/forgotten` and taken off the approved list: no later
`git ot fetch` or `git ot push` brings the session back from a remote, and
the notes they merge in come without its lines (a copy of the remote's
notes without them, and without their history, is merged instead). A
forgotten session may be named again, with `--remote`.

What was pushed is deleted elsewhere only with `--remote`: otherwise, for
every remote, forget prints the `git ot forget --remote` command that
deletes the sessions there. A hosting service may keep unreachable objects
until its own garbage collection, and clones that fetched a session keep
their copy (their `git ot push` does not send its notes back unless they
push the session itself).
""",
        "arguments": {
            "SESSION": """\
A whole session id; repeatable.
""",
        },
        "options": {
            "--remote": """\
Delete the sessions on REMOTE as well, after deleting them here: their
refs (`git push --delete`), and, when the remote's notes or their history
hold a line of them, the remote's notes, replaced by a copy without those
lines and without history. That is the one forced push git-ot makes, and
only with a lease (`--force-with-lease`): when another clone pushed notes
meanwhile, the lease fails and the copy is made again from theirs, so no
one else's line is lost. The output says what was deleted there. When the
remote cannot be reached or refuses, the sessions are forgotten here all
the same, the output says so, and the command exits 1 with the remote's
error; run it again later.
""",
            "--json": """\
The object has `sessions` (for each: `session`, the `refs` deleted and
`spool`, whether it had spooled events), `notes` (each notes ref rewritten,
with the number of `lines` removed), `objects` (`deleted`, `kept` (reached
by something else) and `remaining`, the ids of objects that could not be
deleted, normally none), `ran` (the git commands run), `remote` (with
`--remote`: `remote`, the refs `deleted` there, `notes`, `rewritten` or
`unchanged`, and `note_lines`, the lines removed from its notes, or, when
that failed, `remote`, `error` and `hint`; otherwise null) and `remotes` (without `--remote`, for each configured remote, the
`commands` that delete the sessions there).
""" + "\n" + _JSON_NOTE,
        },
        "examples": """\
Forget a session that was pushed to origin::
    ----
    $ git ot forget 265a3953-3ae5-4217-ac1f-2e0725711a3c
    forgot 265a3953-3ae5-4217-ac1f-2e0725711a3c (refs/opentraces/sessions/265a3953-3ae5-4217-ac1f-2e0725711a3c)
    removed 3 note lines from refs/notes/opentraces
    deleted 41 objects; kept 6 that other refs reach
    ran: git reflog expire --expire=now --expire-unreachable=now refs/notes/opentraces
    remote 'origin' may still hold it; to delete it there:
      git ot forget --remote origin 265a3953-3ae5-4217-ac1f-2e0725711a3c
    $ git ot forget --remote origin 265a3953-3ae5-4217-ac1f-2e0725711a3c
    forgot 265a3953-3ae5-4217-ac1f-2e0725711a3c (no ref)
    deleted 0 objects
    deleted refs/opentraces/sessions/265a3953-3ae5-4217-ac1f-2e0725711a3c on origin
    rewrote refs/notes/opentraces on origin without its history: removed 3 note lines
    ----

Check that an object is gone::
    ----
    $ git cat-file -e 4f2a9c1 || echo gone
    gone
    ----
""",
        "see_also": ["git-ot-scan(1)", "git-gc(1)", "git-reflog(1)", "git-push(1)"],
    },
}
