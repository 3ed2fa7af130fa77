"""A Python project's virtual environment: recorded as pins, rebuilt by pip.

A capsule records the environment its verdict command ran in, so that a
replay on another machine installs the same distributions. The environment
is the one the verdict command itself runs (`.venv/bin/pytest ...`), else
`$VIRTUAL_ENV`, else a `.venv` or `venv` folder at the top of the
repository. It is recorded by reading its installed distributions'
metadata (no interpreter is started): each as `NAME==VERSION`, and an
editable install of a folder of the repository as that folder.

A replay builds a fresh environment at the same path relative to the
scratch copy, so the verdict command runs unchanged, and installs the pins
with that environment's own pip: the caller's `PIP_INDEX_URL`,
`PIP_FIND_LINKS`, `PIP_NO_INDEX` and pip configuration apply.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from importlib import metadata
from urllib.parse import unquote, urlparse

from ..errors import BadReplaySpec

# The distributions a new environment brings itself, never pinned (pip
# installs pip; a pin of another version would need an index).
OWN = {"pip"}


def canonical(name: str) -> str:
    """A distribution's name as pip compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def find(top: str, command: str, env=os.environ) -> str | None:
    """The virtual environment the command runs in, or None (see the module)."""
    try:
        first = shlex.split(command)[0] if command.strip() else ""
    except ValueError:
        first = ""
    if "/" in first:
        path = os.path.dirname(os.path.abspath(os.path.join(top, first)))
        while path != os.path.dirname(path):
            if os.path.isfile(os.path.join(path, "pyvenv.cfg")):
                return path
            path = os.path.dirname(path)
    active = env.get("VIRTUAL_ENV")
    if active and os.path.isfile(os.path.join(active, "pyvenv.cfg")):
        return active
    for name in (".venv", "venv"):
        path = os.path.join(top, name)
        if os.path.isfile(os.path.join(path, "pyvenv.cfg")):
            return path
    return None


def record(top: str, command: str, env=os.environ) -> dict | None:
    """The environment the verdict command runs in, pinned, or None when
    the project has none: `path` (relative to the top of the repository;
    None when it lives outside), `python` (its interpreter's version) and
    `pins`, sorted by name: `{"name", "version"}`, plus `editable` (a
    folder relative to the top) for an editable install from the
    repository."""
    venv = find(top, command, env)
    if venv is None:
        return None
    real_top, real_venv = os.path.realpath(top), os.path.realpath(venv)
    rel = os.path.relpath(real_venv, real_top)
    inside = not rel.startswith("..") and not os.path.isabs(rel)
    pins = {}
    for site in glob.glob(os.path.join(venv, "lib", "python*", "site-packages")) + \
            glob.glob(os.path.join(venv, "Lib", "site-packages")):
        for dist in metadata.distributions(path=[site]):
            name = dist.metadata["Name"]
            if not name or canonical(name) in OWN:
                continue
            pin = {"name": name, "version": dist.version}
            editable = _editable(dist, real_top)
            if editable is not None:
                pin["editable"] = editable
            pins[canonical(name)] = pin
    return {"path": rel if inside else None, "python": _python_version(venv),
            "pins": [pins[k] for k in sorted(pins)]}


def _editable(dist, top: str) -> str | None:
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "null")
    except ValueError:
        return None
    if not isinstance(direct, dict) or not (direct.get("dir_info") or {}).get("editable"):
        return None
    url = urlparse(direct.get("url", ""))
    if url.scheme != "file":
        return None
    rel = os.path.relpath(os.path.realpath(unquote(url.path)), top)
    return None if rel.startswith("..") else rel


def _python_version(venv: str) -> str | None:
    try:
        with open(os.path.join(venv, "pyvenv.cfg"), encoding="utf-8") as fh:
            for line in fh:
                key, _, value = line.partition("=")
                if key.strip() in ("version", "version_info"):
                    return value.strip()
    except OSError:
        pass
    return None


