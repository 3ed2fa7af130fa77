#!/usr/bin/env python3
"""`git ot blame pr` over a 50-commit range, beside `git ot blame commit` of one commit.

Run it as

    python tests/benchmarks/bench_blame_pr.py [--commits 50] [--sessions 10] [--runs 7] [--json] [--keep]

It builds, in a temporary directory, a repository with git-ot's git hooks
(`git ot init`) and a branch of `--commits` commits over ten Python files:
`--sessions` Claude Code sessions, driven through the real hook processes
(`git ot hook claude-code ...`, as Claude Code calls them), each a prompt
and a few Edit calls, each Edit committed on its own (the post-commit hook
anchors it); every third commit is a person's edit instead, some of them
of lines an agent wrote. The range is the branch against main.

Timed, as whole processes, alternately after one untimed round:
`git ot blame pr main..feature` as md, html and json, `git ot blame commit`
of the range's middle commit (what the report does once per commit), and
`git ot --version` (the start-up every command pays). Before timing, the
report is checked: every commit is in it and agent work is found.

It is a report, not a test: it exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import git, hermetic_env, log, p95, run_timed, scratch  # noqa: E402
from bench_snapshot import git_ot_command  # noqa: E402


def _hook(repo: Path, env: dict, event: str, payload: dict) -> None:
    payload = {**payload, "cwd": str(repo), "hook_event_name": event}
    subprocess.run([*git_ot_command(), "hook", "claude-code", event], cwd=repo, env=env,
                   input=json.dumps(payload).encode(), check=True, capture_output=True)


def build(repo: Path, env: dict, commits: int, sessions: int) -> None:
    repo.mkdir()
    git(repo, "init", "-q")
    files = {f"mod{i}.py": [f"def f{i}_{k}(x):\n    return x + {k}\n\n" for k in range(10)] for i in range(10)}
    for name, lines in files.items():
        (repo / name).write_text("".join(lines))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "initial")
    subprocess.run([*git_ot_command(), "init"], cwd=repo, env=env, check=True, capture_output=True)
    git(repo, "checkout", "-q", "-b", "feature")
    agent_commits = commits - commits // 3
    per_session = max(1, -(-agent_commits // sessions))
    made = 0
    call = 0
    session_n = 0
    while made < commits:
        sid = f"bench-{session_n:03d}"
        session_n += 1
        _hook(repo, env, "SessionStart", {"session_id": sid, "source": "startup", "model": "claude-opus-4-5"})
        _hook(repo, env, "UserPromptSubmit", {"session_id": sid,
                                              "prompt": f"session {session_n}: add helpers to the modules\n\n"
                                                        f"keep each one small"})
        for _ in range(per_session):
            if made >= commits:
                break
            if made % 3 == 2:
                # A person's edit: rewrite the last line an agent added to a file, or add one.
                name = f"mod{made % 10}.py"
                lines = files[name]
                lines[-1] = lines[-1].replace("return x *", "return x **")
                lines.append(f"PERSON_{made} = {made}\n")
                (repo / name).write_text("".join(lines))
                git(repo, "commit", "-q", "-am", f"Person's change {made}")
                made += 1
                continue
            name = f"mod{made % 10}.py"
            call += 1
            payload = {"session_id": sid, "tool_name": "Edit", "tool_use_id": f"toolu_{call:06d}",
                       "tool_input": {"file_path": str(repo / name)}}
            _hook(repo, env, "PreToolUse", payload)
            files[name].append(f"def agent_{made}(x):\n    # agent {made}\n    return x * {made}\n")
            (repo / name).write_text("".join(files[name]))
            _hook(repo, env, "PostToolUse", {**payload, "tool_response": {}})
            git(repo, "commit", "-q", "-am", f"Agent change {made}\n\nFrom {sid}.")
            made += 1
        _hook(repo, env, "Stop", {"session_id": sid, "last_assistant_message": "Done."})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=50)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = parser.parse_args(argv)
    with scratch("bench-blame-pr-", args.keep) as tmp:
        env = hermetic_env(tmp / "home")
        os.environ.update(env)  # common.git runs in this process's environment
        env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
        repo = tmp / "repo"
        log(f"building {args.commits} commits over {args.sessions} sessions through the hooks ...")
        build(repo, env, args.commits, args.sessions)
        ot = git_ot_command()
        report = json.loads(subprocess.run([*ot, "blame", "pr", "main..feature", "--json"], cwd=repo, env=env,
                                           check=True, capture_output=True).stdout)
        assert report["summary"]["commits"] == args.commits, report["summary"]
        assert report["summary"]["agent_work"] and report["summary"]["hunks"]["total"] > 0, report["summary"]
        middle = git(repo, "rev-list", "--reverse", "main..feature").split()[args.commits // 2].decode()
        figures = {
            "git ot blame pr main..feature (md)": [*ot, "blame", "pr", "main..feature"],
            "git ot blame pr main..feature --format html": [*ot, "blame", "pr", "main..feature",
                                                            "--format", "html"],
            "git ot blame pr main..feature --json": [*ot, "blame", "pr", "main..feature", "--json"],
            "git ot blame commit (one commit of the range)": [*ot, "blame", "commit", middle],
            "git ot --version": [*ot, "--version"],
        }
        samples: dict[str, list[float]] = {k: [] for k in figures}
        for argv_ in figures.values():
            run_timed(argv_, repo, env)  # untimed round: caches warm
        for i in range(args.runs):
            order = list(figures.items())
            if i % 2:
                order.reverse()
            for name, argv_ in order:
                samples[name].append(run_timed(argv_, repo, env)[0])
        rows = [{"figure": k, "median_ms": round(statistics.median(v), 1), "p95_ms": round(p95(v), 1)}
                for k, v in samples.items()]
        one = statistics.median(samples["git ot blame commit (one commit of the range)"])
        base = statistics.median(samples["git ot --version"])
        if args.json:
            print(json.dumps({"commits": args.commits, "sessions": args.sessions, "runs": args.runs,
                              "hunks": report["summary"]["hunks"]["total"], "rows": rows}, indent=2))
            return 0
        print(f"git-ot blame pr benchmark: {args.commits} commits ({report['summary']['traced']} traced to a "
              f"prompt), {report['summary']['hunks']['total']} agent hunks, {args.sessions} sessions; "
              f"{args.runs} runs; Python {platform.python_version()}")
        print()
        head = f"{'figure':<48} {'median ms':>10} {'p95 ms':>9}"
        print(head)
        print("-" * len(head))
        for r in rows:
            print(f"{r['figure']:<48} {r['median_ms']:>10.1f} {r['p95_ms']:>9.1f}")
        pr_ms = statistics.median(samples["git ot blame pr main..feature --json"])
        print()
        print(f"blame pr --json: {pr_ms / one:.1f}x one blame commit, {pr_ms / base:.1f}x git ot --version; "
              f"{(pr_ms - base) / args.commits:.1f} ms per commit beyond start-up")
    return 0


if __name__ == "__main__":
    sys.exit(main())
