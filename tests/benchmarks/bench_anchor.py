#!/usr/bin/env python3
"""Anchoring benchmark: the post-commit hook, and notes carried through a rebase.

Run it as

    python tests/benchmarks/bench_anchor.py [--sessions 500] [--files 300] [--runs 15] [--json]

Part 1, the post-commit hook (`git-ot hook git post-commit`, the process the
installed git hook runs), in two repositories built alike except for their
history: one with 1 earlier session, one with `--sessions` earlier sessions.
Every earlier session edited files (through the real capture code: snapshots
around each tool, spooled events, a seal) and its work was committed and
anchored, as with the hooks installed all along; half of them edited the
file the measured commits touch. Before each timed run, untimed: a new
session edits that file and another one, the turn ends (the session is
sealed), and the human commits with git's hooks off. Timed: the hook
process, which anchors that commit (reads the windows index, follows the
lines through the snapshots, writes the note and the session's anchors).
The two repositories are timed alternately. Also timed: the same hook with
the windows index deleted before each run (its one-time rebuild), and
`git commit` itself, for scale, and, alternately with the plain hook, the
hook for a commit in which the human also typed a line into the file half
the earlier sessions wrote (that line is checked against every text their
windows wrote there). Target: at most 150 ms, independent of the number of
earlier sessions.

Part 2, rewriting notes for a rebase: 100 anchored commits, each touching
some of 10 files that agent sessions edited, are rebased onto a new base
(with git's hooks off); timed is `git-ot hook git post-rewrite rebase` with
git's list of the 100 "<old> <new>" pairs on its standard input. Before
each run the notes ref and the session refs are put back, so every run does
the same work. Baseline: git's own rewriting of notes, `git notes copy
--stdin` for the same pairs (which copies each note unchanged, where git-ot
maps every line range through the rewritten content). Target: under 300 ms.

The processes run as an installed git-ot runs: with compiled bytecode (in a
temporary PYTHONPYCACHEPREFIX). It is a report, not a test: it exits 0
whatever the figures. Timings use Python's time.perf_counter.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_snapshot import code_text, git_ot_command  # noqa: E402
from common import git, hermetic_env, log, p95, run_timed, scratch  # noqa: E402

HOT = "src/app.py"


def commit_without_hooks(repo: Path, message: str, *paths: str) -> None:
    git(repo, "add", *(paths or ["-A"]))
    git(repo, "-c", f"core.hooksPath={repo.parent / 'nohooks'}", "commit", "-q", "-m", message)


class Capture:
    """Sessions recorded in-process through the real capture and seal code."""

    def __init__(self, repo: Path):
        from git_ot.store.gitdir import locate
        from git_ot.store.repository import Store

        self.repo = repo
        self.location = locate(str(repo))
        self.store = Store(self.location)
        self.calls = 0

    def event(self, name: str, payload: dict) -> None:
        from git_ot.capture import hook
        from git_ot.capture.claude_code import hooks as claude_code

        payload = {**payload, "cwd": str(self.repo), "hook_event_name": name}
        hook.record(self.location, claude_code.normalise(name, payload))

    def session(self, sid: str, edits: list[tuple[str, str]], prompt: str = "change it") -> None:
        """One turn: a prompt, an Edit per (path, new text), then the turn's end (a seal)."""
        from git_ot.domain.sealing import seal

        self.event("UserPromptSubmit", {"session_id": sid, "prompt": prompt})
        for path, text in edits:
            self.calls += 1
            p = {"session_id": sid, "tool_name": "Edit", "tool_use_id": f"t{self.calls}",
                 "tool_input": {"file_path": str(self.repo / path)}}
            self.event("PreToolUse", p)
            full = self.repo / path
            full.parent.mkdir(parents=True, exist_ok=True)
            full.write_text(text)
            self.event("PostToolUse", {**p, "tool_response": {}})
        self.event("Stop", {"session_id": sid})
        seal(self.store, sid)

    def anchor_head(self) -> None:
        from git_ot.domain.trail.githooks import post_commit

        post_commit(self.store)


