"""Capsules: a failing step of a session, sealed into one git bundle.

A capsule is a git bundle of one commit, `refs/heads/capsule`, with no
parent, whose tree holds

    capsule.json   the record (refs/README.md, section 18)
    ctx.json       the messages in the model's view at the step
    CAPSULE.md     the same, for people
    snapshot/      the working files as they were at the step

`snapshot/` is the session's own snapshot tree, so a capsule deltas
against the repository it came from and any git verifies it. Everything
written beside the snapshot passes the security gate at egress first, and
the session itself must pass it as `git ot push` requires.

`open` makes a new repository whose checkout is the snapshot, with the
records under its git-ot state folder (`.git/opentraces/capsule/`); `show`
and `replay` (domain/replay.py) read them there, and `git ot ctx resume`
finds the capsule's context there (domain/ctx.py).
"""

from __future__ import annotations

import bisect
import itertools
import json
import os
import platform
import shutil
import subprocess
import tempfile

import pygit2

from .. import __version__
from ..errors import (EgressBlocked, GitCommandError, NotACapsule, UnknownStep, UnsupportedVersion,
                      UnusableDirectory, NoContext)
from ..store import git, refs, state, trees
from ..store.records import envelope, VERSIONS, SCHEMA_PREFIX
from ..store.repository import Store
from . import ctx as ctx_domain
from . import pyenv, sessions
from .fold import expand

HEAD_REF, SEALED_REF = refs.CAPSULE_HEAD, refs.CAPSULE_SEALED
RECORD, CTX, README = "capsule.json", ctx_domain.CAPSULE_CTX, "CAPSULE.md"
SNAPSHOT_DIR = "snapshot"
BUNDLE_MAGIC = (b"# v2 git bundle\n", b"# v3 git bundle\n")
# How much of a step's text the trajectory slice keeps (the whole of it
# is in ctx.json); the failing step's output is kept whole.
SLICE_TEXT = 2000
SIGNATURE = ("git-ot", "git-ot@localhost")


def default_step(steps: list[dict]) -> int:
    """The step a capsule is sealed at when none is named: the session's
    last failing tool call (of the main agent), else its last step."""
    for step in reversed(steps):
        if step["kind"] == "tool" and step.get("status") == "error" and step.get("parent") is None:
            return step["n"]
    return len(steps)


def exit_status(output) -> int | None:
    """The exit status a shell tool's output reports ("Exit code N", as
    Claude Code's Bash tool says), or None."""
    if isinstance(output, dict):
        for key in ("exit_code", "exitCode", "returncode"):
            if isinstance(output.get(key), int):
                return output[key]
        output = output.get("output") or output.get("stdout") or ""
    if isinstance(output, str):
        first = output.lstrip().split("\n", 1)[0]
        for prefix in ("Exit code ", "exit code ", "Process exited with code "):
            if first.startswith(prefix) and first[len(prefix):].strip().isdigit():
                return int(first[len(prefix):].strip())
    return None


def _command(step: dict):
    value = step.get("input")
    if isinstance(value, dict):
        for key in ("command", "cmd"):
            if isinstance(value.get(key), (str, list)):
                cmd = value[key]
                return " ".join(cmd) if isinstance(cmd, list) else cmd
    return value


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _brief(value) -> tuple[str, bool]:
    text = _text(value)
    return (text, False) if len(text) <= SLICE_TEXT else (text[:SLICE_TEXT], True)


def _slice_item(step: dict) -> dict:
    item = {"n": step["n"], "kind": step["kind"]}
    if step["kind"] in ("prompt", "message"):
        item["text"], cut = _brief(step.get("text", ""))
    elif step["kind"] == "tool":
        item["tool"] = step.get("name")
        item["status"] = step.get("status")
        item["input"], cut_in = _brief(_command(step))
        item["output"], cut_out = _brief(step.get("output", ""))
        cut = cut_in or cut_out
    else:
        cut = False
    if cut:
        item["truncated"] = True
    return item


