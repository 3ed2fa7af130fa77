"""Local state files written whole: a reader sees the old file or the new one.

git-ot keeps a few files of its own under the git directory (the windows
and patch-id indexes, the gate's scan cache, the snapshot index's stat
data, approvals). Each is written to a temporary file beside it and renamed
over it, as git writes its own lock files; the temporary file is removed if
anything fails.
"""

from __future__ import annotations

import os


def replace_file(path: str, data: bytes, durable: bool = False) -> None:
    """Write `data` as the new content of `path` (its directory is made if
    needed). With `durable`, the data reaches the disk before the rename.
    Raises OSError, after removing the temporary file."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(tmp, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
