"""Datasets as code: a workflow folder run over a packet of sessions, its rows
validated, gated, stored and reviewed (`git ot dataset new/run/review/approve/reject`).

A dataset is a folder `datasets/NAME/` of the working tree, committed like
code: `SKILL.md` (what the dataset is for), `row.schema.json` (the JSON
Schema of one row) and `build_rows.py` (the procedure). A run:

1. builds the *run packet*, a versioned JSON file (refs/README.md section
   16, refs/schemas/dataset-packet.schema.json): per session its harness,
   models, prompts, steps with previews, patches with their survival
   state at HEAD (from `git ot track`, trail/track.py) and commits;
2. runs `build_rows.py` in a subprocess, in a temporary directory, with
   `OT_RUN_PACKET` and `OT_DATASET_OUTPUT` in its environment and a
   timeout; it writes one JSON object per line;
3. validates every row against `row.schema.json` (jsonschema);
4. passes every string of every row through the security gate under the
   policy in force: `redact` puts placeholders in (the findings are kept
   with the row), `block` holds the row back;
5. stores the new rows in one commit of the entity
   `refs/opentraces/datasets/NAME` (store/entities.py), one record per row,
   keyed by the SHA-256 of its content, with status `inbox`.

The run is atomic: a workflow that fails, hangs, writes a line that is not
a JSON object, or a row the schema refuses stores nothing.

Publishing the approved rows is dataset_publish.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from ..errors import (AmbiguousRow, BadWorkflow, BareRepository, DatasetExists, InvalidRows,
                      UnknownDataset, UnknownRow, WorkflowFailed)
from ..store import entities, records, refs, times
from ..store.repository import Store
from .fold import expand
from .gate.engine import Gate

NAMESPACE = "datasets"
PACKET_SCHEMA = "git-ot/dataset-packet"
PACKET_VERSION = 1
STATUSES = ("inbox", "approved", "rejected")
DEFAULT_TIMEOUT = 300.0
# The longest text a step's input, output or text keeps in the packet.
PREVIEW_CHARS = 1000
WORKFLOW_FILES = ("SKILL.md", "row.schema.json", "build_rows.py")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


# -- the workflow folder -------------------------------------------------------

def check_name(name: str) -> str:
    if not _NAME.match(name) or ".." in name or name.endswith((".", ".lock")):
        raise BadWorkflow(f"invalid dataset name '{name}'",
                          hint="a dataset name is 1-64 lowercase letters, digits, '.', '_' or '-'")
    return name


def folder(store: Store, name: str) -> str:
    """The dataset's workflow folder, `datasets/NAME/` at the top of the working tree."""
    if store.location.worktree is None:
        raise BareRepository("a dataset's workflow lives in a working tree; this repository has none",
                             hint="run it in a clone with a working tree")
    return os.path.join(store.location.worktree, "datasets", check_name(name))


def new(store: Store, name: str) -> dict:
    """Scaffold `datasets/NAME/`: a working example, one row per session."""
    where = folder(store, name)
    if os.path.exists(where):
        raise DatasetExists(f"'datasets/{name}' already exists",
                            hint=f"edit its files, or 'git ot dataset run {name}'")
    os.makedirs(where)
    files = {"SKILL.md": SKILL_TEMPLATE.format(name=name),
             "row.schema.json": json.dumps(ROW_SCHEMA_TEMPLATE, indent=2) + "\n",
             "build_rows.py": BUILD_ROWS_TEMPLATE}
    for fname, text in files.items():
        with open(os.path.join(where, fname), "w", encoding="utf-8") as f:
            f.write(text)
    return {"dataset": name, "folder": os.path.relpath(where, store.location.worktree),
            "files": list(files)}