def _snapshot_tree(store: Store, sid: str, step: dict, trail: dict, base: str | None) -> tuple[str, str]:
    """The tree of the working files the step ran against, and where it
    comes from (ctx.files_at): the state before it when it has one, else
    at its end."""
    n = step["n"]
    base = base if base and store.has_object(base) else None
    got = ctx_domain.files_at(store, trail, base, (n, not step.get("snapshot_before")))
    if got is None:
        raise NoContext(f"session {sid[:12]} has no snapshot or base commit at step {n}",
                        hint="the working files of that step are not in this repository")
    return got


def _source(store: Store, manifest: dict) -> dict:
    base = manifest.get("base") or {}
    url = None
    try:
        url = store.repo.config["remote.origin.url"]
    except (KeyError, pygit2.GitError):
        pass
    return {"repository": url, "commit": base.get("commit"), "branch": base.get("branch")}


def build_record(store: Store, spec: str, verdict: str, setup: str | None, env=os.environ) -> tuple[dict, dict | None, str]:
    """The capsule's record, its context (or None) and its snapshot tree,
    before the gate."""
    sid_spec, step_n = sessions.parse_spec(spec)
    sid = sessions.resolve(store, sid_spec)
    tree = store.session(sid)
    trace, trail, manifest = tree.record("trace"), tree.record("trail"), tree.record("manifest")
    steps = trace["steps"]
    if not steps:
        raise UnknownStep(f"session {sid[:12]} has no steps yet")
    if step_n is None:
        step_n = default_step(steps)
    if step_n > len(steps):
        raise UnknownStep(f"session {sid[:12]} has no step {step_n}", hint=f"its steps are 1 to {len(steps)}")
    step = expand(store, sid, steps[step_n - 1])
    snapshot, snapshot_from = _snapshot_tree(store, sid, step, trail, (manifest.get("base") or {}).get("commit"))
    main = [s for s in steps[:step_n] if s.get("parent") is None]
    prompts = [s for s in main if s["kind"] == "prompt"]
    start = prompts[-1]["n"] if prompts else 1
    trajectory = [_slice_item(expand(store, sid, s)) for s in main if s["n"] >= start]
    failure = {"step": step_n, "kind": step["kind"]}
    if step["kind"] == "tool":
        failure.update(tool=step.get("name"), status=step.get("status"), command=_command(step),
                       output=_text(step.get("output", "")), exit_status=exit_status(step.get("output")))
    try:
        context = ctx_domain.context(store, f"{sid}:{step_n}")
    except NoContext:
        context = None
    top = store.location.require_worktree("seal a capsule")
    info = trace["info"]
    record = envelope("capsule", {
        "source": _source(store, manifest),
        "session": sid,
        "step": step_n,
        "harness": {"name": (manifest.get("harness") or {}).get("name") or info.get("harness"),
                    "version": (manifest.get("harness") or {}).get("version") or info.get("harness_version")},
        "model": step.get("model") or info.get("model"),
        "intent": [expand(store, sid, p.get("text", "")) for p in prompts],
        "trajectory": trajectory,
        "failure": failure,
        "verdict": {"command": verdict, "setup": setup},
        "snapshot": {"tree": snapshot, "from": snapshot_from},
        "environment": {"os": f"{platform.system()} {platform.release()}".strip(),
                        "machine": platform.machine() or None,
                        "python": platform.python_version(),
                        "python_env": pyenv.record(top, verdict, env)},
        "ctx": CTX if context is not None else None,
        "writer": f"git-ot {__version__}",
    })
    return record, context, snapshot


# -- the gate ------------------------------------------------------------------

