"""Git hook templates installed by `git ot init` (shipped as package data)."""
