"""Property: `git ot blame` agrees with an independent model of who wrote each line.

Hypothesis draws short histories (4 to 10 operations) and plays each on a
repository of its own, made by `git ot init` and two human commits (files of
five lines, so that not every two changes conflict):

- an agent edit: one tool call of one of two sessions, driven through the
  real hook processes by `Agent` (PreToolUse, the change, PostToolUse),
  sometimes after a new prompt, sometimes ending the turn. The tool is Edit
  (its input names the one file it writes), and then while it runs the human
  may edit another file, or another Edit or Bash call (of either session) may
  run and write another file; or it is Bash (its input names no file),
  writing one file or two;
- a human edit: a plain write, outside every tool window;
- `git add -A && git commit`, by the human or inside an agent's Bash call;
  `git add FILE && git commit` of one file, sometimes with a change made
  between the two (so the commit takes the staged lines, not the working
  tree's);
- `git commit --amend`, after a human or agent change of its own or not;
- `git rebase -i` of the last two or three commits that reorders, squashes,
  fixes up or drops one of them;
- a commit on a side branch, and `git cherry-pick` (plain, `-x`, or `-n`
  then `git commit`) of a side commit onto main;
- `git revert` of one of the last commits of main (which may be a revert).

The model is not git-ot's code. Every line ever written has content no other
line has, so a line's content names it, and the model maps content to the
writer: the session and step whose tool wrote it, or the human. The model's
edits make the files; after git itself moved lines (a rebase, a pick, a
revert, a checkout) the files are read back, and every line in them must be
one that was written, once. A line keeps its writer wherever git takes it,
as refs/README.md (section 11) says the notes do: through amend and rebase
(while its text is unchanged), through a cherry-pick, and through a revert,
whose restored lines are the lines as they were before the reverted commit
(so a revert of a revert gives the agent its lines back).

After every commit, every file is blamed (`git ot blame --json FILE`, and
`FILE HEAD` when the working tree differs from HEAD; uncommitted lines are
attributed from the working tree's history), and so are the files at the end
of the history. A line the model says session S step N wrote must be
attributed to exactly S and N (and a hunk of step N); a line the human wrote
must be the human's.

Where a gap (`unknown`) is allowed: nowhere. Each reason refs/README.md gives
for one is kept out of these histories by construction: no commit predates
`git ot init`, and cherry-picks and reverts are anchored when git makes them
(`not-anchored`); no file changes while two windows that could have
written it are open (an Edit window is no candidate for another file; a Bash
window, which could write any, never has another change made while it runs),
and no commit is made while a tool that wrote runs (`ambiguous`, `running`);
no file is large, binary, redacted or named with bytes that are not UTF-8
(`unknown`). So any `unknown` is reported as a GAP and any other mismatch as
WRONG, and both fail the test.

Operations git refuses (nothing to commit, a rebase, pick or revert that
conflicts or would be empty, a history too short to rebase) are undone with
`--abort` and leave the model as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from support.repo import Repo, git, run_ot
from support.trail import Agent

from git_ot.cli import cli

FILES = ("a.txt", "b.txt", "c.txt")
SESSIONS = ("s-one", "s-two")
HUMAN = ("human",)


# -- the operations -------------------------------------------------------------

@dataclass(frozen=True)
class Edit:
    """Insert `count` new lines before line `at`, or replace or delete lines from
    line `at` on (`at` is taken modulo the file's length)."""
    kind: str
    at: int
    count: int


@dataclass(frozen=True)
class HumanEdit:
    file: int
    edit: Edit


@dataclass(frozen=True)
class AgentEdit:
    """One tool call. `file` is taken modulo the files left for it."""
    session: int
    file: int
    edit: Edit
    tool: str = "Edit"  # or "Bash", whose input names no file
    also: Edit | None = None  # Bash: the same call edits the next file too
    meanwhile: HumanEdit | AgentEdit | None = None  # Edit: another file's change while it runs
    prompt: bool = False  # a new prompt first (a session's first call always has one)
    stop: bool = False  # the turn ends after it


@dataclass(frozen=True)
class CommitAll:
    agent: int | None = None  # made inside a Bash call of this session


@dataclass(frozen=True)
class CommitOne:
    file: int
    after: AgentEdit | HumanEdit | None = None  # made after `git add FILE`, before `git commit`


@dataclass(frozen=True)
class Amend:
    change: AgentEdit | HumanEdit | None


@dataclass(frozen=True)
class Rebase:
    action: str  # reorder, squash, fixup or drop
    depth: int  # rebase -i HEAD~depth
    at: int  # which line of the todo list, modulo those that can take the action


@dataclass(frozen=True)
class SideCommit:
    change: AgentEdit | HumanEdit
    pick: str | None = None  # cherry-pick it onto main right away, this way


@dataclass(frozen=True)
class CherryPick:
    which: int  # the side commit, modulo their number
    how: str = "plain"  # plain, -x, or -n and then `git commit`


@dataclass(frozen=True)
class Revert:
    which: int  # one of the last four commits of main, newest first, modulo their number


edits = st.builds(Edit, st.sampled_from(["insert", "replace", "delete"]), st.integers(0, 20),
                  st.integers(1, 3))
sessions = st.integers(0, len(SESSIONS) - 1)
files = st.integers(0, len(FILES) - 1)
human_edits = st.builds(HumanEdit, files, edits)
plain_agent_edits = st.builds(AgentEdit, sessions, files, edits, st.sampled_from(["Edit", "Bash"]))
agent_edits = st.one_of(
    st.builds(AgentEdit, sessions, files, edits, st.just("Edit"), st.none(),
              st.one_of(st.none(), human_edits, plain_agent_edits), st.booleans(), st.booleans()),
    st.builds(AgentEdit, sessions, files, edits, st.just("Bash"), st.one_of(st.none(), edits), st.none(),
              st.booleans(), st.booleans()),
)
changes = st.one_of(agent_edits, human_edits)
pick_ways = st.sampled_from(["plain", "-x", "-n"])
operations = st.one_of(
    agent_edits,
    human_edits,
    st.builds(CommitAll, st.one_of(st.none(), sessions)),
    st.builds(CommitOne, files, st.one_of(st.none(), changes)),
    st.builds(Amend, st.one_of(st.none(), changes)),
    st.builds(Rebase, st.sampled_from(["reorder", "squash", "fixup", "drop"]), st.integers(2, 3),
              st.integers(0, 5)),
    st.builds(SideCommit, changes, st.sampled_from(["plain", "-x", "-n", None])),
    st.builds(CherryPick, st.integers(0, 5), pick_ways),
    st.builds(Revert, st.integers(0, 5)),
)
histories = st.lists(operations, min_size=4, max_size=10)


# -- the model and the history player ------------------------------------------

def blame_json(path: Path, file: str, rev: str | None = None) -> list[dict]:
    """`git ot blame --json FILE [REV]` in the repository: in-process, on a real git blame."""
    with contextlib.chdir(path):
        result = CliRunner().invoke(cli, ["blame", "--json", file, *([rev] if rev else [])],
                                    catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["lines"]


class History:
    """One repository, the model of who wrote its lines, and the log of what was done."""

    def __init__(self, path: Path, template: Path):
        self.path = path
        self.repo = Repo(path)
        self.writer: dict[str, tuple] = {}  # line content -> ("agent", session, step) or HUMAN
        self.files: dict[str, list[str]] = {}  # the model's working tree
        self.agents: dict[str, Agent] = {}
        self.steps: dict[str, int] = {}  # each session's last step
        self.turn_open: dict[str, bool] = {}
        self.side: list[str] = []  # the commits made on the side branch
        self.log: list[str] = []
        self.serial = 0
        first = {name: [self.new_line(HUMAN) for _ in range(4)] for name in FILES}
        second = {name: lines[:2] + [self.new_line(HUMAN)] + lines[2:] for name, lines in first.items()}
        if not template.exists():
            # `git ot init`, then two commits, as the repo fixture and a user
            # do: made once and copied, as they cost about a second of Python
            # and pygit2 start-up per history.
            template.mkdir()
            git(template, "init", "-q")
            proc = run_ot(template, "init", "--json")
            assert proc.returncode == 0, proc.stderr
            for n, state in enumerate((first, second)):
                for name, lines in state.items():
                    (template / name).write_text("".join(line + "\n" for line in lines))
                git(template, "add", "-A")
                git(template, "commit", "-q", "-m", f"human {n + 1}")
        shutil.copytree(template, path, symlinks=True)
        self.reread()
        assert self.files == second
        self.log.append("git ot init; a commit of four human lines in each file; one of a fifth in the middle")
        self.check()

    # -- helpers

    def git(self, *args, env=None) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=self.path, capture_output=True, text=True,
                              env={**os.environ, **(env or {})})

    def ok(self, *args, env=None) -> str:
        proc = self.git(*args, env=env)
        assert proc.returncode == 0, f"git {' '.join(args)} failed: {proc.stderr}\n{self.story()}"
        return proc.stdout

    def new_line(self, who: tuple) -> str:
        self.serial += 1
        text = f"{self.serial:03d} by {'human' if who == HUMAN else f'{who[1]}:{who[2]}'}"
        self.writer[text] = who
        return text

    def text(self, name: str) -> str:
        return "".join(line + "\n" for line in self.files[name])

    def flush(self, name: str) -> None:
        (self.path / name).write_text(self.text(name))

    def reread(self) -> None:
        """After git changed the working tree: its lines, each one written once before."""
        seen: set[str] = set()
        for name in FILES:
            p = self.path / name
            lines = p.read_text().splitlines() if p.exists() else []
            for line in lines:
                assert line in self.writer, f"{name}: a line no one wrote: {line!r}\n{self.story()}"
                assert line not in seen, f"{name}: a line twice: {line!r}\n{self.story()}"
                seen.add(line)
            self.files[name] = lines

    def dirty(self, *paths: str) -> bool:
        return self.ok("status", "--porcelain", "--", *paths).strip() != ""

    def head(self) -> str:
        return self.ok("rev-parse", "HEAD").strip()

    def count(self) -> int:
        return int(self.ok("rev-list", "--count", "HEAD").strip())

    def story(self) -> str:
        return "history:\n" + "\n".join(f"  {n}. {entry}" for n, entry in enumerate(self.log, 1))

    # -- edits

    def apply(self, name: str, edit: Edit, who) -> str:
        """Apply `edit` to the model's file, new lines written by `who`."""
        lines = self.files[name]
        kind = edit.kind if lines else "insert"
        if kind == "insert":
            at = edit.at % (len(lines) + 1)
            lines[at:at] = [self.new_line(who) for _ in range(edit.count)]
            return f"insert {edit.count} line(s) before line {at + 1} of {name}"
        at = edit.at % len(lines)
        n = min(edit.count, len(lines) - at)
        if kind == "replace":
            lines[at:at + n] = [self.new_line(who) for _ in range(edit.count)]
            return f"replace lines {at + 1}-{at + n} of {name} with {edit.count} line(s)"
        del lines[at:at + n]
        return f"delete lines {at + 1}-{at + n} of {name}"

    def agent(self, sid: str, prompt: bool) -> tuple[Agent, str]:
        agent = self.agents.get(sid)
        if agent is None:
            agent = self.agents[sid] = Agent(self.repo, sid)
            self.steps[sid] = 0
        said = ""
        if prompt or not self.turn_open.get(sid):
            self.steps[sid] += 1
            agent.prompt(f"prompt at step {self.steps[sid]}")
            self.turn_open[sid] = True
            said = f"prompt (step {self.steps[sid]}), "
        return agent, said

    def agent_edit(self, op: AgentEdit, avoid: str | None = None, nested: bool = False) -> str:
        """One tool call; returns the file it wrote. `avoid`: a file another window is writing."""
        sid = SESSIONS[op.session]
        names = [n for n in FILES if n != avoid]
        name = names[op.file % len(names)]
        agent, said = self.agent(sid, op.prompt and not nested)
        self.steps[sid] += 1
        step = self.steps[sid]
        who = ("agent", sid, step)
        if op.tool == "Bash":
            payload = agent.payload("Bash", command=f"edit {name}")
        else:
            payload = agent.payload("Edit", name)
        agent.start(payload)
        what = self.apply(name, op.edit, who)
        self.flush(name)
        if op.tool == "Bash" and op.also is not None:
            other = names[(names.index(name) + 1) % len(names)]
            what += "; " + self.apply(other, op.also, who)
            self.flush(other)
        self.log.append(f"agent {sid}: {said}{op.tool} (step {step}) starts: {what}")
        event(f"agent {op.tool}: {op.edit.kind}" + (" and another file" if op.also else ""))
        if op.meanwhile is not None and op.tool == "Edit" and not nested:
            if isinstance(op.meanwhile, HumanEdit):
                other = [n for n in FILES if n != name][op.meanwhile.file % 2]
                self.log.append(f"  while it runs, human: {self.apply(other, op.meanwhile.edit, HUMAN)}")
                self.flush(other)
                event("human edit while an Edit runs")
            else:
                self.log.append("  while it runs:")
                self.agent_edit(op.meanwhile, avoid=name, nested=True)
                event(f"{op.meanwhile.tool} while an Edit runs")
        agent.end(payload)
        self.log.append(f"agent {sid}: {op.tool} (step {step}) ends")
        if op.stop and not nested:
            agent.stop()
            self.turn_open[sid] = False
            self.log.append(f"agent {sid}: stop")
        return name

    def human_edit(self, op: HumanEdit) -> None:
        name = FILES[op.file]
        what = self.apply(name, op.edit, HUMAN)
        self.flush(name)
        self.log.append(f"human: {what}")
        event(f"human edit: {op.edit.kind}")

    def change(self, op) -> None:
        if isinstance(op, AgentEdit):
            self.agent_edit(op)
        else:
            self.human_edit(op)

    # -- commits and git's own operations

    def commit_all(self, why: str = "", agent: int | None = None) -> bool:
        if not self.dirty():
            event("commit -a: nothing to commit")
            return False
        self.serial += 1
        if agent is None:
            self.ok("add", "-A")
            self.ok("commit", "-q", "-m", f"commit {self.serial}")
            self.log.append(f"git add -A && git commit{why}")
        else:
            sid = SESSIONS[agent]
            a, said = self.agent(sid, False)
            self.steps[sid] += 1
            bash = a.payload("Bash", command="git add -A && git commit")
            a.start(bash)
            self.ok("add", "-A")
            self.ok("commit", "-q", "-m", f"commit {self.serial} by {sid}")
            a.end(bash)
            self.log.append(f"agent {sid}: {said}Bash (step {self.steps[sid]}): git add -A && git commit")
            event("commit inside a Bash call")
        self.check()
        return True

    def clean_first(self) -> None:
        self.commit_all(" (a clean tree first)")

    def commit_one(self, op: CommitOne) -> None:
        name = FILES[op.file]
        if not self.dirty(name):
            event("commit of one file: nothing to commit")
            return
        self.serial += 1
        self.ok("add", "--", name)
        if op.after is not None:
            self.log.append(f"git add {name}")
            self.change(op.after)
            event("commit of one file: changed after git add")
        self.ok("commit", "-q", "-m", f"commit {self.serial} ({name})")
        self.log.append(f"git commit (what was staged of {name})" if op.after else f"git add {name} && git commit")
        event("commit of one file: done")
        self.check()

    def amend(self, op: Amend) -> None:
        if op.change is not None:
            self.change(op.change)
        self.serial += 1
        self.ok("add", "-A")
        self.ok("commit", "-q", "--amend", "-m", f"amended {self.serial}")
        self.log.append("git add -A && git commit --amend")
        event(f"amend: {type(op.change).__name__ if op.change else 'no change'}")
        self.check()

    def rebase(self, op: Rebase) -> None:
        self.clean_first()
        # Not --root: git's own fsck then misses the empty tree of the commit
        # `rebase --root` starts from.
        k = min(op.depth, self.count() - 1)
        if k < 2:
            event("rebase: history too short")
            return
        if op.action == "reorder":
            j = op.at % (k - 1) + 1
            script = f"sed -i -e '{j}{{h;d}}' -e '{j + 1}G'"  # swap todo lines j and j+1
            what = f"swap picks {j} and {j + 1}"
        elif op.action in ("squash", "fixup"):
            j = op.at % (k - 1) + 2
            script = f"sed -i -e '{j}s/^pick/{op.action}/'"
            what = f"{op.action} pick {j}"
        else:
            j = op.at % k + 1
            script = f"sed -i -e '{j}s/^pick/drop/'"
            what = f"drop pick {j}"
        before = self.head()
        proc = self.git("rebase", "-q", "-i", f"HEAD~{k}",
                        env={"GIT_SEQUENCE_EDITOR": script, "GIT_EDITOR": "true"})
        if proc.returncode != 0:
            self.ok("rebase", "--abort")
            assert self.head() == before and not self.dirty()
            event(f"rebase {op.action}: refused")
            return
        event(f"rebase {op.action}: done")
        self.log.append(f"git rebase -i HEAD~{k}: {what}")
        self.reread()
        self.check()

    def side_commit(self, op: SideCommit) -> None:
        self.clean_first()
        if self.ok("branch", "--list", "side").strip() == "":
            self.ok("branch", "side", "HEAD~1")
        self.ok("checkout", "-q", "side")
        self.log.append("git checkout side")
        self.reread()
        self.change(op.change)
        if self.commit_all():
            self.side.append(self.head())
            event("side commit: done")
        self.ok("checkout", "-q", "main")
        self.log.append("git checkout main")
        self.reread()
        if op.pick is not None and self.side:
            self.cherry_pick(CherryPick(len(self.side) - 1, op.pick))

    def cherry_pick(self, op: CherryPick) -> None:
        if not self.side:
            event("cherry-pick: no side commit")
            return
        self.clean_first()
        n = op.which % len(self.side)
        before = self.head()
        args = {"plain": [], "-x": ["-x"], "-n": ["-n"]}[op.how]
        proc = self.git("cherry-pick", *args, self.side[n])
        if proc.returncode == 0 and op.how == "-n":
            if not self.dirty():
                event("cherry-pick: refused")
                return
            self.serial += 1
            proc = self.git("commit", "-q", "-m", f"picked {self.serial}")
        if proc.returncode != 0:
            self.git("cherry-pick", "--abort")
            self.git("reset", "-q", "--hard")  # what -n left
            assert self.head() == before and not self.dirty()
            event("cherry-pick: refused")
            return
        event(f"cherry-pick {op.how}: done")
        self.log.append(f"git cherry-pick {' '.join(args + [''])}side commit {n + 1}"
                        + (" && git commit" if op.how == "-n" else ""))
        self.reread()
        self.check()

    def revert(self, op: Revert) -> None:
        self.clean_first()
        root = self.ok("rev-list", "--max-parents=0", "HEAD").strip()
        last = [c for c in self.ok("rev-list", "--first-parent", "-n", "4", "HEAD").split() if c != root]
        if not last:
            event("revert: nothing to revert")
            return
        n = op.which % len(last)
        subject = self.ok("log", "-1", "--format=%s", last[n])
        before = self.head()
        proc = self.git("revert", "--no-edit", last[n])
        if proc.returncode != 0:
            self.git("revert", "--abort")
            assert self.head() == before and not self.dirty()
            event("revert: refused")
            return
        event("revert of a revert: done" if subject.startswith("Revert") else "revert: done")
        self.log.append(f"git revert HEAD~{n} ({subject.strip()})")
        self.reread()
        self.check()

    def play(self, op) -> None:
        if isinstance(op, (AgentEdit, HumanEdit)):
            self.change(op)
        elif isinstance(op, CommitAll):
            self.commit_all(agent=op.agent)
        elif isinstance(op, CommitOne):
            self.commit_one(op)
        elif isinstance(op, Amend):
            self.amend(op)
        elif isinstance(op, Rebase):
            self.rebase(op)
        elif isinstance(op, SideCommit):
            self.side_commit(op)
        elif isinstance(op, CherryPick):
            self.cherry_pick(op)
        else:
            self.revert(op)

    # -- the check

    def check(self) -> None:
        """Every line of every file, in the working tree and at HEAD, against the model."""
        problems: list[str] = []
        for name in FILES:
            self._compare(name, None, self.files[name], problems)
            committed = self.ok("show", f"HEAD:{name}").splitlines()
            if committed != self.files[name]:
                self._compare(name, "HEAD", committed, problems)
        assert not problems, "\n".join(problems) + "\n" + self.story()

    def _compare(self, name: str, rev: str | None, expected: list[str], problems: list[str]) -> None:
        got = blame_json(self.path, name, rev)
        where = name + (f" at {rev}" if rev else "")
        contents = [line["content"] for line in got]
        if contents != expected:
            problems.append(f"{where}: blame shows {contents}, the file holds {expected}")
            return
        for line in got:
            want, attr = self.writer[line["content"]], line["attribution"]
            if want == HUMAN:
                if attr["kind"] == "human":
                    continue
            elif (attr["kind"] == "agent" and (attr["session"], attr["step"]) == want[1:]
                  and str(attr["hunk"]).startswith(f"{want[2]}.")):
                continue
            kind = "GAP" if attr["kind"] == "unknown" else "WRONG"
            problems.append(f"{kind} {where}:{line['line']} {line['content']!r} (commit "
                            f"{line['commit'][:8]}): expected {_show(want)}, blame says {_show_attr(attr)}")


def _show(want: tuple) -> str:
    return "human" if want == HUMAN else f"agent {want[1]} step {want[2]}"


def _show_attr(attr: dict) -> str:
    if attr["kind"] == "agent":
        return f"agent {attr['session']} step {attr['step']} (hunk {attr['hunk']})"
    if attr["kind"] == "unknown":
        why = [attr.get("reason") or "?"] + list(attr.get("candidates") or [])
        return f"unknown ({', '.join(why)})"
    return attr["kind"]


# The number of histories is the Hypothesis profile's (tests/support/profiles.py):
# 60 by default, 1,000 with GIT_OT_HYPOTHESIS_PROFILE=long. 200 took about four
# minutes on two cores, nearly all of it in the hook processes (a commit's hooks
# cost 100 to 150 ms, a tool call's 80).
@settings(phases=(Phase.explicit, Phase.generate, Phase.shrink),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(history=histories)
# Histories that failed once, first (the explicit phase):
# a revert that brings no line back (of "human 2", which only added one), then amended.
@example(history=[Revert(0), HumanEdit(0, Edit("insert", 0, 1)), Amend(None)])
def test_blame_agrees_with_a_model_of_who_wrote_each_line(tmp_path, history):
    base = Path(tempfile.mkdtemp(dir=tmp_path))
    try:
        h = History(base / "repo", tmp_path / "template")
        for op in history:
            h.play(op)
        h.check()  # the lines not committed yet, too
        h.repo.fsck()
    finally:
        shutil.rmtree(base, ignore_errors=True)