def gated(store: Store, sid: str, values: list, snapshot: str):
    """`values` as they may leave the machine: the session must pass the
    gate at egress (as for `git ot push`), and every string written beside
    the snapshot is checked again, secrets replaced by placeholders and
    home paths by tokens (or the capsule refused, under
    `ot.security.action=block`); so is every file of the snapshot
    (`gated_snapshot`). Returns the values, and the snapshot's tree."""
    from .gate.egress import egress_report, raise_if_blocked
    from .gate.detectors import Hit
    from .gate.engine import Gate, PII_TOKEN
    from .gate.seal import SEPARATOR

    report = egress_report(store, [sid])
    raise_if_blocked(report)
    gate = Gate(store)
    counts: dict = {}

    def fixed(texts: list[str], where: str) -> list[str]:
        # One pass of the detectors over every string, SEPARATOR (which no
        # rule matches across) between them, as the seal's gate does; the
        # hits are then cut back to the strings they fall in.
        found = gate.hits(SEPARATOR.join(texts))
        per: dict[int, list] = {}
        if found:
            starts = list(itertools.accumulate((len(t) + len(SEPARATOR) for t in texts[:-1]), initial=0))
            for h in found:
                k = bisect.bisect_right(starts, h.start) - 1
                end = min(h.end, starts[k] + len(texts[k]))
                if end > h.start:
                    per.setdefault(k, []).append(Hit(h.kind, h.detector, h.start - starts[k], end - starts[k]))
        out = []
        for k, text in enumerate(texts):
            hits = per.get(k)
            if hits:
                secret = [h for h in hits if h.kind not in PII_TOKEN]
                if secret and gate.policy.action == "block":
                    raise EgressBlocked(f"the security gate holds back the capsule: {secret[0].kind} in {where}",
                                        hint="'git ot scan' shows the findings; allow a false positive with "
                                             "'git config --add ot.security.allow <regex>'")
                text = gate.replace(text, hits)
            out.append(gate.paths.apply(text, counts))
        return out

    def walk(value, fix):
        if isinstance(value, str):
            return fix(value)
        if isinstance(value, dict):
            return {fix(k) if isinstance(k, str) else k: walk(v, fix) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, fix) for v in value]
        return value

    out = []
    for name, value in values:
        texts: list[str] = []
        walk(value, lambda t: texts.append(t) or t)
        # A string holding a NUL could be taken for SEPARATOR: checked alone.
        alone = {k for k, t in enumerate(texts) if "\0" in t}
        joined = [t for k, t in enumerate(texts) if k not in alone]
        done = iter(fixed(joined, f"the capsule's {name}") if joined else [])
        result = [fixed([t], f"the capsule's {name}")[0] if k in alone else next(done)
                  for k, t in enumerate(texts)]
        it = iter(result)
        out.append(walk(value, lambda t: next(it)))
    return out, gated_snapshot(gate, snapshot)


def gated_snapshot(gate, snapshot: str) -> tuple[str, list[str]]:
    """The snapshot tree as it may leave: every file in it checked (the
    session's gate checked only what its snapshots added to the history,
    and a capsule's reader may have none of that history), a file with a
    finding replaced by its redacted copy, or the capsule refused under
    `ot.security.action=block`. Returns the tree and the paths redacted."""
    from .gate.engine import PII_TOKEN

    blobs = trees.added_blobs(gate.store, snapshot, None)
    results = gate.scan_blobs({oid for _, oid in blobs}, rewrite=True)
    gate.cache.save()
    changes = {path: oid for path, oid in blobs if results[oid]}
    if not changes:
        return snapshot, []
    if gate.policy.action == "block":
        for path in sorted(changes):
            secrets = [k for k, _, _ in results[changes[path]][1] if k not in PII_TOKEN]
            if secrets:
                raise EgressBlocked(f"the security gate holds back the capsule: {secrets[0]} in "
                                    f"'{path.decode('utf-8', 'backslashreplace')}' of the snapshot",
                                    hint="'git ot scan' shows the findings; allow a false positive with "
                                         "'git config --add ot.security.allow <regex>'")
    return (trees.rewrite_tree(gate.store, snapshot, {p: results[o][0] for p, o in changes.items()}),
            sorted(p.decode("utf-8", "backslashreplace") for p in changes))