def edited(path: Path, rng: random.Random, tag: str) -> str:
    """The file with a few lines rewritten and a few added, as an agent's edit."""
    lines = path.read_text().splitlines(keepends=True) if path.exists() else []
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(lines) + 1)
        lines[i:i] = [f"    {tag}_{rng.randint(0, 9999)} = compute({rng.random():.5f})\n"]
    if lines and rng.random() < 0.5:
        j = rng.randrange(len(lines))
        lines[j] = f"    # {tag} rewrote this line\n"
    return "".join(lines)


def make_repo(root: Path, name: str, files: int, seed: int) -> tuple[Path, list[str]]:
    rng = random.Random(seed)
    repo = root / name
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "config", "gc.auto", "0")
    paths = [HOT] + [f"src/mod{n // 40}/file_{n}.py" for n in range(files - 1)]
    for p in paths:
        full = repo / p
        full.parent.mkdir(parents=True, exist_ok=True)
        full.write_text(code_text(rng, rng.randint(1024, 6144)))
    commit_without_hooks(repo, "initial")
    return repo, paths


def earlier_sessions(repo: Path, paths: list[str], count: int, seed: int) -> None:
    """`count` sessions, each committed and anchored; half of them edit HOT."""
    rng = random.Random(seed)
    cap = Capture(repo)
    for n in range(count):
        targets = [HOT] if n % 2 == 0 else []
        targets += rng.sample(paths[1:], 1)
        cap.session(f"earlier-{n:04d}", [(p, edited(repo / p, rng, f"s{n}")) for p in targets])
        commit_without_hooks(repo, f"earlier {n}")
        cap.anchor_head()
        if count >= 50 and n % 50 == 49:
            log(f"    {n + 1} sessions")


def timed(argv: list[str], cwd: Path, input: bytes | None = None) -> float:
    return run_timed(argv, cwd, input=input)[0]


def summary(name: str, samples: list[float], baseline_name: str | None = None,
            baseline: list[float] | None = None) -> dict:
    row = {"figure": name, "median_ms": statistics.median(samples), "p95_ms": p95(samples),
           "samples_ms": [round(x, 3) for x in samples]}
    if baseline is not None:
        row.update(baseline=baseline_name, baseline_median_ms=statistics.median(baseline),
                   baseline_p95_ms=p95(baseline),
                   ratio=statistics.median(samples) / statistics.median(baseline),
                   baseline_samples_ms=[round(x, 3) for x in baseline])
    text = f"  {name:<52} {row['median_ms']:8.1f} ms (p95 {row['p95_ms']:.1f})"
    if baseline is not None:
        text += f"  vs {row['baseline_median_ms']:8.1f} ms  ratio {row['ratio']:.2f}"
    log(text)
    return row


