"""Commands of this family register on the `cli` group from git_ot.cli.main."""
