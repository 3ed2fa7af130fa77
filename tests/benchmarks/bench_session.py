#!/usr/bin/env python3
"""Session benchmark: what capture costs a whole agent session.

Run it as

    python tests/benchmarks/bench_session.py [--harness claude-code] [--pairs 3] [--files 200] [--json]

For each harness it runs the same two-prompt session with the real CLI
(tests/support/agents.py pins the version; the scripted model of
tests/support answers on loopback: scripted_model.py for Claude Code,
scripted_responses.py for Codex; scripted_model.py
through a models.json provider for Pi), in pairs: once in a repository where
git-ot is not set up (the baseline) and once in an identical repository
after `git ot init` and `git ot install <harness>` (capture on), the order
within a pair alternating. Each run gets a fresh copy of the repository and
a scratch HOME, so no run sees another's state. The figure is the median
wall time of the two prompts together, capture on against capture off, and
their ratio; the target is at most 1.3x.

The session: prompt 1 writes a new file, edits a tracked one and reads a
third; prompt 2 runs a shell command that writes a file and edits the new
file again. Five tool calls, as in the issue's measurement. Codex does the
same with apply_patch for the write and the edits and its shell for the
read, the second prompt through `codex exec resume --last`; its install
records Codex's trust in the hooks (through `codex app-server`), so the CLI
is put on PATH for it. That runs Codex, which sets up its home the first
time it runs (its state databases): each Codex run, capture on or off,
starts from a home set up that way (`codex_prepare`), as a user's is. Pi does the same with its write, edit, read and bash
tools, the second prompt through `pi -p -c`; its install writes the
project's extension (.pi/extensions/git-ot.ts).

It is a report, not a test: it exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for path in (str(ROOT), str(HERE), str(ROOT / "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)

from common import git, hermetic_env, log, scratch  # noqa: E402
from support import agents  # noqa: E402
from support.scripted_model import ScriptedModel  # noqa: E402
from support.scripted_responses import ScriptedResponses, codex_config  # noqa: E402
from git_ot.capture.codex.config import _AppServer  # noqa: E402

TARGET = 1.3
VENV_BIN = os.path.dirname(sys.executable)


def make_repo(path: Path, files: int) -> None:
    path.mkdir(parents=True)
    git(path, "init", "-q")
    (path / "src").mkdir()
    for i in range(files):
        (path / "src" / f"mod{i:04d}.py").write_text(
            "".join(f"def f{i}_{j}(x):\n    return x + {j}\n\n" for j in range(20)))
    (path / "README.md").write_text("# bench\n")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "base")


def claude_code_session(cli: str, repo: Path, home: Path, env: dict) -> float:
    script = [
        {"say": "Writing.", "tool": "Write",
         "input": {"file_path": str(repo / "new.py"), "content": "def new():\n    return 1\n"}},
        {"say": "Editing.", "tool": "Edit",
         "input": {"file_path": str(repo / "src" / "mod0000.py"),
                   "old_string": "return x + 0\n", "new_string": "return x + 100\n"}},
        {"say": "Reading.", "tool": "Read", "input": {"file_path": str(repo / "README.md")}},
        {"text": "Done with the first."},
        {"say": "Running.", "tool": "Bash", "input": {"command": "echo generated > gen.txt",
                                                      "description": "write a file"}},
        {"say": "Editing again.", "tool": "Edit",
         "input": {"file_path": str(repo / "new.py"), "old_string": "return 1\n",
                   "new_string": "return 2\n"}},
        {"text": "Done with the second."},
    ]
    total = 0.0
    with ScriptedModel(script) as model:
        run_env = {**env, "HOME": str(home), "ANTHROPIC_BASE_URL": model.url,
                   "ANTHROPIC_API_KEY": "sk-ant-test",
                   "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "IS_SANDBOX": "1"}
        session = None
        for prompt in ("write, edit and read", "generate and edit"):
            args = [cli, "-p", prompt, "--dangerously-skip-permissions", "--output-format", "json"]
            if session:
                args += ["--resume", session]
            start = time.perf_counter()
            proc = subprocess.run(args, cwd=repo, env=run_env, capture_output=True, text=True,
                                  timeout=300, stdin=subprocess.DEVNULL)
            total += time.perf_counter() - start
            if proc.returncode != 0:
                raise RuntimeError(f"claude failed: {proc.stderr[-500:]}")
            session = json.loads(proc.stdout)["session_id"]
    if (repo / "gen.txt").read_text() != "generated\n":
        raise RuntimeError("the scripted session did not run its tools")
    return total


def codex_prepare(cli: str, repo: Path, home: Path, env: dict) -> None:
    """Codex's configuration, pointed at the scripted server (whose port
    each run gives with `-c`), and its home set up as a user's is: the first
    time Codex runs it creates its state databases there, which makes that
    run slower. `git ot install codex` runs Codex (`codex app-server`, to
    record its trust), so without this the capture-on runs would start with
    a home already set up and the baseline without one. Both start alike:
    here, with one `initialize` asked of `codex app-server`."""
    (home / ".codex").mkdir(parents=True, exist_ok=True)
    (home / ".codex" / "config.toml").write_text(codex_config("http://127.0.0.1:9/v1"))
    # The same conversation `git ot install codex` has with it.
    with _AppServer(cli, str(repo), {**env, "HOME": str(home), "CODEX_HOME": str(home / ".codex")}) as server:
        server.call("initialize", {"clientInfo": {"name": "bench", "title": "bench", "version": "0"}})
    if not (home / ".codex" / "installation_id").exists():
        raise RuntimeError("codex app-server did not set up its home")


def codex_session(cli: str, repo: Path, home: Path, env: dict) -> float:
    script = [
        {"tool": "apply_patch", "input": "*** Begin Patch\n*** Add File: new.py\n+def new():\n"
                                         "+    return 1\n*** End Patch\n"},
        {"tool": "apply_patch", "input": "*** Begin Patch\n*** Update File: src/mod0000.py\n@@\n"
                                         "-    return x + 0\n+    return x + 100\n*** End Patch\n"},
        {"tool": "exec_command", "input": {"cmd": "cat README.md"}},
        {"text": "Done with the first."},
        {"tool": "exec_command", "input": {"cmd": "echo generated > gen.txt"}},
        {"tool": "apply_patch", "input": "*** Begin Patch\n*** Update File: new.py\n@@\n"
                                         "-    return 1\n+    return 2\n*** End Patch\n"},
        {"text": "Done with the second."},
    ]
    total = 0.0
    with ScriptedResponses(script) as model:
        run_env = {**env, "HOME": str(home), "CODEX_HOME": str(home / ".codex"),
                   "SCRIPTED_API_KEY": "sk-test"}
        for n, prompt in enumerate(("write, edit and read", "generate and edit")):
            args = [cli, "exec", "-c", f'model_providers.scripted.base_url="{model.url}"',
                    "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox"]
            args += ["resume", "--last", prompt] if n else [prompt]
            start = time.perf_counter()
            proc = subprocess.run(args, cwd=repo, env=run_env, capture_output=True, text=True,
                                  timeout=300, stdin=subprocess.DEVNULL)
            total += time.perf_counter() - start
            if proc.returncode != 0:
                raise RuntimeError(f"codex failed: {proc.stderr[-500:]}")
    if (repo / "gen.txt").read_text() != "generated\n":
        raise RuntimeError("the scripted session did not run its tools")
    return total


def pi_session(cli: str, repo: Path, home: Path, env: dict) -> float:
    rel = lambda name: str(repo / name)  # noqa: E731
    script = [
        {"say": "Writing.", "tool": "write",
         "input": {"path": rel("new.py"), "content": "def new():\n    return 1\n"}},
        {"say": "Editing.", "tool": "edit",
         "input": {"path": rel("src/mod0000.py"),
                   "edits": [{"oldText": "return x + 0\n", "newText": "return x + 100\n"}]}},
        {"say": "Reading.", "tool": "read", "input": {"path": rel("README.md")}},
        {"text": "Done with the first."},
        {"say": "Running.", "tool": "bash", "input": {"command": "echo generated > gen.txt"}},
        {"say": "Editing again.", "tool": "edit",
         "input": {"path": rel("new.py"), "edits": [{"oldText": "return 1\n", "newText": "return 2\n"}]}},
        {"text": "Done with the second."},
    ]
    agent_dir = home / "pi-agent"
    agent_dir.mkdir(parents=True, exist_ok=True)
    total = 0.0
    with ScriptedModel(script) as model:
        (agent_dir / "models.json").write_text(json.dumps({"providers": {"fake": {
            "baseUrl": model.url, "api": "anthropic-messages", "apiKey": "sk-ant-test",
            "models": [{"id": "claude-scripted", "name": "Claude Scripted", "reasoning": False,
                        "contextWindow": 200000, "maxTokens": 8192}]}}}))
        run_env = {**env, "HOME": str(home), "PI_CODING_AGENT_DIR": str(agent_dir), "PI_OFFLINE": "1"}
        for n, prompt in enumerate(("write, edit and read", "generate and edit")):
            args = [cli, "-p", *(["-c"] if n else []), "--provider", "fake", "--model",
                    "claude-scripted", prompt]
            start = time.perf_counter()
            proc = subprocess.run(args, cwd=repo, env=run_env, capture_output=True, text=True,
                                  timeout=300, stdin=subprocess.DEVNULL)
            total += time.perf_counter() - start
            if proc.returncode != 0:
                raise RuntimeError(f"pi failed: {proc.stderr[-500:]}")
    if (repo / "gen.txt").read_text() != "generated\n":
        raise RuntimeError("the scripted session did not run its tools")
    return total


SESSIONS = {"claude-code": claude_code_session, "codex": codex_session, "pi": pi_session}
# What a harness needs in its scratch HOME before `git ot install` runs.
PREPARE = {"codex": codex_prepare}


def run_one(harness: str, cli: str, template: Path, work: Path, capture: bool, n: int) -> float:
    repo = work / f"{harness}-{'on' if capture else 'off'}-{n}" / "repo"
    home = repo.parent / "home"
    shutil.copytree(template, repo, symlinks=True)
    env = hermetic_env(home)
    env = {k: v for k, v in env.items() if not k.startswith(agents.FOREIGN_ENV)}
    # The CLI on PATH too: `git ot install codex` asks codex to record its trust.
    env["PATH"] = os.pathsep.join([VENV_BIN, os.path.dirname(cli), env.get("PATH", "")])
    if harness in PREPARE:
        PREPARE[harness](cli, repo, home, env)
    if capture:
        for args in (["init"], ["install", harness]):
            subprocess.run(["git", "ot", *args], cwd=repo, env=env, check=True, capture_output=True)
    seconds = SESSIONS[harness](cli, repo, home, env)
    if capture:
        listed = subprocess.run(["git", "ot", "trace", "list", "--json"], cwd=repo, env=env,
                                check=True, capture_output=True, text=True).stdout
        if len(json.loads(listed)["sessions"]) != 1:
            raise RuntimeError(f"capture on, but {listed!r} sessions")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--harness", action="append", choices=sorted(SESSIONS),
                        help="a harness to measure (repeatable); default: every one")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    results = {}
    with scratch("git-ot-bench-session-", args.keep) as work:
        template = work / "template"
        make_repo(template, args.files)
        for harness in args.harness or sorted(SESSIONS):
            cli = agents.find(harness)
            if cli is None:
                log(f"{harness}: CLI not installed; skipped")
                continue
            on: list[float] = []
            off: list[float] = []
            for n in range(args.pairs):
                order = (False, True) if n % 2 == 0 else (True, False)
                for capture in order:
                    t = run_one(harness, cli, template, work, capture, n)
                    (on if capture else off).append(t)
                    log(f"{harness} pair {n + 1} capture {'on ' if capture else 'off'}: {t:.2f} s")
            med_on, med_off = statistics.median(on), statistics.median(off)
            results[harness] = {"capture_off_s": round(med_off, 3), "capture_on_s": round(med_on, 3),
                                "ratio": round(med_on / med_off, 3), "pairs": args.pairs,
                                "target_ratio": TARGET}
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"two-prompt, five-tool session; medians of {args.pairs} interleaved pairs; "
          f"target at most {TARGET}x")
    for harness, r in results.items():
        print(f"{harness:12} capture off {r['capture_off_s']:6.2f} s   capture on "
              f"{r['capture_on_s']:6.2f} s   ratio {r['ratio']:.2f}x")


if __name__ == "__main__":
    main()
