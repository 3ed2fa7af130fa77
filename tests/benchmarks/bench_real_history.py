#!/usr/bin/env python3
"""Attribution on real history: sessions imported after the fact, scored
against what the sessions really wrote.

Run it as

    python tests/benchmarks/bench_real_history.py --entire-clone PATH [--limit N] [--json] [--keep] [--verbose]

PATH is a clone (bare or not) of the public repository entireio/cli (MIT),
whose authors ran Claude Code with Entire: its branch
`entire/checkpoints/v1` holds the sessions' transcripts at
`<id[:2]>/<id[2:]>/<n>/full.jsonl`, each slot with a `metadata.json`
naming its session, and the commits on main carry `Entire-Checkpoint`
trailers. No git-ot hook ever ran there.

What it does, in a temporary directory:

1. clones PATH (a local clone) and checks out main;
2. writes every Claude Code transcript slice of the checkpoints branch to a
   folder, one sub-folder per session, and runs
   `git ot import claude-code FOLDER` once (the slices of a session are
   merged by the import; a line two slices hold is folded once), timed
   once the folder is on disk (`sync`): the figure is the bytes of every
   slice over the wall time, in MB/s;
3. runs `git ot blame commit SHA --json` on every commit of main (merges
   left out) made since the first session began, timed one by one;
4. scores the sessions `blame commit` names on each commit (those with
   agent lines) against a truth computed here from the transcripts and
   `git log -p` alone, with nothing of git-ot's code: a (session, commit)
   pair is backed when a significant line that an accepted Edit, Write or
   MultiEdit of the session added to a path, before the commit's committer
   time, is among the lines the commit adds to that path (compared with
   leading and trailing white space stripped; an edit's added lines are the
   `+` lines of the structuredPatch its result holds, whole lines, that are
   not among its `-` lines, else the lines of its new text that its old
   text does not hold: a line an edit only re-indents, it does not add).
   A line is significant here when it holds at least 16 characters other
   than white space, a letter among them: `}`, `return nil`,
   `if err != nil {` are not.

Recall is the share of backed pairs that `blame commit` names; precision is
the share of named pairs that are backed. Beside recall, not in it: the
share of links found when a link also counts as found where `blame commit`
names, under a session it names on the commit, the linked session as the
one that session continues (`continues`: a plan accepted with its context
cleared is carried out by a new session of the same conversation, while a
trailer may name the planning one), and beside precision the share of
named pairs that are backed when those continued sessions count as named
too (what that reading costs precision). The figures the
project measured before this benchmark existed (recall 0.97, precision
0.95, 2.2 MB/s) are printed beside them. `--limit N` imports the first N
sessions only (by their first line's time) and scores the commits made
from the first session's start to two days after the last one's end.

It is a report, not a test: it exits 0 whatever the figures. Run it niced
on a shared machine (`nice -n 10 python ...`); a full run imports about
700 MB of transcripts.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from common import git, hermetic_env, log, run_timed, scratch  # noqa: E402

BRANCH = "entire/checkpoints/v1"
BASELINE = {"recall": 0.97, "precision": 0.95, "import_mb_s": 2.2}
EDIT_TOOLS = ("Edit", "Write", "MultiEdit")


# -- the truth, from transcripts and git alone -------------------------------

def significant(line: str) -> bool:
    """A line only one writer would likely write (see the module's docstring)."""
    squeezed = re.sub(r"\s+", "", line)
    return len(squeezed) >= 16 and re.search(r"[A-Za-z]", squeezed) is not None


def _ts(value) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _lines(text) -> list[str]:
    return text.split("\n") if isinstance(text, str) else []


def _added(old: str | None, new: str) -> set[str]:
    """The stripped lines of `new` that `old` does not hold (as many times)."""
    counts: dict[str, int] = {}
    for ln in _lines(old):
        counts[ln.strip()] = counts.get(ln.strip(), 0) + 1
    out = set()
    for ln in _lines(new):
        s = ln.strip()
        if counts.get(s, 0) > 0:
            counts[s] -= 1
        else:
            out.add(s)
    return out


def session_edits(lines: list[dict]) -> list[dict]:
    """The accepted Edit, Write and MultiEdit calls of one session's lines:
    [{"file", "cwd", "t", "added": set of significant stripped lines}]."""
    calls: dict[str, tuple] = {}
    out = []
    for obj in lines:
        message = obj.get("message") or {}
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for block in content:
            if not isinstance(block, dict):
                continue
            if obj.get("type") == "assistant" and block.get("type") == "tool_use" \
                    and block.get("name") in EDIT_TOOLS and isinstance(block.get("input"), dict):
                calls[block.get("id")] = (block["name"], block["input"])
            elif obj.get("type") == "user" and block.get("type") == "tool_result":
                call = calls.get(block.get("tool_use_id"))
                if call is None or block.get("is_error"):
                    continue
                result = obj.get("toolUseResult")
                text = block.get("content")
                if isinstance(text, list):
                    text = " ".join(str(b.get("text", "")) for b in text if isinstance(b, dict))
                if not isinstance(result, dict) and ("rejected" in str(text) or "Error" in str(text)[:40]):
                    continue  # not accepted
                name, inp = call
                added: set[str] = set()
                patch = result.get("structuredPatch") if isinstance(result, dict) else None
                if isinstance(patch, list) and patch and name != "Write" or (
                        name == "Write" and patch and isinstance(result, dict) and result.get("type") == "update"):
                    # Whole lines, as the tool's own diff gives them (an Edit's
                    # strings may be parts of lines). A line the patch takes
                    # out and puts back with other white space only
                    # (re-indented) is not added: as in `_added`, lines are
                    # compared stripped.
                    plus, minus = [], []
                    for hunk in patch:
                        for ln in (hunk.get("lines") or []) if isinstance(hunk, dict) else []:
                            if isinstance(ln, str) and ln[:1] in ("+", "-"):
                                (plus if ln[0] == "+" else minus).append(ln[1:])
                    added = _added("\n".join(minus), "\n".join(plus))
                elif name == "Write":
                    original = result.get("originalFile") if isinstance(result, dict) else None
                    added = _added(original, inp.get("content") or "")
                elif name == "Edit":
                    added = _added(inp.get("old_string") or "", inp.get("new_string") or "")
                else:
                    for e in inp.get("edits") or []:
                        if isinstance(e, dict):
                            added |= _added(e.get("old_string") or "", e.get("new_string") or "")
                added = {s for s in added if significant(s)}
                path = inp.get("file_path")
                t = _ts(obj.get("timestamp"))
                if added and isinstance(path, str) and t is not None:
                    out.append({"file": path, "cwd": obj.get("cwd") or "", "t": t, "added": added})
    return out


def _matches(edit: dict, path: str) -> bool:
    """Whether an edit's absolute path is the repository's `path`."""
    file, cwd = edit["file"], edit["cwd"].rstrip("/")
    if cwd and file.startswith(cwd + "/"):
        rel = file[len(cwd) + 1:]
        return rel == path or path.endswith("/" + rel)
    return file.endswith("/" + path)


def commit_additions(clone: Path, since: float, until: float | None) -> list[dict]:
    """The commits of main (no merges) made in [since, until], oldest first:
    [{"sha", "t", "paths": {path: set of stripped added lines}}]."""
    args = ["log", "--no-merges", "-p", "-U0", "--no-renames", "--no-color",
            "--format=@@@COMMIT %H %ct", f"--since=@{int(since)}", "main"]
    if until is not None:
        args.append(f"--until=@{int(until)}")
    out = git(clone, *args).decode("utf-8", "replace")
    commits: list[dict] = []
    path = None
    for line in out.split("\n"):
        if line.startswith("@@@COMMIT "):
            _, sha, t = line.split()
            commits.append({"sha": sha, "t": float(t), "paths": {}})
            path = None
        elif line.startswith("+++ "):
            path = line[6:] if line.startswith("+++ b/") else None
        elif line.startswith("+") and path is not None and commits:
            commits[-1]["paths"].setdefault(path, set()).add(line[1:].strip())
    commits.reverse()
    return [c for c in commits if c["t"] >= since]


def backed_pairs(commits: list[dict], edits: dict[str, list[dict]]) -> set[tuple[str, str]]:
    pairs = set()
    for c in commits:
        for sid, es in edits.items():
            for e in es:
                if e["t"] >= c["t"]:
                    continue
                hit = False
                for path, added in c["paths"].items():
                    if _matches(e, path) and e["added"] & added:
                        hit = True
                        break
                if hit:
                    pairs.add((sid, c["sha"]))
                    break
    return pairs


# -- the corpus --------------------------------------------------------------

def slices(clone: Path) -> tuple[dict[str, list[tuple[str, bytes]]], dict[str, set]]:
    """session id -> [(checkpoint slot name, full.jsonl bytes)] of Claude Code slices,
    and checkpoint id -> the ids of its sessions."""
    names = git(clone, "ls-tree", "-r", "--name-only", f"origin/{BRANCH}").decode().split("\n")
    slots = sorted({n.rsplit("/", 1)[0] for n in names if n.endswith("/full.jsonl")})
    proc = subprocess.Popen(["git", "cat-file", "--batch"], cwd=clone, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)

    def show(path: str) -> bytes | None:
        proc.stdin.write(f"origin/{BRANCH}:{path}\n".encode())
        proc.stdin.flush()
        header = proc.stdout.readline().split()
        if len(header) < 3:
            return None
        size = int(header[2])
        data = proc.stdout.read(size)
        proc.stdout.read(1)
        return data

    out: dict[str, list] = {}
    checkpoints: dict[str, set] = {}
    for slot in slots:
        meta = show(f"{slot}/metadata.json")
        data = show(f"{slot}/full.jsonl")
        try:
            sid = json.loads(meta or b"{}").get("session_id")
        except ValueError:
            sid = None
        if not sid or not data:
            continue
        checkpoints.setdefault("".join(slot.split("/")[:2]), set()).add(sid)
        first = next((ln for ln in data.split(b"\n") if b'"sessionId"' in ln), b"")
        try:
            obj = json.loads(first)
        except ValueError:
            continue
        if not isinstance(obj, dict) or "type" not in obj or obj.get("sessionId") != sid:
            continue  # not a Claude Code transcript (another agent's format)
        out.setdefault(sid, []).append((slot.replace("/", "-"), data))
    proc.stdin.close()
    proc.wait()
    return out, checkpoints


def trailer_links(clone: Path, checkpoints: dict[str, set]) -> set[tuple[str, str]]:
    """(session, commit) for every commit of main whose Entire-Checkpoint
    trailer names a checkpoint holding the session."""
    out = git(clone, "log", "--no-merges", "--format=%H%x00%(trailers:key=Entire-Checkpoint,valueonly)%x01",
              "main").decode("utf-8", "replace")
    links = set()
    for record in out.split("\x01"):
        if "\x00" not in record:
            continue
        sha, values = record.strip("\n").split("\x00", 1)
        for value in values.split():
            for sid in checkpoints.get(value.strip(), ()):
                links.add((sid, sha))
    return links


def parsed(datas: list[bytes]) -> list[dict]:
    seen = set()
    out = []
    for data in datas:
        for raw in data.split(b"\n"):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(obj, dict):
                continue
            key = obj.get("uuid") or raw
            if key in seen:
                continue
            seen.add(key)
            out.append(obj)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entire-clone", required=True, help="a clone of entireio/cli")
    ap.add_argument("--limit", type=int, default=0, help="import the first N sessions only")
    ap.add_argument("--reuse", metavar="DIR",
                    help="the directory an earlier run kept (--keep): no clone and no import; "
                         "its notes are deleted, written again by git ot anchor, and every "
                         "commit scored again (for a change to attribution alone)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--verbose", action="store_true", help="list every pair that is wrong")
    args = ap.parse_args()
    result = None
    if args.reuse:
        result = run(Path(args.entire_clone).resolve(), Path(args.reuse), args.limit, args.verbose, reuse=True)
    else:
        with scratch("bench-real-history-", args.keep) as tmp:
            result = run(Path(args.entire_clone).resolve(), tmp, args.limit, args.verbose)
    if result is None:
        return 0
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"sessions imported: {result['sessions']} ({result['slices']} slices, "
          f"{result['bytes'] / 1e6:.1f} MB); commits scored: {result['commits']}"
          + (f" (--limit {result['limit']})" if result["limit"] else ""))
    print(f"{'figure':<34}{'now':>10}{'baseline':>10}")
    rows = (("recall", "recall (trailer links)", BASELINE["recall"]),
            ("precision", "precision", BASELINE["precision"]),
            ("recall_cleared", "recall, sessions continued²", None),
            ("precision_cleared", "precision, sessions continued²", None),
            ("recall_all", "recall (every backed pair)", None),
            ("import_mb_s", "import MB/s", BASELINE["import_mb_s"]))
    for key, label, base in rows:
        if result.get(key) is None:
            continue
        print(f"{label:<34}{result[key]:>10.3f}" + (f"{base:>10.2f}" if base is not None else ""))
    print(f"{'blame commit ms/commit':<34}{result['blame_ms_median']:>10.0f}"
          f"   (median; mean {result['blame_ms_mean']:.0f})")
    print(f"pairs: backed {result['backed']} ({result['backed_linked']} of them trailer links), "
          f"named {result['named']}, named and backed {result['both']}")
    print("² a trailer link also found, and a pair named, when blame commit names a session on "
          "the commit that continues the linked one")
    return 0


