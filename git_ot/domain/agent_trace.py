"""Agent Trace records: what `git ot blame commit` knows, in the Agent Trace format.

Agent Trace (https://github.com/cursor/agent-trace, version 0.1.0) is a
vendor-neutral record of which lines of a revision came from an AI, a
human, both or nobody knows. One record per commit, built from
`blame_commit`'s result (trail/blame.py), the one place git-ot attributes a
commit's lines:

- `id`: a UUID derived from the commit id (uuid5), so the same commit gives
  the same record every time; `timestamp`: the commit's committer date;
  `vcs`: git and the commit id; `tool`: git-ot and its version;
- `files[]`: each text file the commit changed that introduced lines,
  `conversations[]` per contributor: one per agent session (`ai`, with the
  session's model as `model_id`, provider first as models.dev spells it,
  and `url` `urn:git-ot:session:<id>`, which `git ot trace show <id>`
  opens), one for the lines a person typed (`human`) and one for lines of
  unknown origin (`unknown`: unattributed, ambiguous, or the commit has no
  note). git-ot never claims `mixed`: a person's edit of an agent's line
  is a later commit's `human` line;
- `ranges[]`: runs of lines (1-based, inclusive, as in the revision) with
  `content_hash` `sha256:<hex>` of exactly those lines' bytes, line ends
  included;
- `metadata["dev.git-ot"]`: the commit's line counts and whether git-ot
  anchored it (a note, or one recomputed as the hooks would have written it).
"""

from __future__ import annotations

import datetime
import hashlib
import uuid
from typing import Iterator

import pygit2

from .. import __version__
from ..errors import UnknownRevision
from ..store.repository import Store
from .trail.blame import Blame, blame_commit

VERSION = "0.1.0"
# uuid5 namespace of git-ot's record ids: uuid5(NAMESPACE_URL, the project's name).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "git-ot/agent-trace")
VENDOR = "dev.git-ot"
MODEL_ID_MAX = 250
# The provider models.dev names a harness's models under, when the model has none.
PROVIDERS = {"claude-code": "anthropic", "codex": "openai"}
CONTRIBUTOR = {"agent": "ai", "human": "human", "unknown": "unknown"}


def model_id(model: str | None, harness: str | None) -> str | None:
    """`provider/model` (models.dev's convention) for a model as a harness names it."""
    if not model:
        return None
    if "/" not in model:
        provider = PROVIDERS.get(harness or "") or ("anthropic" if model.startswith("claude") else None)
        if provider:
            model = f"{provider}/{model}"
    return model[:MODEL_ID_MAX]


def commit_record(store: Store, rev: str) -> dict:
    """The Agent Trace record of one commit (`git ot blame commit REV --format agent-trace`)."""
    return record(store, blame_commit(store, rev))


def export(store: Store, revs: list[str]) -> Iterator[dict]:
    """The records of the commits `git rev-list REVS` lists (default HEAD), newest first."""
    repo = store.repo
    shown, hidden = [], []
    for spec in revs or ["HEAD"]:
        for part, hide in _range_parts(spec):
            try:
                oid = repo.revparse_single(part).peel(pygit2.Commit).id
            except (KeyError, ValueError, pygit2.GitError, pygit2.InvalidSpecError):
                raise UnknownRevision(f"unknown revision '{part}'",
                                      hint="name commits as for 'git log', e.g. 'main~10..main'") from None
            (hidden if hide else shown).append(oid)
    if not shown:
        return
    walker = repo.walk(shown[0], pygit2.enums.SortMode.TOPOLOGICAL | pygit2.enums.SortMode.TIME)
    for oid in shown[1:]:
        walker.push(oid)
    for oid in hidden:
        walker.hide(oid)
    blame = Blame(store)  # one for the range: notes, sessions and windows read once
    for commit in walker:
        yield record(store, blame_commit(store, str(commit.id), blame))


def _range_parts(spec: str) -> list[tuple[str, bool]]:
    """`A..B` as (A hidden, B shown); `^A` hidden; a revision shown."""
    if ".." in spec and "..." not in spec:
        left, right = spec.split("..", 1)
        return [(right or "HEAD", False), (left or "HEAD", True)]
    if spec.startswith("^"):
        return [(spec[1:], True)]
    return [(spec, False)]


def record(store: Store, result: dict) -> dict:
    """An Agent Trace record of `blame_commit`'s result."""
    sha = result["commit"]
    commit = store.repo.get(sha)
    files = []
    for entry in result["files"]:
        lines = _lines(commit, entry)
        conversations: dict[tuple, dict] = {}
        for run in entry["runs"]:
            kind = run["kind"]
            key = (kind, run.get("session"))
            conv = conversations.get(key)
            if conv is None:
                contributor = {"type": CONTRIBUTOR[kind]}
                conv = {}
                if kind == "agent":
                    mid = model_id(run.get("model"), run.get("harness"))
                    if mid:
                        contributor["model_id"] = mid
                    if run.get("session"):
                        conv["url"] = f"urn:git-ot:session:{run['session']}"
                conv["contributor"] = contributor
                conv["ranges"] = []
                conversations[key] = conv
            first, last = run["lines"]
            rng = {"start_line": first, "end_line": last}
            if lines is not None and last <= len(lines):
                rng["content_hash"] = "sha256:" + hashlib.sha256(b"".join(lines[first - 1:last])).hexdigest()
            conv["ranges"].append(rng)
        if conversations:
            files.append({"path": entry["path"], "conversations": list(conversations.values())})
    when = datetime.datetime.fromtimestamp(
        commit.commit_time, datetime.timezone(datetime.timedelta(minutes=commit.commit_time_offset)))
    return {
        "version": VERSION,
        "id": str(uuid.uuid5(NAMESPACE, sha)),
        "timestamp": when.isoformat(),
        "vcs": {"type": "git", "revision": sha},
        "tool": {"name": "git-ot", "version": __version__},
        "files": files,
        "metadata": {VENDOR: {"anchored": result["anchored"], "lines": result["lines"]}},
    }


def _lines(commit, entry: dict) -> list[bytes] | None:
    """The file's lines at the commit, line ends kept (None when it cannot be read)."""
    try:
        obj = commit.tree[entry["path"]]
    except (KeyError, ValueError):
        return None
    if not isinstance(obj, pygit2.Blob):
        return None
    data = obj.data
    lines = [part + b"\n" for part in data.split(b"\n")]  # git's lines end at \n only
    if data.endswith(b"\n") or not data:
        lines.pop()
    else:
        lines[-1] = lines[-1][:-1]
    return lines
