#!/usr/bin/env python3
"""Entry point of a plugin packed by ``mattermost-plugin bundle``; the manifest names it.

``bundle`` copies this file next to the plugin's own script with ``CONFIG`` filled in. The
server runs it as ``<python> server/<script>.bundle.py``; it prepares the dependencies and
then runs the plugin's script as ``__main__``, exactly as if the server had run that:

* ``bundled``: the dependencies are unpacked in ``<server>/vendor/<target>/``, one folder
  per CPython version and platform the archive was built for; the folder that fits
  this interpreter goes on ``sys.path`` right after the script's folder (before any
  site-packages, so the bundled versions win).
* ``venv``: the first start makes the plugin's virtual environment from the wheels in
  ``<server>/wheelhouse/`` (no network: ``pip --no-index``, pip itself comes from the wheelhouse),
  marks it complete, then re-executes itself with the venv's interpreter; later starts go
  straight through (and the server itself picks ``venv/bin/python`` once it exists). A venv
  left half-made by a killed start is rebuilt.

It must never write to stdout: the first stdout line belongs to the go-plugin handshake.
Messages go to stderr as hclog JSON, so the server logs them with their level. Only the
standard library is used, and nothing newer than Python 3.8.
"""

from __future__ import annotations

import json
import os
import platform
import runpy
import site
import subprocess
import sys
import time
from typing import Any, NoReturn

CONFIG: dict[str, Any] = {}  # filled in by `mattermost-plugin bundle`

HERE = os.path.dirname(os.path.abspath(__file__))
MARKER = ".mattermost-bundle"
_MACHINES = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64", "armv8": "aarch64"}


def log(level: str, message: str, **fields: Any) -> None:
    record = {"@level": level, "@message": message, "@module": "bundle", **fields}
    record["@timestamp"] = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    sys.stderr.write(json.dumps(record) + "\n")
    sys.stderr.flush()


def fail(message: str) -> NoReturn:
    log("error", message)
    sys.exit(1)


def this_interpreter() -> tuple[str, tuple[int, int], str, str]:
    machine = platform.machine().lower()
    system = "linux" if sys.platform.startswith("linux") else sys.platform
    return sys.implementation.name, sys.version_info[:2], system, _MACHINES.get(machine, machine)


def describe(target: dict[str, Any]) -> str:
    major, minor = target["python"]
    return f"CPython {major}.{minor} on {target['platform']}"


def pick_target() -> dict[str, Any]:
    """The target the bundle was built for that fits this interpreter."""
    implementation, version, system, machine = this_interpreter()
    target: dict[str, Any]
    for target in CONFIG["targets"]:
        if (
            implementation == "cpython"
            and tuple(target["python"]) == version
            and target["os"] == system
            and target["machine"] == machine
        ):
            return target
    built = ", ".join(describe(t) for t in CONFIG["targets"])
    running = f"{implementation} {version[0]}.{version[1]} on {system}-{machine}"
    fail(
        f"this plugin bundle was built for {built}, but the server runs it with {running} "
        f"({sys.executable}); rebuild it with `mattermost-plugin bundle "
        f"--python-version {version[0]}.{version[1]}` (and --platform for another machine), "
        f"or install that Python as the server's python3"
    )


def plugin_root() -> str:
    return os.path.normpath(os.path.join(HERE, CONFIG["plugin_root"]))


def run_script() -> None:
    script = os.path.join(HERE, CONFIG["script"])
    sys.argv[0] = script
    runpy.run_path(script, run_name="__main__")


def start_bundled() -> None:
    vendor = os.path.join(plugin_root(), pick_target()["dir"])
    sys.path.insert(1, vendor)
    site.addsitedir(vendor)  # runs the .pth files some packages ship
    run_script()


def _marker_matches(venv_dir: str) -> bool:
    try:
        with open(os.path.join(venv_dir, MARKER), encoding="utf-8") as handle:
            return bool(handle.read().strip() == CONFIG["bundle_id"])
    except OSError:
        return False


def _same_path(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def _base_python() -> str:
    """An interpreter outside any venv: a half-made venv's python cannot make a new one."""
    if sys.prefix == sys.base_prefix:
        return sys.executable
    major, minor = sys.version_info[:2]
    for name in (f"python{major}.{minor}", f"python{major}", "python"):
        candidate = os.path.join(sys.base_prefix, "bin", name)
        if os.access(candidate, os.X_OK):
            return candidate
    fail(f"cannot find the base interpreter of {sys.executable} in {sys.base_prefix}")


def build_venv(venv_dir: str) -> None:
    target = pick_target()
    wheelhouse = os.path.join(plugin_root(), CONFIG["wheelhouse"])
    started = time.monotonic()
    log("info", "creating the plugin's virtual environment from its wheelhouse", venv=venv_dir)
    import venv

    try:
        venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt", clear=True).create(venv_dir)
    except Exception as exc:
        fail(f"cannot create the virtual environment {venv_dir}: {exc}")
    python = os.path.join(venv_dir, "bin", "python")
    pip = os.path.join(wheelhouse, CONFIG["pip"], "pip")  # pip runs from its own wheel
    wheels = [os.path.join(wheelhouse, name) for name in target["wheels"]]
    command = [python, pip, "install", "--isolated", "--no-index", "--no-deps", "--no-compile"]
    command += ["--disable-pip-version-check", "--no-warn-script-location", "--quiet"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PYTHON"))}
    proc = subprocess.run(
        [*command, os.path.join(wheelhouse, CONFIG["pip"]), *wheels],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        output = proc.stdout.decode("utf-8", "replace").strip().splitlines()[-15:]
        fail(
            f"installing the bundled wheels failed (pip exit {proc.returncode}): "
            + " | ".join(output)
        )
    with open(os.path.join(venv_dir, MARKER), "w", encoding="utf-8") as handle:
        handle.write(CONFIG["bundle_id"] + "\n")
    seconds = round(time.monotonic() - started, 2)
    log("info", "virtual environment ready", venv=venv_dir, seconds=seconds)


def start_venv() -> None:
    root = plugin_root()
    venv_dir = os.path.join(root, CONFIG["venv"])
    if _marker_matches(venv_dir) and _same_path(sys.prefix, venv_dir):
        run_script()
        return
    if not _marker_matches(venv_dir):
        if sys.prefix != sys.base_prefix:  # e.g. the half-made venv's own python
            base = _base_python()
            os.execv(base, [base, os.path.abspath(__file__), *sys.argv[1:]])
        lock = _lock(os.path.join(root, ".mattermost-venv.lock"))
        try:
            if not _marker_matches(venv_dir):  # another start may have made it meanwhile
                build_venv(venv_dir)
        finally:
            if lock is not None:
                lock.close()
    python = os.path.join(venv_dir, "bin", "python")
    sys.stderr.flush()
    os.execv(python, [python, os.path.abspath(__file__), *sys.argv[1:]])


def _lock(path: str) -> Any:
    try:
        import fcntl
    except ImportError:  # not POSIX: no concurrent starts to guard against
        return None
    try:
        handle = open(path, "w")  # noqa: SIM115 - held until the venv is built
    except OSError:
        return None
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def main() -> None:
    if CONFIG.get("mode") == "venv":
        start_venv()
    else:
        start_bundled()


if __name__ == "__main__":
    main()
