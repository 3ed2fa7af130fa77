"""Helpers the tests share: real git, the scratch repository, the git-ot runners.

pytest puts tests/ on the import path (`pythonpath` in pyproject.toml), so a
test module imports these as `from support.repo import Repo`; test modules
never import each other.
"""
