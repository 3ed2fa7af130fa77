"""On a terminal, git-ot fits, pages and colours its output as git does; piped, never.

The real `git-ot` runs with its standard output and error on a
pseudo-terminal (COLUMNS set, as a terminal's shell sets it) and what the
terminal received is compared, byte for byte, with what a user would see;
the same command piped prints what it always printed. The repository is
the one `git ot demo` makes (one recorded session, fixed commits).
"""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys

import pytest

from support.repo import run_ot

SID = "265a3953-3ae5-4217-ac1f-2e0725711a3c"
MODEL = "claude-opus-5-5"
START = "2026-11-24T18:40:37.671208Z"


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory):
    """The demo's repository, made once for the module (the demo reads no
    user configuration and writes only its directory)."""
    where = tmp_path_factory.mktemp("demo") / "repo"
    proc = run_ot(where.parent, "demo", str(where))
    assert proc.returncode == 0, proc.stderr.decode()
    return where


@pytest.fixture
def demo(demo_template, tmp_path):
    where = tmp_path / "repo"
    shutil.copytree(demo_template, where, symlinks=True)
    return where


def environment(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("COLUMNS", "LINES", "PAGER", "GIT_PAGER", "LESS", "LV", "GIT_PAGER_IN_USE")}
    env.update(extra)
    return env


GIT_OT = [sys.executable, "-m", "git_ot"]


def on_tty(cwd, *args, env: dict, program: list[str] = GIT_OT) -> str:
    """`git-ot ARGS` with standard output and error on a pseudo-terminal:
    everything the terminal received (its line ends as the terminal's
    driver writes them, turned back into newlines)."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([*program, *args], cwd=cwd, env=env,
                                stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
        os.close(slave)
        got = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every process holding the terminal has left
                break
            if not chunk:
                break
            got += chunk
        proc.wait(timeout=60)
    finally:
        os.close(master)
    assert proc.returncode == 0, got
    return got.decode("utf-8").replace("\r\n", "\n")


def piped(cwd, *args, env: dict) -> str:
    proc = subprocess.run([sys.executable, "-m", "git_ot", *args], cwd=cwd, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    return proc.stdout.decode("utf-8")


# -- width ---------------------------------------------------------------------------

BLAME_80 = """\
^5a86a47 (Dev 2026-11-24 18:39:37 +0000 1) human      def greet(name):
089159cd (Dev 2026-11-24 18:40:40 +0000 2) 265a3953:7     return "hello " + name
e58908e1 (Dev 2026-11-24 18:40:38 +0000 3) 265a3953:2 
e58908e1 (Dev 2026-11-24 18:40:38 +0000 4) 265a3953:2 
e58908e1 (Dev 2026-11-24 18:40:38 +0000 5) 265a3953:2 def farewell(name):
e58908e1 (Dev 2026-11-24 18:40:38 +0000 6) 265a3953:2     return "bye " + name
"""

BLAME_PIPED = f"""\
^5a86a47 (Dev 2026-11-24 18:39:37 +0000 1) human                                                                      def greet(name):
089159cd (Dev 2026-11-24 18:40:40 +0000 2) 265a3953:7 claude-code/{MODEL} make greet say hello instead of hi      return "hello " + name
e58908e1 (Dev 2026-11-24 18:40:38 +0000 3) 265a3953:2 claude-code/{MODEL} add a farewell function with a test 
e58908e1 (Dev 2026-11-24 18:40:38 +0000 4) 265a3953:2 claude-code/{MODEL} add a farewell function with a test 
e58908e1 (Dev 2026-11-24 18:40:38 +0000 5) 265a3953:2 claude-code/{MODEL} add a farewell function with a test def farewell(name):
e58908e1 (Dev 2026-11-24 18:40:38 +0000 6) 265a3953:2 claude-code/{MODEL} add a farewell function with a test     return "bye " + name
"""  # noqa: E501


def test_blame_fits_the_width_on_a_terminal_and_prints_whole_lines_piped(demo):
    env = environment(COLUMNS="80", GIT_PAGER="cat")
    # 80 columns leave the widest code line no room for 16 columns of prompt:
    # the session and step alone, and every line fits.
    assert on_tty(demo, "--color=never", "blame", "app.py", env=env) == BLAME_80
    assert max(len(line) for line in BLAME_80.splitlines()) == 80
    # A wider terminal shows as much of the prompt as fits.
    wide = on_tty(demo, "--color=never", "blame", "app.py", env=environment(COLUMNS="100", GIT_PAGER="cat"))
    assert wide.splitlines()[1] == \
        '089159cd (Dev 2026-11-24 18:40:40 +0000 2) 265a3953:7 make greet say hel…     return "hello " + name'
    # Piped: whole lines, harness and model, whatever COLUMNS says.
    assert piped(demo, "blame", "app.py", env=env) == BLAME_PIPED
    assert piped(demo, "blame", "app.py", env=environment()) == BLAME_PIPED


TRACK_80 = f"""\
at HEAD (089159cd)

