"""``mattermost-plugin bundle PATH``: the ``<id>-<version>.tar.gz`` a Mattermost server accepts.

The archive has one top folder named after the plugin id, with the manifest at its root,
the server folder (the one holding the executable), ``assets/``, ``public/`` and the webapp
bundle when there are any; file modes are kept (executable bits included), owners and times
are normalized, and entries are sorted, so the same input gives the same archive.

``server.python.dependency_mode`` (or ``--mode``) says how the dependencies travel:

``bundled``
    The SDK and ``requirements.txt`` are resolved as wheels for each target (CPython version
    and platform pair; default: this interpreter's version, manylinux x86_64) and unpacked into
    ``<server>/vendor/<target>/``. The manifest's executable becomes
    ``<server>/<script>.bundle.py``, an entry script (``_entry.py``) that puts the fitting
    vendor folder on ``sys.path`` and runs the plugin's script as ``__main__``. No network,
    no pip on the server.
``venv``
    The same wheels, not unpacked, in ``<server>/wheelhouse/`` with a pip wheel; the entry
    script makes ``venv/`` from them on the first start (offline) and re-executes itself
    inside it. A venv cannot be shipped: its interpreter links are absolute.
``system``
    Sources and requirements only; the server's Python must have the requirements.

Before packing, the plugin is checked like ``validate`` does; for ``bundled`` and ``venv``
with a target this machine can run, the check imports the plugin with ``python -I -S`` and
only the bundled dependencies, which proves the bundle needs nothing installed.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

import click
from rich.markup import escape

from mattermost_plugin import __version__
from mattermost_plugin.cli import EXIT_OK, main
from mattermost_plugin.cli._common import (
    CommandError,
    Problem,
    console,
    errors,
    human_size,
    print_problems,
)
from mattermost_plugin.cli._stage import stage_sources
from mattermost_plugin.cli.manifest import read_manifest_data, write_manifest_data
from mattermost_plugin.cli.validate import (
    Report,
    check_manifest,
    check_python_version,
    check_settings_schema,
    check_source,
    default_interpreter,
    executables_of,
)
from mattermost_plugin.manifest import DEPENDENCY_MODES, Manifest

__all__ = ["BundleResult", "Target", "build_bundle", "bundle", "expand_platform"]

SDK_DISTRIBUTION = "mattermost-plugin-sdk"
DEFAULT_PLATFORM = "manylinux2014_x86_64"
ENTRY_SUFFIX = ".bundle.py"
VENDOR_DIR = "vendor"
WHEELHOUSE_DIR = "wheelhouse"
_PLATFORM_ALIASES = {
    "linux-amd64": "manylinux2014_x86_64",
    "linux-x86_64": "manylinux2014_x86_64",
    "linux-arm64": "manylinux2014_aarch64",
    "linux-aarch64": "manylinux2014_aarch64",
}
_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_MACHINES = {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64"}


# --- targets ---------------------------------------------------------------------------------


def expand_platform(tag: str) -> list[str]:
    """The pip platform tags a target platform accepts, newest first: a manylinux tag with a
    glibc floor accepts every older manylinux tag of its architecture (pip does not expand
    them by itself), ``linux-amd64``/``linux-arm64`` mean manylinux2014."""
    tag = _PLATFORM_ALIASES.get(tag, tag)
    legacy = re.fullmatch(r"(manylinux1|manylinux2010|manylinux2014)_(\w+)", tag)
    modern = re.fullmatch(r"manylinux_(\d+)_(\d+)_(\w+)", tag)
    if legacy:
        (major, minor), arch = _LEGACY_MANYLINUX[legacy.group(1)], legacy.group(2)
    elif modern:
        major, minor, arch = int(modern.group(1)), int(modern.group(2)), modern.group(3)
    else:
        musl = re.fullmatch(r"musllinux_(\d+)_(\d+)_(\w+)", tag)
        if musl:
            top, arch = int(musl.group(2)), musl.group(3)
            return [f"musllinux_{musl.group(1)}_{n}_{arch}" for n in range(top, -1, -1)]
        return [tag]
    tags = []
    for glibc in range(minor, 4, -1):
        tags.append(f"manylinux_{major}_{glibc}_{arch}")
        tags += [f"{name}_{arch}" for name, v in _LEGACY_MANYLINUX.items() if v == (2, glibc)]
    return tags


@dataclass(frozen=True)
class Target:
    """One CPython version on one platform the bundle is built for."""

    python: tuple[int, int]
    platform: str

    @property
    def tag(self) -> str:
        return f"cp{self.python[0]}{self.python[1]}-{self.platform}"

    @property
    def os(self) -> str:
        if self.platform.startswith(("manylinux", "musllinux", "linux")):
            return "linux"
        if self.platform.startswith("macosx"):
            return "darwin"
        return "win32" if self.platform.startswith("win") else self.platform.split("_")[0]

    @property
    def machine(self) -> str:
        match = re.search(
            r"(x86_64|aarch64|arm64|amd64|i686|ppc64le|s390x|armv7l|universal2)$", self.platform
        )
        machine = match.group(1) if match else self.platform.rsplit("_", 1)[-1]
        return _MACHINES.get(machine, machine)

    def runs_here(self) -> bool:
        """Whether this interpreter could run a bundle built for this target."""
        import platform as platform_module

        machine = platform_module.machine().lower()
        system = "linux" if sys.platform.startswith("linux") else sys.platform
        return (
            sys.implementation.name == "cpython"
            and sys.version_info[:2] == self.python
            and self.os == system
            and self.machine == _MACHINES.get(machine, machine)
        )


def _parse_python_version(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(?:cp)?3\.?(\d+)", text.strip())
    if not match:
        raise click.BadParameter(
            f"{text!r}: use a CPython version like 3.12", param_hint="'--python-version'"
        )
    return 3, int(match.group(1))


# --- building pieces -------------------------------------------------------------------------


@dataclass
class BundleResult:
    """What ``bundle`` built."""

    archive: Path
    mode: str
    targets: list[Target]
    size: int
    unpacked_size: int
    files: int
    packages: dict[str, list[str]] = field(default_factory=dict)
    """Target tag → ``name version`` of every dependency shipped for it."""
    problems: list[Problem] = field(default_factory=list)


class _Steps:
    """Progress for the long steps: a spinner while it runs, a line with its time after."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    @contextmanager
    def step(self, text: str) -> Iterator[None]:
        started = time.monotonic()
        if self.quiet:
            yield
            return
        with console.status(f"{text}…"):
            yield
        console.print(
            f"[green]✓[/green] {escape(text)} [dim]({time.monotonic() - started:.1f} s)[/dim]"
        )


