"""The states a transcript's file edits give a step: its patch and partial snapshots.

A harness's transcript says what each write tool did to its file (Claude
Code's Edit, Write and MultiEdit results hold the file before and after;
Codex's apply_patch names its change). `EditStates.resolve` turns the
`edits` a transcript adapter put in a tool's end event into the step's
patch (`data.patch`) and its partial snapshots (`partial`: trees holding
that file alone, refs/README.md section 10). The import does it for every
step it reads; the seal, for the live calls whose end event carries its
edits: those a hook read from the transcript as the session went
(capture/claude_code/fill.py) and Pi's write and edit calls, whose file its
extension read before and after. One way for all: a step filled live is
the step an import of the same lines makes.
"""

from __future__ import annotations

from typing import Callable

import pygit2

from ..store import snapshot
from ..store.packs import PackBuffer
from ..store.repository import Store


class EditStates:
    """Resolves the edits of one session's events, in their order."""

    def __init__(self, store: Store, mapper_for, worktree: str, first_cwd: str | None,
                 base: str | None, apply_change=None, pack: PackBuffer | None = None):
        """`mapper_for(worktree, cwd)`: the harness's path mapper
        (paths.relpath_mapper); `base`, the commit the session started
        from; `apply_change`, the harness's (see Files)."""
        self.store, self.pack = store, pack
        self.mapper_of = Mappers(mapper_for, worktree, first_cwd)
        self.files = Files(store, base, apply_change)
        self.limit = snapshot.configured_max_file_size()
        self.trees: dict = {}  # (path, content) -> tree: a step's after is often the next one's before

    def resolve(self, ev: dict) -> None:
        """Replace the event's `edits` with its patch and partial states."""
        data = ev.get("data")
        if not isinstance(data, dict):
            return
        edits, branch = data.pop("edits", None), data.pop("branch", None)
        if edits is None:
            return
        # Each edit maps with its own line's directory: a session moves
        # between checkouts (another worktree, another clone).
        mapper = self.mapper_of(data.get("cwd"))
        edits = self.files.resolve(edits, mapper)
        data["patch"] = patch_files(edits, mapper)
        states = partial_states(self.store, edits, mapper, self.limit, self.trees, self.pack)
        if states is not None:
            if isinstance(branch, str) and branch:
                states["branch"] = branch
            ev["partial"] = states


class Files:
    """A session's files as its edits left them, for edits that name their
    change rather than the contents (Codex's apply_patch).

    An edit `{"file", "change"}` (optionally `"from"`, the path a moved file
    had) is applied, by the harness's `apply_change(before, change)`, to the file as an
    earlier edit of this import left it, else as the session's base commit
    holds it; it becomes `{"file", "before", "after"}`, or is dropped when
    the change does not apply (a shell command changed the file between,
    or the base is not in this repository). Edits that hold their contents
    only update what is known.
    """

    def __init__(self, store: Store, base: str | None, apply_change):
        self.store, self.base, self.apply_change = store, base, apply_change
        self.known: dict[str, str | None] = {}

    def _before(self, path: str, mapper) -> str | None:
        if path in self.known:
            return self.known[path]
        rel = mapper(path)
        data = self.store.file_at(self.base, rel) if self.base and rel else None
        try:
            return data.decode("utf-8") if data is not None else None
        except UnicodeDecodeError:
            return None

    def resolve(self, edits: list[dict], mapper) -> list[dict]:
        out = []
        for edit in edits:
            if "change" not in edit:
                if "after" in edit:
                    self.known[edit["file"]] = edit["after"]
                out.append(edit)
                continue
            change = edit["change"]
            if self.apply_change is None:
                continue
            before = self._before(edit.get("from") or edit["file"], mapper)
            if change.get("op") == "add":
                before = self.known.get(edit["file"]) if edit["file"] in self.known else before
            after = self.apply_change(before, change)
            if after is None:
                self.known.pop(edit["file"], None)
                continue
            if edit.get("from"):
                self.known[edit["from"]] = None
            self.known[edit["file"]] = after
            out.append({"file": edit["file"], "before": before if not edit.get("from") else None,
                        "after": after})
        return out


class Mappers:
    """The path mapper for a transcript line's directory, one per checkout.

    A directory under one seen before (the session's first, or another
    checkout it moved to) is the same checkout, a folder of it the shell
    went into: its paths map from that checkout's root, as seen first.
    """

    def __init__(self, mapper_for, worktree: str, first: str | None):
        self.mapper_for, self.worktree = mapper_for, worktree
        self.roots: dict[str | None, Callable] = {}
        if first:
            self(first)
        self.default = first

    def __call__(self, cwd: str | None) -> Callable[[str], str | None]:
        cwd = cwd if isinstance(cwd, str) and cwd else self.default
        for root, mapper in self.roots.items():
            if root is not None and cwd is not None and (cwd == root or cwd.startswith(root.rstrip("/") + "/")):
                return mapper
        mapper = self.roots.get(cwd)
        if mapper is None:
            mapper = self.roots[cwd] = self.mapper_for(self.worktree, cwd)
        return mapper


def partial_states(store: Store, edits: list[dict], mapper, limit: int, trees: dict,
                   pack: PackBuffer | None = None) -> dict | None:
    """The partial snapshots of an imported step: trees holding only its file,
    before and after the tool ran (refs/README.md, section 10).

    With `pack`, the trees are kept there, to be written with the others.
    Only for a step whose transcript holds the file's whole contents on both
    sides (Edit and MultiEdit with `originalFile`, Write): a structuredPatch
    alone does not say what the rest of the file held, so such a step has no
    states and anchoring cannot follow its lines.
    """
    if len(edits) != 1 or "after" not in edits[0]:
        return None
    edit = edits[0]
    path = mapper(edit["file"])
    if path is None or edit["before"] == edit["after"]:
        return None
    if any(part in ("", ".", "..", ".git") for part in path.split("/")):
        return None
    try:
        before = edit["before"].encode("utf-8") if edit["before"] is not None else None
        after = edit["after"].encode("utf-8")
    except UnicodeEncodeError:
        return None  # not text git could store as the file was
    out = {}
    for side, data in (("before", before), ("after", after)):
        key = (path, data)
        if key not in trees:
            trees[key] = (pack.file_tree(path, data, limit) if pack is not None
                          else store.write_file_tree(path, data, limit))
        out[side] = trees[key]
    return out


def patch_files(edits: list[dict], mapper) -> list[dict]:
    """A transcript's edits as the file entries of a trail patch (refs/README.md).

    The hunks are git's own, with no context lines, computed from the file's
    contents before and after, so they are those a diff of snapshots gives.
    A file outside this repository changes nothing in it and has no entry.
    """
    files = []
    for edit in edits:
        path = mapper(edit["file"])
        if path is None:
            continue
        if "hunks" in edit:  # the transcript had no contents, only its structuredPatch
            files.append({"status": edit["status"], "path": path, "hunks": edit["hunks"],
                          "added": edit["added"], "removed": edit["removed"]})
            continue
        before, after = edit["before"], edit["after"]
        if before == after:
            continue
        patch = pygit2.Patch.create_from(before, after, old_as_path=path, new_as_path=path,
                                         context_lines=0)
        entry = {"status": "A" if before is None else "M", "path": path}
        if patch.delta.is_binary:
            entry.update(binary=True, hunks=[], added=0, removed=0)
        else:
            _, adds, dels = patch.line_stats
            entry.update(hunks=[[h.old_start, h.old_lines, h.new_start, h.new_lines] for h in patch.hunks],
                         added=adds, removed=dels)
        files.append(entry)
    return files