# -- sealing ---------------------------------------------------------------------

def markdown(record: dict) -> str:
    """CAPSULE.md: the record for people."""
    f = record["failure"]
    lines = [f"# Capsule: session {record['session']}, step {record['step']}", ""]
    h = record["harness"]
    lines.append(f"Recorded with {h.get('name') or 'an unknown harness'}"
                 + (f" {h['version']}" if h.get("version") else "")
                 + (f", model {record['model']}" if record.get("model") else "") + ".")
    src = record["source"]
    if src.get("commit"):
        lines.append(f"Source: {src.get('repository') or 'a local repository'} at {src['commit']}"
                     + (f" (branch {src['branch']})" if src.get("branch") else "") + ".")
    lines += ["", "## Intent", ""]
    for i, prompt in enumerate(record["intent"], 1):
        lines += [f"{i}. " + prompt.strip().replace("\n", "\n   "), ""]
    lines += ["## The failing step", ""]
    if f["kind"] == "tool":
        status = f" (exit {f['exit_status']})" if f.get("exit_status") is not None else ""
        lines += [f"Step {f['step']}, {f.get('tool')}{status}:", "", "```", _text(f.get("command")), "```", "",
                  "Output:", "", "```", f.get("output", "").rstrip("\n"), "```", ""]
    else:
        lines += [f"Step {f['step']} ({f['kind']}).", ""]
    lines += ["## Trajectory", ""]
    for item in record["trajectory"]:
        if item["kind"] == "tool":
            what = f"{item.get('tool')} {item.get('input', '')} -> {item.get('status')}"
        else:
            what = item.get("text", "")
        lines.append(f"- {item['n']} {item['kind']}: " + " ".join(str(what).split())[:160])
    v = record["verdict"]
    lines += ["", "## Verdict", "", "```", v["command"], "```", ""]
    if v.get("setup"):
        lines += ["Setup:", "", "```", v["setup"], "```", ""]
    env = record["environment"]
    lines += ["## Environment", "", f"- {env['os']} {env.get('machine') or ''}".rstrip(),
              f"- Python {env['python']}"]
    pe = env.get("python_env")
    if pe:
        lines.append(f"- virtual environment {pe['path'] or '(outside the project)'}, Python "
                     f"{pe.get('python') or '?'}, {len(pe['pins'])} pinned distributions:")
        for pin in pe["pins"]:
            lines.append(f"  - {pin['name']}=={pin['version']}"
                         + (f" (editable, {pin['editable']})" if pin.get("editable") else ""))
    lines += ["", "## Replay", "", "```", "git ot capsule open FILE DIR", "cd DIR",
              "git ot capsule replay", "git ot capsule replay --with NAME==VERSION", "```", ""]
    return "\n".join(lines)