def _pip(args: Sequence[str], what: str, hint: str) -> None:
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise CommandError(f"cannot run pip ({exc})", "install pip into this environment") from None
    if proc.returncode != 0:
        output = (proc.stderr or proc.stdout).strip().splitlines()
        lines = [line for line in output if line.startswith("ERROR")] or output[-8:]
        if "No module named pip" in proc.stderr:
            raise CommandError(
                f"{what}: {sys.executable} has no pip",
                "install pip into the environment that runs mattermost-plugin",
            )
        raise CommandError(f"{what}:\n" + "\n".join(f"  {line}" for line in lines), hint)


def _sdk_source() -> Path | None:
    """The SDK's source tree when it is installed from a local folder (editable or not)."""
    try:
        text = importlib.metadata.distribution(SDK_DISTRIBUTION).read_text("direct_url.json")
    except importlib.metadata.PackageNotFoundError:
        return None
    if not text:
        return None
    url = json.loads(text).get("url", "")
    parsed = urlparse(url)
    if parsed.scheme != "file":
        return None
    folder = Path(unquote(parsed.path))
    return folder if (folder / "pyproject.toml").is_file() else None


def build_sdk_wheel(dest: Path) -> Path:
    """The SDK as a wheel: built from its source folder when installed from one (``pip wheel
    --no-deps``), else this version downloaded from the index."""
    dest.mkdir(parents=True, exist_ok=True)
    source = _sdk_source()
    hint = "build it yourself (pip wheel --no-deps -w wheels/ <sdk source>) and pass --sdk-wheel"
    if source is not None:
        _pip(
            ["wheel", "--no-deps", "--quiet", "--wheel-dir", str(dest), str(source)],
            f"building the SDK wheel from {source} failed",
            hint,
        )
    else:
        _pip(
            [
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--quiet",
                "--dest",
                str(dest),
                f"{SDK_DISTRIBUTION}=={__version__}",
            ],
            f"downloading {SDK_DISTRIBUTION} {__version__} failed",
            hint,
        )
    wheels = sorted(dest.glob("mattermost_plugin_sdk-*.whl"))
    if not wheels:
        raise CommandError("no SDK wheel was produced", hint)
    return wheels[-1]