def _workflow(store: Store, name: str) -> tuple[str, dict]:
    """The workflow folder and its row schema, checked."""
    where = folder(store, name)
    if not os.path.isdir(where):
        raise UnknownDataset(f"no dataset workflow 'datasets/{name}'",
                             hint=f"'git ot dataset new {name}' scaffolds one")
    for fname in WORKFLOW_FILES:
        if not os.path.isfile(os.path.join(where, fname)):
            raise BadWorkflow(f"'datasets/{name}' has no {fname}",
                              hint=f"a workflow folder holds {', '.join(WORKFLOW_FILES)}")
    import jsonschema

    try:
        with open(os.path.join(where, "row.schema.json"), encoding="utf-8") as f:
            schema = json.load(f)
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except (ValueError, jsonschema.SchemaError) as exc:
        text = getattr(exc, "message", None) or str(exc)
        raise BadWorkflow(f"'datasets/{name}/row.schema.json' is not a JSON Schema: "
                          f"{text.splitlines()[0]}",
                          hint="fix the schema; https://json-schema.org/ describes the format") from None
    return where, schema


# -- the run packet --------------------------------------------------------------

def _preview(value) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS] + "…"


def packet(store: Store, name: str, run: str, sessions=(), since: str | None = None,
           now: float | None = None) -> dict:
    """The run packet of the chosen sessions (default: every session)."""
    from .trail import track as track_domain

    tracked = track_domain.track(store, sessions, since=since, now=now)
    repo = store.repo
    out = []
    for s in reversed(tracked["sessions"]):  # oldest first
        sid = s["session"]
        tree = store.session(sid)
        trace = tree.record("trace")
        trail = tree.record("trail")
        states = {h["hunk"]: h for h in s["hunks"]}
        prompts, steps = [], []
        for step in trace.get("steps", []):
            kind = step.get("kind")
            item = {"n": step.get("n"), "kind": kind, "tool": step.get("name") if kind == "tool" else None}
            if kind == "tool":
                item["input"] = _preview(expand(store, sid, step.get("input")))
                item["output"] = _preview(expand(store, sid, step.get("output")))
            else:
                text = expand(store, sid, step.get("text"))
                if kind == "prompt" and isinstance(text, str):
                    prompts.append(text)
                item["text"] = _preview(text)
            steps.append(item)
        patches, commits = [], {}
        for patch in trail.get("patches", []):
            step_n = patch.get("step")
            for fi, f in enumerate(patch.get("files", []), 1):
                hunks, landed = [], set()
                for hi, h in enumerate(f.get("hunks") or [], 1):
                    hid = f"{step_n}.{fi}.{hi}"
                    got = states.get(hid)
                    hunks.append({"id": hid, "range": list(h) if isinstance(h, list) else None,
                                  "state": got["state"] if got else None,
                                  "lines": got["lines"] if got else None})
                    for c in (got or {}).get("commits", []):
                        landed.add(c["commit"])
                for c in landed:
                    commits.setdefault(c, None)
                patches.append({"step": step_n, "path": f.get("path"), "status": f.get("status"),
                                "hunks": hunks, "state": _patch_state(hunks), "commits": sorted(landed)})
        out.append({
            "id": sid,
            "harness": s["harness"],
            "models": s["models"],
            "start": s["start"],
            "prompts": prompts,
            "steps": steps,
            "patches": patches,
            "commits": _commits(repo, commits),
        })
    for p in out:  # each patch's commits in the order git made them
        order = {c["commit"]: i for i, c in enumerate(p["commits"])}
        for patch in p["patches"]:
            patch["commits"].sort(key=lambda c: order.get(c, 0))
    return {"schema": PACKET_SCHEMA, "v": PACKET_VERSION, "dataset": name, "run": run,
            "created": times.iso(time.time() if now is None else now),
            "head": tracked["target"]["commit"], "since": tracked["since"], "sessions": out}


def _patch_state(hunks: list[dict]) -> str | None:
    """A patch's state: that of its hunks when they agree, else that of the
    hunk that wrote the most lines (the first of them on a tie); None when
    no hunk wrote a line."""
    stated = [h for h in hunks if h["state"] is not None]
    if not stated:
        return None
    if len({h["state"] for h in stated}) == 1:
        return stated[0]["state"]
    return max(stated, key=lambda h: (h["lines"] or {}).get("written", 0))["state"]


