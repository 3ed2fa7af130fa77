"""Survival through the formatters people run over agent code: gofmt, prettier.

A captured session writes code in the layout agents often leave (spaces
for Go's tabs, fields and comments not aligned, imports unsorted; long
TypeScript lines, single quotes, no semicolons, a call's arguments one per
line), the work is committed, and a person runs the real formatter
(tests/support/formatters.py: gofmt from Debian's golang-go, prettier at
its pinned version from npm) and commits. Every line the formatter only
reshaped keeps its identity: `alive_transformed`, with the place at HEAD it
went to; what the formatter really deleted (a second blank line) is
removed by the person's commit, and lines it joined into one live at that
one place. black is tested beside the other real shapes
(tests/trail/test_real_shapes.py).
"""

from __future__ import annotations

from git_ot.domain.trail.lineage import reformatted, rewrapped
from support.formatters import gofmt, prettier
from support.trail import one_turn, set_up

AGENT = {"kind": "agent"}

GO = (
    "package cache\n"
    "\n"
    "import (\n"
    '    "time"\n'
    '    "fmt"\n'
    ")\n"
    "\n"
    "// Entry is one cached value.\n"
    "type Entry struct {\n"
    "    Key string // the lookup key\n"
    "    Value []byte // the payload, as stored\n"
    "    ExpiresAt time.Time // when the entry stops being served\n"
    "}\n"
    "\n"
    "\n"
    "func (e *Entry) Expired(now time.Time) bool {\n"
    "    return now.After(e.ExpiresAt)\n"
    "}\n"
    "\n"
    "func Describe(e Entry) string {\n"
    "    if e.ExpiresAt.IsZero(){\n"
    '        return fmt.Sprintf("%s (no expiry)",e.Key)\n'
    "    }\n"
    "    size:=len(e.Value)\n"
    '    return fmt.Sprintf("%s: %d bytes until %s", e.Key, size, e.ExpiresAt.Format(time.RFC3339))\n'
    "}\n"
)

GOFMT = (
    "package cache\n"
    "\n"
    "import (\n"
    '\t"fmt"\n'
    '\t"time"\n'
    ")\n"
    "\n"
    "// Entry is one cached value.\n"
    "type Entry struct {\n"
    "\tKey       string    // the lookup key\n"
    "\tValue     []byte    // the payload, as stored\n"
    "\tExpiresAt time.Time // when the entry stops being served\n"
    "}\n"
    "\n"
    "func (e *Entry) Expired(now time.Time) bool {\n"
    "\treturn now.After(e.ExpiresAt)\n"
    "}\n"
    "\n"
    "func Describe(e Entry) string {\n"
    "\tif e.ExpiresAt.IsZero() {\n"
    '\t\treturn fmt.Sprintf("%s (no expiry)", e.Key)\n'
    "\t}\n"
    "\tsize := len(e.Value)\n"
    '\treturn fmt.Sprintf("%s: %d bytes until %s", e.Key, size, e.ExpiresAt.Format(time.RFC3339))\n'
    "}\n"
)

TS = (
    "import {readFile} from 'fs/promises'\n"
    "\n"
    "export interface Row { name: string; amount: number }\n"
    "\n"
    "export async function loadReport(path: string, currency: string, includeTotals: boolean, rounding: number) {\n"
    "    const text = await readFile(path, 'utf8')\n"
    "    const rows: Row[] = JSON.parse(text).map((r: any) => ({name: r.name, amount: Number(r.amount)}))\n"
    "    const total = rows.reduce((sum, row) => sum + row.amount, 0)\n"
    "    const summary = formatSummary(rows, {currency: currency, includeTotals: includeTotals, rounding: rounding, locale: 'en-GB'})\n"
    "    return {\n"
    "        rows,\n"
    "        total\n"
    "    }\n"
    "}\n"
    "\n"
    "function formatSummary(\n"
    "    rows: Row[],\n"
    "    options: object\n"
    ") {\n"
    '    return rows.map(row => `${row.name}: ${row.amount}`).join("\\n")\n'
    "}\n"
)