session 265a3953  claude-code  model {MODEL}  start 2026-11-24T18:40:37Z
  STEP  PATH         STATE              WRITTEN  LANDED  ALIVE
     2  app.py       alive_on_path            4       4      4
      app.py:3-6
     3  test_app.py  alive_transformed        9       9      8
      test_app.py:1-4,6-9; removed by step 8 of this session (089159cd)
     7  app.py       alive_on_path            1       1      1
      app.py:2
     8  test_app.py  alive_on_path            1       1      1
      test_app.py:5
  written 15, landed 15 (100%), alive 14 (93%), pending 0

total: 1 session, 4 hunks:
  written 15, landed 15 (100%), alive 14 (93%), pending 0
states: alive_on_path 3, alive_transformed 1
"""

TRACK_120 = f"""\
at HEAD (089159cd)

session 265a3953  claude-code  model {MODEL}  start 2026-11-24T18:40:37Z
  STEP  PATH         STATE              WRITTEN  LANDED  ALIVE  EVIDENCE
     2  app.py       alive_on_path            4       4      4  app.py:3-6
     3  test_app.py  alive_transformed        9       9      8  test_app.py:1-4,6-9;
                                                                removed by step 8 of this session (089159cd)
     7  app.py       alive_on_path            1       1      1  app.py:2
     8  test_app.py  alive_on_path            1       1      1  test_app.py:5
  written 15, landed 15 (100%), alive 14 (93%), pending 0