def _commits(repo, commits: dict) -> list[dict]:
    out = []
    for c in commits:
        try:
            obj = repo[c]
            out.append({"commit": c, "time": obj.commit_time,
                        "subject": obj.message.splitlines()[0] if obj.message else ""})
        except (KeyError, ValueError):
            out.append({"commit": c, "time": None, "subject": None})
    out.sort(key=lambda c: (c["time"] or 0, c["commit"]))
    return out


# -- running the workflow --------------------------------------------------------

def _run_script(where: str, name: str, packet_path: str, output: str, tmp: str, timeout: float) -> None:
    env = {**os.environ, "OT_RUN_PACKET": packet_path, "OT_DATASET_OUTPUT": output,
           "OT_DATASET": name, "OT_DATASET_DIR": where}
    script = os.path.join(where, "build_rows.py")
    try:
        proc = subprocess.Popen([sys.executable, script], cwd=tmp, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    except OSError as exc:
        raise WorkflowFailed(f"could not start 'datasets/{name}/build_rows.py': {exc.strerror}") from None
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise WorkflowFailed(
            f"'datasets/{name}/build_rows.py' did not finish within {timeout:g} s and was stopped; "
            "nothing was stored",
            hint="make it faster, or give it longer with --timeout SECONDS") from None
    if proc.returncode != 0:
        lines = [ln for ln in err.decode("utf-8", "replace").splitlines() if ln.strip()]
        last = lines[-1].strip() if lines else "no message"
        how = (f"was killed by signal {-proc.returncode}" if proc.returncode < 0
               else f"exited with status {proc.returncode}")
        raise WorkflowFailed(f"'datasets/{name}/build_rows.py' {how}: {last}; nothing was stored",
                             hint=f"run it by hand: OT_RUN_PACKET=PACKET OT_DATASET_OUTPUT=rows.jsonl "
                                  f"python datasets/{name}/build_rows.py ('--keep-packet' keeps the packet)")


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _read_rows(name: str, output: str) -> list[dict]:
    if not os.path.exists(output):
        raise WorkflowFailed(f"'datasets/{name}/build_rows.py' wrote no rows file; nothing was stored",
                             hint="it writes JSON Lines to the path in OT_DATASET_OUTPUT")
    rows = []
    with open(output, "rb") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                raise WorkflowFailed(f"'datasets/{name}/build_rows.py' wrote a line that is not JSON "
                                     f"(line {n}: {str(exc).splitlines()[0]}); nothing was stored",
                                     hint="write one JSON object per line (json.dumps(row) + '\\n')") from None
            if not isinstance(value, dict):
                raise WorkflowFailed(f"'datasets/{name}/build_rows.py' wrote a line that is not a JSON "
                                     f"object (line {n}); nothing was stored",
                                     hint="write one JSON object per line (json.dumps(row) + '\\n')")
            rows.append(value)
    return rows


def _field(error) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        m = re.match(r"^'(.+)' is a required property$", error.message)
        if m:
            path.append(m.group(1))
    return "/".join(path) if path else "(the row)"


def validate(schema: dict, rows: list[dict]) -> list[str]:
    """One line per row the schema refuses: its number, field and what the schema wants."""
    import jsonschema

    validator = jsonschema.validators.validator_for(schema)(schema)
    bad = []
    for n, row in enumerate(rows, 1):
        error = jsonschema.exceptions.best_match(validator.iter_errors(row))
        if error is not None:
            bad.append(f"row {n}: field '{_field(error)}': {error.message}")
    return bad


def _strings(value, path: str):
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, f"{path}/{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, f"{path}/{i}" if path else str(i))


def _replace_at(value, parts: list[str], new: str):
    if not parts:
        return new
    if isinstance(value, list):
        i = int(parts[0])
        return [(_replace_at(v, parts[1:], new) if j == i else v) for j, v in enumerate(value)]
    return {k: (_replace_at(v, parts[1:], new) if k == parts[0] else v) for k, v in value.items()}


# Rows the gate reads at once: their strings joined, one look for the common
# case of nothing found (each string is read alone only when it finds something).
GATE_BATCH = 500


def clean_rows(gate: Gate, rows: list[dict]) -> list[bool]:
    """Per row, True when the gate surely finds nothing in it: its strings are
    read together with those of the rows around it, one line each, and only
    the rows of a batch where something is found are read string by string."""
    out = []
    for i in range(0, len(rows), GATE_BATCH):
        batch = rows[i:i + GATE_BATCH]
        text = "\n".join(t for row in batch for _, t in _strings(row, ""))
        out += [not gate.hits(text)] * len(batch)
    return out


def gate_row(gate: Gate, row: dict) -> tuple[dict, list[dict]]:
    """The row with every finding replaced, and the findings (field, kind, detector)."""
    findings = []
    for path, text in list(_strings(row, "")):
        hits = gate.hits(text)
        if not hits:
            continue
        for h in hits:
            findings.append({"field": path or "(the row)", "kind": h.kind, "detector": h.detector})
        row = _replace_at(row, path.split("/") if path else [], gate.replace(text, hits))
    return row, findings


def forget(store: Store, sessions) -> list[tuple[str, str]]:
    """Rewrite every dataset without the rows made from these sessions,
    history included (`git ot forget`): a row keeps words of its sessions.
    The datasets rewritten, each with its old tip."""
    ids = set(sessions)
    out = []
    for name in entities.names(store, NAMESPACE):
        tip = store.ref_target(refs.entity_ref(NAMESPACE, name))
        if tip is None:
            continue
        keys: set[str] = set()
        seen: set = set()
        where = f"'{refs.entity_ref(NAMESPACE, name)}'"
        # Every commit of the chain: a row rejected and dropped since is in
        # the history still.
        for commit in store.repo.walk(tip):
            for entry in commit.tree:
                if entry.id in seen or not entry.name.endswith(records.ENTITY_SUFFIX):
                    continue
                seen.add(entry.id)
                record = records.decode(NAMESPACE, store.read_blob(entry.id, where), where, name=entry.name)
                if ids & set(record.get("sessions") or []):
                    keys.add(entry.name[:-len(records.ENTITY_SUFFIX)])
        if keys:
            old = entities.rewrite_without(store, NAMESPACE, name, keys,
                                           f"forget the rows of {len(ids)} session(s)")
            if old is not None:
                out.append((name, old))
    return out


def row_id(row: dict) -> str:
    """A row's stable id: the SHA-256 of its canonical JSON."""
    data = json.dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _row_sessions(row: dict, known: set[str]) -> list[str]:
    got = row.get("sessions") if isinstance(row.get("sessions"), list) else [row.get("session")]
    return [s for s in got if isinstance(s, str) and s in known]


def run(store: Store, name: str, sessions=(), since: str | None = None,
        timeout: float = DEFAULT_TIMEOUT, keep_packet: str | None = None,
        now: float | None = None) -> dict:
    """Run the workflow over the chosen sessions and store its new rows in the inbox."""
    where, schema = _workflow(store, name)
    now = time.time() if now is None else now
    run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now)) + "-" + secrets.token_hex(3)
    timings = {}
    clock = time.perf_counter()
    pk = packet(store, name, run_id, sessions, since, now)
    known_sessions = {s["id"] for s in pk["sessions"]}
    tmp = tempfile.mkdtemp(prefix="git-ot-dataset-")
    try:
        packet_path = os.path.join(tmp, "packet.json")
        output = os.path.join(tmp, "rows.jsonl")
        with open(packet_path, "w", encoding="utf-8") as f:
            json.dump(pk, f, ensure_ascii=False)
        if keep_packet:
            shutil.copyfile(packet_path, keep_packet)
        timings["packet"] = time.perf_counter() - clock
        clock = time.perf_counter()
        work = os.path.join(tmp, "work")
        os.mkdir(work)
        _run_script(where, name, packet_path, output, work, timeout)
        rows = _read_rows(name, output)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    timings["script"] = time.perf_counter() - clock

    clock = time.perf_counter()
    bad = validate(schema, rows)
    timings["validation"] = time.perf_counter() - clock
    if bad:
        raise InvalidRows(
            f"{len(bad)} row{'s' if len(bad) != 1 else ''} of 'datasets/{name}/build_rows.py' "
            f"do{'es' if len(bad) == 1 else ''} not fit row.schema.json; nothing was stored\n"
            + "\n".join(bad),
            hint=f"fix build_rows.py or row.schema.json in datasets/{name}/")

    clock = time.perf_counter()
    gate = Gate(store)
    gated, blocked = [], []
    for n, (row, surely_clean) in enumerate(zip(rows, clean_rows(gate, rows)), 1):
        clean, findings = (row, []) if surely_clean else gate_row(gate, row)
        if findings and gate.policy.action == "block":
            blocked.append({"row": n, "kinds": sorted({f["kind"] for f in findings}),
                            "fields": sorted({f["field"] for f in findings})})
            continue
        gated.append((row, clean, findings))
    timings["gate"] = time.perf_counter() - clock

    clock = time.perf_counter()
    current = entities.read(store, NAMESPACE, name)
    existing = set(current.keys()) if current else set()
    added_at = times.iso(now)
    changes: dict[str, dict] = {}
    for row, clean, findings in gated:
        rid = row_id(clean)
        if rid in existing or rid in changes:
            continue
        changes[rid] = {"id": rid, "status": "inbox", "run": run_id,
                        "sessions": _row_sessions(row, known_sessions),
                        "row": clean, "findings": findings, "added": added_at, "reviewed": None}
    tip = current.tip if current else None
    if changes:
        tip = entities.write(store, NAMESPACE, name, tip, changes,
                             f"dataset {name}: run {run_id}, {len(changes)} new "
                             f"row{'s' if len(changes) != 1 else ''}")
    timings["storage"] = time.perf_counter() - clock
    return {"dataset": name, "run": run_id, "sessions": len(pk["sessions"]), "rows": len(rows),
            "new": len(changes), "known": len(gated) - len(changes), "blocked": blocked,
            "redacted": sum(1 for _, _, f in gated if f), "tip": tip,
            "timings": {k: round(v, 6) for k, v in timings.items()}}