class PostCommit:
    """Part 1: one repository, and what each timed run anchors."""

    def __init__(self, repo: Path, paths: list[str], seed: int):
        self.repo, self.paths = repo, paths
        self.rng = random.Random(seed)
        self.cap = Capture(repo)
        self.n = 0
        self.problems: list[str] = []

    def prepare(self, human_line: bool = False) -> None:
        """A new session edits HOT and one other file; the human commits, hooks off.

        With `human_line`, the human also types a line into HOT first: a line
        that changed outside every window, in a file agent windows wrote, which
        is checked against every text those windows wrote (a put-back line,
        as a `git stash pop` makes, is not the human's).
        """
        self.n += 1
        other = self.rng.choice(self.paths[1:])
        self.cap.session(f"measured-{self.n:04d}", [(p, edited(self.repo / p, self.rng, f"m{self.n}"))
                                                   for p in (HOT, other)])
        if human_line:
            with open(self.repo / HOT, "a") as fh:
                fh.write(f"typed_by_hand_{self.n} = {self.rng.random():.6f}\n")
        commit_without_hooks(self.repo, f"measured {self.n}")

    def hook(self) -> float:
        ms = timed([*git_ot_command(), "hook", "git", "post-commit"], self.repo)
        note = subprocess.run(["git", "notes", "--ref=opentraces", "show", "HEAD"], cwd=self.repo,
                              capture_output=True, text=True).stdout
        if f"measured-{self.n:04d}" not in note:
            self.problems.append(f"{self.repo.name}: the hook wrote no agent line for commit {self.n}")
        return ms

    def drop_index(self) -> None:
        try:
            os.unlink(self.repo / ".git" / "opentraces" / "windows.json")
        except FileNotFoundError:
            pass

    def commit_only(self) -> float:
        """For scale: `git commit` of a small change, hooks off."""
        self.n += 1
        (self.repo / "scratch.txt").write_text(f"{self.n}\n")
        git(self.repo, "add", "scratch.txt")
        return timed(["git", "-c", f"core.hooksPath={self.repo.parent / 'nohooks'}", "commit", "-q",
                      "-m", f"scratch {self.n}"], self.repo)