def parse_with(specs: list[str], cwd: str) -> list[dict]:
    """`--with NAME==VERSION` and `--with NAME@PATH` as replacements of pins."""
    out = []
    for spec in specs:
        if "==" in spec:
            name, _, version = spec.partition("==")
            if name.strip() and version.strip():
                out.append({"name": name.strip(), "version": version.strip()})
                continue
        elif "@" in spec:
            name, _, path = spec.partition("@")
            if name.strip() and path.strip():
                path = os.path.abspath(os.path.join(cwd, os.path.expanduser(path.strip())))
                if not os.path.exists(path):
                    raise BadReplaySpec(f"no such file or folder '{path}' in --with '{spec}'")
                out.append({"name": name.strip(), "path": path})
                continue
        raise BadReplaySpec(f"cannot read --with '{spec}'",
                            hint="name a distribution as NAME==VERSION or NAME@PATH (a wheel or a folder)")
    return out


def with_replaced(pins: list[dict], replacements: list[dict]) -> list[dict]:
    """The pins with each replacement in place of the pin of its name (or added)."""
    out = {canonical(p["name"]): p for p in pins}
    for r in replacements:
        out[canonical(r["name"])] = r
    return [out[k] for k in sorted(out)]


def requirement(pin: dict, top: str) -> list[str]:
    """pip's arguments installing one pin into a copy of the project at `top`."""
    if "path" in pin:
        return [pin["path"]]
    if pin.get("editable"):
        return ["-e", os.path.join(top, pin["editable"])]
    return [f"{pin['name']}=={pin['version']}"]


def interpreter(version: str | None) -> str:
    """The Python to build the environment with: one of the recorded
    minor version on PATH, else the one git-ot runs on."""
    m = re.match(r"(\d+)\.(\d+)", version or "")
    if m and (int(m.group(1)), int(m.group(2))) != sys.version_info[:2]:
        found = shutil.which(f"python{m.group(1)}.{m.group(2)}")
        if found:
            return found
    return sys.executable


def build(env_record: dict, pins: list[dict], top: str, scratch: str, environ: dict,
          timeout: float) -> tuple[str | None, str, str]:
    """A fresh environment for the copy at `top`, the pins installed by pip.

    Returns (where it is, or None when it could not be built; what failed
    or ""; the output of the step that failed). `scratch` holds an
    environment that lives outside the project."""
    rel = env_record.get("path")
    venv = os.path.join(top, rel) if rel else os.path.join(scratch, "venv")
    if os.path.exists(venv):
        shutil.rmtree(venv)  # a folder the snapshot happened to hold: built fresh
    steps = [("make the environment", [interpreter(env_record.get("python")), "-m", "venv", venv])]
    args = [a for pin in pins for a in requirement(pin, top)]
    if args:
        python = os.path.join(venv, "bin", "python")
        steps.append(("install the pinned distributions",
                      [python, "-m", "pip", "install", "--no-input", "--disable-pip-version-check",
                       "--no-deps", "--no-build-isolation", "-q", *args]))
    for what, argv in steps:
        try:
            proc = subprocess.run(argv, cwd=top, env=environ, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, f"could not {what} in {timeout:g} s", ""
        except OSError as exc:
            return None, f"could not {what}: {exc.strerror or exc}", ""
        if proc.returncode != 0:
            return None, f"could not {what} (exit {proc.returncode})", proc.stdout.decode("utf-8", "replace")
    return venv, "", ""


def activated(environ: dict, venv: str | None) -> dict:
    """`environ` with the environment first on PATH, as `activate` would."""
    if venv is None:
        return dict(environ)
    out = {k: v for k, v in environ.items() if k != "PYTHONHOME"}
    out["VIRTUAL_ENV"] = venv
    out["PATH"] = os.path.join(venv, "bin") + os.pathsep + environ.get("PATH", "")
    return out
