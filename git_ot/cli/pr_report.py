"""The `git ot blame pr` report as Markdown (a pull request's description),
one self-contained HTML page, or JSON (refs/schemas/blame-pr.schema.json).

Pure functions of the domain's answer (domain/trail/pr.py): the same
answer gives the same bytes. Prompts and commit messages are shown whole,
as written; nothing is summarised.
"""

from __future__ import annotations

import html
import json

# The survival states in the order they are listed, with their colours
# (light, dark): alive greens and blues, partial amber, gone reds, the
# undecided greys.
STATE_COLOURS = {
    "alive_on_path": ("#1a7f37", "#3fb950"),
    "alive_transformed": ("#0a7b83", "#39c5cf"),
    "moved": ("#0969da", "#58a6ff"),
    "partially_preserved": ("#9a6700", "#d29922"),
    "repaired": ("#6f42c1", "#a371f7"),
    "reverted": ("#bc4c00", "#f0883e"),
    "lost": ("#cf222e", "#f85149"),
    "unknown": ("#6e7781", "#8b949e"),
    "pending": ("#57606a", "#b1bac4"),
    "unlanded": ("#8c959f", "#6e7681"),
}
ORDER = tuple(STATE_COLOURS)


def render(result: dict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if fmt == "html":
        return to_html(result)
    return to_markdown(result)


# -- shared wording --------------------------------------------------------------

def duration(seconds: float) -> str:
    s = int(round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h {m:02d}m {s:02d}s"
    if m:
        return f"{m}m {s:02d}s"
    return f"{s}s"


def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"


def short(sha: str) -> str:
    return sha[:10]


def _chosen(rng: dict) -> str:
    if rng["chosen"] == "given":
        return "as given"
    return f"the current branch against {rng['chosen']}"


def _lines(n: dict) -> str:
    return (f"{plural(n['introduced'], 'line')} introduced: {n['agent']} by agents, "
            f"{n['person']} by a person, {n['unknown']} unknown")


def _states(states: dict) -> list[tuple[str, int]]:
    return [(s, states[s]) for s in ORDER if states.get(s)]


def _agents(summary: dict) -> str:
    if not summary["agents"]:
        return "none"
    return "; ".join(f"{a['harness'] or 'unknown harness'} ({a['model'] or 'model unknown'}): "
                     f"{plural(a['sessions'], 'session')}" for a in summary["agents"])


def _scope(summary: dict, head: str) -> str:
    h = summary["hunks"]
    return f"{plural(h['total'], 'agent hunk')}, {h['alive']} alive at {short(head)}"


def _changed_text(ch: dict) -> str:
    who = {"person": "a person", "agent": "another session", "unknown": "an unanchored commit"}[ch["by"]]
    what = "reverted" if ch["reverted"] else "changed"
    return (f"{ch['path']}: hunk {ch['hunk']} of session {ch['session'][:8]}, "
            f"{plural(ch['lines'], 'line')} {what} by {who} in {short(ch['commit'])}")


def _fence(text: str) -> str:
    """A fenced block that holds `text` exactly, however many backticks it has."""
    longest, run = 0, 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text.rstrip(chr(10))}\n{fence}"


# -- Markdown ----------------------------------------------------------------------

def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def to_markdown(result: dict) -> str:
    rng, summary = result["range"], result["summary"]
    out = [f"## What this pull request is: `{short(rng['base'])}..{short(rng['head'])}`", "",
           f"Range `{rng['spec']}` ({_chosen(rng)}): {plural(summary['commits'], 'commit')}, oldest first.",
           ""]
    if not summary["agent_work"]:
        out += ["**No agent work in this range**: no line of its commits was written by a session "
                "git-ot knows of.", ""]
    out += ["| | |", "|---|---|",
            f"| Intent alignment | {summary['traced']} of {plural(summary['commits'], 'commit')} "
            f"traced to a prompt |",
            f"| Lines | {_lines(summary['lines'])} |",
            f"| Code scope | {_scope(summary, rng['head'])} |"]
    survival = ", ".join(f"{s} {n}" for s, n in _states(summary["hunks"]["states"])) or "none"
    out += [f"| Survival at `{short(rng['head'])}` | {survival} |",
            f"| Sessions | {plural(summary['sessions'], 'session')}, {plural(summary['steps'], 'step')}, "
            f"wall time {duration(summary['wall_seconds'])} |",
            f"| Agents and models | {_md_cell(_agents(summary))} |", ""]
    if result["sessions"]:
        out += ["| session | harness | models | steps | prompts | wall time |",
                "|---|---|---|--:|--:|--:|"]
        for s in result["sessions"]:
            cont = f" (continues `{s['continues']}`)" if s["continues"] else ""
            out.append(f"| `{s['session']}`{cont} | {_md_cell(s['harness'] or '-')} | "
                       f"{_md_cell(', '.join(s['models']) or '-')} | {s['steps']} | {s['prompts']} | "
                       f"{duration(s['wall_seconds'])} |")
        out.append("")
    out += ["### Commits", ""]
    for c in result["commits"]:
        n = c["lines"]
        tag = ("agent" if c["sessions"] else "unanchored" if not c["anchored"]
               else "no lines" if not n["introduced"] else "person")
        out += ["<details>",
                f"<summary><code>{short(c['commit'])}</code> {html.escape(c['subject'])} "
                f"({tag}: {n['agent']} agent, {n['person']} person, {n['unknown']} unknown)</summary>",
                ""]
        out += ["#### Intent", ""]
        if c["intent"]["prompts"]:
            for p in c["intent"]["prompts"]:
                out += [f"Prompt, session `{p['session']}` step {p['step']}:", "", _fence(p["text"]), ""]
        else:
            out += ["No prompt: no line of this commit was written by a session git-ot knows of.", ""]
        out += ["Commit message:", "", _fence(c["intent"]["message"]), ""]
        out += [f"**Lines**: {_lines(n)}" + ("" if c["anchored"] else " (the commit has no note)"), ""]
        if c["agents"]:
            out += ["**Agents**: " + ", ".join(f"{a['harness'] or '-'} ({a['model'] or '-'})"
                                                for a in c["agents"]), ""]
        if c["hunks"]:
            out += [f"**Agent hunks at `{short(rng['head'])}`**:", "",
                    "| path | lines | session:step | hunk | state |", "|---|---|---|---|---|"]
            for h in c["hunks"]:
                out.append(f"| `{_md_cell(h['path'] or '-')}` | {h['lines'][0]}-{h['lines'][1]} | "
                           f"`{h['session'][:8]}:{h['step']}` | {h['hunk']} | {h['state']} |")
            out.append("")
        if c["changed"]:
            out += ["**Where the agent's work was changed**:", ""]
            out += [f"- {_changed_text(ch)}" for ch in c["changed"]]
            out.append("")
        out += ["</details>", ""]
    out.append("<sub>Generated by git-ot from the session records and the notes; "
               "nothing in it is summarised.</sub>")
    return "\n".join(out) + "\n"


# -- HTML --------------------------------------------------------------------------

CSS = """
:root { color-scheme: light dark; --bg: #ffffff; --fg: #1f2328; --muted: #59636e; --line: #d1d9e0;
  --panel: #f6f8fa; --agent: #0969da; --person: #bf8700; --unknown: #afb8c1; --code: #eff2f5; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --panel: #151b23;
    --agent: #4493f8; --person: #d29922; --unknown: #656c76; --code: #1f2428; }
}
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 70rem; padding: 1.5rem; background: var(--bg); color: var(--fg);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 1.5rem 0 .5rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace;
  font-size: .9em; }
pre { background: var(--code); padding: .6rem .8rem; border-radius: 6px; white-space: pre-wrap;
  overflow-wrap: anywhere; margin: .25rem 0 .75rem; }
.muted { color: var(--muted); }
.note { border-left: 4px solid var(--person); padding: .4rem .8rem; background: var(--panel); }
dl.summary { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1.2rem; margin: 1rem 0;
  padding: .8rem 1rem; background: var(--panel); border: 1px solid var(--line); border-radius: 8px; }
dl.summary dt { font-weight: 600; }
dl.summary dd { margin: 0; }
.legend { display: flex; flex-wrap: wrap; gap: .4rem .9rem; margin: .5rem 0; font-size: .85rem; }
.state { display: inline-flex; align-items: center; gap: .3rem; white-space: nowrap; }
.dot { width: .7rem; height: .7rem; border-radius: 50%; display: inline-block; }
.chip { display: inline-block; padding: 0 .45rem; border-radius: 1rem; color: #fff; font-size: .8rem;
  margin: 0 .2rem .2rem 0; white-space: nowrap; }
table { border-collapse: collapse; width: 100%; margin: .25rem 0 .75rem; font-size: .9rem; }
th, td { text-align: left; border-bottom: 1px solid var(--line); padding: .3rem .5rem; vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.n, th.n { text-align: right; }
.commit { border: 1px solid var(--line); border-radius: 8px; margin: .6rem 0; padding: .6rem .9rem;
  break-inside: avoid; }
.row { display: grid; grid-template-columns: 7.5rem 1fr 14rem; gap: .8rem; align-items: start; }
.sha { font-weight: 600; }
.subject { font-weight: 600; }
.intent { color: var(--muted); font-size: .9rem; overflow-wrap: anywhere; }
.bar { display: flex; height: .7rem; border-radius: 4px; overflow: hidden; background: var(--line);
  margin: .3rem 0 .2rem; }
.bar span { display: block; height: 100%; }
.bar .a { background: var(--agent); } .bar .p { background: var(--person); } .bar .u { background: var(--unknown); }
.counts { font-size: .8rem; color: var(--muted); }
details { margin-top: .5rem; }
summary { cursor: pointer; color: var(--muted); font-size: .9rem; }
footer { margin-top: 2rem; font-size: .8rem; color: var(--muted); }
@media (max-width: 40rem) { .row { grid-template-columns: 1fr; } }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  details::details-content { content-visibility: visible; display: block; }
  details > summary { display: none; }
  .commit { border-color: #999; }
  .bar, .dot, .chip { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
}
"""


def _state_css() -> str:
    light = " ".join(f".s-{s} {{ background: {c[0]}; }}" for s, c in STATE_COLOURS.items())
    dark = " ".join(f".s-{s} {{ background: {c[1]}; }}" for s, c in STATE_COLOURS.items())
    # Dark mode's state colours are light: dark text on them reads.
    return f"{light}\n@media (prefers-color-scheme: dark) {{ {dark} .chip {{ color: #0d1117; }} }}\n"


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _bar(n: dict) -> str:
    total = n["agent"] + n["person"] + n["unknown"]
    if not total:
        return '<div class="bar" role="img" aria-label="no lines introduced"></div>'
    parts = []
    for cls, key in (("a", "agent"), ("p", "person"), ("u", "unknown")):
        if n[key]:
            parts.append(f'<span class="{cls}" style="width:{n[key] * 100 / total:.2f}%"></span>')
    label = f"{n['agent']} agent, {n['person']} person, {n['unknown']} unknown lines"
    return f'<div class="bar" role="img" aria-label="{label}">{"".join(parts)}</div>'


def _chip(state: str, n: int | None = None) -> str:
    text = state if n is None else f"{state} {n}"
    return f'<span class="chip s-{state}">{_e(text)}</span>'


def to_html(result: dict) -> str:
    rng, summary = result["range"], result["summary"]
    head = short(rng["head"])
    title = f"What this pull request is: {short(rng['base'])}..{head}"
    o = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
         '<meta name="viewport" content="width=device-width, initial-scale=1">',
         '<meta name="color-scheme" content="light dark">',
         f"<title>{_e(title)}</title>", "<style>" + CSS + _state_css() + "</style>", "</head>", "<body>",
         "<header>", f"<h1>{_e(title)}</h1>",
         f'<p class="muted">Range <code>{_e(rng["spec"])}</code> ({_e(_chosen(rng))}): '
         f'{plural(summary["commits"], "commit")}, oldest first.</p>']
    if not summary["agent_work"]:
        o.append('<p class="note"><strong>No agent work in this range</strong>: no line of its commits '
                 'was written by a session git-ot knows of.</p>')
    survival = " ".join(_chip(s, n) for s, n in _states(summary["hunks"]["states"])) or "none"
    o += ['<dl class="summary">',
          f"<dt>Intent alignment</dt><dd>{summary['traced']} of {plural(summary['commits'], 'commit')} "
          f"traced to a prompt</dd>",
          f"<dt>Lines</dt><dd>{_e(_lines(summary['lines']))}{_bar(summary['lines'])}</dd>",
          f"<dt>Code scope</dt><dd>{_e(_scope(summary, rng['head']))}</dd>",
          f"<dt>Survival at {head}</dt><dd>{survival}</dd>",
          f"<dt>Sessions</dt><dd>{plural(summary['sessions'], 'session')}, "
          f"{plural(summary['steps'], 'step')}, wall time {duration(summary['wall_seconds'])}</dd>",
          f"<dt>Agents and models</dt><dd>{_e(_agents(summary))}</dd>",
          "</dl>", "</header>", "<main>"]
    o += ["<h2>Survival states</h2>", '<div class="legend">']
    o += [f'<span class="state"><span class="dot s-{s}"></span>{s}</span>' for s in ORDER]
    o += ["</div>",
          '<div class="legend"><span class="state"><span class="dot" style="background:var(--agent)"></span>'
          'agent lines</span><span class="state"><span class="dot" style="background:var(--person)"></span>'
          'person lines</span><span class="state"><span class="dot" style="background:var(--unknown)">'
          '</span>unknown lines</span></div>']
    if result["sessions"]:
        o += ["<h2>Sessions</h2>", "<table>",
              '<thead><tr><th>session</th><th>harness</th><th>models</th><th class="n">steps</th>'
              '<th class="n">prompts</th><th class="n">wall time</th></tr></thead>', "<tbody>"]
        for s in result["sessions"]:
            cont = f" (continues <code>{_e(s['continues'])}</code>)" if s["continues"] else ""
            o.append(f"<tr><td><code>{_e(s['session'])}</code>{cont}</td>"
                     f"<td>{_e(s['harness'] or '-')}</td>"
                     f"<td>{_e(', '.join(s['models']) or '-')}</td><td class=\"n\">{s['steps']}</td>"
                     f"<td class=\"n\">{s['prompts']}</td><td class=\"n\">{duration(s['wall_seconds'])}</td></tr>")
        o += ["</tbody>", "</table>"]
    o.append("<h2>Commits</h2>")
    for c in result["commits"]:
        n = c["lines"]
        prompts = c["intent"]["prompts"]
        first = prompts[0]["text"] if prompts else None
        intent = (" ".join(first.split()) if first is not None
                  else "no prompt: no line written by a session git-ot knows of")
        if len(intent) > 160:
            intent = intent[:157].rstrip() + "..."
        chips = " ".join(_chip(s, k) for s, k in _states(c["states"]))
        o += [f'<section class="commit" id="c-{c["commit"]}">', '<div class="row">',
              f'<div><code class="sha">{short(c["commit"])}</code><br><span class="muted">{_e(c["author"])}'
              f"</span></div>",
              f'<div><div class="subject">{_e(c["subject"])}</div>'
              f'<div class="intent">{"Prompt: " if first is not None else ""}{_e(intent)}</div>'
              f'<div>{chips}</div></div>',
              f'<div>{_bar(n)}<div class="counts">{n["agent"]} agent · {n["person"]} person · '
              f'{n["unknown"]} unknown</div></div>',
              "</div>",
              "<details>", "<summary>Intent in full, hunks and changes</summary>"]
        for p in prompts:
            o += [f'<p class="muted">Prompt, session <code>{_e(p["session"])}</code> step {p["step"]}:</p>',
                  f"<pre>{_e(p['text'])}</pre>"]
        o += ['<p class="muted">Commit message:</p>', f"<pre>{_e(c['intent']['message'].rstrip())}</pre>",
              f"<p>{_e(_lines(n))}{'' if c['anchored'] else ' (the commit has no note)'}</p>"]
        if c["agents"]:
            o.append("<p>Agents: " + _e(", ".join(f"{a['harness'] or '-'} ({a['model'] or '-'})"
                                                  for a in c["agents"])) + "</p>")
        if c["hunks"]:
            o += ["<table>", "<thead><tr><th>path</th><th>lines</th><th>session:step</th><th>hunk</th>"
                  f"<th>state at {head}</th></tr></thead>", "<tbody>"]
            for h in c["hunks"]:
                o.append(f"<tr><td><code>{_e(h['path'] or '-')}</code></td><td>{h['lines'][0]}-{h['lines'][1]}"
                         f"</td><td><code>{_e(h['session'][:8])}:{h['step']}</code></td><td>{_e(h['hunk'])}</td>"
                         f"<td>{_chip(h['state'])}</td></tr>")
            o += ["</tbody>", "</table>"]
        if c["changed"]:
            o += ["<p>Where the agent's work was changed:</p>", "<ul>"]
            o += [f"<li>{_e(_changed_text(ch))}</li>" for ch in c["changed"]]
            o.append("</ul>")
        o += ["</details>", "</section>"]
    o += ["</main>", "<footer>Generated by git-ot from the session records and the notes; "
          "nothing in it is summarised.</footer>", "</body>", "</html>"]
    return "\n".join(o) + "\n"