total: 1 session, 4 hunks: written 15, landed 15 (100%), alive 14 (93%), pending 0
states: alive_on_path 3, alive_transformed 1
"""


def test_track_fits_the_width_on_a_terminal(demo):
    for columns, expected in (("80", TRACK_80), ("120", TRACK_120)):
        got = on_tty(demo, "--color=never", "track", env=environment(COLUMNS=columns, GIT_PAGER="cat"))
        assert got == expected, columns
        assert max(len(line) for line in got.splitlines()) <= int(columns)
    narrow = on_tty(demo, "--color=never", "track", env=environment(COLUMNS="60", GIT_PAGER="cat"))
    assert narrow.splitlines()[2:4] == [f"session 265a3953  claude-code  model {MODEL}",
                                        "start 2026-11-24T18:40:37Z"]
    # Piped: the full session id and time, the evidence on the row.
    out = piped(demo, "track", env=environment(COLUMNS="80"))
    assert out.splitlines()[2:6] == [
        f"session {SID}  claude-code  model {MODEL}  start {START}",
        "  STEP  PATH         STATE              WRITTEN  LANDED  ALIVE  EVIDENCE",
        "     2  app.py       alive_on_path            4       4      4  app.py:3-6",
        "     3  test_app.py  alive_transformed        9       9      8  test_app.py:1-4,6-9; "
        "removed by step 8 of this session (089159cd)",
    ]


def test_trace_fits_the_width_on_a_terminal(demo):
    env = environment(COLUMNS="80", GIT_PAGER="cat")
    assert on_tty(demo, "--color=never", "trace", "list", env=env) == (
        "SESSION   HARNESS      MODEL         START                 STEPS  FILES  COMMITS\n"
        "265a3953  claude-code  claude-opus…  2026-11-24T18:40:37Z      9      2        2\n")
    assert piped(demo, "trace", "list", env=env) == (
        f"SESSION       HARNESS      MODEL            START                        STEPS  FILES  COMMITS\n"
        f"265a3953-3ae  claude-code  {MODEL}  {START}      9      2        2\n")
    shown = on_tty(demo, "--color=never", "trace", "show", "265a", env=environment(COLUMNS="60", GIT_PAGER="cat"))
    assert shown.splitlines()[:7] == [
        f"session {SID}",
        f"harness claude-code  model {MODEL}",  # the header on as many lines as the width needs
        "start 2026-11-24T18:40:37Z  steps 9  files 2",
        "    1  prompt     add a farewell function with a test",
        "    2  tool       Edit ok  app.py +4 -0",
        "    3  tool       Write ok  test_app.py +9 -0",
        "    4  tool       Bash ok  python3 -c 'import test_app; tes…",
    ]


# -- pager ---------------------------------------------------------------------------

# A pager that shows it was run, and with which of git's settings.
PAGER = 'echo "paged LESS=$LESS LV=$LV IN_USE=$GIT_PAGER_IN_USE"; cat -n'


def numbered(text: str) -> str:
    return "".join(f"{n:6}\t{line}\n" for n, line in enumerate(text.splitlines(), 1))


def test_output_goes_through_git_pager_on_a_terminal(demo):
    env = environment(COLUMNS="80", GIT_PAGER=PAGER)
    assert on_tty(demo, "--color=never", "blame", "app.py", env=env) == \
        "paged LESS=FRX LV=-c IN_USE=\n" + numbered(BLAME_80)
    # The user's LESS is left as it is.
    assert on_tty(demo, "--color=never", "blame", "app.py", env={**env, "LESS": "S"}) == \
        "paged LESS=S LV=-c IN_USE=\n" + numbered(BLAME_80)
    # --no-pager and -P, as with git.
    for flag in ("--no-pager", "-P"):
        assert on_tty(demo, flag, "--color=never", "blame", "app.py", env=env) == BLAME_80
    # Piped: never paged.
    assert piped(demo, "blame", "app.py", env=env) == BLAME_PIPED


def test_the_pager_is_chosen_as_git_chooses_it(demo):
    env = environment(COLUMNS="80")
    git_config = ["git", "config", "--file", str(demo / ".git" / "config")]
    # core.pager, when GIT_PAGER is not set; PAGER when neither is.
    subprocess.run([*git_config, "core.pager", "cat -n"], check=True)
    assert on_tty(demo, "--color=never", "blame", "app.py", env={**env, "PAGER": "false"}) == numbered(BLAME_80)
    subprocess.run([*git_config, "--unset", "core.pager"], check=True)
    assert on_tty(demo, "--color=never", "blame", "app.py", env={**env, "PAGER": "cat -n"}) == numbered(BLAME_80)
    # pager.ot: false turns paging off (--paginate turns it back on); a command is the pager.
    subprocess.run([*git_config, "pager.ot", "false"], check=True)
    env = {**env, "GIT_PAGER": "cat -n"}
    assert on_tty(demo, "--color=never", "blame", "app.py", env=env) == BLAME_80
    assert on_tty(demo, "-p", "--color=never", "blame", "app.py", env=env) == numbered(BLAME_80)
    # A pager.ot command, unless GIT_PAGER names one.
    subprocess.run([*git_config, "pager.ot", "sed s/^/P:/"], check=True)
    assert on_tty(demo, "--color=never", "blame", "app.py", env=env) == numbered(BLAME_80)
    assert on_tty(demo, "--color=never", "blame", "app.py", env=environment(COLUMNS="80")) == \
        "".join("P:" + line + "\n" for line in BLAME_80.splitlines())
    # A pager of "cat" means none, as with git.
    subprocess.run([*git_config, "--unset", "pager.ot"], check=True)
    assert on_tty(demo, "--color=never", "blame", "app.py", env={**env, "GIT_PAGER": "cat"}) == BLAME_80


def test_run_by_git_into_its_pager_fits_and_colours_without_paging_again(demo):
    """`git -p ot ...` (or pager.ot): git starts the pager, sets COLUMNS and
    GIT_PAGER_IN_USE, and runs git-ot with its output into the pager."""
    env = environment(COLUMNS="80", GIT_PAGER_IN_USE="true", GIT_PAGER="cat -n")
    assert piped(demo, "--color=never", "blame", "app.py", env=env) == BLAME_80
    assert piped(demo, "blame", "app.py", env=env).splitlines()[0] == \
        "\033[33m^5a86a47\033[m (Dev 2026-11-24 18:39:37 +0000 1) human      def greet(name):"


def test_run_by_git_as_git_ot_it_pages_once(demo):
    """git runs `git ot` with the user's terminal as its output; git's own
    -p, --no-pager and pager.ot decide as for any external command, and
    git-ot never starts a second pager behind git's."""
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
    env = environment(COLUMNS="80", GIT_PAGER=PAGER, PATH=path)

    def git_ot(*args, **extra):
        return on_tty(demo, *args, "ot", "--color=never", "blame", "app.py", env={**env, **extra},
                      program=["git"])

    assert git_ot() == "paged LESS=FRX LV=-c IN_USE=\n" + numbered(BLAME_80)  # git-ot's pager
    # git's pager, started by git instead of git-ot's.
    assert git_ot("-p") == "paged LESS=FRX LV=-c IN_USE=\n" + numbered(BLAME_80)
    assert git_ot("--no-pager") == BLAME_80
    subprocess.run(["git", "config", "--file", str(demo / ".git" / "config"), "pager.ot", "false"], check=True)
    assert git_ot() == BLAME_80
    # A pager.ot command: git starts it, unless GIT_PAGER names one.
    subprocess.run(["git", "config", "--file", str(demo / ".git" / "config"), "pager.ot", "sed s/^/P:/"],
                   check=True)
    assert git_ot() == "paged LESS=FRX LV=-c IN_USE=\n" + numbered(BLAME_80)
    del env["GIT_PAGER"]
    assert git_ot() == "".join("P:" + line + "\n" for line in BLAME_80.splitlines())


