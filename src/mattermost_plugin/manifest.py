"""Plugin manifests: ``plugin.json``, ``plugin.yaml`` or ``plugin.yml``.

The model follows the Mattermost server's manifest (``model/manifest.go``) plus the Python
fields of the guide. Unknown keys are kept, because the server knows more fields than the SDK
needs. :func:`load_manifest` reports every problem at once, each with its field path.
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from mattermost_plugin._plugin_id import MANIFEST_FILE_NAMES  # the server's search order
from mattermost_plugin.logging import secret_setting_keys

__all__ = [
    "DEPENDENCY_MODES",
    "MANIFEST_FILE_NAMES",
    "Manifest",
    "ManifestError",
    "PythonRequirement",
    "PythonSettings",
    "ServerManifest",
    "WebappManifest",
    "find_manifest",
    "load_manifest",
    "parse_manifest",
]

DEPENDENCY_MODES = ("system", "venv", "bundled")

# The folders the server looks in for an interpreter (PROTOCOL §2.1), in its order.
_VENV_INTERPRETERS = (
    "venv/bin/python",
    "venv/bin/python3",
    ".venv/bin/python",
    ".venv/bin/python3",
)

# semver.org's regex: the server parses version and min_server_version with a strict semver.
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
_CLAUSE = re.compile(r"(~=|==|!=|<=|>=|<|>)?\s*(\d+(?:\.\d+){0,2})(\.\*)?")


def _fail(reason: str) -> PydanticCustomError:
    # The reason travels in the context, so braces in user input are never format fields.
    return PydanticCustomError("manifest", "{reason}", {"reason": reason})


def _got(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# --- Python version requirement --------------------------------------------------------------


def _pad(version: Sequence[int]) -> tuple[int, int, int]:
    major, minor, micro = (*version, 0, 0, 0)[:3]
    return major, minor, micro


@dataclass(frozen=True)
class _Clause:
    op: str
    version: tuple[int, ...]
    wildcard: bool = False

    def matches(self, version: tuple[int, int, int]) -> bool:
        if self.wildcard:  # ==3.11.* / !=3.11.*: prefix match
            return (version[: len(self.version)] == self.version) == (self.op == "==")
        mine = _pad(self.version)
        if self.op == "~=":  # ~=3.10 means >=3.10, ==3.*
            prefix = self.version[:-1]
            return version >= mine and version[: len(prefix)] == prefix
        return {
            "==": version == mine,
            "!=": version != mine,
            ">=": version >= mine,
            "<=": version <= mine,
            ">": version > mine,
            "<": version < mine,
        }[self.op]

    def __str__(self) -> str:
        return self.op + ".".join(map(str, self.version)) + (".*" if self.wildcard else "")


@dataclass(frozen=True)
class PythonRequirement:
    """The Python versions a plugin accepts, from ``server.python_version``.

    A bare version (``"3.9"``) means "at least"; otherwise comma-separated PEP 440 clauses
    over major.minor[.micro]: ``>=``, ``<=``, ``>``, ``<``, ``==``, ``!=`` (with ``.*``),
    ``~=``. No clauses means any version.
    """

    clauses: tuple[_Clause, ...] = ()

    @classmethod
    def parse(cls, spec: str) -> PythonRequirement:
        """Parse a specifier; raise ``ValueError`` with the offending clause."""
        clauses = []
        for raw in spec.split(","):
            match = _CLAUSE.fullmatch(raw.strip())
            if match is None:
                raise ValueError(f"invalid clause {raw.strip()!r}")
            op, text, star = match.groups()
            version = tuple(int(part) for part in text.split("."))
            if star and op not in ("==", "!="):
                raise ValueError(f"'.*' only goes with == or != (in {raw.strip()!r})")
            if op == "~=" and len(version) < 2:
                raise ValueError(f"~= needs at least major.minor (in {raw.strip()!r})")
            clauses.append(_Clause(op or ">=", version, bool(star)))
        return cls(tuple(clauses))

    @property
    def spec(self) -> str:
        """The normalized specifier, e.g. ``">=3.10,<3.13"`` (empty for any version)."""
        return ",".join(map(str, self.clauses))

    def satisfied_by(self, version: tuple[int, ...] | None = None) -> bool:
        """Whether ``version`` (major, minor[, micro]; default: this interpreter) qualifies."""
        padded = _pad(sys.version_info[:3] if version is None else version[:3])
        return all(clause.matches(padded) for clause in self.clauses)

    def __str__(self) -> str:
        return f"Python {', '.join(map(str, self.clauses))}" if self.clauses else "any Python"


# --- Field checks ----------------------------------------------------------------------------


def _check_plugin_id(value: str) -> str:
    if not 3 <= len(value) <= 190:
        raise _fail(f"must be 3 to 190 characters long (got {len(value)}: {_got(value)})")
    if not re.fullmatch(r"[A-Za-z]", value[0]):
        raise _fail(f"must start with a letter (got {_got(value)})")
    if not re.fullmatch(r"[A-Za-z0-9._-]+", value):
        raise _fail(f"may contain only letters, digits, '.', '-' and '_' (got {_got(value)})")
    return value


def _check_semver(value: str) -> str:
    if not _SEMVER.fullmatch(value):
        raise _fail(f"must be a semantic version like 1.2.3 (got {_got(value)})")
    return value


def _check_url(value: str) -> str:
    if not re.match(r"https?://[^/?#\s]+", value):
        raise _fail(f"must be an http:// or https:// URL (got {_got(value)})")
    return value


def _check_relative_path(value: str) -> str:
    # Backslashes count as separators too, so Windows-style paths cannot sneak out either.
    posix = value.replace("\\", "/")
    if not value:
        raise _fail("must not be empty")
    if posix.startswith("/") or re.match(r"[A-Za-z]:", posix):
        raise _fail(f"must be a path relative to the plugin folder (got {_got(value)})")
    depth = 0
    for part in posix.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                raise _fail(f"must stay inside the plugin folder (got {_got(value)})")
        elif part not in ("", "."):
            depth += 1
    if depth == 0:
        raise _fail(f"must name a file or folder inside the plugin folder (got {_got(value)})")
    return value


PluginId = Annotated[str, AfterValidator(_check_plugin_id)]
SemVer = Annotated[str, AfterValidator(_check_semver)]
HttpUrl = Annotated[str, AfterValidator(_check_url)]
RelativePath = Annotated[str, AfterValidator(_check_relative_path)]


# --- Models ----------------------------------------------------------------------------------


class PythonSettings(BaseModel):
    """``server.python``: how the plugin's dependencies are provided."""

    # Closed, unlike the rest: a misspelt key here would silently mean "system".
    model_config = ConfigDict(extra="forbid")

    dependency_mode: Literal["system", "venv", "bundled"] = "system"
    venv_path: RelativePath | None = None
    requirements_path: RelativePath | None = None

    @field_validator("dependency_mode", mode="before")
    @classmethod
    def _known_mode(cls, value: object) -> object:
        if value not in DEPENDENCY_MODES:
            raise _fail(f"must be one of {', '.join(DEPENDENCY_MODES)} (got {_got(value)})")
        return value