def seal(store: Store, spec: str, verdict: str, setup: str | None = None, output: str | None = None,
         cwd: str | None = None, env=os.environ) -> dict:
    """Write the capsule of the step `spec` names (SESSION[:STEP]) to
    `output` (default `<session>-<step>.capsule` in `cwd`); what was written."""
    if not verdict.strip():
        raise NotACapsule("the verdict command is empty", hint="name the command that decides with --verdict")
    record, context, snapshot = build_record(store, spec, verdict, setup, env)
    sid, step_n = record["session"], record["step"]
    path = os.path.abspath(os.path.join(cwd or os.getcwd(), output or f"{sid}-{step_n}.capsule"))
    if os.path.exists(path):
        raise UnusableDirectory(f"'{path}' already exists", hint="name another file with --output FILE")
    (record, context), (snapshot, redacted) = gated(store, sid, [("record", record), ("context", context)],
                                                    snapshot)
    record["snapshot"]["tree"] = snapshot
    if redacted:
        record["snapshot"]["redacted"] = redacted
    md = markdown(record)  # made of the record's strings, already through the gate
    tmp = tempfile.mkdtemp(prefix="git-ot-capsule-")
    try:
        # A repository of its own that borrows the source's objects: the
        # capsule's commit is never written into the user's repository.
        git.run(["init", "-q", "--bare", tmp])
        with open(os.path.join(tmp, "objects", "info", "alternates"), "w", encoding="utf-8") as fh:
            fh.write(os.path.join(os.path.abspath(store.location.common_dir), "objects") + "\n")
        repo = pygit2.Repository(tmp)
        tb = repo.TreeBuilder()
        for name, data in ((RECORD, _json(record)), (CTX, _json(context) if context is not None else None),
                           (README, md.encode("utf-8"))):
            if data is not None:
                tb.insert(name, repo.create_blob(data), pygit2.GIT_FILEMODE_BLOB)
        tb.insert(SNAPSHOT_DIR, pygit2.Oid(hex=snapshot), pygit2.GIT_FILEMODE_TREE)
        sig = pygit2.Signature(*SIGNATURE, 0, 0)
        commit = repo.create_commit(HEAD_REF, sig, sig, f"git-ot capsule: session {sid} at step {step_n}\n",
                                    tb.write(), [])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        git.run(["--git-dir", tmp, "bundle", "create", "-q", path, HEAD_REF])
    except (OSError, GitCommandError) as exc:
        if os.path.exists(path):
            os.unlink(path)
        raise UnusableDirectory(f"cannot write the capsule '{path}': {getattr(exc, 'message', exc)}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"file": path, "session": sid, "step": step_n, "commit": str(commit), "snapshot": snapshot,
            "bytes": os.path.getsize(path), "failure": record["failure"],
            "pins": len((record["environment"]["python_env"] or {}).get("pins", []))}


def _json(value) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


# -- opening -----------------------------------------------------------------------

def check_record(record, where: str) -> dict:
    """`record` when it is a capsule record this git-ot reads."""
    if not isinstance(record, dict) or record.get("schema") != SCHEMA_PREFIX + "capsule":
        raise NotACapsule(f"{where} is a git bundle but not a capsule: its capsule.json is not a capsule record")
    v = record.get("v")
    if not isinstance(v, int) or v < 1:
        raise NotACapsule(f"{where} is not a readable capsule: bad format version {v!r}")
    if v > VERSIONS["capsule"]:
        raise UnsupportedVersion(f"{where} has capsule format version {v}; this git-ot reads up to "
                                 f"version {VERSIONS['capsule']}", hint="upgrade git-ot to open it")
    return record


def open_capsule(file: str, directory: str | None = None, cwd: str | None = None) -> dict:
    """Verify the bundle `file` and unpack it into the new repository
    `directory` (default: the file's name without `.capsule`), checked out
    at the snapshot, with the records in its state folder."""
    cwd = cwd or os.getcwd()
    file = os.path.abspath(os.path.join(cwd, file))
    try:
        with open(file, "rb") as fh:
            head = fh.read(16)
    except OSError as exc:
        raise NotACapsule(f"cannot read '{file}': {exc.strerror or exc}") from exc
    if head not in BUNDLE_MAGIC:
        raise NotACapsule(f"'{file}' is not a capsule: not a git bundle",
                          hint="a capsule is the file 'git ot capsule seal' writes")
    name = os.path.basename(file)
    name = name[:-len(".capsule")] if name.endswith(".capsule") and len(name) > 8 else name + ".d"
    target = os.path.abspath(os.path.join(cwd, directory or name))
    if os.path.exists(target) and (not os.path.isdir(target) or os.listdir(target)):
        raise UnusableDirectory(f"'{target}' already exists", hint="name another directory: capsule open FILE DIR")
    made = not os.path.exists(target)
    try:
        return _unpack(file, target)
    except BaseException:
        if made:
            shutil.rmtree(target, ignore_errors=True)
        else:
            for entry in os.listdir(target):
                p = os.path.join(target, entry)
                shutil.rmtree(p, ignore_errors=True) if os.path.isdir(p) else os.unlink(p)
        raise