# -- colour --------------------------------------------------------------------------

def test_colour_on_a_terminal_as_color_ui_and_color_ot_say(demo):
    env = environment(COLUMNS="80", GIT_PAGER="cat")
    coloured = on_tty(demo, "blame", "app.py", env=env)
    assert coloured.splitlines()[:2] == [
        "\033[33m^5a86a47\033[m (Dev 2026-11-24 18:39:37 +0000 1) human      def greet(name):",
        "\033[33m089159cd\033[m (Dev 2026-11-24 18:40:40 +0000 2) \033[36m265a3953:7\033[m"
        '     return "hello " + name',
    ]
    track = on_tty(demo, "track", env=env).splitlines()
    assert track[2] == f"session \033[33m265a3953\033[m  claude-code  model {MODEL}  start 2026-11-24T18:40:37Z"
    assert track[4] == "     2  app.py       \033[32malive_on_path\033[m            4       4      4"
    assert on_tty(demo, "--color=never", "blame", "app.py", env=env) == BLAME_80
    git_config = ["git", "config", "--file", str(demo / ".git" / "config")]
    subprocess.run([*git_config, "color.ui", "never"], check=True)
    assert on_tty(demo, "blame", "app.py", env=env) == BLAME_80
    assert on_tty(demo, "--color", "blame", "app.py", env=env) == coloured
    subprocess.run([*git_config, "color.ot", "auto"], check=True)  # color.ot before color.ui
    assert on_tty(demo, "blame", "app.py", env=env) == coloured
    # Piped: plain, unless asked for.
    assert piped(demo, "blame", "app.py", env=env) == BLAME_PIPED
    assert piped(demo, "--color=always", "blame", "app.py", env=env).splitlines()[0] == \
        "\033[33m^5a86a47\033[m (Dev 2026-11-24 18:39:37 +0000 1) human" + " " * 70 + "def greet(name):"
    subprocess.run([*git_config, "color.ot", "always"], check=True)
    assert piped(demo, "blame", "app.py", env=env).startswith("\033[33m^5a86a47\033[m")
    assert piped(demo, "--color=never", "blame", "app.py", env=env) == BLAME_PIPED


