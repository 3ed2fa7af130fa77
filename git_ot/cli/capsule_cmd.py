"""`git ot capsule seal / open / show / replay`: a failing step as one file, replayed anywhere."""

from __future__ import annotations

import click

from ..domain.opening import open_store
from .main import json_option
from .output import emit, emit_json, one_line

# `replay`'s exit status when it cannot say (the verdict is inconclusive);
# a verdict of reproduces or fixed exits 0, an error 1.
INCONCLUSIVE = 2


@click.group()
def capsule():
    """Seal a failing step into one file, open it anywhere, and replay it."""


@capsule.command("seal")
@click.argument("spec", metavar="SESSION[:STEP]")
@click.option("--verdict", "verdict", metavar="CMD", required=True,
              help="The shell command that fails while the bug is there and passes once it is fixed.")
@click.option("--setup", "setup", metavar="CMD", default=None,
              help="A shell command to run before the verdict at replay (building, generating).")
@click.option("--output", "-o", "output", metavar="FILE", default=None,
              help="Where to write the capsule (default: SESSION-STEP.capsule here).")
@json_option
def seal(spec, verdict, setup, output, as_json):
    """Seal a step of a session into a capsule file (a git bundle).

    The capsule holds the working files as they were at the step, the
    prompts that led there, the steps since the last prompt, the failing
    step's command and output, the model's view at the step, the verdict
    and setup commands, and the environment: the OS, Python, and a Python
    project's virtual environment, pinned. STEP defaults to the session's
    last failing tool call. The security gate checks everything first.
    """
    from ..domain import capsule as capsule_domain

    result = capsule_domain.seal(open_store(seal=True), spec, verdict, setup=setup, output=output)
    if as_json:
        emit_json(result)
        return
    f = result["failure"]
    what = f"{f.get('tool')} {one_line(f.get('command') or '', 50)}" if f["kind"] == "tool" else f["kind"]
    emit(f"sealed session {result['session'][:12]} at step {result['step']} ({what}) "
         f"into {result['file']} ({result['bytes']} bytes)")


@capsule.command("open")
@click.argument("file", metavar="FILE")
@click.argument("directory", metavar="DIR", required=False)
@json_option
def open_(file, directory, as_json):
    """Verify a capsule and unpack it into a new repository.

    DIR (default: the file's name without .capsule) becomes a git
    repository checked out at the step's working files; the capsule's
    records are kept in its .git/opentraces/capsule/. Needs nothing but
    the file.
    """
    from ..domain import capsule as capsule_domain

    result = capsule_domain.open_capsule(file, directory)
    if as_json:
        emit_json(result)
        return
    emit(f"opened session {result['session'][:12]} at step {result['step']} in {result['directory']}")
    emit(f"  cd {result['directory']} && git ot capsule replay")


@capsule.command("show")
@click.argument("directory", metavar="DIR", required=False)
@json_option
def show(directory, as_json):
    """Show an opened capsule: intent, failing step, trajectory, verdict."""
    from ..domain import capsule as capsule_domain

    result = capsule_domain.show(open_store(directory))
    if as_json:
        emit_json(result)
        return
    emit(f"capsule of session {result['session']} at step {result['step']}")
    h = result["harness"]
    emit(f"harness {h.get('name') or '-'} {h.get('version') or ''}".rstrip()
         + (f", model {result['model']}" if result.get("model") else ""))
    emit("")
    emit("intent:")
    for i, prompt in enumerate(result["intent"], 1):
        emit(f"  {i}. {one_line(prompt, 100)}")
    f = result["failure"]
    emit("")
    if f["kind"] == "tool":
        status = f" (exit {f['exit_status']})" if f.get("exit_status") is not None else ""
        emit(f"failing step {f['step']}: {f.get('tool')} {one_line(f.get('command') or '', 100)}{status}")
        for line in (f.get("output") or "").rstrip("\n").splitlines():
            emit(f"  | {line}")
    else:
        emit(f"step {f['step']}: {f['kind']}")
    emit("")
    emit("trajectory:")
    for item in result["trajectory"]:
        if item["kind"] == "tool":
            text = f"{item.get('tool')} {item.get('input', '')} -> {item.get('status')}"
        else:
            text = item.get("text", "")
        emit(f"  {item['n']:>4} {item['kind']:<8} {one_line(text, 90)}")
    emit("")
    v = result["verdict"]
    if v.get("setup"):
        emit(f"setup:   {v['setup']}")
    emit(f"verdict: {v['command']}")
    pe = result["environment"].get("python_env")
    if pe:
        emit(f"python environment: {pe['path'] or '(outside the project)'}, Python {pe.get('python') or '?'}, "
             f"{len(pe['pins'])} pinned")


@capsule.command("replay")
@click.argument("directory", metavar="DIR", required=False)
@click.option("--with", "with_", metavar="SPEC", multiple=True,
              help="Replace a pinned distribution: NAME==VERSION, or NAME@PATH (a wheel or a folder). "
                   "May be given more than once.")
@click.option("--at", "at", metavar="REV", default=None,
              help="Run against this revision of the source repository instead of the snapshot "
                   "(fetched from the recorded origin when the capsule's repository lacks it).")
@click.option("--timeout", "timeout", type=float, default=300.0, metavar="S",
              help="Seconds the setup, the environment and the verdict may each take (default 300).")
@json_option
@click.pass_context
def replay(ctx, directory, with_, at, timeout, as_json):
    """Run the verdict again in a scratch copy and say what it finds.

    reproduces: the verdict fails, as when sealed; fixed: it passes now
    (the verdict flipped); inconclusive: it could not say (the environment
    or the setup failed, the verdict timed out or could not run). Exit
    status 0 for reproduces and fixed, 2 for inconclusive, 1 for an error.
    """
    from ..domain import replay as replay_domain

    result = replay_domain.replay(open_store(directory), with_, at=at, timeout=timeout)
    if as_json:
        emit_json(result)
    else:
        flip = " (flipped)" if result["flipped"] else ""
        emit(f"{result['verdict']}{flip}: {result['reason']}")
        recorded = result["recorded"]["exit_status"]
        emit(f"recorded exit {recorded if recorded is not None else '-'}, replayed exit "
             f"{result['replayed']['exit_status'] if result['replayed']['exit_status'] is not None else '-'}"
             + (f", at {result['at']}" if result["at"] else "")
             + ("".join(f", with {w['name']}" + (f"=={w['version']}" if "version" in w else f"@{w['path']}")
                        for w in result["with"])))
        out = (result["replayed"]["output"] or "").rstrip("\n")
        for line in out.splitlines()[-20:]:
            emit(f"  | {line}")
    if result["verdict"] == "inconclusive":
        ctx.exit(INCONCLUSIVE)
