#!/usr/bin/env python3
"""Query benchmark: `git ot trace query` over 10,000 sessions.

Run it as

    python tests/benchmarks/bench_query.py [--sessions 10000] [--runs 15] [--updates 5] [--json]
                                           [--seed 1] [--rebuild-cache]

The sessions come from real transcripts: the Claude Code fixtures of
tests/fixtures/ (the four recorded scenarios, the spotter sessions and the
entire.io one) are imported once through `git ot import`, as a user would
(gate included), and their sealed trees are the templates. Each generated
session is a template's tree with a new session id, a new start time in
the year before, and new prompts: 6 to 14 words drawn from the words of
every prompt and message of the templates, plus one word no other session
has (`tkt<n>`). Its manifest and trace are written again; its trail,
blobs and snapshots are the template's, shared. The session commits are
written with pygit2 and their refs in one `git update-ref --stdin`, then
packed (`git pack-refs`), so generating 10,000 takes seconds, not an
import each. The generated repository is cached under
/tmp/git-ot-bench-query-v<CACHE_VERSION>-<sessions>-<seed>/ and used again
by the next run (`--rebuild-cache` makes it again).

Timed, as whole processes, as a user waits for them:

- `git ot --version`: the baseline, every process's start-up.
- index build: the first `git ot trace query` with no index file (it
  reads every session and builds the index), `--builds` times.
- query: each of QUERIES (a word one session has, a word most have, a
  phrase, a prefix, an exclusion, a filter) `--runs` times, alternately
  with `git ot --version` (A B, then B A), after one untimed round.
- incremental update: one new session written, then one query (it reads
  that session into the index), `--updates` times.

The processes run as an installed git-ot runs: with compiled bytecode (in a
temporary PYTHONPYCACHEPREFIX). Target: query p50 under 200 ms at 10,000
sessions. It is a report, not a test: it exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_snapshot import git_ot_command  # noqa: E402
from common import git, hermetic_env, log, p95, run_timed, scratch  # noqa: E402

# Bump when what is generated changes, so a cached repository is not reused.
CACHE_VERSION = 1
TEMPLATES = "refs/bench-templates/"
FIXTURES = ROOT / "tests" / "fixtures" / "claude-code"
TRANSCRIPTS = [FIXTURES / "recorded-2.1.328" / s / "transcript.jsonl"
               for s in ("linear-edit", "bash-writes", "parallel-tools", "commit-mid-turn")] + [
    FIXTURES / "spotter" / f for f in ("short.jsonl", "tool_heavy.jsonl", "subagent.jsonl")] + sorted(
    (FIXTURES / "entireio-cli").glob("*.jsonl"))
# (label, arguments): what people ask. {rare} is a word one session has.
QUERIES = [
    ("one session's word", ["{rare}"]),
    ("a word most have", ["greet"]),
    ("a phrase", ['"def greet"']),
    ("a prefix", ["sett*"]),
    ("an exclusion", ["--", "greet -hello"]),
    ("with filters", ["greet", "--harness", "claude-code", "--path", "*.py", "--since", "30d"]),
]


def session_id(n: int, seed: int) -> str:
    return f"{n:08x}-b0b0-4{seed:03x}-8000-{n * 7919 % 16**12:012x}"


def import_templates(repo: Path, env: dict) -> None:
    ot = git_ot_command()
    subprocess.run([*ot, "import", "claude-code", *map(str, TRANSCRIPTS)], cwd=repo, env=env,
                   check=True, capture_output=True)


class Generator:
    """New sessions from the templates' trees, their objects kept for one pack."""

    def __init__(self, repo: Path, seed: int):
        import pygit2

        from git_ot.store import packs, records

        self.packs = packs
        self.records = records
        self.path = repo
        self.repo = pygit2.Repository(str(repo))
        self.rng = random.Random(seed)
        self.seed = seed
        self.templates = []
        self.objects: dict[bytes, tuple[int, bytes]] = {}
        words: set[str] = set()
        for ref in sorted(r for r in self.repo.references if r.startswith(TEMPLATES)):
            tree = self.repo.revparse_single(ref).tree
            entries = {e.name.encode(): (packs.TREE_MODE if e.type_str == "tree" else packs.BLOB_MODE, e.id.raw)
                       for e in tree}
            manifest = json.loads(self.repo[tree["manifest.json"].id].data)
            trace = records.decode("trace", self.repo[tree["trace.cbor.zst"].id].data, ref)
            self.templates.append((entries, manifest, trace))
            for step in trace["steps"]:
                if step["kind"] in ("prompt", "message") and isinstance(step.get("text"), str):
                    words.update(w for w in re.findall(r"[A-Za-z][a-z]{3,12}", step["text"]))
        self.words = sorted(words)
        self.now = time.time()

    def _add(self, kind: int, data: bytes) -> bytes:
        name = {1: b"commit", 2: b"tree", 3: b"blob"}[kind]
        oid = hashlib.sha1(name + b" %d\0" % len(data) + data).digest()
        self.objects[oid] = (kind, data)
        return oid

    def prompt(self, n: int) -> str:
        k = self.rng.randint(6, 14)
        return " ".join(self.rng.choice(self.words) for _ in range(k)) + f" tkt{n}"

    def session(self, n: int) -> tuple[str, str]:
        """Session `n`'s objects (kept for `flush`); its ref name and commit id."""
        entries, manifest, trace = self.templates[n % len(self.templates)]
        sid = session_id(n, self.seed)
        start = self.now - self.rng.uniform(0, 365 * 86400)
        iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start)) + ".000000Z"
        steps = []
        for step in trace["steps"]:
            if step["kind"] == "prompt" and not step.get("parent"):
                step = {**step, "text": self.prompt(n)}
            steps.append(step)
        new_trace = {**trace, "session": sid, "steps": steps}
        new_manifest = {**manifest, "session": sid, "start": iso, "end": None}
        blob = self.packs.BLOB_MODE
        tree = dict(entries)
        tree[b"manifest.json"] = (blob, self._add(3, self.records.encode("manifest", new_manifest)))
        tree[b"trace.cbor.zst"] = (blob, self._add(3, self.records.encode("trace", new_trace)))
        tree_id = self._add(2, b"".join(tree[k][0] + b" " + k + b"\0" + tree[k][1] for k in sorted(
            tree, key=lambda k: k + b"/" if tree[k][0] == self.packs.TREE_MODE else k)))
        who = b"Bench <bench@example.com> 1700000000 +0000"
        commit = self._add(1, b"tree " + tree_id.hex().encode() + b"\nauthor " + who + b"\ncommitter " + who
                           + b"\n\nseal " + sid.encode() + b"\n")
        return f"refs/opentraces/sessions/{sid}", commit.hex()

    def flush(self) -> None:
        """Write the objects kept as one pack (the project's own pack writer)."""
        self.packs.write_pack(str(self.path / ".git" / "objects" / "pack"),
                              sorted((oid, kind, data) for oid, (kind, data) in self.objects.items()))
        self.objects.clear()