def part1(tmp: Path, args) -> tuple[list[dict], list[str]]:
    log("part 1: the post-commit hook")
    repos = {}
    for count in (1, args.sessions):
        start = time.perf_counter()
        repo, paths = make_repo(tmp, f"repo-{count}", args.files, args.seed)
        earlier_sessions(repo, paths, count, args.seed)
        repos[count] = PostCommit(repo, paths, args.seed + count)
        log(f"  built {repo.name} ({count} earlier sessions) in {time.perf_counter() - start:.1f} s")
    small, big = repos[1], repos[args.sessions]
    for r in (small, big):  # warm-up
        r.prepare()
        r.hook()
    a: list[float] = []
    b: list[float] = []
    for i in range(args.runs):
        order = (small, big) if i % 2 == 0 else (big, small)
        for r in order:
            r.prepare()
            (a if r is small else b).append(r.hook())
    rows = [summary("post-commit hook, 1 earlier session", a),
            summary(f"post-commit hook, {args.sessions} earlier sessions", b,
                    "1 earlier session", a)]
    cold: list[float] = []
    for _ in range(max(3, args.runs // 3)):
        big.prepare()
        big.drop_index()
        cold.append(big.hook())
    rows.append(summary(f"  same, windows index deleted first ({args.sessions})", cold))
    plain: list[float] = []
    typed: list[float] = []
    for i in range(args.runs):
        for human_line in ((False, True) if i % 2 == 0 else (True, False)):
            big.prepare(human_line)
            (typed if human_line else plain).append(big.hook())
    rows.append(summary(f"  same, a human line in {HOT} ({args.sessions})", typed,
                        "without it", plain))
    commits = [big.commit_only() for _ in range(args.runs)]
    rows.append(summary("reference: git commit (hooks off)", commits))
    return rows, small.problems + big.problems


def part2(tmp: Path, args) -> tuple[list[dict], list[str]]:
    log("part 2: notes through a rebase of 100 commits")
    rng = random.Random(args.seed + 7)
    repo, paths = make_repo(tmp, "repo-rebase", 40, args.seed + 7)
    agent_files = paths[:10]
    cap = Capture(repo)
    git(repo, "branch", "base")
    for n in range(100):
        touched = rng.sample(agent_files, rng.randint(1, 3))
        cap.session(f"rb-{n:03d}", [(p, edited(repo / p, rng, f"r{n}")) for p in touched])
        commit_without_hooks(repo, f"work {n}")
        cap.anchor_head()
    old = git(repo, "rev-list", "--reverse", "base..HEAD").decode().split()
    git(repo, "checkout", "-q", "base")
    (repo / "UNRELATED.md").write_text("a new base\n")
    commit_without_hooks(repo, "new base", "UNRELATED.md")
    git(repo, "checkout", "-q", "main")
    git(repo, "-c", f"core.hooksPath={tmp / 'nohooks'}", "rebase", "-q", "base")
    new = git(repo, "rev-list", "--reverse", "base..HEAD").decode().split()
    assert len(old) == len(new) == 100, (len(old), len(new))
    pairs = "".join(f"{o} {n}\n" for o, n in zip(old, new)).encode()
    saved = git(repo, "for-each-ref", "--format=%(objectname) %(refname)",
                "refs/opentraces/", "refs/notes/opentraces").decode().splitlines()
    index = repo / ".git" / "opentraces" / "windows.json"
    index_copy = index.read_bytes() if index.exists() else None

    def restore() -> None:
        git(repo, "update-ref", "--stdin",
            input="".join(f"update {line.split()[1]} {line.split()[0]}\n" for line in saved).encode())
        if index_copy is not None:
            index.write_bytes(index_copy)

    problems: list[str] = []
    checked = []

    def ours() -> float:
        restore()
        ms = timed([*git_ot_command(), "hook", "git", "post-rewrite", "rebase"], repo, input=pairs)
        if not checked:  # once: every new commit got its note, agent lines included
            checked.append(True)
            listed = set(git(repo, "notes", "--ref=opentraces", "list").decode().split())
            missing = sum(1 for n in new if n not in listed)
            if missing:
                problems.append(f"post-rewrite left {missing} of the 100 new commits without a note")
            if b"rb-099" not in git(repo, "notes", "--ref=opentraces", "show", new[-1]):
                problems.append("the last rebased commit's note has no agent line")
        return ms

    def theirs() -> float:
        restore()
        return timed(["git", "notes", "--ref=opentraces", "copy", "--stdin"], repo, input=pairs)

    ours(), theirs()
    a: list[float] = []
    b: list[float] = []
    for i in range(args.runs):
        if i % 2 == 0:
            a.append(ours())
            b.append(theirs())
        else:
            b.append(theirs())
            a.append(ours())
    restore()
    return [summary("post-rewrite hook, rebase of 100 commits", a,
                    "git notes copy --stdin", b)], problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=500, help="earlier sessions (default 500)")
    parser.add_argument("--files", type=int, default=300, help="files in the repositories (default 300)")
    parser.add_argument("--runs", type=int, default=15, help="runs of each figure (default 15)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the temporary repositories")
    args = parser.parse_args(argv)

    with scratch("git-ot-bench-anchor-", args.keep) as tmp:
        home = tmp / "home"
        home.mkdir()
        (tmp / "nohooks").mkdir()
        env = hermetic_env(home)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
        os.environ.clear()
        os.environ.update(env)
        rows1, problems1 = part1(tmp, args)
        rows2, problems2 = part2(tmp, args)
        result = {"sessions": args.sessions, "files": args.files, "runs": args.runs,
                  "git": git(tmp, "--version").decode().strip(), "python": platform.python_version(),
                  "cpus": os.cpu_count(), "load_average": os.getloadavg()[0],
                  "rows": rows1 + rows2, "problems": problems1 + problems2}
        if args.json:
            json.dump(result, sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            print(f"git-ot anchoring benchmark: {args.runs} runs, {result['git']}, "
                  f"Python {result['python']}, {result['cpus']} CPUs, "
                  f"load average {result['load_average']:.2f}")
            head = f"{'figure':<54} {'median ms':>10} {'p95 ms':>8} {'baseline ms':>12} {'ratio':>6}"
            print()
            print(head)
            print("-" * len(head))
            for row in result["rows"]:
                base = (f"{row['baseline_median_ms']:>12.1f} {row['ratio']:>6.2f}  ({row['baseline']})"
                        if "baseline" in row else "")
                print(f"{row['figure']:<54} {row['median_ms']:>10.1f} {row['p95_ms']:>8.1f} {base}")
            for problem in result["problems"]:
                print(f"warning: {problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
