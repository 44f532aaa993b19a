"""``mattermost-plugin validate PATH``: find what would stop the server running a plugin.

Checks, in order: the manifest (every field problem, with its path); that it is a Python
plugin and its executables exist inside the plugin folder (not through a symlink leading
out of it); ``requirements_path``; then, in a subprocess running the
interpreter that will run the plugin, the syntax of every ``.py`` file of the server folder
and a start of the executable as the server does it, with ``run_plugin`` replaced by a
recorder: import errors, hook names and handler signatures (Plugin checks those when the
class is defined), handlers the server would never call, output on stdout before the
handshake, and the hooks ``Implemented()`` will report. ``server.python_version`` is compared
with that interpreter's version: a warning, since the server only logs it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from mattermost_plugin.cli import EXIT_OK, EXIT_PROBLEMS, main
from mattermost_plugin.cli._common import (
    Problem,
    console,
    errors,
    print_problems,
    python_version_text,
)
from mattermost_plugin.manifest import Manifest, ManifestError, find_manifest, load_manifest

__all__ = [
    "Report",
    "check_plugin",
    "check_source",
    "default_interpreter",
    "executables_of",
    "validate",
]

DEFAULT_TIMEOUT = 60.0
# Variables that would make the plugin believe a server started it.
_HOST_VARIABLES = ("MATTERMOST_PLUGIN", "MATTERMOST_PLUGIN_API_TARGET", "PLUGIN_CLIENT_CERT")


@dataclass
class Report:
    """What ``validate`` found about one plugin folder."""

    plugin_dir: Path
    manifest: Manifest | None = None
    manifest_file: str = ""
    problems: list[Problem] = field(default_factory=list)
    interpreter: str | None = None
    python_version: tuple[int, ...] | None = None
    served: str | None = None
    implemented: list[str] = field(default_factory=list)
    plugins: list[dict[str, Any]] = field(default_factory=list)
    settings_schema: dict[str, Any] | None = None
    """The ``settings_schema`` the served class's settings model makes (None: no model)."""

    @property
    def ok(self) -> bool:
        return not errors(self.problems)

    def as_dict(self) -> dict[str, Any]:
        return {
            "plugin_dir": str(self.plugin_dir),
            "id": self.manifest.id if self.manifest else None,
            "version": self.manifest.version if self.manifest else None,
            "ok": self.ok,
            "interpreter": self.interpreter,
            "python_version": python_version_text(self.python_version)
            if self.python_version
            else None,
            "served": self.served,
            "implemented": self.implemented,
            "plugins": self.plugins,
            "problems": [p.as_dict() for p in self.problems],
        }


def check_manifest(plugin_dir: Path, report: Report) -> Manifest | None:
    """Manifest, Python-ness, executables and requirements: everything a file read tells."""
    found = find_manifest(plugin_dir)
    report.manifest_file = found.name if found else "plugin.json"
    try:
        manifest = load_manifest(plugin_dir)
    except ManifestError as exc:
        source = Path(exc.source).name if found else exc.source
        if not found:
            report.problems.append(
                Problem(
                    "error",
                    str(plugin_dir),
                    "no plugin.json, plugin.yaml or plugin.yml here: is this the plugin "
                    "folder? (`mattermost-plugin new NAME` makes one)",
                )
            )
            return None
        for where, reason in exc.problems:
            report.problems.append(
                Problem("error", f"{source}: {where}" if where else source, reason)
            )
        return None
    report.manifest = manifest
    name = report.manifest_file
    if manifest.server is None:
        report.problems.append(
            Problem("error", f"{name}: server", "required: a Python plugin needs a server part")
        )
        return manifest
    if not manifest.is_python:
        report.problems.append(
            Problem(
                "error",
                f"{name}: server.runtime",
                'the server will not run this as Python: set "runtime": "python" (or an '
                "executable ending in .py)",
            )
        )
    entries = [("server.executable", manifest.server.executable)]
    entries += [
        (f"server.executables.{key}", value)
        for key, value in (manifest.server.executables or {}).items()
    ]
    for where, executable in entries:
        if executable is None:
            continue
        path = plugin_dir / executable
        real, root = path.resolve(), plugin_dir.resolve()
        if not path.is_file():
            report.problems.append(
                Problem("error", f"{name}: {where}", f"{executable} does not exist")
            )
        elif real != root and root not in real.parents:
            report.problems.append(
                Problem(
                    "error",
                    f"{name}: {where}",
                    f"{executable} is a symlink (or under one) leading outside the plugin "
                    f"folder, to {real}: the bundle refuses it and the server would not have it",
                )
            )
        elif manifest.is_python and path.suffix != ".py":
            report.problems.append(
                Problem(
                    "warning",
                    f"{name}: {where}",
                    f"{executable} does not end in .py; the server runs it with Python only "
                    'because of "runtime": "python"',
                )
            )
    requirements = manifest.server.python.requirements_path
    if requirements is not None and not (plugin_dir / requirements).is_file():
        report.problems.append(
            Problem(
                "error",
                f"{name}: server.python.requirements_path",
                f"{requirements} does not exist",
            )
        )
    return manifest


