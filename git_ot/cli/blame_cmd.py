"""`git ot blame [REV] [--] FILE`, `git ot blame commit REV` and `git ot blame pr [RANGE]`:
who (which session, step, prompt) wrote what."""

from __future__ import annotations

import datetime
import json
import sys

import click

from ..domain import agent_trace
from ..errors import GitOtError
from ..domain.opening import open_store
from ..domain.trail import blame as blame_domain
from ..store.refs import abbreviate
from .main import json_option
from . import output
from .output import emit, emit_json


class _BlameCommand(click.Command):
    """Keeps where `--` stood among the arguments: git blame reads `REV -- FILE`
    and `-- FILE REV` by it, and `blame -- commit` blames a file named
    'commit' instead of meaning `blame commit REV`."""

    def parse_args(self, ctx, args):
        ctx.meta["git_ot.blame.dashdash"] = _dashdash_at(args)
        return super().parse_args(ctx, args)


def _dashdash_at(args: list[str]) -> int | None:
    """How many arguments that are not options came before `--`, or None
    without one; read as click reads them (only -L takes a value)."""
    count = 0
    i = 0
    while i < len(args):
        a = args[i]
        i += 1
        if a == "--":
            return count
        if a.startswith("-") and a != "-":
            if not a.startswith("--") and a.find("L") == len(a) - 1:
                i += 1  # -L, or -ML: its value is the next argument
            continue
        count += 1
    return None


@click.command(cls=_BlameCommand)
@click.option("-L", "line_ranges", metavar="RANGE", multiple=True,
              help="Blame only these lines, as git blame -L takes them ('10,20', '10,+5', "
                   "':funcname', '/regex/'); may be given more than once.")
@click.option("-M", "moves", count=True,
              help="Follow lines moved or copied within the file, as git blame -M does.")
@click.option("-C", "copies", count=True,
              help="Also follow lines moved or copied from other files, as git blame -C does "
                   "(repeat it to look further, as with git).")
@click.option("-w", "whitespace", is_flag=True,
              help="Ignore white space when comparing a line with its parent's, as git blame -w "
                   "does: a line only re-indented keeps the writer it had.")
@click.option("--porcelain", is_flag=True,
              help="Print git blame's porcelain format with ot-* header lines added.")
@click.option("--format", "fmt", type=click.Choice(["text", "agent-trace", "md", "html", "json"]),
              default=None,
              help="With 'blame commit': 'agent-trace' prints the commit's Agent Trace record "
                   "(JSON, version 0.1.0) instead of the text. With 'blame pr': 'md' (the default, "
                   "for a pull request's description), 'html' (one self-contained page) or 'json'.")
@click.option("--output", "output_file", metavar="FILE", type=click.Path(dir_okay=False, writable=True),
              help="With 'blame pr': write the report to FILE instead of standard output.")
@json_option
@click.argument("args", nargs=-1, required=True, metavar="[REV] [--] FILE")
@click.pass_context
def blame(ctx, line_ranges, moves, copies, whitespace, porcelain, fmt, output_file, as_json, args):
    """Show which agent session, step and prompt wrote each line of a file.

    The file and revision are given as to git blame: 'git ot blame [REV]
    [--] FILE'; the old order 'git ot blame FILE REV' works too, as with git.

    'git ot blame commit REV' shows what a commit was for instead: its
    sessions, the prompts behind its patches, and how much survives at HEAD.

    'git ot blame pr [BASE..HEAD]' reports every commit of a range that way,
    for a pull request: its intent, agent and person lines, survival.
    """
    args = list(args)
    at = ctx.meta.get("git_ot.blame.dashdash")
    if at is not None:
        args.insert(at, "--")
    if args[0] == "pr" and at != 0:
        _blame_pr(args[1:], fmt, output_file, as_json,
                  line_ranges or moves or copies or whitespace or porcelain)
        return
    if output_file is not None:
        raise click.UsageError("--output applies to 'git ot blame pr' only")
    if fmt in ("md", "html", "json"):
        raise click.UsageError(f"--format {fmt} applies to 'git ot blame pr' only")
    fmt = fmt or "text"
    if args[0] == "commit":
        revs = [a for a in args[1:] if a != "--"]
        if not revs:
            raise click.UsageError("'blame commit' needs a revision, as in 'git ot blame commit HEAD'")
        if len(revs) > 1:
            raise click.UsageError("'blame commit' takes one revision, as in 'git ot blame commit HEAD'")
        if line_ranges or moves or copies or whitespace or porcelain:
            raise click.UsageError("-L, -M, -C, -w and --porcelain apply to 'git ot blame FILE' only")
        if fmt == "agent-trace":
            if as_json:
                raise click.UsageError("--json and --format agent-trace cannot be used together")
            emit_json(agent_trace.commit_record(open_store(seal=True), revs[0]))
            return
        result = blame_domain.blame_commit(open_store(seal=True), revs[0])
        if as_json:
            emit_json(result)
        else:
            output.page()
            _print_commit(result)
        return
    if fmt != "text":
        raise click.UsageError("--format applies to 'git ot blame commit REV' only")
    if as_json and porcelain:
        raise click.UsageError("--json and --porcelain cannot be used together")
    store = open_store(seal=True)
    result = blame_domain.blame_file(store, args, line_ranges, moves, copies, porcelain=porcelain,
                                       whitespace=whitespace)
    if as_json:
        _print_json(result)
    elif porcelain:
        _print_porcelain(result)
    else:
        output.page()
        _print_human(result, store.session_ids() if output.width() is not None else ())