def write_refs(repo: Path, refs: list[tuple[str, str]]) -> None:
    lines = "".join(f"create {ref} {commit}\n" for ref, commit in refs)
    subprocess.run(["git", "update-ref", "--stdin"], cwd=repo, input=lines.encode(), check=True)


def build_repo(path: Path, sessions: int, seed: int, env: dict) -> None:
    """The cached repository: templates imported, `sessions` generated."""
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    git(tmp, "init", "-q")
    git(tmp, "config", "gc.auto", "0")
    (tmp / "app.py").write_text('def greet(name):\n    return "hi " + name\n')
    git(tmp, "add", "-A")
    git(tmp, "-c", "user.name=Bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m", "initial")
    start = time.perf_counter()
    import_templates(tmp, env)
    log(f"  templates imported in {time.perf_counter() - start:.1f} s")
    # The imported sessions become templates, out of git-ot's sight: only
    # generated sessions count.
    moves = "".join(f"create {TEMPLATES}{ref.rsplit('/', 1)[1]} {commit}\ndelete {ref}\n"
                    for ref, commit in (line.split()[::-1] for line in git(
                        tmp, "for-each-ref", "--format=%(objectname) %(refname)",
                        "refs/opentraces/sessions/").decode().splitlines()))
    subprocess.run(["git", "update-ref", "--stdin"], cwd=tmp, input=moves.encode(), check=True)
    start = time.perf_counter()
    gen = Generator(tmp, seed)
    refs = [gen.session(n) for n in range(sessions)]
    gen.flush()
    write_refs(tmp, refs)
    git(tmp, "pack-refs", "--all")
    log(f"  {sessions} sessions generated in {time.perf_counter() - start:.1f} s "
        f"({len(gen.templates)} templates, {len(gen.words)} words)")
    (tmp / ".git" / "bench-query-ready").write_text(f"{CACHE_VERSION}\n")
    shutil.rmtree(path, ignore_errors=True)
    tmp.rename(path)