# -- review ----------------------------------------------------------------------

def _entity(store: Store, name: str):
    got = entities.read(store, NAMESPACE, check_name(name))
    if got is None:
        raise UnknownDataset(f"dataset '{name}' has no rows",
                             hint=f"'git ot dataset run {name}' makes them")
    return got


def _summary(rec: dict) -> dict:
    return {k: rec.get(k) for k in ("id", "status", "run", "sessions", "added", "reviewed")} | {
        "findings": len(rec.get("findings") or [])}


def review(store: Store, name: str, status: str | None = None) -> dict:
    """The dataset's rows (without their content), oldest first; or those of one status."""
    if status is not None and status not in STATUSES:
        raise BadWorkflow(f"unknown status '{status}'", hint="use " + ", ".join(STATUSES))
    ent = _entity(store, name)
    rows = [r for r in ent.records().values() if status is None or r.get("status") == status]
    rows.sort(key=lambda r: (r.get("added") or "", r["id"]))
    counts = {s: 0 for s in STATUSES}
    for r in ent.records().values():
        counts[r.get("status")] = counts.get(r.get("status"), 0) + 1
    return {"dataset": name, "tip": ent.tip, "counts": counts,
            "rows": [_summary(r) | {"preview": _preview(json.dumps(r["row"], ensure_ascii=False))}
                     for r in rows]}


