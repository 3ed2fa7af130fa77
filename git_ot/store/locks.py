"""Locks git-ot waits on for a bounded time, and git's lock files proved stale.

Two kinds of lock are met on the paths that run inside other programs:

- git-ot's own locks are flock(2) locks on files under the state
  directory: the kernel releases one when its holder dies, however it dies,
  so none of them can go stale. `hold` takes one, waiting at most a given
  time (with backoff) rather than for ever, and says so by raising LockBusy.
- git's lock files (`<file>.lock`, created with O_EXCL, renamed over the
  file when done) stay behind when the process holding one is killed, and
  then every later writer of that file fails for good. `clear_stale`
  removes one only when it is provably stale: older than a bound no git
  command holds such a lock for, and open in no live process.
"""

from __future__ import annotations

import fcntl
import os
import time

from ..errors import LockBusy

# git holds a ref's or an index's lock file for the milliseconds of one
# write; one this old was left by a process that died.
STALE_LOCK_SECONDS = 60.0


def flock_until(fd: int, path: str, deadline: float) -> None:
    """Take an exclusive flock on `fd` (the file at `path`), retrying with
    backoff until the monotonic `deadline`; past it, LockBusy."""
    delay = 0.002
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            left = deadline - time.monotonic()
            if left <= 0:
                raise LockBusy(f"'{path}' is held by another process",
                               hint="it is retried on the next run") from None
            time.sleep(min(delay, left))
            delay = min(delay * 2, 0.1)


def take(path: str, wait: float | None = None) -> int:
    """A descriptor holding an exclusive flock on the file `path` names
    (created if missing), for locks whose holder may delete the file.

    A holder that deletes the file does so while holding it (a seal's
    clean-up, the end of a detached seal): a process that was waiting on it
    then holds a lock on a file no longer there, finds that the path names
    another file or none (device and inode), and locks the path again.
    `wait` bounds the wait in seconds (None: as long as it takes; 0: not at
    all); past it, LockBusy. Closing the descriptor releases the lock.
    """
    deadline = None if wait is None else time.monotonic() + wait
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if deadline is None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            else:
                flock_until(fd, path, deadline)
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(path))
            except FileNotFoundError:
                same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            return fd
        os.close(fd)


class hold:
    """Hold an exclusive flock on `path` (created if missing), as a `with`
    statement's context; its value is the fd. (A class, not contextlib's
    decorator: contextlib is a tenth of a hook's imports.)

    `wait` bounds the wait in seconds (None: wait as long as it takes);
    past it, LockBusy. With `inheritable`, the descriptor is one the caller
    passes to its child processes, so that the lock is held until the last
    of them exits, even when the caller itself is killed first.
    """

    def __init__(self, path: str, wait: float | None, inheritable: bool = False):
        self.path, self.wait, self.inheritable, self.fd = path, wait, inheritable, None

    def __enter__(self) -> int:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if self.wait is None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            else:
                flock_until(fd, self.path, time.monotonic() + self.wait)
            if self.inheritable:
                os.set_inheritable(fd, True)
        except BaseException:
            os.close(fd)
            raise
        self.fd = fd
        return fd

    def __exit__(self, *exc) -> bool:
        os.close(self.fd)  # closing the last descriptor releases the lock
        return False


def _open_anywhere(path: str) -> bool | None:
    """Whether a live process has `path` open (None: cannot tell here)."""
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    try:
        target = os.stat(path)
    except FileNotFoundError:
        return False
    for pid in pids:
        fds = f"/proc/{pid}/fd"
        try:
            names = os.listdir(fds)
        except OSError:
            continue  # gone, or another user's: it could not hold our file open for writing
        for name in names:
            try:
                st = os.stat(os.path.join(fds, name))
            except OSError:
                continue
            if st.st_ino == target.st_ino and st.st_dev == target.st_dev:
                return True
    return False


def is_stale(path: str, now: float | None = None, min_age: float = STALE_LOCK_SECONDS) -> bool:
    """Whether git's lock file `path` is provably stale: older than
    `min_age` and open in no live process."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    if (time.time() if now is None else now) - st.st_mtime < min_age:
        return False
    return _open_anywhere(path) is False


def clear_stale(path: str, now: float | None = None, min_age: float = STALE_LOCK_SECONDS) -> bool:
    """Remove git's lock file `path` if it is provably stale; whether it did."""
    try:
        before = os.stat(path)
    except FileNotFoundError:
        return False
    if not is_stale(path, now, min_age):
        return False
    try:
        after = os.stat(path)
    except FileNotFoundError:
        return False
    if (after.st_ino, after.st_mtime_ns) != (before.st_ino, before.st_mtime_ns):
        return False  # taken again meanwhile: a live owner
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    return True


def wait_gone(path: str, wait: float) -> None:
    """Wait until git's lock file `path` is gone, removing it at once when
    it is provably stale; past `wait` seconds, LockBusy. For a git write
    that would fail on it, or (libgit2) half succeed: a ref deleted while
    `packed-refs.lock` is in the way keeps its packed value."""
    deadline = time.monotonic() + wait
    delay = 0.004
    while os.path.lexists(path) and not clear_stale(path):
        left = deadline - time.monotonic()
        if left <= 0:
            raise LockBusy(f"'{path}' is held by another process",
                           hint="if no git command runs, remove that file")
        time.sleep(min(delay, left))
        delay = min(delay * 2, 0.25)