class ServerManifest(BaseModel):
    """``server``: the backend process."""

    model_config = ConfigDict(extra="allow")

    executable: RelativePath | None = None
    executables: dict[str, RelativePath] | None = None
    """Per-platform executables keyed ``"<goos>-<goarch>"``, e.g. ``"linux-amd64"``."""
    runtime: str | None = None
    python_version: str | None = None
    python: PythonSettings = Field(default_factory=PythonSettings)

    @field_validator("python_version")
    @classmethod
    def _valid_specifier(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                PythonRequirement.parse(value)
            except ValueError as exc:
                raise _fail(
                    f"must be a version like '3.9' or a specifier like '>=3.10,<3.13' "
                    f"(got {_got(value)}: {exc})"
                ) from None
        return value

    @model_validator(mode="after")
    def _has_executable(self) -> ServerManifest:
        if not self.executable and not self.executables:
            raise _fail("must set executable or executables")
        return self

    def python_requirement(self) -> PythonRequirement:
        """The parsed ``python_version``; no constraint when it is not set."""
        if self.python_version is None:
            return PythonRequirement()
        return PythonRequirement.parse(self.python_version)

    def executable_for(self, platform_key: str | None = None) -> str | None:
        """The executable for ``"<goos>-<goarch>"`` (default: this machine), as the server
        picks it: the ``executables`` entry, else ``executable``."""
        key = platform_key or _go_platform()
        return (self.executables or {}).get(key) or self.executable


class WebappManifest(BaseModel):
    """``webapp``: the browser bundle."""

    model_config = ConfigDict(extra="allow")

    bundle_path: RelativePath


class Manifest(BaseModel):
    """A plugin manifest. Unknown keys are kept in ``model_extra``."""

    model_config = ConfigDict(extra="allow")

    id: PluginId
    name: str | None = None
    description: str | None = None
    homepage_url: HttpUrl | None = None
    support_url: HttpUrl | None = None
    version: SemVer | None = None
    min_server_version: SemVer | None = None
    server: ServerManifest | None = None
    webapp: WebappManifest | None = None
    settings_schema: dict[str, Any] | None = None
    props: dict[str, Any] | None = None

    @property
    def secret_settings(self) -> list[str]:
        """The keys of the settings marked ``secret`` (see :func:`secret_setting_keys`)."""
        return secret_setting_keys(self.settings_schema)

    @property
    def is_python(self) -> bool:
        """Whether the server runs this plugin as Python: ``server.runtime == "python"`` or
        an executable ending in ``.py``."""
        if self.server is None:
            return False
        executables = [self.server.executable, *(self.server.executables or {}).values()]
        return self.server.runtime == "python" or any(
            exe is not None and exe.endswith(".py") for exe in executables
        )

    def executable_path(
        self, plugin_dir: str | os.PathLike[str], platform_key: str | None = None
    ) -> Path | None:
        """The server executable inside ``plugin_dir``, or ``None`` without a server part."""
        executable = self.server.executable_for(platform_key) if self.server else None
        return Path(plugin_dir, executable) if executable else None

    def venv_dir(self, plugin_dir: str | os.PathLike[str]) -> Path | None:
        """The plugin's virtual environment: ``server.python.venv_path`` when set, else the
        first of ``venv/`` and ``.venv/`` holding an interpreter (where the server looks);
        ``None`` when there is none."""
        if self.server is not None and self.server.python.venv_path is not None:
            return Path(plugin_dir, self.server.python.venv_path)
        for interpreter in _VENV_INTERPRETERS:
            candidate = Path(plugin_dir, interpreter)
            if candidate.is_file():
                return candidate.parent.parent
        return None


def _go_platform() -> str:
    system = {"win32": "windows", "cygwin": "windows"}.get(sys.platform, platform.system().lower())
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "aarch64": "arm64", "i386": "386", "i686": "386", "x86": "386"}
    return f"{system}-{arch.get(machine, machine)}"