PRETTIER = (
    'import { readFile } from "fs/promises";\n'
    "\n"
    "export interface Row {\n"
    "  name: string;\n"
    "  amount: number;\n"
    "}\n"
    "\n"
    "export async function loadReport(\n"
    "  path: string,\n"
    "  currency: string,\n"
    "  includeTotals: boolean,\n"
    "  rounding: number,\n"
    ") {\n"
    '  const text = await readFile(path, "utf8");\n'
    "  const rows: Row[] = JSON.parse(text).map((r: any) => ({\n"
    "    name: r.name,\n"
    "    amount: Number(r.amount),\n"
    "  }));\n"
    "  const total = rows.reduce((sum, row) => sum + row.amount, 0);\n"
    "  const summary = formatSummary(rows, {\n"
    "    currency: currency,\n"
    "    includeTotals: includeTotals,\n"
    "    rounding: rounding,\n"
    '    locale: "en-GB",\n'
    "  });\n"
    "  return {\n"
    "    rows,\n"
    "    total,\n"
    "  };\n"
    "}\n"
    "\n"
    "function formatSummary(rows: Row[], options: object) {\n"
    '  return rows.map((row) => `${row.name}: ${row.amount}`).join("\\n");\n'
    "}\n"
)


def _track(repo) -> list[tuple]:
    """(hunk, state, landed, alive, where alive at HEAD, removed by) per hunk of `track --json`."""
    out = repo.cli_json("track")
    return [(h["hunk"], h["state"], h["lines"]["landed"], h["lines"]["alive"],
             [(a["path"], a["lines"], a["moved"]) for a in h["alive"]],
             [(r["commit"], r["lines"]) for r in h["removed"]])
            for s in out["sessions"] for h in s["hunks"]]


def _alive_at_head(repo, rev: str) -> int:
    """`blame commit REV --json`: the agent lines of REV alive at HEAD."""
    return repo.cli_json("blame", "commit", rev)["lines"]["alive_at_head"]


def _kinds(repo, path: str) -> list[str]:
    return [ln["attribution"]["kind"] for ln in repo.cli_json("blame", path)["lines"]]


def test_gofmt_over_agent_code_keeps_it_alive_transformed(repo):
    set_up(repo, True)
    one_turn(repo, "s-go", "cache.go", GO, "add a cache entry")
    wrote = repo.commit("cache entry")
    assert _track(repo) == [("2.1.1", "alive_on_path", 26, 26, [("cache.go", [[1, 26]], False)], [])]

    gofmt(repo.path / "cache.go")
    # gofmt re-indented with tabs, aligned the fields and their comments,
    # spaced `:=` and `){`, sorted the imports and dropped the second of two
    # blank lines.
    assert (repo.path / "cache.go").read_text() == GOFMT
    formatted = repo.commit("gofmt")

    # 25 of the 26 lines are where gofmt put them; the blank line it deleted
    # is removed by the person's commit.
    assert _track(repo) == [("2.1.1", "alive_transformed", 26, 25, [("cache.go", [[1, 25]], False)],
                             [(formatted, 1)])]
    assert _alive_at_head(repo, wrote) == 25
    # Line by line, blame shows what `git blame -w` does: the lines gofmt
    # rewrote within (aligned fields, `:=`, `){`, a moved import) are the
    # commit's that rewrote them (the person's); those it only re-indented,
    # and those it left alone, are still the session's.
    kinds = _kinds(repo, "cache.go")
    rewritten = [5, 10, 11, 20, 21, 22, 23]
    assert [n for n, k in enumerate(kinds, 1) if k != "agent"] == rewritten
    assert {kinds[n - 1] for n in rewritten} == {"human"}


def test_prettier_over_agent_code_keeps_it_alive_transformed(repo):
    set_up(repo, True)
    one_turn(repo, "s-ts", "report.ts", TS, "add a report loader")
    wrote = repo.commit("report loader")
    assert _track(repo) == [("2.1.1", "alive_on_path", 21, 21, [("report.ts", [[1, 21]], False)], [])]

    prettier(repo.path / "report.ts")
    # prettier wrapped the long parameter list and the long calls' arguments
    # one per line, double-quoted the strings, added the semicolons and
    # trailing commas, put `(row)` in brackets and joined the short
    # parameter lines of formatSummary into one line. git's line diff aligns
    # a `}`, a blank line and `) {` with others of the same text, so most
    # lines' new shapes sit in another hunk than their old ones.
    assert (repo.path / "report.ts").read_text() == PRETTIER
    repo.commit("prettier")

    # Nothing is deleted: every line is where prettier put it. The wrapped
    # ones at their first line (the parameter list at 8, the map's object at
    # 15, the summary's call at 20); the three lines of formatSummary's
    # signature at the one line prettier joined them into (32), so the
    # places alive at HEAD are 19, while `blame commit` counts the 21 agent
    # lines whose places they are.
    assert _track(repo) == [("2.1.1", "alive_transformed", 21, 19, [
        ("report.ts", [[1, 3], [6, 8], [13, 15], [19, 20], [26, 29], [31, 34]], False)], [])]
    assert _alive_at_head(repo, wrote) == 21
    kinds = _kinds(repo, "report.ts")
    # As `git blame -w` does, the lines prettier rewrote within go to the
    # person's commit; the lines it kept, or only re-indented (`return {`
    # and `rows,`), are the session's.
    assert [n for n, k in enumerate(kinds, 1) if k == "agent"] == [2, 6, 7, 13, 26, 27, 34]
    assert set(kinds) == {"agent", "human"}


