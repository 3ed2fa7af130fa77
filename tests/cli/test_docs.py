"""The README, --help and the man pages say the same thing, and the pages install.

Every click command must have help text and a manual page that documents
every option; man/man1/ must be exactly what man/generate.py makes of the
sources; the examples marked to run must show what their commands print
now; `pip install .` must put the pages where man (and so `git help ot`)
finds them. (sqlite-utils tests/test_docs.py in spirit.)
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from git_ot.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
MAN1 = ROOT / "man" / "man1"
PROG = "git ot"


def _commands():
    """(path, command, context) for the group and every command under it."""
    root = click.Context(cli, info_name=PROG, **cli.context_settings)
    out = [((), cli, root)]

    def walk(group, ctx, path):
        # Asked of the group, which may load its commands on demand.
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            sub = click.Context(cmd, info_name=name, parent=ctx, **cmd.context_settings)
            out.append((path + (name,), cmd, sub))
            if isinstance(cmd, click.Group):
                walk(cmd, sub, path + (name,))

    walk(cli, root, ())
    return out


COMMANDS = _commands()


def _id(path):
    return " ".join(path) or "git-ot"


def page_for(path: tuple) -> Path:
    """A command's page; subcommands share their group's page (git-ot-trace.1)."""
    return MAN1 / ("git-ot.1" if not path else f"git-ot-{path[0]}.1")


def deroff(text: str) -> str:
    """Roff source as plain text, enough to search it for words."""
    text = "\n".join(line for line in text.splitlines() if not line.startswith('.\\"'))
    for esc, plain in (("\\-", "-"), ("\\(aq", "'"), ("\\(ga", "`"), ("\\&", ""),
                       ("\\fB", ""), ("\\fI", ""), ("\\fR", ""), ("\\fP", ""), ("\\e", "\\")):
        text = text.replace(esc, plain)
    return text


def sections(path: Path) -> dict[str, str]:
    """A page's sections by title, as plain text."""
    out: dict[str, str] = {}
    title = None
    for line in path.read_text().splitlines():
        m = re.match(r'^\.SH "?([^"]+)"?$', line)
        if m:
            title = m.group(1)
            out[title] = ""
        elif title is not None:
            out[title] += line + "\n"
    return {k: deroff(v) for k, v in out.items()}


