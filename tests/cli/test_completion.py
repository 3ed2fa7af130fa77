"""Shell completion: click's protocol, answered by the real `git-ot` program.

click names the protocol's variable after the program, `_GIT_OT_COMPLETE`
for `git-ot`; git_ot/__main__.py answers it before anything else, since
`run` calls the program "git ot". The README's bash lines are run against
git's own bash completion when it is installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GIT_OT = Path(sys.executable).parent / "git-ot"  # the console script beside this Python
GIT_COMPLETION = Path("/usr/share/bash-completion/completions/git")

pytestmark = pytest.mark.skipif(not GIT_OT.exists(), reason="git-ot's console script is not installed here")


def complete(instruction: str, line: str = "", cword: int = 0) -> str:
    env = dict(os.environ, _GIT_OT_COMPLETE=instruction, COMP_WORDS=line, COMP_CWORD=str(cword))
    proc = subprocess.run([str(GIT_OT)], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout


def test_a_command_name_completes():
    assert complete("bash_complete", "git-ot bl", 1) == "plain,blame\n"


def test_a_groups_commands_complete():
    assert complete("bash_complete", "git-ot trace ", 2) == "plain,list\nplain,map\nplain,query\nplain,show\n"


def test_every_command_name_completes_with_an_empty_word():
    from git_ot.cli.main import COMMANDS

    names = [line.removeprefix("plain,") for line in complete("bash_complete", "git-ot ", 1).splitlines()]
    assert names[:len(COMMANDS)] == sorted(COMMANDS)


@pytest.mark.parametrize("shell, line", [
    ("bash", "complete -o nosort -F _git_ot_completion git-ot"),
    ("zsh", "compdef _git_ot_completion git-ot"),
])
def test_the_script_to_source_is_printed(shell, line):
    assert line in [text.strip() for text in complete(f"{shell}_source").splitlines()]


def test_completing_command_names_imports_no_command_module():
    code = ("import json, sys\n"
            "from git_ot.cli import complete\n"
            "complete()\n"
            "sys.stdout.flush()\n"
            "sys.stderr.write(json.dumps(sorted(m for m in sys.modules if m.startswith('git_ot'))))\n")
    env = dict(os.environ, _GIT_OT_COMPLETE="bash_complete", COMP_WORDS="git-ot ", COMP_CWORD="1")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert json.loads(proc.stderr) == ["git_ot", "git_ot.cli", "git_ot.cli.lazy", "git_ot.cli.main", "git_ot.errors"]


@pytest.mark.skipif(not (GIT_COMPLETION.exists() and shutil.which("bash")), reason="git's bash completion is not installed")
@pytest.mark.parametrize("line, expected", [
    ("git ot bl", "blame"),
    ("git ot trace ", "list map query show"),
    ("git -C . ot trace s", "show"),
])
def test_the_readmes_bash_lines_complete_git_ot(line, expected):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Shell completion\n", 1)[1]
    setup = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    script = f"""
source {GIT_COMPLETION}
{setup}
line=$1
read -ra COMP_WORDS <<< "$line"; [[ $line == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1)) COMP_LINE=$line COMP_POINT=${{#line}} COMPREPLY=()
__git_wrap__git_main git ot
echo "${{COMPREPLY[*]}}"
"""
    env = dict(os.environ, PATH=f"{GIT_OT.parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(["bash", "-c", script, "bash", line], env=env, capture_output=True, text=True)
    assert proc.stdout == expected + "\n", proc.stderr
