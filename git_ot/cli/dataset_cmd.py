"""`git ot dataset`: datasets as code, from sessions to reviewed rows to a published dataset."""

from __future__ import annotations

import json

import click

from ..domain import dataset_publish, datasets
from ..domain.opening import open_store
from .main import json_option
from .output import emit, emit_json, table


@click.group()
def dataset():
    """Build, review and publish datasets from sessions, as code."""


@dataset.command("new")
@click.argument("name")
@json_option
def dataset_new(name, as_json):
    """Scaffold datasets/NAME/: SKILL.md, row.schema.json and build_rows.py.

    The example makes one row per session: its prompts, the files it
    changed and the survival of its work at HEAD.
    """
    result = datasets.new(open_store(), name)
    if as_json:
        emit_json(result)
        return
    emit(f"created {result['folder']}/ ({', '.join(result['files'])})")


@dataset.command("run")
@click.argument("name")
@click.argument("sessions", metavar="[SESSION]...", nargs=-1)
@click.option("--since", metavar="WHEN",
              help="Only sessions started since WHEN: an age ('7d', '2w', '24h') or an ISO 8601 date.")
@click.option("--timeout", metavar="SECONDS", type=click.FloatRange(min=0, min_open=True),
              default=datasets.DEFAULT_TIMEOUT, show_default=True,
              help="Stop build_rows.py after this long; nothing is stored then.")
@click.option("--keep-packet", metavar="FILE", type=click.Path(dir_okay=False),
              help="Also write the run packet to FILE.")
@json_option
def dataset_run(name, sessions, since, timeout, keep_packet, as_json):
    """Run datasets/NAME/build_rows.py over the sessions; new rows go to the inbox.

    The run packet (refs/README.md section 16) is built from the sessions
    (SESSION ids or prefixes, or every session, or those --since WHEN); the
    workflow writes JSON Lines; every row is checked against
    row.schema.json and passed through the security gate. A row the schema
    refuses, a crash, a timeout or a line that is not JSON fails the run
    and stores nothing. Rows already stored are not added again.
    """
    store = open_store(seal=True)
    result = datasets.run(store, name, sessions, since=since, timeout=timeout, keep_packet=keep_packet)
    if as_json:
        emit_json(result)
        return
    emit(f"run {result['run']}: {result['sessions']} session{'s' if result['sessions'] != 1 else ''}, "
         f"{result['rows']} row{'s' if result['rows'] != 1 else ''}: {result['new']} new in the inbox, "
         f"{result['known']} already stored")
    if result["redacted"]:
        emit(f"the security gate redacted findings in {result['redacted']} "
             f"row{'s' if result['redacted'] != 1 else ''} (kept with each row)")
    for b in result["blocked"]:
        emit(f"row {b['row']} held back by the security gate: {', '.join(b['kinds'])} in "
             f"{', '.join(b['fields'])}")


@dataset.command("review")
@click.argument("name")
@click.argument("row", required=False)
@click.option("--status", type=click.Choice(datasets.STATUSES), help="Only rows of this status.")
@json_option
def dataset_review(name, row, status, as_json):
    """List the dataset's rows and their status, or show ROW in full."""
    store = open_store()
    if row is not None:
        rec = datasets.show_row(store, name, row)
        if as_json:
            emit_json(rec)
            return
        emit(f"row {rec['id']}")
        emit(f"status   {rec['status']}" + (f" ({rec['reviewed']})" if rec.get("reviewed") else ""))
        emit(f"run      {rec['run']}")
        emit(f"sessions {', '.join(rec['sessions']) or '-'}")
        for f in rec.get("findings") or []:
            emit(f"finding  {f['kind']} in '{f['field']}' (redacted)")
        emit("")
        emit(json.dumps(rec["row"], indent=2, ensure_ascii=False))
        return
    result = datasets.review(store, name, status)
    if as_json:
        emit_json(result)
        return
    c = result["counts"]
    emit(f"dataset {name}: {c['inbox']} in the inbox, {c['approved']} approved, {c['rejected']} rejected")
    if result["rows"]:
        body = [[r["id"][:12], r["status"], r["run"], str(r["findings"]), r["preview"].replace("\n", " ")[:80]]
                for r in result["rows"]]
        emit(table(body, ["ROW", "STATUS", "RUN", "FINDINGS", "CONTENT"], right={3}))


def _status(name, rows, every, status, as_json):
    if not rows and not every:
        raise click.UsageError("name at least one ROW" + (" or --all" if status == "approved" else ""))
    result = datasets.set_status(open_store(), name, rows, status, every=every)
    if as_json:
        emit_json(result)
        return
    n = len(result["changed"])
    emit(f"{'approved' if status == 'approved' else 'rejected'} {n} row{'s' if n != 1 else ''}"
         + (f" ({len(result['unchanged'])} already {status})" if result["unchanged"] else ""))


@dataset.command("approve")
@click.argument("name")
@click.argument("rows", metavar="ROW...", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every row in the inbox.")
@json_option
def dataset_approve(name, rows, every, as_json):
    """Approve rows for publishing (ids or unique prefixes of at least 4 digits)."""
    _status(name, rows, every, "approved", as_json)


@dataset.command("reject")
@click.argument("name")
@click.argument("rows", metavar="ROW...", nargs=-1)
@json_option
def dataset_reject(name, rows, as_json):
    """Reject rows: they are kept, never published, and not added again by a run."""
    _status(name, rows, False, "rejected", as_json)


@dataset.command("publish")
@click.argument("name")
@click.option("--to", "to", metavar="URL_OR_REMOTE", required=True,
              help="A git remote's name or URL: a Hugging Face dataset repository, or any git host.")
@click.option("--split", default="train", show_default=True, help="The split the rows form.")
@json_option
def dataset_publish_cmd(name, to, split, as_json):
    """Push the approved rows as a Hugging Face dataset repository.

    README.md (the card, with the front matter the Hub reads, from
    SKILL.md) and data/SPLIT-00000-of-00001.jsonl (Parquet when pyarrow is
    installed) are committed on top of the destination's history and
    pushed, never forced. The security gate checks every row again first.
    """
    result = dataset_publish.publish(open_store(), name, to, split)
    if as_json:
        emit_json(result)
        return
    if result["commit"] is None:
        emit(f"{to} already holds the {result['rows']} approved rows of dataset {name}; nothing to push")
    else:
        emit(f"published {result['rows']} row{'s' if result['rows'] != 1 else ''} of dataset {name} "
             f"to {to} ({result['file']}, commit {result['commit'][:12]} on {result['branch']})")