def test_a_rename_in_the_prettier_commit_is_no_reformatting(repo):
    set_up(repo, True)
    one_turn(repo, "s-ts", "report.ts", TS, "add a report loader")
    repo.commit("report loader")
    # The person renames formatSummary while formatting: the two lines that
    # name it are changed, not reshaped, and removed by that commit; the
    # others are reshaped (the two parameter lines joined into the renamed
    # signature, at 32, with it).
    repo.write("report.ts", TS.replace("formatSummary", "renderSummary"))
    prettier(repo.path / "report.ts")
    assert (repo.path / "report.ts").read_text() == PRETTIER.replace("formatSummary", "renderSummary")
    renamed = repo.commit("prettier, and renderSummary")
    assert _track(repo) == [("2.1.1", "alive_transformed", 21, 18, [
        ("report.ts", [[1, 3], [6, 8], [13, 15], [19, 19], [26, 29], [31, 34]], False)],
        [(renamed, 2)])]


# -- the rules, on git's hunks ------------------------------------------------

def _hunks(*pairs) -> list:
    """A file's diff as file_diffs gives it: (minus, plus) per hunk; the
    line numbers do not matter to the matching."""
    return [(1, len(m), 1, len(p), [t.encode() for t in p], [t.encode() for t in m]) for m, p in pairs]


def test_a_hunk_of_the_same_lines_in_another_order_is_a_reformat():
    # gofmt's sorted imports; `"fmt"` is too short to be followed by its
    # text alone.
    assert reformatted([b'    "time"', b'    "fmt"'], [b'\t"fmt"', b'\t"time"']) == [1, 0]
    # Not the same lines: only the long one is followed.
    assert reformatted([b'    "time"', b'    "fmt"'], [b'\t"os"', b'\t"time"']) == [1, None]


def test_a_line_reshaped_into_another_hunk_is_held_there():
    hunks = _hunks(
        (["export interface Row { name: string; amount: number }", "", "function load(path: string) {"],
         ["export interface Row {", "  name: string;", "  amount: number;"]),
        (["    return read(path, 'utf8')", "    }"],
         ["function load(path: string) {", '  return read(path, "utf8");', "}", ""]))
    # (hunk, removed line) -> (hunk, added line). The interface's `}` went
    # to a line git's diff kept unchanged: its words are matched, and its
    # brackets need not be. The function's first line went to the next
    # hunk; the blank line between the two, to the blank line added after
    # the first; the `}` with the words before it.
    assert rewrapped(hunks) == {(0, 0): (0, 0), (0, 1): (1, 3), (0, 2): (1, 0),
                                (1, 0): (1, 1), (1, 1): (1, 2)}


def test_a_changed_word_or_sign_is_no_reshaping():
    hunks = _hunks((["    punctuation = '!'", "    total = price * count", "    return total"],
                    ['    punctuation = "."', "    total = price * amount", "    return total;"]))
    # `!` became `.` and `count` `amount`: those lines are removed; the
    # return gained only a semicolon.
    assert rewrapped(hunks) == {(0, 2): (0, 2)}


def test_a_word_or_a_brace_matched_alone_holds_nothing():
    hunks = _hunks((["    flush(cache)", "}", "    done"], ["    cache.clear()", "    done = true", "}"]))
    # `cache` alone, `done` alone and a `}` with no word beside it are
    # coincidences, not lines that went there.
    assert rewrapped(hunks) == {}
