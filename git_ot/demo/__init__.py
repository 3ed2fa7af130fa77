"""`git ot demo`: a recorded Claude Code session, replayed in a scratch repository.

The session ships with the package (`linear-edit/`, with its provenance and
licence). `run` makes a new repository from the files the session started
from, sets git-ot up in it as a user would (`git ot init`), replays every
recorded hook payload through the live capture path (replay.py), commits
after each of the session's turns, so the git hooks anchor the commits, and
then runs the commands a user would run to read it all back, each as its
own `git-ot` process in the scratch repository.

Every git and git-ot process of the demo runs with an environment of its
own: no GIT_* variable of the caller (the demo may be started from inside
another repository's hook), no global or system git config (neither read
nor written: a global core.hooksPath must not receive the scratch
repository's hooks), and a fixed identity and fixed dates for the commits,
so the commits and what blame says of them are the same on every run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from importlib import resources

from ..errors import GitCommandError, UnusableDirectory
from ..store import git
from .replay import replay

SESSION_DIR = "linear-edit"
HARNESS_VERSION = "2.1.328"  # the Claude Code CLI that recorded the session
IDENTITY = {
    "GIT_AUTHOR_NAME": "Dev",
    "GIT_AUTHOR_EMAIL": "dev@example.com",
    "GIT_COMMITTER_NAME": "Dev",
    "GIT_COMMITTER_EMAIL": "dev@example.com",
}
# A commit is dated when its turn ended in the recording; the base commit a
# minute before the session's first event.
BASE_LEAD_SECONDS = 60


def session_file(name: str) -> str:
    """The text of one file of the packaged session."""
    return (resources.files(__name__) / SESSION_DIR / name).read_text(encoding="utf-8")


def payloads() -> list[dict]:
    """The packaged session's hook payloads, in order, as recorded."""
    return [json.loads(line) for line in session_file("hooks.jsonl").splitlines() if line.strip()]


def scratch_env(when: int | None = None) -> dict:
    """The environment of every git and git-ot process the demo runs."""
    env = git.environment({k: v for k, v in os.environ.items()
                           if not k.startswith("GIT_") or k == "GIT_EXEC_PATH"},
                          **IDENTITY, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull,
                          GIT_TERMINAL_PROMPT="0")
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{when} +0000"
    return env


def prepare(directory: str | None) -> str:
    """The scratch directory: new, or existing and empty; made if missing."""
    hint = f"name a new or empty directory, or none for a new one under {tempfile.gettempdir()}"
    try:
        if directory is None:
            return tempfile.mkdtemp(prefix="git-ot-demo-")
        path = os.path.abspath(directory)
        if os.path.lexists(path):
            if not os.path.isdir(path):
                raise UnusableDirectory(f"'{directory}' exists and is not a directory", hint=hint)
            if os.listdir(path):
                raise UnusableDirectory(f"directory '{directory}' is not empty", hint=hint)
        os.makedirs(path, exist_ok=True)
        return path
    except OSError as exc:
        raise UnusableDirectory(f"cannot make '{exc.filename or directory}': {exc.strerror}",
                                hint=hint) from None


def run(directory: str | None, as_json: bool = False, terminal: dict | None = None) -> dict:
    """Replay the session in a scratch repository, then read it back there.

    Returns the directory, the session, the commits (oldest first), and
    what each command a user would run next printed (`reports`: its
    arguments and output; with `as_json`, the command's JSON): `git log
    --oneline` (text only), `git ot trace show`, `git ot blame` for each file
    the session changed, and `git ot track`.

    With `terminal` ({"columns": n or None, "color": bool}), the commands
    print as on the user's terminal: fitted to its columns and coloured or
    not, as git's commands print into git's pager (COLUMNS,
    GIT_PAGER_IN_USE); the commands a report names are the user's to run.
    """
    events = payloads()
    base = json.loads(session_file("base.json"))
    path = prepare(directory)
    env = scratch_env()
    _git(path, ["init", "-q", "-b", "main"], env)
    for name, text in base["files"].items():
        with open(os.path.join(path, name), "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    _ot(path, ["init"], env)
    commits = [_commit(path, base["message"], int(events[0]["_received_at"]) - BASE_LEAD_SECONDS)]

    def after(payload: dict) -> None:
        # The user commits what the agent did once its turn is over.
        if payload["hook_event_name"] == "Stop":
            commits.append(_commit(path, payload["last_assistant_message"],
                                   int(payload["_received_at"])))

    # The transcript Claude Code wrote, growing as it did, where the hooks
    # can read it (its recorded path is on the recording's machine): the
    # calls of the tools the install does not hook, the model and Claude
    # Code's version come from it, as in a live session.
    with tempfile.TemporaryDirectory(prefix="git-ot-demo-transcript-") as folder:
        transcript = os.path.join(folder, events[0]["session_id"] + ".jsonl")
        session = replay(path, events, after=after, env=env, transcript=transcript,
                         transcript_text=session_file("transcript.jsonl"), recorded_times=True)
    changed = _git(path, ["diff", "--name-only", commits[0]["commit"], "HEAD"], env).splitlines()
    reports = []
    shown_env, color = env, []
    if terminal is not None and not as_json:
        shown_env = {**env, "GIT_PAGER_IN_USE": "true"}
        if terminal.get("columns"):
            shown_env["COLUMNS"] = str(terminal["columns"])
        color = ["--color=always" if terminal.get("color") else "--color=never"]
    if not as_json:
        reports.append({"args": ["git", "log", "--oneline"],
                        "output": _git(path, ["log", "--oneline", *color], shown_env)})
    for args in [["trace", "show", session[:8]], *(["blame", f] for f in changed), ["track"]]:
        text = _ot(path, color + args + (["--json"] if as_json else []), shown_env)
        reports.append({"args": ["git", "ot", *args], "output": json.loads(text) if as_json else text})
    return {"directory": path, "session": session, "harness": "claude-code",
            "harness_version": HARNESS_VERSION, "commits": commits, "reports": reports}


def _commit(path: str, message: str, when: int) -> dict:
    env = scratch_env(when)
    _git(path, ["add", "-A"], env)
    _git(path, ["commit", "-q", "-m", message], env)
    return {"commit": _git(path, ["rev-parse", "HEAD"], env).strip(), "subject": message}


def _git(path: str, args: list[str], env: dict) -> str:
    return _run(path, ["git", *args], env, "git " + args[0])


def _ot(path: str, args: list[str], env: dict) -> str:
    return _run(path, [sys.executable, "-m", "git_ot", *args], env, "git ot " + " ".join(args))


def _run(path: str, argv: list[str], env: dict, what: str) -> str:
    if argv[0] == "git":
        proc = git.process(argv[1:], cwd=path, env=env)
    else:
        proc = subprocess.run(argv, cwd=path, env=env, capture_output=True)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitCommandError(f"'{what}' failed in the demo repository '{path}': "
                              f"{err[0] if err else f'exit status {proc.returncode}'}")
    return proc.stdout.decode("utf-8", "surrogateescape")
