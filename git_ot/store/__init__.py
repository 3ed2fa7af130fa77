"""The git store: refs, records, the spool and snapshots (the lowest layer)."""
