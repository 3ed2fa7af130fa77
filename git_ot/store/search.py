"""The full-text index `git ot trace query` reads: an SQLite FTS5 database.

It lives at `<common>/opentraces/query.sqlite` (store/state.py) and is
derived data: every row comes from a session ref, the index records the
tip each session was read at, and the domain (domain/query.py) brings it up
to date from the refs before each query. It is never pushed; deleting it
costs one rebuild. A file of another schema version, or one SQLite cannot
read, is deleted and built again (refs/README.md, section 21).

One row of `docs` is one step of a session (or one commit that took its
work), with the text of each kind in its own column so that ranking can
weigh a prompt above a tool's output. Its rowid is the session's number
shifted left by ROW_BITS plus the row's place in the session, so that the
rows of one session are one rowid range: replacing or dropping a session
never scans the table.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3

from .git import is_object_id

# The version of the tables below; a file with another is rebuilt.
SCHEMA_VERSION = 2
# The text columns of `docs`, in order, and their weights in bm25 ranking:
# what a person asked counts most, a tool's output least.
COLUMNS = ("prompt", "message", "input", "output", "path", "commit_message")
WEIGHTS = {"prompt": 10.0, "message": 4.0, "input": 2.0, "output": 1.0, "path": 3.0,
           "commit_message": 3.0}
ROW_BITS = 20  # rows per session: at most 2^20 (steps and commits)
# Highlight marks the search puts around matched terms (control characters
# no text of a session holds after the domain strips them).
OPEN, CLOSE = "\x02", "\x03"
BUSY_TIMEOUT_MS = 30_000

_TABLES = f"""
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    sid TEXT NOT NULL UNIQUE,
    tip TEXT NOT NULL,
    harness TEXT,
    start REAL,
    start_text TEXT,
    models TEXT
);
CREATE TABLE paths (session INTEGER NOT NULL, path TEXT NOT NULL);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE INDEX paths_session ON paths(session);
CREATE VIRTUAL TABLE docs USING fts5(
    {", ".join(COLUMNS)}, step UNINDEXED, kind UNINDEXED, name UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);
