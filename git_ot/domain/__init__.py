"""The domain: sessions, steps, snapshots and patches, over the git store."""