# --- Loading ---------------------------------------------------------------------------------


class ManifestError(ValueError):
    """A manifest that cannot be used. ``str()`` has one line per problem:
    ``<file>: <field path or location>: <reason>``."""

    def __init__(self, source: str, problems: Sequence[tuple[str, str]]) -> None:
        self.source = source
        self.problems = list(problems)
        """``(field path or location, reason)`` pairs; the path is empty for the whole file."""
        super().__init__(
            "\n".join(
                f"{source}: {where}: {reason}" if where else f"{source}: {reason}"
                for where, reason in self.problems
            )
        )

    def __reduce__(self) -> tuple[type[ManifestError], tuple[str, list[tuple[str, str]]]]:
        return type(self), (self.source, self.problems)


def find_manifest(plugin_dir: str | os.PathLike[str]) -> Path | None:
    """The manifest file in ``plugin_dir``, in the server's order, or ``None``."""
    for name in MANIFEST_FILE_NAMES:
        candidate = Path(plugin_dir, name)
        if candidate.is_file():
            return candidate
    return None


def load_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Load and validate the manifest of a plugin folder, or a manifest file itself.

    Raises :class:`ManifestError` listing every problem, or the file and line of a syntax
    error.
    """
    file = Path(path)
    if file.is_dir():
        found = find_manifest(file)
        if found is None:
            raise ManifestError(
                str(file), [("", "no plugin.json, plugin.yaml or plugin.yml found")]
            )
        file = found
    name, suffix = file.name, file.suffix.lower()
    if suffix not in (".json", ".yaml", ".yml"):
        raise ManifestError(name, [("", "must be a .json, .yaml or .yml file")])
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ManifestError(str(file), [("", "no such file")]) from None
    except UnicodeDecodeError as exc:
        raise ManifestError(
            name, [("", f"not UTF-8 text (bad byte at offset {exc.start})")]
        ) from None
    except OSError as exc:
        raise ManifestError(name, [("", f"cannot read: {exc.strerror or exc}")]) from exc

    data: object
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            where = f"line {exc.lineno}, column {exc.colno}"
            raise ManifestError(name, [(where, f"invalid JSON: {exc.msg}")]) from None
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            reason = ": ".join(filter(None, (exc.context, exc.problem)))
            raise ManifestError(name, [(where, f"invalid YAML: {reason}")]) from None
        except yaml.YAMLError as exc:
            raise ManifestError(name, [("", f"invalid YAML: {exc}")]) from None
    return parse_manifest(data, name)


def parse_manifest(data: object, source: str = "plugin.json") -> Manifest:
    """Validate already-parsed manifest data; ``source`` names it in error messages (a
    ``.yaml``/``.yml`` name adds YAML hints)."""
    if data is None:
        raise ManifestError(source, [("", "is empty")])
    if not isinstance(data, Mapping):
        raise ManifestError(
            source, [("", f"must be a mapping at the top level (got {_got(data)})")]
        )
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        is_yaml = source.lower().endswith((".yaml", ".yml"))
        problems = [(_field_path(e["loc"]), _reason(e, is_yaml)) for e in exc.errors()]
        raise ManifestError(source, problems) from None


def _field_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path


# Models that reject unknown keys, by the key they sit under, to list the keys they know.
_CLOSED_MODELS: dict[str, type[BaseModel]] = {"python": PythonSettings}


def _reason(error: ErrorDetails, is_yaml: bool) -> str:
    kind, value = error["type"], error.get("input")
    if kind == "manifest":
        return str(error.get("ctx", {})["reason"])
    if kind == "missing":
        return "required"
    if kind == "string_type":
        # YAML reads 3.10 as the float 3.1 and yes as True: tell the author to quote.
        hint = "; quote it in YAML" if is_yaml and isinstance(value, (int, float)) else ""
        return f"must be a string (got {_got(value)}){hint}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping (got {_got(value)})"
    if kind == "extra_forbidden":
        model = _CLOSED_MODELS.get(str(error["loc"][-2])) if len(error["loc"]) > 1 else None
        known = f" (known keys: {', '.join(model.model_fields)})" if model else ""
        return f"unknown key{known}"
    message = error["msg"]
    return f"{message[:1].lower()}{message[1:]} (got {_got(value)})"