def _unpack(file: str, target: str) -> dict:
    where = f"'{file}'"
    os.makedirs(target, exist_ok=True)
    git.run(["init", "-q", target])
    proc = git.process(["bundle", "verify", "-q", file], cwd=target)
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise NotACapsule(f"{where} is not a valid git bundle: {err[-1] if err else 'git bundle verify failed'}")
    heads = git.run(["bundle", "list-heads", file], cwd=target).decode("utf-8", "replace").split()
    if HEAD_REF not in heads:
        raise NotACapsule(f"{where} is a git bundle but not a capsule: it has no {HEAD_REF}",
                          hint="a capsule is the file 'git ot capsule seal' writes")
    git.run(["fetch", "-q", "--no-tags", file, f"{HEAD_REF}:{SEALED_REF}"], cwd=target)
    repo = pygit2.Repository(target)
    sealed = repo.revparse_single(SEALED_REF).peel(pygit2.Commit)
    tree = sealed.tree
    if RECORD not in tree or SNAPSHOT_DIR not in tree:
        raise NotACapsule(f"{where} is a git bundle but not a capsule: it holds no {RECORD}")
    try:
        record = json.loads(repo[tree[RECORD].id].data.decode("utf-8"))
    except ValueError:
        record = None
    record = check_record(record, where)
    snapshot = tree[SNAPSHOT_DIR].id
    sig = pygit2.Signature(*SIGNATURE, 0, 0)
    commit = repo.create_commit(HEAD_REF, sig, sig,
                                f"capsule: session {record['session']} at step {record['step']}\n", snapshot, [])
    repo.set_head(HEAD_REF)
    git.run(["reset", "-q", "--hard", HEAD_REF], cwd=target)
    folder = state_folder(target)
    os.makedirs(folder, exist_ok=True)
    for name in (RECORD, CTX, README):
        if name in tree:
            with open(os.path.join(folder, name), "wb") as fh:
                fh.write(repo[tree[name].id].data)
    return {"directory": target, "session": record["session"], "step": record["step"],
            "commit": str(commit), "sealed": str(sealed.id), "verdict": record["verdict"]["command"]}


def state_folder(directory: str) -> str:
    """Where an opened capsule's records are: git-ot's state folder of its repository."""
    common = git.run(["rev-parse", "--path-format=absolute", "--git-common-dir"],
                     cwd=directory).decode().strip()
    return state.capsule(state.root(common))


def load(store: Store) -> dict:
    """The record of the capsule opened in `store`'s repository."""
    path = os.path.join(state.capsule(store.location.state_dir), RECORD)
    where = store.location.worktree or store.location.common_dir
    try:
        with open(path, encoding="utf-8") as fh:
            record = json.load(fh)
    except FileNotFoundError:
        raise NotACapsule(f"'{where}' is not an opened capsule",
                          hint="open one with 'git ot capsule open FILE DIR'") from None
    except (OSError, ValueError) as exc:
        raise NotACapsule(f"cannot read the capsule record in '{where}': {exc}") from exc
    return check_record(record, f"the capsule in '{where}'")


def show(store: Store) -> dict:
    """The opened capsule: its record, with where it is."""
    record = load(store)
    return {"directory": store.location.worktree, **{k: v for k, v in record.items()}}


def run_shell(command: str, cwd: str, env: dict, timeout: float) -> dict:
    """Run `command` with the shell; its exit status (None on a timeout) and output."""
    import signal

    proc = subprocess.Popen(command, shell=True, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return {"exit_status": proc.returncode, "output": out.decode("utf-8", "replace"), "timed_out": False}
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        out, _ = proc.communicate()
        return {"exit_status": None, "output": out.decode("utf-8", "replace"), "timed_out": True}
