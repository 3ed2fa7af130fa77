"""git-ot: keep the evidence of coding-agent sessions inside the git repository."""

__version__ = "0.1.0"
# How an interpreter given by its path runs git-ot (the hooks outside a
# committed project file, the git hooks): `<python> -P -c RUN_CODE <args>`.
# The entry point through `-c`, not `-m git_ot`, which loads runpy and
# importlib's helpers first (about 3 ms of every hook call); `-P` keeps the
# current directory off the import path (`-m` puts it first: a `git_ot`
# folder there would have been imported instead).
RUN_CODE = "import sys;from git_ot.__main__ import main;sys.exit(main())"
PYTHON_ARGS = ("-P", "-c", RUN_CODE)
# The same arguments as a shell reads them (RUN_CODE holds no single quote).
PYTHON_ARGS_SH = f"-P -c '{RUN_CODE}'"
