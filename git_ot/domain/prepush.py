"""A plain `git push` of the bucket's remote carries the sessions too.

With `git ot remote set NAME --plain-git`, the pre-push hook `git ot init`
installs starts `git ot push NAME` whenever NAME is pushed to. The code's
push neither waits for it nor can fail because of it: the bucket's push
runs apart, in a new session with no terminal, and writes its output to
`push.log`; the hook returns as soon as it is started. `git ot push` pushes
with `--no-verify`, so it does not start itself again.

One bucket push runs at a time per repository: `push.lock`, created
atomically by the hook, names the pid of the process that pushes, which
removes it when done; a lock whose process is gone (killed, or the machine
restarted) is taken over.

Both the hook and `git ot remote` read the same setting here, without
click or pygit2: a plain git push carries the bucket exactly when a plain
git fetch does, that is when the remote's fetch refspecs name it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from ..store import git, refs, state
from ..store.files import replace_file
from ..store.log import MAX_LOG

CONFIG_REMOTE = "ot.remote"


def plain_git(location, remote: str) -> bool:
    """Whether plain `git fetch` and `git push` of `remote` carry the bucket:
    its fetch refspecs are those `git ot remote set --plain-git` adds."""
    have = _config(location, "--get-all", f"remote.{remote}.fetch")
    return all(spec in have for spec in refs.fetch_refspecs(remote))


def enabled(location) -> bool:
    """Whether plain pushes of the bucket's remote carry the bucket here."""
    remote = _config(location, "--get", CONFIG_REMOTE)
    return bool(remote) and plain_git(location, remote[0])


def start(location, remote: str) -> None:
    """From the pre-push hook: start the bucket's push when `remote` is the
    bucket's and plain git carries it, unless one runs already."""
    if location.worktree is None or not os.path.isdir(location.state_dir):
        return  # bare, or git-ot is not set up here
    if _config(location, "--get", CONFIG_REMOTE) != [remote] or not plain_git(location, remote):
        return
    lock = state.push_lock(location.state_dir)
    if not _take(lock):
        return  # a bucket push is running; the next git push carries what it missed
    try:
        log_path = state.push_log(location.state_dir)
        if os.path.exists(log_path) and os.path.getsize(log_path) > MAX_LOG:
            os.replace(log_path, log_path + ".1")
        with open(log_path, "ab") as log:
            log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} git ot push {remote}\n".encode())
            log.flush()
            child = subprocess.Popen(
                [sys.executable, "-m", __name__, remote, lock], cwd=location.worktree,
                env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},  # nobody is there to answer
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    except BaseException:
        _release(lock, os.getpid())
        raise
    # The hook held the lock until now; from here the pushing process does.
    replace_file(lock, f"{child.pid}\n".encode())


def _config(location, *args: str) -> list[str]:
    """The values of a git config key; none when it is unset."""
    proc = git.process(["config", *args], cwd=location.worktree or location.git_dir,
                       stderr=subprocess.DEVNULL)
    return proc.stdout.decode("utf-8", "surrogateescape").splitlines() if proc.returncode == 0 else []


def _take(lock: str) -> bool:
    """Create the lock naming this process; False when a live process holds it."""
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            if _alive(_holder(lock)):
                return False
            _release(lock, _holder(lock))  # stale: its process died without removing it
            continue
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{os.getpid()}\n")
        return True
    return False


def _holder(lock: str) -> int | None:
    try:
        with open(lock, encoding="ascii") as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int | None) -> bool:
    if pid is None or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _release(lock: str, pid: int | None) -> None:
    """Remove the lock if `pid` still holds it."""
    if _holder(lock) == pid:
        try:
            os.unlink(lock)
        except FileNotFoundError:
            pass


def _push(remote: str, lock: str) -> int:
    """The background process: run `git ot push`, then give the lock back."""
    try:
        return subprocess.run([sys.executable, "-m", "git_ot", "push", remote],
                              stdin=subprocess.DEVNULL).returncode
    except OSError as exc:
        print(f"error: cannot run 'git ot push': {exc.strerror}", file=sys.stderr)
        return 1
    finally:
        _release(lock, os.getpid())


if __name__ == "__main__":
    sys.exit(_push(sys.argv[1], sys.argv[2]))