def mentions(text: str, word: str) -> bool:
    return re.search(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", text) is not None


# -- (a) help text ------------------------------------------------------------------

@pytest.mark.parametrize("path,cmd,ctx", COMMANDS, ids=[_id(p) for p, _, _ in COMMANDS])
def test_every_command_has_help_and_a_short_help(path, cmd, ctx):
    assert (cmd.help or "").strip(), f"'{_id(path)}' has no help text (its docstring)"
    assert cmd.get_short_help_str().strip(), f"'{_id(path)}' has no short help"
    for param in cmd.get_params(ctx):
        if isinstance(param, click.Option) and not param.hidden:
            assert (param.help or "").strip(), f"option {param.opts} of '{_id(path)}' has no help"


# -- (b) a page per command ------------------------------------------------------------

@pytest.mark.parametrize("path,cmd,ctx", COMMANDS, ids=[_id(p) for p, _, _ in COMMANDS])
def test_every_command_has_a_man_page(path, cmd, ctx):
    page = page_for(path)
    assert page.is_file(), f"'{_id(path)}' has no man page {page.name}; run 'python man/generate.py'"
    text = sections(page)
    assert mentions(text.get("SYNOPSIS", ""), " ".join((PROG,) + path)), \
        f"{page.name} has no synopsis for '{PROG} {' '.join(path)}'"
    if len(path) > 1:  # a subcommand: its group's page must describe it
        assert mentions(text.get("COMMANDS", ""), path[-1]), \
            f"{page.name} does not describe '{path[-1]}' in COMMANDS"


def test_every_page_has_gits_sections_in_gits_order():
    pages = sorted(MAN1.glob("*.1"))
    assert pages
    for page in pages:
        titles = list(sections(page))
        assert titles[:3] == ["NAME", "SYNOPSIS", "DESCRIPTION"], (page.name, titles)
        assert titles[-1] == "SEE ALSO", (page.name, titles)
        rest = [t for t in titles if t not in ("COMMANDS",)]
        if "OPTIONS" in rest and "EXAMPLES" in rest:
            assert rest.index("EXAMPLES") == rest.index("OPTIONS") + 1, (page.name, titles)
        name_line = sections(page)["NAME"].strip()
        assert re.match(rf"^{re.escape(page.stem)} - \S", name_line), name_line


# -- (c) the committed pages are what the generator makes ---------------------------------

def test_man_pages_are_up_to_date():
    # The examples are checked below, with the demo repository made once.
    proc = subprocess.run([sys.executable, str(ROOT / "man" / "generate.py"), "--check", "--no-examples"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def _load_generator():
    spec = importlib.util.spec_from_file_location("man_generate", ROOT / "man" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = _load_generator()
EXAMPLES = generator.all_examples()


@pytest.fixture(scope="session")
def example_runner(tmp_path_factory):
    """Runs the examples; the demo repository they start from is made once."""
    runner = generator.ExampleRunner(str(tmp_path_factory.mktemp("man-examples")))
    yield runner
    runner.close()


def test_the_pages_have_examples_that_run():
    runs = {ex.where for ex in EXAMPLES}
    for page in ("trace", "blame", "track", "demo", "scan"):
        assert f"man/src/git-ot-{page}.txt" in runs, f"git-ot-{page}(1) has no example that runs"


@pytest.mark.parametrize("example", EXAMPLES, ids=[ex.id for ex in EXAMPLES])
def test_example_shows_what_its_commands_print(example, example_runner):
    problems = generator.check_examples(example_runner, [example])
    assert not problems, "\n".join(problems) + \
        "\nhint: run 'python man/generate.py --refresh-examples' and commit the result"


SAMPLE = """\
Where the commands run::
    [run: empty]
    ----
    $ pwd
    /home/dev/src/app
    $ echo "$HOME" "$TMPDIR" &&
      echo done
    /home/dev /tmp
    done
    $ mkdir /tmp/x && cd /tmp/x && pwd
    /tmp/x
    $ seq 1 10
    1
    2
    ...
    10
    ----
"""


def test_the_runner_shows_paths_and_elided_output_as_the_page_does(example_runner):
    [example] = generator.examples_in(SAMPLE, "sample")
    assert [cmd[0] for cmd, _ in example.steps] == ["$ pwd", "$ echo \"$HOME\" \"$TMPDIR\" &&",
                                                    "$ mkdir /tmp/x && cd /tmp/x && pwd", "$ seq 1 10"]
    assert generator.check_examples(example_runner, [example]) == []


def test_a_stale_or_failing_example_is_reported(example_runner):
    [stale] = generator.examples_in(SAMPLE.replace("/home/dev /tmp", "/home/me /tmp"), "sample")
    [problem] = generator.check_examples(example_runner, [stale])
    assert problem.startswith("sample:2: the example's output is not what its commands print now")
    assert "-/home/me /tmp" in problem and "+/home/dev /tmp" in problem

    [failing] = generator.examples_in(SAMPLE.replace("$ pwd", "$ false"), "sample")
    with pytest.raises(generator.SourceError, match="'false' exited with 1"):
        generator.check_examples(example_runner, [failing])
    [marked] = generator.examples_in(SAMPLE.replace("[run: empty]", "[run: empty, fails]"), "sample")
    with pytest.raises(generator.SourceError, match="marked 'fails'"):
        generator.check_examples(example_runner, [marked])


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed")
@pytest.mark.parametrize("page", sorted(p.name for p in MAN1.glob("*.1")))
def test_man_page_renders_without_warnings(page):
    proc = subprocess.run(["groff", "-man", "-ww", "-z", str(MAN1 / page)],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


# -- (d) the overview lists every command ------------------------------------------------

@pytest.mark.parametrize("path,cmd,ctx", COMMANDS[1:], ids=[_id(p) for p, _, _ in COMMANDS[1:]])
def test_every_command_is_in_the_overviews_commands(path, cmd, ctx):
    listed = sections(MAN1 / "git-ot.1").get("COMMANDS", "")
    assert mentions(listed, " ".join((PROG,) + path)), \
        f"'{PROG} {' '.join(path)}' is missing from the COMMANDS of git-ot.1"


# -- (e) every option is documented -------------------------------------------------------

@pytest.mark.parametrize("path,cmd,ctx", COMMANDS, ids=[_id(p) for p, _, _ in COMMANDS])
def test_every_option_is_in_its_man_page(path, cmd, ctx):
    # The group's -h/--help and --version are documented once, in git-ot.1.
    params = cmd.get_params(ctx) if not path else cmd.params
    page = page_for(path)
    documented = sections(page).get("OPTIONS", "")
    for param in params:
        if isinstance(param, click.Option) and not param.hidden:
            for name in param.opts + param.secondary_opts:
                assert mentions(documented, name), \
                    f"option {name} of '{_id(path)}' is not in the OPTIONS of {page.name}"


# -- (f) pip install puts the pages where man finds them -----------------------------------

def _installed_distribution():
    """git-ot's distribution installed in this interpreter's prefix, if any."""
    prefix = os.path.realpath(sys.prefix)
    for dist in importlib.metadata.distributions(name="git-ot"):
        location = os.path.realpath(str(dist.locate_file("")))
        if location == prefix or location.startswith(prefix + os.sep):
            return dist
    return None


def _is_editable(dist) -> bool:
    # PEP 610: pip records how it installed a project in direct_url.json.
    raw = dist.read_text("direct_url.json")
    return bool(raw) and json.loads(raw).get("dir_info", {}).get("editable", False)


def _man_env() -> dict:
    env = dict(os.environ)
    env.pop("MANPATH", None)  # man then derives its path from PATH, as for a user
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.update(MANPAGER="cat", PAGER="cat", GIT_PAGER="cat", MANWIDTH="80")
    return env


def _plain(text: str) -> str:
    return re.sub(r".\x08", "", text)  # drop overstrike, in case man keeps it


def test_man_pages_are_installed_where_man_and_git_help_find_them(tmp_path):
    dist = _installed_distribution()
    assert dist is not None, f"git-ot is not installed in {sys.prefix}; run pip install ."
    if _is_editable(dist):
        pytest.skip("git-ot is installed editable (pip install -e), which does not install "
                    "data files such as the man pages; a regular 'pip install .' does")
    installed = Path(sys.prefix) / "share" / "man" / "man1"
    for page in sorted(MAN1.glob("*.1")):
        copy = installed / page.name
        assert copy.is_file(), f"{page.name} was not installed into {installed}"
        assert copy.read_bytes() == page.read_bytes(), \
            f"the installed {page.name} is stale; reinstall git-ot"

    assert shutil.which("man") is not None, "man is not installed (the man-db package)"
    env = _man_env()
    for name in ("git-ot", "git-ot-trace"):
        proc = subprocess.run(["man", "-w", name], env=env, capture_output=True, text=True)
        assert proc.returncode == 0, f"man -w {name}: {proc.stderr}"
        found = os.path.realpath(proc.stdout.strip().splitlines()[0])
        assert found.startswith(os.path.realpath(installed) + os.sep), \
            f"man -w {name} found {found}, not the page under {installed}"

    # What a user types. git turns `git ot --help` into `git help ot`.
    for argv in (["git", "help", "-m", "ot"], ["git", "ot", "--help"],
                 ["git", "help", "git-ot-trace"]):
        proc = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True)
        assert proc.returncode == 0, f"{' '.join(argv)}: {proc.stderr}"
        shown = _plain(proc.stdout)
        page = "GIT-OT-TRACE(1)" if argv[-1] == "git-ot-trace" else "GIT-OT(1)"
        assert page in shown and "SYNOPSIS" in shown, f"{' '.join(argv)} did not show {page}"


# -- (g) the README names every command ------------------------------------------------------

def test_readme_mentions_every_command():
    readme = ROOT / "README.md"
    if not readme.is_file():
        pytest.skip("README.md does not exist yet")
    text = readme.read_text()
    for name in cli.list_commands(click.Context(cli, info_name=PROG)):
        assert re.search(rf"(git[ -]ot\s+|`){re.escape(name)}(?![\w-])", text), \
            f"README.md does not mention 'git ot {name}'"


def _config_keys_in_code() -> set[str]:
    """Every `ot.*` git config key git-ot reads: the string literals that are one."""
    literal = re.compile(r"""["'](ot\.[A-Za-z][A-Za-z0-9.]*[A-Za-z0-9])["']""")
    keys = set()
    for path in (ROOT / "git_ot").rglob("*.py"):
        keys.update(literal.findall(path.read_text()))
    return keys


def _config_keys_in_overview() -> set[str]:
    text = (ROOT / "man" / "src" / "git-ot.txt").read_text()
    section = text.split("\n== CONFIGURATION\n", 1)[1].split("\n== ", 1)[0]
    return set(re.findall(r"^`(ot\.[^`]+)`::$", section, re.M))


def test_every_config_key_is_in_the_overviews_configuration():
    # git's config key names are case-insensitive (the code asks for
    # ot.security.maxrisk, the page spells it maxRisk).
    in_code = {k.lower() for k in _config_keys_in_code()}
    in_page = {k.lower() for k in _config_keys_in_overview()}
    assert "ot.remote" in in_code and "ot.security.allow" in in_code  # the regex finds them
    assert in_code - in_page == set(), "read by git-ot but not in CONFIGURATION of git-ot(1)"
    assert in_page - in_code == set(), "in CONFIGURATION of git-ot(1) but not read by git-ot"