def run(source: Path, tmp: Path, limit: int, verbose: bool, reuse: bool = False) -> dict:
    env = hermetic_env(tmp / "home")
    os.environ.update({k: v for k, v in env.items() if k.startswith(("GIT_", "HOME", "XDG_"))})
    clone = tmp / "cli"
    if not reuse:
        log(f"cloning {source}")
        subprocess.run(["git", "clone", "-q", "--no-checkout", str(source), str(clone)], check=True, env=env)
        git(clone, "fetch", "-q", "origin", f"+refs/heads/{BRANCH}:refs/remotes/origin/{BRANCH}")
        git(clone, "checkout", "-q", "-B", "main", "origin/main")
    per, checkpoints = slices(clone)
    sessions = {sid: parsed([d for _, d in items]) for sid, items in per.items()}
    starts = {sid: min((t for t in (_ts(o.get("timestamp")) for o in ls) if t is not None), default=None)
              for sid, ls in sessions.items()}
    order = sorted((s for s in sessions if starts[s] is not None), key=lambda s: starts[s])
    if limit:
        order = order[:limit]
    total = sum(len(d) for s in order for _, d in per[s])
    # What the truth needs of the parsed lines, then the lines go: the
    # import is timed without this script holding gigabytes of objects.
    edits = {sid: session_edits(sessions[sid]) for sid in order}
    ends = {sid: max((t for t in (_ts(o.get("timestamp")) for o in sessions[sid]) if t is not None),
                     default=starts[sid]) for sid in order}
    del sessions
    gc.collect()
    gitot = [sys.executable, "-m", "git_ot"]
    ms = None
    if reuse:
        # Score again what was imported: the notes go, and are written again
        # by `git ot anchor`, as the import anchors what it imported.
        subprocess.run(["git", "update-ref", "-d", "refs/notes/opentraces"], cwd=clone, env=env)
        anchor_ms, _ = run_timed(gitot + ["anchor", "--json"], clone, env)
        log(f"anchor: {anchor_ms / 1000:.1f} s")
    else:
        folder = tmp / "transcripts"
        for sid in order:
            d = folder / sid
            d.mkdir(parents=True)
            for name, data in per[sid]:
                (d / f"{name}.jsonl").write_bytes(data)
        # The transcripts a user imports were written long before: the
        # import does not wait on the disk writing this script's copy.
        os.sync()
        log(f"importing {len(order)} sessions, {sum(len(per[s]) for s in order)} slices, {total / 1e6:.1f} MB")
        ms, out = run_timed(gitot + ["import", "claude-code", str(folder), "--json"], clone, env)
        log(f"import: {ms / 1000:.1f} s, anchored {len(json.loads(out)['anchored'])} commits")
    since = min(starts[s] for s in order)
    until = None
    if limit:
        until = max(ends[s] for s in order) + 2 * 86400
    commits = commit_additions(clone, since, until)
    truth = backed_pairs(commits, edits)
    shas = {c["sha"] for c in commits}
    links = {(s, c) for s, c in trailer_links(clone, checkpoints) if c in shas and s in edits}
    log(f"blame commit on {len(commits)} commits")
    named = set()
    through = set()  # (the session continued, commit), as blame commit names them
    times = []
    for i, c in enumerate(commits):
        t0 = time.perf_counter()
        proc = subprocess.run(gitot + ["blame", "commit", c["sha"], "--json"], cwd=clone, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        times.append((time.perf_counter() - t0) * 1000.0)
        if proc.returncode != 0:
            log(f"blame commit {c['sha'][:12]} failed: {proc.stderr.decode(errors='replace').strip()}")
            continue
        for s in json.loads(proc.stdout)["sessions"]:
            if s["lines"] > 0:
                named.add((s["session"], c["sha"]))
                if s["continues"]:
                    through.add((s["continues"], c["sha"]))
        if (i + 1) % 50 == 0:
            log(f"  {i + 1}/{len(commits)}")
    both = named & truth
    linked = truth & links
    if verbose:
        for sid, sha in sorted(named - truth):
            log(f"false credit: {sid} on {sha}")
        for sid, sha in sorted(linked - named):
            log(f"missed link: {sid} on {sha}"
                + (" (named as the session one named continues)" if (sid, sha) in through else ""))
    return {
        "sessions": len(order), "slices": sum(len(per[s]) for s in order), "bytes": total,
        "limit": limit, "commits": len(commits),
        "backed": len(truth), "backed_linked": len(linked), "named": len(named), "both": len(both),
        "recall": len(named & linked) / len(linked) if linked else 1.0,
        "recall_cleared": len((named | through) & linked) / len(linked) if linked else 1.0,
        # The same pairs counted as named for precision too: what the
        # reading costs there.
        "precision_cleared": len((named | through) & truth) / len(named | through) if named | through else 1.0,
        "recall_all": len(both) / len(truth) if truth else 1.0,
        "precision": len(both) / len(named) if named else 1.0,
        "import_s": ms / 1000.0 if ms is not None else None,
        "import_mb_s": total / 1e6 / (ms / 1000.0) if ms is not None else None,
        "blame_ms_median": statistics.median(times) if times else 0.0,
        "blame_ms_mean": statistics.fmean(times) if times else 0.0,
        "named_pairs": sorted(f"{s} {c}" for s, c in named),
        "false_credits": sorted(f"{s} {c}" for s, c in named - truth),
        "missed_links": sorted(f"{s} {c}" for s, c in linked - named),
        "missed": sorted(f"{s} {c}" for s, c in truth - named),
        "baseline": BASELINE,
    }


if __name__ == "__main__":
    sys.exit(main())
