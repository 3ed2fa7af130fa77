"""`git ot dataset publish`: the approved rows of a dataset, as a Hugging Face
dataset repository, committed and pushed to a git remote.

The layout is the one the Hub reads from a dataset repository:

    README.md                            YAML front matter (configs with
                                         data_files, license,
                                         task_categories, ...) and the card
                                         text, both from the workflow's SKILL.md
    data/<split>-00000-of-00001.jsonl    the rows (.parquet when pyarrow is
                                         installed)

Only approved rows leave, and only when the egress gate, under the policy
in force now, finds nothing in them. The destination is cloned (when it
exists), the files of the split replaced, and one new commit pushed with
plain git; a push is never forced.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile

from ..errors import EgressBlocked, PublishFailed, UnknownDataset
from ..store.repository import Store
from . import datasets
from .gate.engine import Gate

# The front matter keys of SKILL.md the card carries over, in this order.
CARD_KEYS = ("pretty_name", "license", "language", "task_categories", "task_ids", "tags",
             "size_categories")
_SPLIT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def front_matter(text: str) -> tuple[dict, str]:
    """The YAML front matter of a Markdown file (the subset SKILL.md uses:
    `key: value`, `key: [a, b]` and `key:` followed by `  - item` lines) and
    the text after it."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, text
    meta: dict = {}
    key = None
    for i, line in enumerate(lines[1:], 1):
        if line.strip() == "---":
            return meta, "\n".join(lines[i + 1:]).lstrip("\n")
        item = re.match(r"^\s+-\s*(.*)$", line)
        if item and key is not None:
            if not isinstance(meta.get(key), list):
                meta[key] = []
            meta[key].append(_scalar(item.group(1)))
            continue
        m = re.match(r"^([A-Za-z_][A-Za-z0-9_-]*):\s*(.*)$", line)
        if m:
            key, value = m.group(1), m.group(2).strip()
            if value.startswith("[") and value.endswith("]"):
                meta[key] = [_scalar(v) for v in value[1:-1].split(",") if v.strip()]
            elif value:
                meta[key] = _scalar(value)
            else:
                meta[key] = None
    return {}, text  # no closing line: not front matter


def _scalar(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _yaml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML string


def card(meta: dict, body: str, splits: dict[str, str]) -> str:
    """README.md: the front matter the Hub reads, then the card text."""
    out = ["---"]
    for key in CARD_KEYS:
        value = meta.get(key)
        if value is None or value == []:
            continue
        if isinstance(value, list):
            out.append(f"{key}:")
            out += [f"- {_yaml_str(str(v))}" for v in value]
        else:
            out.append(f"{key}: {_yaml_str(str(value))}")
    out.append("configs:")
    out.append("- config_name: default")
    out.append("  data_files:")
    for split, path in sorted(splits.items()):
        out.append(f"  - split: {_yaml_str(split)}")
        out.append(f"    path: {_yaml_str(path)}")
    out.append("---")
    return "\n".join(out) + "\n\n" + body.rstrip("\n") + "\n"


def egress(store: Store, name: str, rows: list[dict]) -> None:
    """Raise EgressBlocked when the gate, under the policy now in force,
    finds anything in an approved row."""
    gate = Gate(store)
    for rec, surely_clean in zip(rows, datasets.clean_rows(gate, [r["row"] for r in rows])):
        if surely_clean:
            continue
        for path, text in datasets._strings(rec["row"], ""):
            hits = gate.hits(text)
            if hits:
                kinds = ", ".join(sorted({h.kind for h in hits}))
                raise EgressBlocked(
                    f"the security gate holds back row {rec['id'][:12]} of dataset '{name}': "
                    f"{kinds} in field '{path or '(the row)'}'; nothing was published",
                    hint=f"'git ot dataset reject {name} {rec['id'][:12]}' keeps it out, or adjust "
                         "ot.security.allow")


def _git(args: list[str], cwd: str, what: str, env=None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, env=env)
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        raise PublishFailed(f"{what} failed: {lines[-1].strip() if lines else f'git exited {proc.returncode}'}",
                            hint="check the destination's URL and your access to it")
    return proc.stdout


def destination(store: Store, to: str) -> str:
    """The URL to push to: a remote's URL when `to` names one, else `to` itself."""
    try:
        remote = store.repo.remotes[to]
        if remote.url:
            return remote.url
    except (KeyError, ValueError):
        pass
    if "://" not in to and ":" not in to and os.path.exists(to):
        return os.path.abspath(to)
    return to


def _write_data(rows: list[dict], directory: str, split: str) -> str:
    """Write the split's file; its path inside the repository."""
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet as pq
    except ImportError:
        pq = None
    if pq is not None:
        import pyarrow as pa

        rel = f"data/{split}-00000-of-00001.parquet"
        try:
            table = pa.Table.from_pylist([r["row"] for r in rows])
        except (pa.ArrowException, TypeError, ValueError):
            table = None  # rows Arrow cannot type as one table (a field of two types): JSON Lines
        if table is not None:
            pq.write_table(table, os.path.join(directory, rel))
            return rel
    rel = f"data/{split}-00000-of-00001.jsonl"
    with open(os.path.join(directory, rel), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r["row"], ensure_ascii=False, sort_keys=True) + "\n")
    return rel