def _match(ent, spec: str) -> str:
    keys = ent.keys()
    if spec in keys:
        return spec
    found = [k for k in keys if k.startswith(spec.lower())] if len(spec) >= 4 else []
    if not found:
        raise UnknownRow(f"dataset '{ent.name}' has no row '{spec}'",
                         hint=f"'git ot dataset review {ent.name}' lists them (at least 4 digits of an id)")
    if len(found) > 1:
        raise AmbiguousRow(f"row prefix '{spec}' is ambiguous",
                           hint="candidates: " + ", ".join(k[:16] for k in found[:10]))
    return found[0]


def show_row(store: Store, name: str, spec: str) -> dict:
    """One row with its content."""
    ent = _entity(store, name)
    rec = ent.record(_match(ent, spec))
    return {k: v for k, v in rec.items() if k not in ("schema", "v")}


def set_status(store: Store, name: str, specs, status: str, every: bool = False) -> dict:
    """Approve or reject rows (every inbox row with `every`), in one commit."""
    ent = _entity(store, name)
    if every:
        keys = [k for k, r in ent.records().items() if r.get("status") == "inbox"]
    else:
        keys = list(dict.fromkeys(_match(ent, s) for s in specs))
    now = times.iso(time.time())
    changes = {}
    for k in keys:
        rec = ent.record(k)
        if rec.get("status") == status:
            continue
        body = {f: v for f, v in rec.items() if f not in ("schema", "v")}
        body["status"] = status
        body["reviewed"] = now
        changes[k] = body
    tip = ent.tip
    if changes:
        verb = "approve" if status == "approved" else "reject"
        tip = entities.write(store, NAMESPACE, name, ent.tip, changes,
                             f"dataset {name}: {verb} {len(changes)} row{'s' if len(changes) != 1 else ''}")
    return {"dataset": name, "status": status, "changed": sorted(changes), "unchanged": sorted(set(keys) - set(changes)),
            "tip": tip}