def _blame_pr(args: list[str], fmt: str | None, output_file: str | None, as_json: bool,
              file_options) -> None:
    from ..domain.trail import pr as pr_domain
    from . import pr_report

    revs = [a for a in args if a != "--"]
    if len(revs) > 1:
        raise click.UsageError("'blame pr' takes one range, as in 'git ot blame pr main..HEAD'")
    if file_options:
        raise click.UsageError("-L, -M, -C, -w and --porcelain apply to 'git ot blame FILE' only")
    if fmt in ("text", "agent-trace"):
        raise click.UsageError(f"--format {fmt} does not apply to 'blame pr': use md, html or json")
    if as_json:
        if fmt not in (None, "json"):
            raise click.UsageError(f"--json and --format {fmt} cannot be used together")
        fmt = "json"
    result = pr_domain.blame_pr(open_store(seal=True), revs[0] if revs else None)
    if not revs:
        # As git says where it fetches from: the range chosen, on stderr.
        base, _, head = result["range"]["spec"].partition("..")
        sys.stderr.write(f"comparing '{head}' with '{base}', {result['range']['chosen']}; "
                         f"name a range to compare others\n")
        sys.stderr.flush()
    text = pr_report.render(result, fmt or "md")
    if output_file is None:
        if fmt in (None, "md"):
            output.page()
        emit(text.rstrip("\n"))
        return
    try:
        with open(output_file, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    except OSError as exc:
        raise GitOtError(f"cannot write '{output_file}': {exc.strerror or exc}",
                         hint="name a file in a directory that exists and can be written") from None


def _print_json(result: dict) -> None:
    """One JSON document, with each line's object on a line of its own.

    Compact objects, one a line, print fast (Python's C encoder) on files of
    thousands of lines, and read well with grep as with jq.
    """
    def dumps(value) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    # The same values recur on thousands of lines: encode each once.
    authors = {sha: dumps(c.get("author")) for sha, c in result["commits"].items()}
    paths: dict = {}
    whos: dict[int, str] = {}
    rows = []
    for ln in result["lines"]:
        a = ln["attribution"]
        who = whos.get(id(a))
        if who is None:
            who = whos[id(a)] = dumps(a)
        path = paths.get(ln["path"])
        if path is None:
            path = paths[ln["path"]] = dumps(ln["path"])
        rows.append(f'{{"line":{ln["line"]},"commit":"{ln["commit"]}","orig_line":{ln["orig_line"]},'
                    f'"path":{path},"author":{authors[ln["commit"]]},"content":{dumps(ln["content"])},'
                    f'"trivial":{"true" if ln["trivial"] else "false"},"attribution":{who}}}')
    head = dumps({"path": result["path"], "rev": result["rev"]})[:-1]
    emit(head + ',"lines":[' + ("\n" + ",\n".join(rows) + "\n" if rows else "") + "]}")


def _who(a: dict, sid: str | None = None) -> str:
    """The attribution column: piped, `session:step harness/model prompt`; on a
    terminal (`sid` given, the session's short id) `session:step prompt`."""
    if a["kind"] != "agent":
        return a["kind"]
    if sid is not None:
        return f"{sid}:{a['step']} {a['prompt'] or '-'}"
    return (f"{(a['session'] or '?')[:8]}:{a['step']} {a['harness'] or '-'}/{a['model'] or '-'} "
            f"{a['prompt'] or '-'}")


def _date(commit: dict) -> str:
    t, tz = commit.get("author-time"), commit.get("author-tz") or "+0000"
    if t is None or not t.isdigit():
        return ""
    t = int(t)
    try:
        sign = -1 if tz[0] == "-" else 1
        offset = datetime.timedelta(minutes=sign * (int(tz[1:3]) * 60 + int(tz[3:5])))
    except (ValueError, IndexError):
        offset, tz = datetime.timedelta(0), "+0000"
    when = datetime.datetime.fromtimestamp(t, datetime.timezone(offset))
    return when.strftime("%Y-%m-%d %H:%M:%S ") + tz


# On a terminal, the prompt is shown only when this many columns of it fit
# beside the code.
MIN_PROMPT = 16


def _print_human(result: dict, session_ids=()) -> None:
    """git blame's default format, with the attribution as one more column.

    On a terminal the line fits the width (output.width()): the session's
    short id and the step, then the prompt cut with an ellipsis to the room
    the widest code line leaves (none when under MIN_PROMPT columns), so the
    code stays on screen; harness and model are left to 'blame commit' and
    --porcelain. Piped, every line is whole."""
    rows, commits = result["lines"], result["commits"]
    if not rows:
        return
    fit = output.width()
    author_w = max(len(c.get("author") or "") for c in commits.values())
    line_w = len(str(max(r["line"] for r in rows)))
    attributions = {id(r["attribution"]): r["attribution"] for r in rows}  # shared objects
    shorts = {}
    if fit is not None:
        shown = {a["session"] for a in attributions.values() if a["kind"] == "agent" and a["session"]}
        shorts = abbreviate({*session_ids, *shown})
    whos = {k: _who(a, shorts.get(a.get("session"), "?") if fit is not None else None)
            for k, a in attributions.items()}
    who_w = max(len(w) for w in whos.values())
    prefix = {}
    for sha, c in commits.items():
        short = ("^" + sha[:7]) if c.get("boundary") else sha[:8]
        prefix[sha] = (output.paint(short, "yellow"), f" ({(c.get('author') or ''):<{author_w}} {_date(c)} ")
    if fit is not None:
        lead = 8 + len(next(iter(prefix.values()))[1]) + line_w + 2  # "e58908e1 (Dev date 12) "
        code_w = max(len(r["content"].expandtabs()) for r in rows)
        head_w = max(len(w.partition(" ")[0]) for w in whos.values())
        room = fit - lead - 1 - code_w
        # The prompt shows only where enough of it fits beside the widest
        # code line; else the column is the session and step alone, as git
        # blame's own columns leave the code on screen.
        if room >= head_w + 1 + MIN_PROMPT:
            who_w = min(who_w, room)
        else:
            whos = {k: w.partition(" ")[0] for k, w in whos.items()}
            who_w = head_w
    for k, a in attributions.items():
        w = output.cut(whos[k], who_w).ljust(who_w)
        head, sep, rest = w.partition(" ")
        if a["kind"] == "agent":
            w = output.paint(head, "cyan") + sep + rest
        whos[k] = w
    emit("\n".join(f"{prefix[r['commit']][0]}{prefix[r['commit']][1]}{r['line']:>{line_w}}) "
                   f"{whos[id(r['attribution'])]} {r['content']}"
                   for r in rows))


def _print_porcelain(result: dict) -> None:
    out: list[str] = []
    for r in result["lines"]:
        out += [raw.decode("utf-8", "surrogateescape") for raw in r["raw"]]
        a = r["attribution"]
        out.append(f"ot-kind {a['kind']}")
        for key in ("session", "step", "hunk", "harness", "model", "prompt", "reason"):
            if a.get(key) is not None:
                out.append(f"ot-{key} {a[key]}")
        if a.get("candidates"):
            out.append(f"ot-candidates {' '.join(a['candidates'])}")
        out.append("\t" + r["content"])
    if out:
        emit("\n".join(out))


def _print_commit(result: dict) -> None:
    fit = output.width()
    n = result["lines"]
    emit(output.paint(f"commit {result['commit']}", "yellow"))
    emit(f"    {result['summary']}")
    plural = "s" if n["introduced"] != 1 else ""
    if not result["anchored"]:
        if not n["moved"]:
            emit(f"not anchored: {n['introduced']} line{plural} introduced, of unknown origin "
                 f"(the commit has no note)")
            return
        emit(f"not anchored: {n['introduced']} line{plural} introduced: {n['moved']} moved here from "
             f"agent lines, {n['unknown']} of unknown origin (the commit has no note); "
             f"agent lines alive at HEAD {n['alive_at_head']}")
    else:
        moved = f" ({n['moved']} moved here)" if n["moved"] else ""
        emit(f"lines introduced {n['introduced']}: agent {n['agent']}{moved}, human {n['human']}, "
             f"unknown {n['unknown']}; agent lines alive at HEAD {n['alive_at_head']}")
        if result["recomputed"]:
            emit("(the commit has no note: read as the hooks would have written it; "
                 "'git ot anchor' writes it)")
    for s in result["sessions"]:
        emit("")
        emit(f"session {s['session']}  {s['harness'] or '-'}  model {s['model'] or '-'}"
             + ("" if s["known"] else "  (session not in this repository)"))
        if s["continues"]:
            emit(f"  continues session {s['continues']} (after a /clear)")
        prompt_seen = object()
        for st in s["steps"]:
            if st["prompt_step"] != prompt_seen:
                prompt_seen = st["prompt_step"]
                head = f"  prompt {st['prompt_step'] or '?'}: "
                room = 72 if fit is None else max(fit - len(head), 16)  # on a terminal, its width
                emit(head + blame_domain.short(st["prompt"], room))
            hunks = ", ".join(f"{h['path']}:{h['lines'][0]}-{h['lines'][1]}"
                              + (f" (moved from {h['moved_from'][:12]})" if "moved_from" in h else "")
                              for h in st["hunks"])
            moved = f"{st['moved']} moved here, " if st["moved"] else ""
            emit(f"    step {st['step']} {st['tool'] or 'tool'}: {st['lines']} line"
                 f"{'s' if st['lines'] != 1 else ''} ({moved}{st['alive']} alive) {hunks}")
            for f in st["patch"] or []:
                emit(f"        patch {f['status']} {f['path']} +{f.get('added', 0)} -{f.get('removed', 0)}")