def download_wheels(
    target: Target,
    requirements: Path | None,
    sdk_wheel: Path,
    dest: Path,
    find_links: Sequence[str],
) -> list[Path]:
    """Resolve the SDK and the requirements for ``target`` into wheels in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    version = f"{target.python[0]}.{target.python[1]}"
    args = [
        "download",
        "--only-binary=:all:",
        "--progress-bar",
        "off",
        "--quiet",
        "--dest",
        str(dest),
    ]
    for platform_tag in expand_platform(target.platform):
        args += ["--platform", platform_tag]
    args += [
        "--python-version",
        version,
        "--implementation",
        "cp",
        "--abi",
        f"cp{target.python[0]}{target.python[1]}",
    ]
    for link in find_links:
        args += ["--find-links", link]
    if requirements is not None:
        args += ["--requirement", str(requirements)]
    args.append(str(sdk_wheel))
    _pip(
        args,
        f"resolving the requirements for CPython {version} on {target.platform} failed",
        "every requirement needs a wheel for that target: pin a version that has one, build "
        "one (pip wheel PKG -w wheels/) and pass --find-links wheels/, or pick another "
        "--platform/--python-version",
    )
    return sorted(dest.glob("*.whl"))


def _wheel_name(path: Path) -> str:
    name, version = path.name.split("-")[:2]
    return f"{name} {version}"


def unpack_wheel(wheel: Path, dest: Path) -> None:
    """Install a wheel's files into ``dest`` as a flat site folder: ``.data/purelib`` and
    ``platlib`` merged in, file modes (executable bits) kept; scripts and headers skipped."""
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            name = info.filename
            parts = PurePosixPath(name).parts
            if not parts or name.endswith("/") or ".." in parts or name.startswith("/"):
                continue
            if parts[0].endswith(".data"):
                if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                    continue
                parts = parts[2:]
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)
            mode = (info.external_attr >> 16) & 0o777
            os.chmod(target, 0o755 if mode & 0o111 else 0o644)


# --- the manifest and entry scripts ---------------------------------------------------------


def _rewrite_manifest(stage: Path, manifest_name: str, mode: str, entries: dict[str, str]) -> None:
    """Point the executables at their entry scripts and record the dependency mode, in the
    manifest's own format (YAML comments are not kept)."""
    path = stage / manifest_name
    data = read_manifest_data(path)
    server = data["server"]
    if server.get("executable") in entries:
        server["executable"] = entries[server["executable"]]
    for key, value in (server.get("executables") or {}).items():
        if value in entries:
            server["executables"][key] = entries[value]
    python = server.setdefault("python", {})
    python["dependency_mode"] = mode
    write_manifest_data(path, data)


def _write_settings_schema(stage: Path, report: Report) -> None:
    """The settings model's schema into the archive's manifest; the plugin's own manifest
    is left alone, and its stale schema becomes a warning (``manifest`` updates it)."""
    if report.settings_schema is None:
        return
    path = stage / report.manifest_file
    data = read_manifest_data(path)
    data["settings_schema"] = report.settings_schema
    write_manifest_data(path, data)
    report.problems = [
        Problem("warning", p.where, f"{p.message}; the bundle has the model's schema")
        if p.severity == "error" and p.where.endswith(": settings_schema")
        else p
        for p in report.problems
    ]


def _entry_source(config: dict[str, Any]) -> str:
    source = resources.files("mattermost_plugin.cli").joinpath("_entry.py").read_text("utf-8")
    marker = "CONFIG: dict[str, Any] = {}  # filled in by `mattermost-plugin bundle`"
    if marker not in source:  # pragma: no cover - guards edits of _entry.py
        raise AssertionError("_entry.py lost its CONFIG line")
    generated = (
        f"CONFIG: dict[str, Any] = {config!r}  # written by mattermost-plugin bundle {__version__}"
    )
    return source.replace(marker, generated)


def write_entries(stage: Path, manifest: Manifest, config: dict[str, Any]) -> dict[str, str]:
    """One entry script beside each Python executable; returns executable → entry."""
    assert manifest.server is not None
    entries: dict[str, str] = {}
    for executable in executables_of(manifest):
        script = PurePosixPath(executable.replace("\\", "/"))
        entry = script.with_name(script.stem + ENTRY_SUFFIX)
        target = stage / entry
        if target.exists():
            raise CommandError(
                f"{entry} exists in the plugin; bundle writes its entry script there",
                "rename that file",
            )
        depth = len(script.parts) - 1
        values = {**config, "script": script.name, "plugin_root": "/".join([".."] * depth) or "."}
        target.write_text(_entry_source(values), "utf-8")
        target.chmod(0o755)
        entries[executable] = str(entry)
    return entries