def publish(store: Store, name: str, to: str, split: str = "train") -> dict:
    """Publish the approved rows of `name` to `to` (a remote's name or a git URL)."""
    if not _SPLIT.match(split):
        raise PublishFailed(f"invalid split name '{split}'",
                            hint="a split is 1-64 letters, digits, '_', '.' or '-' (train, test, validation)")
    where = datasets.folder(store, name)
    skill = os.path.join(where, "SKILL.md")
    if not os.path.isfile(skill):
        raise UnknownDataset(f"no dataset workflow 'datasets/{name}'",
                                      hint=f"'git ot dataset new {name}' scaffolds one")
    rows = datasets.approved_rows(store, name)
    if not rows:
        raise PublishFailed(f"dataset '{name}' has no approved rows; nothing was published",
                            hint=f"'git ot dataset review {name}' lists the inbox; "
                                 f"'git ot dataset approve {name} ROW' approves")
    egress(store, name, rows)
    with open(skill, encoding="utf-8") as f:
        meta, body = front_matter(f.read())
    url = destination(store, to)
    sig = store.signature()
    env = {**os.environ, "GIT_AUTHOR_NAME": sig.name, "GIT_AUTHOR_EMAIL": sig.email,
           "GIT_COMMITTER_NAME": sig.name, "GIT_COMMITTER_EMAIL": sig.email}
    tmp = tempfile.mkdtemp(prefix="git-ot-publish-")
    try:
        work = os.path.join(tmp, "repo")
        clone = subprocess.run(["git", "clone", "--quiet", "--no-tags", url, work], capture_output=True,
                               text=True, stdin=subprocess.DEVNULL, env=env)
        if clone.returncode != 0:
            shutil.rmtree(work, ignore_errors=True)
            _git(["init", "--quiet", work], tmp, "git init")
        empty = subprocess.run(["git", "rev-parse", "--verify", "--quiet", "HEAD"], cwd=work,
                               capture_output=True).returncode != 0
        branch = _git(["symbolic-ref", "--short", "HEAD"], work, "git symbolic-ref").strip() or "main"
        data = os.path.join(work, "data")
        os.makedirs(data, exist_ok=True)
        for fname in os.listdir(data):
            if fname.startswith(f"{split}-"):
                os.remove(os.path.join(data, fname))
        rel = _write_data(rows, work, split)
        splits = {}
        for fname in sorted(os.listdir(data)):
            m = re.match(r"^(.+)-\d{5}-of-\d{5}\.(jsonl|parquet)$", fname)
            if m:
                splits[m.group(1)] = f"data/{m.group(1)}-*"
        with open(os.path.join(work, "README.md"), "w", encoding="utf-8") as f:
            f.write(card(meta, body, splits))
        _git(["add", "-A", "README.md", "data"], work, "git add", env)
        changed = subprocess.run(["git", "diff", "--cached", "--quiet"], cwd=work).returncode != 0
        commit = None
        if changed or empty:
            message = (f"Publish {len(rows)} row{'s' if len(rows) != 1 else ''} of dataset {name} "
                       f"({split} split)")
            _git(["commit", "--quiet", "--no-verify", "-m", message], work, "git commit", env)
            commit = _git(["rev-parse", "HEAD"], work, "git rev-parse").strip()
            _git(["push", "--quiet", url, f"HEAD:refs/heads/{branch}"], work, f"git push to {to}", env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"dataset": name, "to": to, "url": url, "split": split, "rows": len(rows), "file": rel,
            "branch": branch, "commit": commit, "ids": [r["id"] for r in rows]}
