"""Objects written together into one pack, rather than one loose file each.

Writing a loose object creates a file (and often a directory); on a slow
disk that costs more than everything else an import does with the object.
An import writes thousands of small objects that nothing reads until they
are all written (the partial snapshots of its steps), so they are kept
here and written as one pack (`flush`): the objects undeltified and
zlib-compressed, a version 2 index beside it, as `git index-pack` would
write them. The object ids are git's (SHA-1 of `<type> <size>\\0<data>`),
so a tree made here is the tree `Store.write_file_tree` makes. Objects the
repository already holds are left out; the `.idx` is moved into place last,
so a reader sees the whole pack or none of it.

A seal keeps its objects here too (the payload blobs, the records, the
session's trees; `Store.write_session`): as git does with what a fetch
brings (`transfer.unpackLimit`), fewer than UNPACK_LIMIT of them are
written as loose objects, more as one pack, before the commit that
refers to them is written and the ref is moved. An import writes each
session's seal as one pack whatever its size (domain/importing.py).
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
import zlib

import pygit2

from ..errors import GitCommandError
from .git import run as run_git
from .repository import Store
from .snapshot import pointer_for

BLOB, TREE = 3, 2  # pack object types
_NAMES = {BLOB: b"blob", TREE: b"tree"}
_ODB_TYPES = {BLOB: pygit2.enums.ObjectType.BLOB, TREE: pygit2.enums.ObjectType.TREE}
# libgit2 says it has the empty tree whether it is stored or not; git fsck
# wants it stored when a tree refers to it, so it is always written.
EMPTY_TREE = hashlib.sha1(b"tree 0\0").digest()
# git's default for transfer.unpackLimit: fewer objects than this are written loose.
UNPACK_LIMIT = 100
# A repository of more objects than this is not listed (`held`): the set of
# their ids would take more memory than the look-ups it saves are worth.
HELD_MAX = 1_000_000
BLOB_MODE, TREE_MODE = b"100644", b"40000"


class PackBuffer:
    """Objects of one store, kept until `flush` writes them as one pack."""

    def __init__(self, store: Store):
        self.store = store
        self.objects: dict[bytes, tuple[int, bytes]] = {}  # binary id -> (type, data)

    def add(self, kind: int, data: bytes) -> bytes:
        oid = hashlib.sha1(_NAMES[kind] + b" %d\0" % len(data) + data).digest()
        self.objects.setdefault(oid, (kind, data))
        return oid

    def blob(self, data: bytes) -> str:
        """A blob kept for the pack; its id (hex)."""
        return self.add(BLOB, data).hex()

    def tree(self, entries: dict[bytes, tuple[bytes, bytes]]) -> bytes:
        """A tree of `entries` (name -> (mode, binary id)), kept for the pack; its binary id.

        Entries are in git's order: by name, a tree's name compared as if it
        ended in "/"."""
        def order(name: bytes) -> bytes:
            return name + b"/" if entries[name][0] == TREE_MODE else name

        return self.add(TREE, b"".join(entries[name][0] + b" " + name + b"\0" + entries[name][1]
                                       for name in sorted(entries, key=order)))

    def file_tree(self, path: str, data: bytes | None, max_file_size: int) -> str:
        """`Store.write_file_tree`, kept for the pack: a tree holding one file."""
        if data is None:
            return self.add(TREE, b"").hex()
        if len(data) > max_file_size:
            data = pointer_for(data)
        oid, mode = self.add(BLOB, data), b"100644"
        for name in reversed(path.split("/")):
            oid, mode = self.add(TREE, mode + b" " + name.encode("utf-8") + b"\0" + oid), b"40000"
        return oid.hex()

    def flush(self, loose_below: int = 0) -> int:
        """Write the objects the repository does not hold yet as one pack (as
        loose objects when there are fewer than `loose_below`); how many.

        What it holds is asked of libgit2, or read from the store's
        `held_objects` where a process that writes many packs listed them
        (`held`): libgit2 looks for an object it does not find through every
        pack, and rescans their folder, about 0.2 ms each once an import
        has written a hundred packs."""
        repo = self.store.repo
        held = self.store.held_objects
        # odb.exists reads an object's header; `in repo` would read it whole.
        holds = held.__contains__ if held is not None else lambda oid: repo.odb.exists(pygit2.Oid(raw=oid))
        todo = sorted(oid for oid in self.objects if oid == EMPTY_TREE or not holds(oid))
        if todo and len(todo) < loose_below:
            for oid in todo:
                kind, data = self.objects[oid]
                repo.odb.write(_ODB_TYPES[kind], data)
        elif todo:
            write_pack(os.path.join(self.store.location.common_dir, "objects", "pack"),
                       [(oid, *self.objects[oid]) for oid in todo])
        if held is not None:
            held.update(todo)
        self.objects.clear()
        return len(todo)


def held(store: Store) -> set[bytes] | None:
    """The ids (binary) of every object the repository holds, its alternates'
    too, from one `git cat-file --batch-all-objects`; None when it holds
    more than HELD_MAX itself (`git count-objects`, which leaves its
    alternates out). An object written after the listing by another
    process is written again: a copy, never a loss."""
    cwd = store.location.common_dir
    try:
        counts = dict(line.split(": ", 1) for line in
                      run_git(["count-objects", "-v"], cwd=cwd).decode("ascii", "replace").splitlines()
                      if ": " in line)
        if int(counts.get("count", "0")) + int(counts.get("in-pack", "0")) > HELD_MAX:
            return None
        out = run_git(["cat-file", "--batch-all-objects", "--batch-check=%(objectname)"], cwd=cwd)
        return {bytes.fromhex(h) for h in out.decode("ascii").split()}
    except (GitCommandError, ValueError):
        return None  # libgit2 is asked, object by object, as without a listing


def _header(kind: int, size: int) -> bytes:
    out = bytearray()
    byte = (kind << 4) | (size & 0x0F)
    size >>= 4
    while size:
        out.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    out.append(byte)
    return bytes(out)


def write_pack(folder: str, objects: list[tuple[bytes, int, bytes]]) -> str:
    """Write `pack-<id>.pack` and its `.idx` in `folder` holding `objects`
    ((binary id, type, data), sorted by id); the pack's id."""
    os.makedirs(folder, exist_ok=True)
    fd, tmp_pack = tempfile.mkstemp(prefix="tmp_pack_", dir=folder)
    entries = []  # (id, crc32, offset)
    digest = hashlib.sha1()
    try:
        with os.fdopen(fd, "wb") as fh:
            def put(chunk: bytes) -> None:
                digest.update(chunk)
                fh.write(chunk)

            put(b"PACK" + struct.pack(">II", 2, len(objects)))
            offset = 12
            for oid, kind, data in objects:
                packed = _header(kind, len(data)) + zlib.compress(data, 1)
                entries.append((oid, zlib.crc32(packed), offset))
                put(packed)
                offset += len(packed)
            trailer = digest.digest()
            fh.write(trailer)
        name = trailer.hex()
        idx = _index(entries, trailer)
        fd, tmp_idx = tempfile.mkstemp(prefix="tmp_idx_", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(idx)
        for tmp in (tmp_pack, tmp_idx):
            os.chmod(tmp, 0o444)
        base = os.path.join(folder, f"pack-{name}")
        os.replace(tmp_pack, base + ".pack")
        os.replace(tmp_idx, base + ".idx")  # last: the pack is seen whole or not at all
    except BaseException:
        for tmp in (tmp_pack, locals().get("tmp_idx")):
            if tmp and os.path.exists(tmp):
                os.unlink(tmp)
        raise
    return name


def _index(entries: list[tuple[bytes, int, int]], pack_id: bytes) -> bytes:
    """A version 2 pack index of `entries` (sorted by id)."""
    fanout = [0] * 256
    for oid, _, _ in entries:
        fanout[oid[0]] += 1
    total = 0
    for i in range(256):
        total += fanout[i]
        fanout[i] = total
    small, large = [], []
    for _, _, offset in entries:
        if offset < 0x80000000:
            small.append(offset)
        else:
            small.append(0x80000000 | len(large))
            large.append(offset)
    body = (b"\377tOc" + struct.pack(">I", 2) + struct.pack(">256I", *fanout)
            + b"".join(oid for oid, _, _ in entries)
            + struct.pack(f">{len(entries)}I", *(crc for _, crc, _ in entries))
            + struct.pack(f">{len(small)}I", *small)
            + struct.pack(f">{len(large)}Q", *large)
            + pack_id)
    return body + hashlib.sha1(body).digest()