def write_archive(stage_root: Path, archive: Path) -> tuple[int, int]:
    """A reproducible ``.tar.gz`` of ``stage_root`` (its name is the top folder); returns
    (file count, unpacked bytes)."""
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", time.time()))
    count = unpacked = 0
    partial = archive.with_name(archive.name + ".partial")
    with (
        open(partial, "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=mtime, filename="", compresslevel=6) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        paths = [stage_root, *sorted(stage_root.rglob("*"))]
        paths = [p for p in paths if "__pycache__" not in p.parts]  # never stale bytecode
        for path in paths:
            arcname = str(PurePosixPath(stage_root.name, path.relative_to(stage_root)))
            info = tar.gettarinfo(str(path), arcname)
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = mtime
            if info.isdir():
                info.mode = 0o755
                tar.addfile(info)
            elif info.isfile():
                info.mode = 0o755 if path.stat().st_mode & stat.S_IXUSR else 0o644
                with open(path, "rb") as handle:
                    tar.addfile(info, handle)
                count += 1
                unpacked += info.size
    partial.replace(archive)
    return count, unpacked


# --- the whole build -------------------------------------------------------------------------


def build_bundle(
    plugin_dir: Path,
    *,
    output: Path | None = None,
    mode: str | None = None,
    python_versions: Sequence[tuple[int, int]] = (),
    platforms: Sequence[str] = (),
    sdk_wheel: Path | None = None,
    find_links: Sequence[str] = (),
    include: Sequence[str] = (),
    follow_external_symlinks: bool = False,
    check: bool = True,
    quiet: bool = False,
) -> BundleResult:
    """Build the archive; raises :class:`CommandError` with what to do when it cannot."""
    steps = _Steps(quiet)
    plugin_dir = plugin_dir.resolve()
    report = Report(plugin_dir)
    manifest = check_manifest(plugin_dir, report)
    if manifest is not None and manifest.version is None:
        report.problems.append(
            Problem(
                "error",
                f"{report.manifest_file}: version",
                'required to name the bundle: add "version": "0.1.0"',
            )
        )
    if manifest is None or manifest.server is None or errors(report.problems):
        print_problems(report.problems)
        raise CommandError(
            f"{plugin_dir} cannot be bundled",
            "fix the problems above (`mattermost-plugin validate` lists them too)",
        )
    assert manifest.version is not None
    mode = mode or manifest.server.python.dependency_mode
    targets = list(
        dict.fromkeys(
            Target(version, _PLATFORM_ALIASES.get(platform, platform))
            for version in (python_versions or [sys.version_info[:2]])
            for platform in (platforms or [DEFAULT_PLATFORM])
        )
    )
    requirements = _requirements(plugin_dir, manifest)
    archive = (output or plugin_dir / "dist").resolve() / f"{manifest.id}-{manifest.version}.tar.gz"
    packages: dict[str, list[str]] = {}

    with tempfile.TemporaryDirectory(prefix="mmplugin-bundle-") as scratch_name:
        scratch = Path(scratch_name)
        stage = scratch / "stage" / manifest.id
        stage.mkdir(parents=True)
        with steps.step("Copying the plugin's files"):
            stage_sources(
                plugin_dir,
                manifest,
                report.manifest_file,
                stage,
                include,
                follow_external_symlinks=follow_external_symlinks,
            )
        server_dir = PurePosixPath(executables_of(manifest)[0]).parent
        check_paths: list[str] = []
        isolated_target: Target | None = None
        entries: dict[str, str] = {}
        if mode in ("bundled", "venv"):
            if sdk_wheel is None:
                with steps.step("Building the SDK wheel"):
                    sdk_wheel = build_sdk_wheel(scratch / "sdk")
            elif not sdk_wheel.is_file():
                raise CommandError(f"--sdk-wheel {sdk_wheel}: no such file")
            downloaded: dict[Target, list[Path]] = {}
            for target in targets:
                with steps.step(f"Resolving wheels for {target.tag}"):
                    downloaded[target] = download_wheels(
                        target, requirements, sdk_wheel, scratch / "wheels" / target.tag, find_links
                    )
                packages[target.tag] = [_wheel_name(w) for w in downloaded[target]]
            generated = stage / server_dir / (VENDOR_DIR if mode == "bundled" else WHEELHOUSE_DIR)
            if generated.exists():
                raise CommandError(
                    f"{generated.relative_to(stage)} exists in the plugin; bundle writes the "
                    "dependencies there",
                    "rename that folder",
                )
            generated.mkdir(parents=True)
            if mode == "bundled":
                config = _add_vendor(generated, downloaded, server_dir, steps)
            else:
                config = _add_wheelhouse(generated, downloaded, server_dir, steps)
                config["venv"] = manifest.server.python.venv_path or "venv"
            isolated_target = next((t for t in targets if t.runs_here()), None)
            if isolated_target is not None:
                # bundled: the vendor folder itself; venv: the same wheels, unpacked aside
                folder = generated / isolated_target.tag
                if mode == "venv":
                    folder = scratch / "check" / isolated_target.tag
                    for wheel in downloaded[isolated_target]:
                        unpack_wheel(wheel, folder)
                check_paths = [str(folder)]
            config["bundle_id"] = _digest(config)
            entries = write_entries(stage, manifest, config)
            _rewrite_manifest(stage, report.manifest_file, mode, entries)
        elif mode != manifest.server.python.dependency_mode:
            _rewrite_manifest(stage, report.manifest_file, mode, {})

        if check:
            with steps.step(
                "Checking that the plugin starts from the bundle"
                if isolated_target
                else "Checking the plugin"
            ):
                _check_bundle(
                    plugin_dir,
                    stage,
                    manifest,
                    report,
                    isolated_target,
                    check_paths,
                    targets,
                    mode,
                    entries if mode == "bundled" else {},
                )
                _write_settings_schema(stage, report)
            if errors(report.problems):
                print_problems(report.problems)
                raise CommandError(
                    f"{manifest.id} does not pass its checks; no archive was written",
                    "fix the problems above, or pass --no-check to bundle anyway",
                )
        archive.parent.mkdir(parents=True, exist_ok=True)
        with steps.step(f"Writing {archive.name}"):
            count, unpacked_size = write_archive(stage, archive)
    return BundleResult(
        archive,
        mode,
        targets,
        archive.stat().st_size,
        unpacked_size,
        count,
        packages,
        report.problems,
    )


def _add_vendor(
    vendor: Path, downloaded: dict[Target, list[Path]], server_dir: PurePosixPath, steps: _Steps
) -> dict[str, Any]:
    """bundled: each target's wheels unpacked in ``vendor/<tag>/``; the entry's config."""
    targets = []
    for target, wheels in downloaded.items():
        with steps.step(f"Unpacking {len(wheels)} wheels for {target.tag}"):
            for wheel in wheels:
                unpack_wheel(wheel, vendor / target.tag)
        targets.append(_target_config(target, dir=f"{server_dir}/{VENDOR_DIR}/{target.tag}"))
    return {"mode": "bundled", "targets": targets}


def _add_wheelhouse(
    wheelhouse: Path, downloaded: dict[Target, list[Path]], server_dir: PurePosixPath, steps: _Steps
) -> dict[str, Any]:
    """venv: every target's wheels and a pip wheel in one wheelhouse; the entry's config."""
    with steps.step("Adding pip to the wheelhouse"):
        _pip(
            [
                "download",
                "--only-binary=:all:",
                "--no-deps",
                "--quiet",
                "-d",
                str(wheelhouse),
                "pip",
            ],
            "downloading pip failed",
            "pip installs the wheelhouse on the server; check the network",
        )
    targets = []
    for target, wheels in downloaded.items():
        for wheel in wheels:
            if not (wheelhouse / wheel.name).exists():
                shutil.copy2(wheel, wheelhouse / wheel.name)
        targets.append(_target_config(target, wheels=[w.name for w in wheels]))
    return {
        "mode": "venv",
        "targets": targets,
        "wheelhouse": f"{server_dir}/{WHEELHOUSE_DIR}",
        "pip": sorted(wheelhouse.glob("pip-*.whl"))[-1].name,
    }


def _target_config(target: Target, **extra: Any) -> dict[str, Any]:
    return {
        "python": list(target.python),
        "platform": target.platform,
        "os": target.os,
        "machine": target.machine,
        **extra,
    }


def _digest(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def _requirements(plugin_dir: Path, manifest: Manifest) -> Path | None:
    assert manifest.server is not None
    if manifest.server.python.requirements_path is not None:
        return plugin_dir / manifest.server.python.requirements_path
    executable = executables_of(manifest)[0]
    candidate = (plugin_dir / executable).parent / "requirements.txt"
    return candidate if candidate.is_file() else None


def _check_bundle(
    plugin_dir: Path,
    stage: Path,
    manifest: Manifest,
    report: Report,
    isolated_target: Target | None,
    check_paths: list[str],
    targets: list[Target],
    mode: str,
    entries: dict[str, str],
) -> None:
    """Check the staged plugin: isolated against the bundled dependencies when a target runs
    here, else with the interpreter ``validate`` would use."""
    assert manifest.server is not None
    for executable in executables_of(manifest):
        if isolated_target is not None:
            # bundled: start through the entry script, as the server will
            script = entries.get(executable, executable)
            check_source(
                stage, script, sys.executable, report, extra_paths=check_paths, isolated=True
            )
        else:
            check_source(stage, executable, default_interpreter(plugin_dir, manifest), report)
    check_settings_schema(report)
    if mode == "system":
        if report.python_version is not None:
            check_python_version(report, report.python_version, f"{report.interpreter}")
        return
    for target in targets:
        check_python_version(report, target.python, f"a target of this bundle: {target.tag}")


@main.command()
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the archive (default: PATH/dist).",
)
@click.option(
    "--mode",
    type=click.Choice(DEPENDENCY_MODES),
    help="Override server.python.dependency_mode (the bundled manifest records the mode used).",
)
@click.option(
    "--python-version",
    "python_versions",
    multiple=True,
    metavar="X.Y",
    help="CPython version the server runs (repeatable; default: this interpreter's).",
)
@click.option(
    "--platform",
    "platforms",
    multiple=True,
    metavar="TAG",
    help=f"Wheel platform of the server (repeatable; default: {DEFAULT_PLATFORM}). A manylinux "
    "tag accepts every older manylinux wheel; linux-amd64 and linux-arm64 are shortcuts.",
)
@click.option(
    "--sdk-wheel",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Use this SDK wheel instead of building one from the installed SDK.",
)
@click.option(
    "--find-links",
    multiple=True,
    metavar="DIR|URL",
    help="Extra wheel sources for pip (repeatable).",
)
@click.option(
    "--include",
    multiple=True,
    metavar="PATH",
    help="Also pack this file or folder of the plugin (repeatable).",
)
@click.option(
    "--follow-external-symlinks",
    is_flag=True,
    help="Pack what symlinks leading outside the plugin folder point to (default: refuse).",
)
@click.option("--no-check", is_flag=True, help="Skip the start check before packing.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the archive path.")
def bundle(
    path: Path,
    output: Path | None,
    mode: str | None,
    python_versions: tuple[str, ...],
    platforms: tuple[str, ...],
    sdk_wheel: Path | None,
    find_links: tuple[str, ...],
    include: tuple[str, ...],
    follow_external_symlinks: bool,
    no_check: bool,
    quiet: bool,
) -> None:
    """Pack the plugin in PATH into <id>-<version>.tar.gz, ready to upload to Mattermost.

    \b
    Dependency modes (server.python.dependency_mode, or --mode):
      bundled  the SDK and requirements unpacked inside the archive, for each
               --python-version and --platform: starts with no network and no pip
      venv     a wheelhouse; the first start builds venv/ from it, offline
      system   sources and requirements.txt only: the server's python3 must have them

    Before packing, the plugin is started as `validate` does; for bundled and venv that
    check uses only the bundled dependencies (python -I -S) when this machine can run a
    target. The archive path is printed on stdout.

    Exit codes: 0 written, 1 problems (nothing written), 2 bad usage.
    """
    versions = [_parse_python_version(v) for v in python_versions]
    result = build_bundle(
        path,
        output=output,
        mode=mode,
        python_versions=versions,
        platforms=platforms,
        sdk_wheel=sdk_wheel,
        find_links=find_links,
        include=include,
        follow_external_symlinks=follow_external_symlinks,
        check=not no_check,
        quiet=quiet,
    )
    if not quiet:
        print_problems(result.problems)
        for tag, names in result.packages.items():
            console.print(f"[dim]{escape(tag)}: {escape(', '.join(names))}[/dim]", soft_wrap=True)
        console.print(
            f"[green]✓[/green] {escape(str(result.archive))}: {human_size(result.size)} "
            f"({result.files} files, {human_size(result.unpacked_size)} unpacked, "
            f"mode {result.mode})",
            soft_wrap=True,
        )
    click.echo(str(result.archive))
    raise SystemExit(EXIT_OK)