def timed(argv: list[str], cwd: Path, env: dict) -> tuple[float, bytes]:
    return run_timed(argv, cwd, env)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--builds", type=int, default=1,
                        help="times the index is built from nothing (0: use the cached one)")
    parser.add_argument("--updates", type=int, default=5, help="incremental updates timed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rebuild-cache", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args(argv)

    with scratch("git-ot-bench-query-", args.keep) as tmp:
        home = tmp / "home"
        env = hermetic_env(home)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
        os.environ.clear()
        os.environ.update(env)
        cache = Path(f"/tmp/git-ot-bench-query-v{CACHE_VERSION}-{args.sessions}-{args.seed}")
        if args.rebuild_cache or not (cache / ".git" / "bench-query-ready").exists():
            log(f"generating {args.sessions} sessions in {cache} ...")
            build_repo(cache, args.sessions, args.seed, env)
        else:
            log(f"using the cached repository {cache}")
        repo = cache
        index = repo / ".git" / "opentraces" / "query.sqlite"
        ot = git_ot_command()
        version = [*ot, "--version"]
        rare_n = args.sessions // 2
        rare = f"tkt{rare_n}"
        problems: list[str] = []

        timed(version, repo, env)  # compile the bytecode once
        builds = []
        for _ in range(args.builds):
            index.unlink(missing_ok=True)
            ms, out = timed([*ot, "trace", "query", "--json", rare], repo, env)
            builds.append(ms)
            got = [s["session"] for s in json.loads(out)["sessions"]]
            if got != [session_id(rare_n, args.seed)]:
                problems.append(f"'{rare}' found {got[:3]}, not the one session that has it")
        if not builds:  # --builds 0: the index the cache holds, brought up to date untimed
            timed([*ot, "trace", "query", "--json", rare], repo, env)
        size = index.stat().st_size

        rows = []
        all_query: list[float] = []
        all_version: list[float] = []
        for label, qargs in QUERIES:
            cmd = [*ot, "trace", "query", "--json", *[a.format(rare=rare) for a in qargs]]
            _, out = timed(cmd, repo, env)
            hits = len(json.loads(out)["sessions"])
            a: list[float] = []
            b: list[float] = []
            for i in range(args.runs):
                if i % 2 == 0:
                    a.append(timed(cmd, repo, env)[0])
                    b.append(timed(version, repo, env)[0])
                else:
                    b.append(timed(version, repo, env)[0])
                    a.append(timed(cmd, repo, env)[0])
            all_query += a
            all_version += b
            rows.append({"figure": f"query: {label}", "argv": " ".join(qargs).format(rare=rare),
                         "sessions_shown": hits, "median_ms": statistics.median(a), "p95_ms": p95(a),
                         "version_median_ms": statistics.median(b)})

        gen = Generator(repo, args.seed + 1000)
        updates = []
        added = []
        for u in range(args.updates):
            n = args.sessions + u
            ref, commit = gen.session(n)
            gen.flush()
            write_refs(repo, [(ref, commit)])
            added.append(ref)
            ms, out = timed([*ot, "trace", "query", "--json", f"tkt{n}"], repo, env)
            updates.append(ms)
            got = [s["session"] for s in json.loads(out)["sessions"]]
            if got != [ref.rsplit("/", 1)[1]]:
                problems.append(f"the new session {ref} was not found by 'tkt{n}': {got[:3]}")
        # Leave the cache as it was: the added sessions go, the next query drops them.
        subprocess.run(["git", "update-ref", "--stdin"], cwd=repo, check=True,
                       input="".join(f"delete {r}\n" for r in added).encode())
        timed([*ot, "trace", "query", "--json", rare], repo, env)

        report = {
            "sessions": args.sessions, "runs": args.runs,
            "git_ot_version": subprocess.run(version, capture_output=True, text=True, env=env).stdout.strip(),
            "git": git(repo, "--version").decode().strip(), "python": platform.python_version(),
            "cpus": os.cpu_count(), "load_average": os.getloadavg()[0],
            "version_p50_ms": statistics.median(all_version),
            "query_p50_ms": statistics.median(all_query), "query_p95_ms": p95(all_query),
            "build_ms": builds, "index_bytes": size,
            "update_p50_ms": statistics.median(updates), "update_ms": updates,
            "rows": rows, "problems": problems,
        }
        if args.json:
            json.dump(report, sys.stdout, indent=2)
            sys.stdout.write("\n")
            return 0
        print(f"git-ot trace query benchmark: {args.sessions} sessions, {args.runs} runs per query, "
              f"{report['git_ot_version']}, {report['git']}, Python {report['python']}, "
              f"{report['cpus']} CPUs, load average {report['load_average']:.2f}")
        print()
        print(f"git ot --version p50:            {report['version_p50_ms']:8.1f} ms  (baseline)")
        print(f"trace query p50 (all queries):   {report['query_p50_ms']:8.1f} ms  "
              f"(p95 {report['query_p95_ms']:.1f} ms; target under 200 ms)")
        if builds:
            print(f"index build from nothing:        {statistics.median(builds):8.1f} ms  "
                  f"({size / 1e6:.1f} MB index)")
        print(f"incremental update (1 session):  {report['update_p50_ms']:8.1f} ms  p50 of {len(updates)}")
        print()
        head = f"{'figure':<32} {'median ms':>10} {'p95 ms':>9} {'--version ms':>13} {'shown':>6}  argv"
        print(head)
        print("-" * len(head))
        for r in rows:
            print(f"{r['figure']:<32} {r['median_ms']:>10.1f} {r['p95_ms']:>9.1f} "
                  f"{r['version_median_ms']:>13.1f} {r['sessions_shown']:>6}  {r['argv']}")
        for p in problems:
            print(f"problem: {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