def executables_of(manifest: Manifest) -> list[str]:
    """The distinct server executables of a manifest (``executable`` and ``executables``)."""
    if manifest.server is None:
        return []
    found = {manifest.server.executable, *(manifest.server.executables or {}).values()}
    return sorted(e for e in found if e)


def default_interpreter(plugin_dir: Path, manifest: Manifest | None) -> str:
    """The plugin's own virtual environment when it has one (the server prefers it), else
    the interpreter running this command."""
    venv = manifest.venv_dir(plugin_dir) if manifest is not None else None
    if venv is None:
        for name in ("venv", ".venv"):
            if (plugin_dir / name / "bin" / "python").is_file():
                venv = plugin_dir / name
                break
    if venv is not None:
        for name in ("python", "python3"):
            candidate = venv / "bin" / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    return sys.executable


def check_source(
    plugin_dir: Path,
    executable: str,
    python: str,
    report: Report,
    *,
    extra_paths: Sequence[str] = (),
    isolated: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """Syntax, imports and hooks, in a subprocess of ``python`` (``isolated``: with
    ``-I -S``, so only the standard library and ``extra_paths`` are importable)."""
    source = resources.files("mattermost_plugin.cli").joinpath("_check.py").read_text("utf-8")
    env = {k: v for k, v in os.environ.items() if k not in _HOST_VARIABLES}
    env.pop("PYTHONPATH", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    with tempfile.TemporaryDirectory(prefix="mmplugin-check-") as scratch:
        result_file = Path(scratch, "result.json")
        # -B: -I ignores PYTHONDONTWRITEBYTECODE, and the checked tree may be packed next.
        flags = ["-I", "-S", "-B"] if isolated else ["-B"]
        command = [python, *flags, "-c", source, executable, str(result_file), *extra_paths]
        try:
            proc = subprocess.run(
                command,
                cwd=plugin_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError:
            report.problems.append(
                Problem("error", "", f"no interpreter at {python}: pass an existing --python")
            )
            return
        except subprocess.TimeoutExpired:
            report.problems.append(
                Problem(
                    "error",
                    executable,
                    f"starting it did not finish within {timeout:g} s: does it block at import "
                    "time (a loop, a network call, run_plugin() outside "
                    "`if __name__ == '__main__':`)?",
                )
            )
            return
        if not result_file.is_file():
            tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-5:]
            detail = "; ".join(tail) or f"exit code {proc.returncode}"
            report.problems.append(
                Problem("error", executable, f"the check crashed in {python}: {detail}")
            )
            return
        result = json.loads(result_file.read_text("utf-8"))
    report.interpreter = result["python"]["executable"]
    report.python_version = tuple(result["python"]["version"])
    report.problems.extend(
        Problem(p["severity"], p["where"], p["message"]) for p in result["problems"]
    )
    report.plugins = result["plugins"]
    report.served = result["served"]
    for plugin in report.plugins:
        if plugin["name"] == report.served:
            report.implemented = plugin["implemented"]
            report.settings_schema = plugin.get("settings_schema")


def check_settings_schema(report: Report) -> None:
    """An error for each way the manifest's ``settings_schema`` differs from the one the
    plugin's settings model makes (``mattermost-plugin manifest`` fixes them)."""
    if report.settings_schema is None or report.manifest is None:
        return
    from mattermost_plugin._settings_schema import schema_differences

    where = f"{report.manifest_file}: settings_schema"
    for difference in schema_differences(report.manifest.settings_schema, report.settings_schema):
        report.problems.append(
            Problem("error", where, f"{difference} (run `mattermost-plugin manifest` to update)")
        )


def check_python_version(report: Report, version: tuple[int, ...], who: str) -> None:
    """Warn when ``server.python_version`` does not admit ``version``."""
    manifest = report.manifest
    if manifest is None or manifest.server is None or manifest.server.python_version is None:
        return
    requirement = manifest.server.python_requirement()
    if not requirement.satisfied_by(version):
        report.problems.append(
            Problem(
                "warning",
                f"{report.manifest_file}: server.python_version",
                f"{manifest.server.python_version!r} does not admit Python "
                f"{python_version_text(version)} ({who}); the server only logs this, so the "
                f"plugin would start and may fail later",
            )
        )


def check_plugin(
    plugin_dir: Path,
    *,
    python: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    import_check: bool = True,
) -> Report:
    """Everything ``validate`` checks, as a :class:`Report`."""
    plugin_dir = plugin_dir.resolve()
    report = Report(plugin_dir)
    manifest = check_manifest(plugin_dir, report)
    if manifest is None or manifest.server is None or not import_check:
        return report
    interpreter = python or default_interpreter(plugin_dir, manifest)
    for executable in [e for e in executables_of(manifest) if (plugin_dir / e).is_file()]:
        check_source(plugin_dir, executable, interpreter, report, timeout=timeout)
    check_settings_schema(report)
    if report.python_version is not None:
        check_python_version(report, report.python_version, f"{report.interpreter}")
    return report


def print_report(report: Report, *, strict: bool = False) -> None:
    """The problems, one per line, then a one-line summary (``✗ 2 problems in ...`` or
    ``✓ ...``); with ``strict``, warnings count as problems."""
    if report.interpreter:
        version = python_version_text(report.python_version or ())
        console.print(
            f"[dim]checked with Python {version} at {escape(report.interpreter)}[/dim]",
            soft_wrap=True,
        )
    print_problems(report.problems)
    console.print(summary(report, strict=strict), soft_wrap=True)


def summary(report: Report, *, strict: bool = False) -> str:
    """The last line ``validate`` prints (rich markup)."""
    manifest = report.manifest
    title = (
        f"{manifest.id} {manifest.version or ''}".strip() if manifest else str(report.plugin_dir)
    )
    found = len(errors(report.problems))
    warnings = len(report.problems) - found
    if strict:
        found, warnings = found + warnings, 0
    noted = f" ({warnings} warning{'s' * (warnings != 1)})" if warnings else ""
    if found:
        return f"[red]✗[/red] {found} problem{'s' * (found != 1)}{noted} in {escape(title)}"
    hooks = ", ".join(report.implemented) or "no hooks"
    served = f"{report.served} implements {hooks}" if report.served else "no plugin class"
    return f"[green]✓[/green] {escape(title)}: {escape(served)}{noted}"


@main.command()
@click.argument(
    "path",
    default=".",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
)
@click.option(
    "--python",
    "python",
    metavar="PATH",
    help="Interpreter to check with (default: the plugin's venv/ or .venv/ if it has one, "
    "else the one running this command).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@click.option("--strict", is_flag=True, help="Treat warnings as problems (exit 1).")
@click.option(
    "--timeout",
    type=float,
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Seconds the plugin may take to import.",
)
def validate(path: Path, python: str | None, as_json: bool, strict: bool, timeout: float) -> None:
    """Check the plugin in PATH (default: the current folder) the way the server would run it.

    Reports manifest errors, syntax and import errors, unknown hooks, handler signatures
    (arity), handlers that are never registered, output on stdout before the handshake, and
    the hooks Implemented() will report. The import check runs the plugin's executable in a
    subprocess of the chosen interpreter, with run_plugin() replaced, so user code cannot
    take this command down. server.python_version is compared with that interpreter
    (a warning: the server treats it as informational).

    Exit codes: 0 no problems (warnings allowed unless --strict), 1 problems found,
    2 bad usage.
    """
    if python is not None and os.sep in python:
        python = str(Path(python).absolute())
    if as_json:
        report = check_plugin(path, python=python, timeout=timeout)
    else:
        with console.status("Checking the plugin…"):
            report = check_plugin(path, python=python, timeout=timeout)
    failed = not report.ok or (strict and bool(report.problems))
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        print_report(report, strict=strict)
    raise SystemExit(EXIT_PROBLEMS if failed else EXIT_OK)