def approved_rows(store: Store, name: str) -> list[dict]:
    """The approved records, oldest first."""
    ent = _entity(store, name)
    rows = [r for r in ent.records().values() if r.get("status") == "approved"]
    rows.sort(key=lambda r: (r.get("added") or "", r["id"]))
    return rows


# -- the example the scaffold writes ---------------------------------------------

SKILL_TEMPLATE = """\
---
name: {name}
description: One row per captured session - its prompts, the files it changed, and whether its work survives.
license: mit
task_categories:
  - text-generation
---

# {name}

Each row is one coding-agent session captured by git-ot: the prompts the
user gave (`prompt`), the files its patches touched (`files`), and the
survival of its work at HEAD as git-ot's trail judges it (`survival`:
`alive_on_path`, `reverted`, `pending`, ...; `mixed` when its patches
differ, `none` when it changed no file).

## How to run and extend it

- `git ot dataset run {name}` builds the run packet of the sessions
  (`--since 7d`, or session ids), runs `build_rows.py` over it and puts the
  new rows in the inbox; `git ot dataset review {name}` lists them.
- `build_rows.py` reads the packet (the path in `OT_RUN_PACKET`) and writes
  one JSON object per line to the path in `OT_DATASET_OUTPUT`. Every row
  must fit `row.schema.json`; change both together.
- Only rows approved with `git ot dataset approve` are published
  (`git ot dataset publish {name} --to REMOTE`).
"""

ROW_SCHEMA_TEMPLATE = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "one session",
    "type": "object",
    "required": ["session", "prompt", "files", "survival"],
    "additionalProperties": False,
    "properties": {
        "session": {"type": "string", "description": "the session id"},
        "prompt": {"type": "string", "description": "the session's prompts, blank-line separated"},
        "files": {"type": "array", "items": {"type": "string"},
                  "description": "the paths its patches touched, sorted"},
        "survival": {"enum": ["alive_on_path", "alive_transformed", "moved", "partially_preserved",
                              "reverted", "repaired", "lost", "unknown", "pending", "unlanded",
                              "mixed", "none"],
                     "description": "the state of its patches at HEAD"},
    },
}

BUILD_ROWS_TEMPLATE = '''\
"""One row per session: its prompts, the files it changed, and its survival.

Reads the run packet (OT_RUN_PACKET) and writes JSON Lines (OT_DATASET_OUTPUT).
"""

import json
import os

with open(os.environ["OT_RUN_PACKET"], encoding="utf-8") as f:
    packet = json.load(f)

with open(os.environ["OT_DATASET_OUTPUT"], "w", encoding="utf-8") as out:
    for session in packet["sessions"]:
        if not session["prompts"]:
            continue
        states = {p["state"] for p in session["patches"] if p["state"] is not None}
        survival = states.pop() if len(states) == 1 else ("mixed" if states else "none")
        row = {
            "session": session["id"],
            "prompt": "\\n\\n".join(session["prompts"]),
            "files": sorted({p["path"] for p in session["patches"] if p["path"]}),
            "survival": survival,
        }
        out.write(json.dumps(row, ensure_ascii=False) + "\\n")
'''
