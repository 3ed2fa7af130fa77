"""Reading back a published dataset repository, as the Hub would."""

from __future__ import annotations

import json
from pathlib import Path


def data_file(clone: Path, split: str = "train") -> str:
    """The split's file, relative to the clone: Parquet when pyarrow is
    installed (as `git ot dataset publish` writes it then), else JSON Lines."""
    try:
        import pyarrow  # noqa: F401

        ext = "parquet"
    except ImportError:
        ext = "jsonl"
    return f"data/{split}-00000-of-00001.{ext}"


def rows(clone: Path, split: str = "train") -> list[dict]:
    """The rows of a split, in file order."""
    rel = data_file(clone, split)
    if rel.endswith(".parquet"):
        import pyarrow.parquet as pq

        return pq.read_table(clone / rel).to_pylist()
    return [json.loads(line) for line in (clone / rel).read_text().splitlines()]