def test_json_and_porcelain_stay_plain_on_a_terminal(demo):
    env = environment(COLUMNS="80", GIT_PAGER="cat")
    for args in (["blame", "app.py", "--porcelain"], ["blame", "app.py", "--json"], ["track", "--json"],
                 ["trace", "list", "--json"]):
        assert on_tty(demo, "--color=always", *args, env=env) == piped(demo, *args, env=env), args


def test_the_demo_on_a_terminal_shows_what_the_commands_show_there(tmp_path):
    where = tmp_path / "scratch"
    env = environment(COLUMNS="80", GIT_PAGER="cat")
    out = on_tty(tmp_path, "--color=never", "demo", str(where), env=env)
    assert out.startswith(f"Replayed Claude Code 2.1.328 session {SID}\n"
                          f"in a new repository, {where}, with a commit after each turn:\n\n")
    parts = out.split("\n$ ")[1:]
    found = {p.split("\n", 1)[0]: p.split("\n", 1)[1] for p in parts}
    assert list(found) == ["git log --oneline", "git ot trace show 265a3953", "git ot blame app.py",
                           "git ot blame test_app.py", "git ot track"]
    # git decorates on a terminal, as the user would see it.
    assert found["git log --oneline"] == ("089159c (HEAD -> main) greet now says hello.\n"
                                         "e58908e Added farewell() with a test; tests pass.\n"
                                         "5a86a47 Start the app\n")
    assert found["git ot blame app.py"] == BLAME_80
    tail = f"\nThe repository stays in {where}; try: cd {where} && git ot blame commit HEAD\n"
    assert found["git ot track"] == TRACK_80 + tail
    # In colour when the terminal is.
    coloured = on_tty(tmp_path, "demo", str(tmp_path / "again"), env=env)
    assert "\n\033[33m089159cd\033[m (Dev 2026-11-24 18:40:40 +0000 2) \033[36m265a3953:7\033[m" in coloured


def test_blame_commit_fits_and_status_and_scan_colour_on_a_terminal(demo):
    env = environment(COLUMNS="40", GIT_PAGER="cat")
    assert on_tty(demo, "--color=never", "blame", "commit", "HEAD~1", env=env).splitlines()[:6] == [
        "commit e58908e1e44d119a339de1d7374679c835827009",
        "    Added farewell() with a test; tests pass.",
        "lines introduced 13: agent 13, human 0, unknown 0; agent lines alive at HEAD 12",
        "",
        f"session {SID}  claude-code  model {MODEL}",
        "  prompt 1: add a farewell function w...",
    ]
    assert piped(demo, "blame", "commit", "HEAD~1", env=env).splitlines()[5] == \
        "  prompt 1: add a farewell function with a test"
    # Each 'problem:' of status in red, the rest as piped.
    plain = piped(demo, "status", env=env)
    assert "\nproblem: " in plain
    assert on_tty(demo, "status", env=env) == \
        plain.replace("\nproblem:", "\n\033[31mproblem:\033[m")
    assert on_tty(demo, "--color=never", "status", env=env) == plain
    assert on_tty(demo, "scan", env=env) == piped(demo, "scan", env=env).replace(
        f"session {SID}", f"session \033[33m{SID}\033[m")