PRAGMA user_version = {SCHEMA_VERSION};
"""


class Damaged(Exception):
    """The index file is not a database SQLite can read; the caller rebuilds it."""


def _bm25() -> str:
    return "bm25(docs, " + ", ".join(str(WEIGHTS[c]) for c in COLUMNS) + ")"


class SearchIndex:
    """An open index; `with index.writing():` around every change."""

    def __init__(self, path: str, conn: sqlite3.Connection):
        self.path = path
        self.conn = conn

    # -- opening ---------------------------------------------------------

    @classmethod
    def open(cls, path: str) -> "SearchIndex":
        """The index at `path`, created when missing or of another version.

        Raises Damaged when the file is there and SQLite cannot read it."""
        if path != ":memory:":
            os.makedirs(os.path.dirname(path), exist_ok=True)
        for _ in range(3):
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            try:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version == SCHEMA_VERSION:
                    conn.execute("SELECT count(*) FROM sessions").fetchone()
                    return cls._ready(path, conn)
                empty = not conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if empty:
                    conn.executescript("BEGIN IMMEDIATE;" + _TABLES + "COMMIT;")
                    return cls._ready(path, conn)
            except sqlite3.OperationalError as exc:
                conn.close()
                if "locked" in str(exc) or "busy" in str(exc):
                    raise
                if "already exists" in str(exc):
                    continue  # another process created it meanwhile: open what it made
                raise Damaged(str(exc)) from exc
            except sqlite3.DatabaseError as exc:
                conn.close()
                raise Damaged(str(exc)) from exc
            # Another schema version: derived data, so start again.
            conn.close()
            remove(path)
        raise Damaged("cannot create the index")

    @classmethod
    def _ready(cls, path: str, conn: sqlite3.Connection) -> "SearchIndex":
        # A dropped session's text is overwritten on disk, not only unlinked.
        conn.execute("PRAGMA secure_delete = ON")
        return cls(path, conn)

    def close(self) -> None:
        self.conn.close()

    # -- reading ---------------------------------------------------------

    def known(self) -> dict[str, tuple[int, str]]:
        """Every indexed session: its number and the tip it was read at."""
        return {sid: (n, tip) for n, sid, tip in self.conn.execute("SELECT id, sid, tip FROM sessions")}

    def count(self) -> int:
        """How many sessions the index holds."""
        return self.conn.execute("SELECT count(*) FROM sessions").fetchone()[0]

    def fingerprint(self) -> str | None:
        """The digest of the session tips the index was last brought to."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'tips'").fetchone()
        return row[0] if row else None

    def matches(self, fts: str) -> list[tuple[int, float]]:
        """Every matching row, best first: (rowid, score), the score bm25's
        with the column weights, negated (higher is better)."""
        return self.conn.execute(f"SELECT rowid, -{_bm25()} AS score FROM docs WHERE docs MATCH ? "
                                 f"ORDER BY score DESC, rowid", (fts,)).fetchall()

    def facts(self, numbers: list[int]) -> dict[int, tuple]:
        """Per session number: (sid, harness, start, start_text, models)."""
        out = {}
        for at in range(0, len(numbers), 500):
            chunk = numbers[at:at + 500]
            out.update((r[0], r[1:]) for r in self.conn.execute(
                f"SELECT id, sid, harness, start, start_text, models FROM sessions "
                f"WHERE id IN ({', '.join('?' * len(chunk))})", chunk))
        return out

    def touched(self, numbers: list[int], glob: str) -> set[int]:
        """The sessions among `numbers` that changed a path matching `glob` (SQLite GLOB)."""
        out: set[int] = set()
        for at in range(0, len(numbers), 500):
            chunk = numbers[at:at + 500]
            out.update(r[0] for r in self.conn.execute(
                f"SELECT DISTINCT session FROM paths WHERE session IN ({', '.join('?' * len(chunk))}) "
                f"AND path GLOB ?", (*chunk, glob)))
        return out

    def rows(self, fts: str, rowids: list[int], tokens: int = 12) -> dict[int, dict]:
        """The rows `rowids` (which match `fts`), each with its step, kind,
        name and one snippet per column (matched terms between OPEN and CLOSE)."""
        if not rowids:
            return {}
        snippets = ", ".join(f"snippet(docs, {i}, '{OPEN}', '{CLOSE}', '...', {tokens})"
                             for i in range(len(COLUMNS)))
        got = self.conn.execute(
            f"SELECT rowid, step, kind, name, {snippets} FROM docs WHERE docs MATCH ? "
            f"AND rowid IN ({', '.join('?' * len(rowids))})", (fts, *rowids)).fetchall()
        return {r[0]: {"step": r[1], "kind": r[2], "name": r[3], "snippets": dict(zip(COLUMNS, r[4:]))}
                for r in got}

    # -- writing ---------------------------------------------------------

    @contextlib.contextmanager
    def writing(self):
        """One write transaction; taken at once, so two writers queue."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def put(self, sid: str, tip: str, harness: str | None, start: float | None,
            start_text: str | None, models: list[str], paths: list[str], rows: list[dict]) -> None:
        """Replace what the index holds of session `sid` (inside writing())."""
        found = self.conn.execute("SELECT id FROM sessions WHERE sid = ?", (sid,)).fetchone()
        if found:
            number = found[0]
            self._drop_rows(number)
            self.conn.execute("UPDATE sessions SET tip = ?, harness = ?, start = ?, start_text = ?, "
                              "models = ? WHERE id = ?",
                              (tip, harness, start, start_text, ",".join(models), number))
        else:
            number = self.conn.execute(
                "INSERT INTO sessions (sid, tip, harness, start, start_text, models) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (sid, tip, harness, start, start_text, ",".join(models))).lastrowid
        self.conn.executemany("INSERT INTO paths (session, path) VALUES (?, ?)",
                              [(number, p) for p in paths])
        base = number << ROW_BITS
        self.conn.executemany(
            f"INSERT INTO docs (rowid, {', '.join(COLUMNS)}, step, kind, name) "
            f"VALUES (?{', ?' * (len(COLUMNS) + 3)})",
            [(base + i, *(row.get(c) for c in COLUMNS), row.get("step"), row["kind"], row.get("name"))
             for i, row in enumerate(rows[:1 << ROW_BITS])])

    def set_fingerprint(self, value: str) -> None:
        """Record the digest of the tips the index now holds (inside writing())."""
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('tips', ?)", (value,))

    def drop(self, sid: str) -> bool:
        """Remove session `sid` and its text (inside writing()); whether it was there."""
        found = self.conn.execute("SELECT id FROM sessions WHERE sid = ?", (sid,)).fetchone()
        if not found:
            return False
        self._drop_rows(found[0])
        self.conn.execute("DELETE FROM sessions WHERE id = ?", (found[0],))
        return True

    def _drop_rows(self, number: int) -> None:
        self.conn.execute("DELETE FROM paths WHERE session = ?", (number,))
        self.conn.execute("DELETE FROM docs WHERE rowid BETWEEN ? AND ?",
                          (number << ROW_BITS, ((number + 1) << ROW_BITS) - 1))

    def compact(self) -> None:
        """Merge the full-text index into one segment, so the terms of dropped
        rows leave the file (FTS5 otherwise keeps them until a merge), and
        let SQLite give the freed pages back."""
        self.conn.execute("INSERT INTO docs (docs) VALUES ('optimize')")
        self.conn.execute("VACUUM")


def check_syntax(fts: str) -> str | None:
    """What is wrong with the FTS5 query `fts`, or None when it parses,
    asked of an empty table of the same columns so that no index is read."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"CREATE VIRTUAL TABLE docs USING fts5({', '.join(COLUMNS)})")
        conn.execute("SELECT rowid FROM docs WHERE docs MATCH ?", (fts,)).fetchall()
        return None
    except sqlite3.Error as exc:
        return str(exc)
    finally:
        conn.close()


def remove(path: str) -> None:
    """Delete the index file and SQLite's journal beside it."""
    for name in (path, path + "-journal", path + "-wal", path + "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(name)


def session_tips_from_files(common_dir: str, prefix: str) -> dict[str, str] | None:
    """Every ref under `prefix` and its object id, read from git's files
    (`packed-refs`, then the loose refs, which override it), as git's files
    backend stores them: what a query checks its index against without
    loading libgit2. None when the refs are not plain files of object ids
    (a reftable repository, a symbolic ref): the caller asks libgit2."""
    if os.path.exists(os.path.join(common_dir, "reftable")):
        return None
    out: dict[str, str] = {}
    try:
        with open(os.path.join(common_dir, "packed-refs"), encoding="utf-8") as fh:
            for line in fh:
                if line.startswith(("#", "^")):
                    continue
                oid, _, name = line.rstrip("\n").partition(" ")
                if name.startswith(prefix):
                    out[name[len(prefix):]] = oid
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError):
        return None
    top = os.path.join(common_dir, *prefix.rstrip("/").split("/"))
    for folder, dirs, files in os.walk(top):
        for name in files:
            if name.endswith(".lock"):
                continue
            path = os.path.join(folder, name)
            try:
                with open(path, encoding="ascii") as fh:
                    oid = fh.read().strip()
            except (OSError, UnicodeDecodeError):
                return None
            if not is_object_id(oid):
                return None
            out[os.path.relpath(path, top).replace(os.sep, "/")] = oid
    return out
