"""Plugin manifests: the guide's examples, every validation message, JSON and YAML."""

from __future__ import annotations

import copy
import json
import pickle
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mattermost_plugin.manifest import (
    Manifest,
    ManifestError,
    PythonRequirement,
    find_manifest,
    load_manifest,
    parse_manifest,
)

GUIDE = Path(__file__).resolve().parents[2] / "shared" / "guide" / "python-plugins.md"

# Verbatim from the guide: "Creating a Plugin Project" step 3 and "Plugin Manifest".
GUIDE_JSON = """\
{
  "id": "com.example.myplugin",
  "name": "My Python Plugin",
  "version": "0.1.0",
  "min_server_version": "9.5.0",
  "server": {
    "executable": "server/plugin.py",
    "runtime": "python",
    "python_version": "3.9"
  }
}
"""
GUIDE_YAML = """\
id: com.example.myplugin
name: My Python Plugin
version: 0.1.0
min_server_version: "9.5.0"

server:
  executable: server/plugin.py
  runtime: python                    # Required for Python plugins
  python_version: "3.9"              # Minimum Python version (informational)
  python:                            # Optional Python configuration
    dependency_mode: venv            # How to manage dependencies
    venv_path: server/venv           # Path to virtual environment
    requirements_path: server/requirements.txt
"""

VALID: dict[str, Any] = {
    "id": "com.example.myplugin",
    "version": "0.1.0",
    "server": {"executable": "server/plugin.py", "runtime": "python"},
}


def _write(folder: Path, name: str, data: object) -> Path:
    path = folder / name
    text = json.dumps(data) if name.endswith(".json") else yaml.safe_dump(data)
    path.write_text(text, encoding="utf-8")
    return path


def _with(path: str, value: object) -> dict[str, Any]:
    """VALID with the dotted ``path`` set to ``value`` (``...`` deletes it)."""
    data = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node.setdefault(key, {})
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return data


def _error(tmp_path: Path, name: str, data: object) -> ManifestError:
    _write(tmp_path, name, data)
    with pytest.raises(ManifestError) as info:
        load_manifest(tmp_path)
    return info.value


# --- The guide's examples --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"), [("plugin.json", GUIDE_JSON), ("plugin.yaml", GUIDE_YAML)]
)
def test_guide_examples_load(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    manifest = load_manifest(tmp_path)
    assert manifest.id == "com.example.myplugin"
    assert manifest.name == "My Python Plugin"
    assert manifest.version == "0.1.0"
    assert manifest.min_server_version == "9.5.0"
    assert manifest.server is not None
    assert manifest.server.executable == "server/plugin.py"
    assert manifest.server.runtime == "python"
    assert manifest.is_python
    assert str(manifest.server.python_requirement()) == "Python >=3.9"
    assert manifest.executable_path(tmp_path) == tmp_path / "server" / "plugin.py"


def test_guide_yaml_python_settings(tmp_path: Path) -> None:
    (tmp_path / "plugin.yaml").write_text(GUIDE_YAML, encoding="utf-8")
    manifest = load_manifest(tmp_path / "plugin.yaml")
    assert manifest.server is not None
    python = manifest.server.python
    assert python.dependency_mode == "venv"
    assert python.venv_path == "server/venv"
    assert python.requirements_path == "server/requirements.txt"
    assert manifest.venv_dir(tmp_path) == tmp_path / "server" / "venv"


def test_guide_examples_are_verbatim() -> None:
    if not GUIDE.exists():
        pytest.skip(f"guide not found at {GUIDE}")
    guide = GUIDE.read_text(encoding="utf-8")
    assert GUIDE_JSON in guide
    assert GUIDE_YAML in guide


# --- Validation messages ---------------------------------------------------------------------

RELATIVE = "must be a path relative to the plugin folder"
INSIDE = "must stay inside the plugin folder"
ID_CHARS = "may contain only letters, digits, '.', '-' and '_'"
SPECIFIER = "must be a version like '3.9' or a specifier like '>=3.10,<3.13'"

ERRORS = [
    ("id", ..., "id: required"),
    ("id", "ab", "id: must be 3 to 190 characters long (got 2: 'ab')"),
    ("id", "a" * 191, "id: must be 3 to 190 characters long (got 191: 'aaaaaaaa"),
    ("id", "1plugin", "id: must start with a letter (got '1plugin')"),
    ("id", "my plugin", f"id: {ID_CHARS} (got 'my plugin')"),
    ("id", "com/example", f"id: {ID_CHARS} (got 'com/example')"),
    ("id", 123, "id: must be a string (got 123)"),
    ("name", ["x"], "name: must be a string (got ['x'])"),
    ("version", "1.0", "version: must be a semantic version like 1.2.3 (got '1.0')"),
    ("version", "01.2.3", "version: must be a semantic version like 1.2.3 (got '01.2.3')"),
    (
        "min_server_version",
        "v9.5.0",
        "min_server_version: must be a semantic version like 1.2.3 (got 'v9.5.0')",
    ),
    (
        "homepage_url",
        "example.com",
        "homepage_url: must be an http:// or https:// URL (got 'example.com')",
    ),
    (
        "support_url",
        "ftp://x.org",
        "support_url: must be an http:// or https:// URL (got 'ftp://x.org')",
    ),
    ("server", "server/plugin.py", "server: must be a mapping (got 'server/plugin.py')"),
    ("server", {"runtime": "python"}, "server: must set executable or executables"),
    ("server.executable", "", "server.executable: must not be empty"),
    (
        "server.executable",
        "/usr/bin/plugin.py",
        f"server.executable: {RELATIVE} (got '/usr/bin/plugin.py')",
    ),
    (
        "server.executable",
        "C:\\plugin.py",
        f"server.executable: {RELATIVE} (got 'C:\\\\plugin.py')",
    ),
    ("server.executable", "../plugin.py", f"server.executable: {INSIDE} (got '../plugin.py')"),
    (
        "server.executable",
        "server/../../plugin.py",
        f"server.executable: {INSIDE} (got 'server/../../plugin.py')",
    ),
    ("server.executable", "server\\..\\..\\x.py", f"server.executable: {INSIDE}"),
    (
        "server.executable",
        "server/..",
        "server.executable: must name a file or folder inside the plugin folder (got 'server/..')",
    ),
    (
        "server.executables",
        {"linux-amd64": "/opt/plugin"},
        f"server.executables.linux-amd64: {RELATIVE} (got '/opt/plugin')",
    ),
    ("server.executables", ["a"], "server.executables: must be a mapping (got ['a'])"),
    ("server.runtime", 3, "server.runtime: must be a string (got 3)"),
    (
        "server.python_version",
        ">=3.x",
        f"server.python_version: {SPECIFIER} (got '>=3.x': invalid clause '>=3.x')",
    ),
    (
        "server.python_version",
        ">=3.10,",
        f"server.python_version: {SPECIFIER} (got '>=3.10,': invalid clause '')",
    ),
    (
        "server.python_version",
        "~=3",
        f"server.python_version: {SPECIFIER} (got '~=3': ~= needs at least major.minor (in '~=3'))",
    ),
    (
        "server.python_version",
        ">=3.10.*",
        f"server.python_version: {SPECIFIER} (got '>=3.10.*': '.*' only goes with == or != "
        "(in '>=3.10.*'))",
    ),
    (
        "server.python.dependency_mode",
        "conda",
        "server.python.dependency_mode: must be one of system, venv, bundled (got 'conda')",
    ),
    (
        "server.python.dependancy_mode",
        "venv",
        "server.python.dependancy_mode: unknown key "
        "(known keys: dependency_mode, venv_path, requirements_path)",
    ),
    (
        "server.python.venv_path",
        "/opt/venv",
        f"server.python.venv_path: {RELATIVE} (got '/opt/venv')",
    ),
    (
        "server.python.requirements_path",
        "../requirements.txt",
        f"server.python.requirements_path: {INSIDE} (got '../requirements.txt')",
    ),
    ("server.python", "venv", "server.python: must be a mapping (got 'venv')"),
    ("webapp", {}, "webapp.bundle_path: required"),
    ("webapp", {"bundle_path": "../main.js"}, f"webapp.bundle_path: {INSIDE} (got '../main.js')"),
    ("settings_schema", [1], "settings_schema: must be a mapping (got [1])"),
    ("props", "x", "props: must be a mapping (got 'x')"),
]


@pytest.mark.parametrize("name", ["plugin.json", "plugin.yaml"])
@pytest.mark.parametrize(("path", "value", "expected"), ERRORS)
def test_validation_message(
    tmp_path: Path, name: str, path: str, value: object, expected: str
) -> None:
    error = _error(tmp_path, name, _with(path, value))
    assert str(error).startswith(f"{name}: {expected}")
    assert len(error.problems) == 1
    assert error.source == name


def test_every_problem_is_listed(tmp_path: Path) -> None:
    data = {
        "id": "x",
        "version": "one",
        "server": {"executable": "/plugin.py", "python": {"dependency_mode": "conda"}},
    }
    error = _error(tmp_path, "plugin.json", data)
    assert str(error).splitlines() == [
        "plugin.json: id: must be 3 to 190 characters long (got 1: 'x')",
        "plugin.json: version: must be a semantic version like 1.2.3 (got 'one')",
        f"plugin.json: server.executable: {RELATIVE} (got '/plugin.py')",
        "plugin.json: server.python.dependency_mode: must be one of system, venv, bundled "
        "(got 'conda')",
    ]
    assert [where for where, _ in error.problems] == [
        "id",
        "version",
        "server.executable",
        "server.python.dependency_mode",
    ]
    assert isinstance(error, ValueError)


def test_yaml_number_hint(tmp_path: Path) -> None:
    (tmp_path / "plugin.yml").write_text(
        "id: com.example.x\nserver:\n  executable: p.py\n  python_version: 3.10\n"
    )
    error = _error_from(tmp_path)
    assert str(error) == (
        "plugin.yml: server.python_version: must be a string (got 3.1); quote it in YAML"
    )


def _error_from(path: Path) -> ManifestError:
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    return info.value


def test_json_syntax_error_has_line(tmp_path: Path) -> None:
    (tmp_path / "plugin.json").write_text('{\n  "id": "com.example.x"\n  "name": "x"\n}\n')
    error = _error_from(tmp_path)
    assert str(error) == "plugin.json: line 3, column 3: invalid JSON: Expecting ',' delimiter"


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    (tmp_path / "plugin.yaml").write_text("id: com.example.x\nserver:\n  executable: [a\n")
    error = _error_from(tmp_path)
    assert str(error).startswith("plugin.yaml: line 4, column 1: invalid YAML: ")
    assert "expected ',' or ']'" in str(error)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("plugin.yaml", "", "plugin.yaml: is empty"),
        (
            "plugin.yaml",
            "- a\n- b\n",
            "plugin.yaml: must be a mapping at the top level (got ['a', 'b'])",
        ),
        ("plugin.json", "[]", "plugin.json: must be a mapping at the top level (got [])"),
        ("plugin.json", "", "plugin.json: line 1, column 1: invalid JSON: Expecting value"),
    ],
)
def test_file_level_problems(tmp_path: Path, name: str, text: str, expected: str) -> None:
    (tmp_path / name).write_text(text)
    assert str(_error_from(tmp_path)) == expected


def test_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "plugin.json").write_bytes(b'{"id": "caf\xe9"}')
    assert str(_error_from(tmp_path)) == "plugin.json: not UTF-8 text (bad byte at offset 11)"


def test_no_manifest(tmp_path: Path) -> None:
    error = _error_from(tmp_path)
    assert str(error) == f"{tmp_path}: no plugin.json, plugin.yaml or plugin.yml found"
    assert find_manifest(tmp_path) is None


def test_missing_file_and_wrong_suffix(tmp_path: Path) -> None:
    missing = tmp_path / "plugin.json"
    assert str(_error_from(missing)) == f"{missing}: no such file"
    other = tmp_path / "plugin.toml"
    other.write_text("id = 'x'")
    assert str(_error_from(other)) == "plugin.toml: must be a .json, .yaml or .yml file"


def test_error_pickles() -> None:
    error = ManifestError("plugin.json", [("id", "required")])
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.source, copy.problems) == (
        str(error),
        "plugin.json",
        [("id", "required")],
    )


# --- Loading ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["plugin.json", "plugin.yaml", "plugin.yml"])
def test_finds_each_file_name(tmp_path: Path, name: str) -> None:
    _write(tmp_path, name, VALID)
    assert find_manifest(tmp_path) == tmp_path / name
    assert load_manifest(tmp_path).id == "com.example.myplugin"
    assert load_manifest(str(tmp_path / name)).id == "com.example.myplugin"


def test_json_wins_over_yaml(tmp_path: Path) -> None:
    _write(tmp_path, "plugin.json", VALID)
    _write(tmp_path, "plugin.yaml", {"id": "from.yaml"})
    assert load_manifest(tmp_path).id == "com.example.myplugin"


def test_unknown_keys_are_kept(tmp_path: Path) -> None:
    data = {
        **VALID,
        "icon_path": "assets/icon.svg",
        "release_notes_url": "https://example.com/notes",
        "server": {**VALID["server"], "future_field": 1},
        "webapp": {"bundle_path": "webapp/dist/main.js", "bundle_hash": "abc"},
        "settings_schema": {"header": "Hi", "settings": [{"key": "Token", "type": "text"}]},
        "props": {"x": 1},
    }
    manifest = parse_manifest(data)
    assert manifest.model_extra == {
        "icon_path": "assets/icon.svg",
        "release_notes_url": "https://example.com/notes",
    }
    assert manifest.server is not None
    assert manifest.server.model_extra == {"future_field": 1}
    assert manifest.webapp is not None
    assert manifest.webapp.bundle_path == "webapp/dist/main.js"
    assert manifest.settings_schema == data["settings_schema"]
    assert manifest.props == {"x": 1}
    assert manifest.model_dump(exclude_unset=True)["icon_path"] == "assets/icon.svg"


def test_defaults() -> None:
    manifest = parse_manifest({"id": "com.example.x"})
    assert manifest.server is None
    assert not manifest.is_python
    assert manifest.executable_path("/p") is None
    server = parse_manifest(VALID).server
    assert server is not None
    assert server.python.dependency_mode == "system"
    assert server.python.venv_path is None


# --- Runtime detection and helpers -----------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        ({"executable": "server/plugin.py"}, True),
        ({"executable": "server/main", "runtime": "python"}, True),
        ({"executable": "server/dist/plugin-linux-amd64"}, False),
        ({"executables": {"linux-amd64": "server/dist/plugin-linux-amd64"}}, False),
        ({"executables": {"linux-amd64": "server/plugin.py"}}, True),
        ({"executable": "server/plugin.PY"}, False),
    ],
)
def test_is_python(server: dict[str, Any], expected: bool) -> None:
    assert parse_manifest({"id": "com.example.x", "server": server}).is_python is expected


def test_executable_path_picks_platform(tmp_path: Path) -> None:
    manifest = parse_manifest(
        {
            "id": "com.example.x",
            "server": {
                "executable": "server/plugin.py",
                "executables": {"linux-arm64": "server/arm.py"},
            },
        }
    )
    assert manifest.executable_path(tmp_path, "linux-arm64") == tmp_path / "server" / "arm.py"
    assert manifest.executable_path(tmp_path, "darwin-amd64") == tmp_path / "server" / "plugin.py"


@pytest.mark.parametrize("folder", ["venv", ".venv"])
@pytest.mark.parametrize("interpreter", ["python", "python3"])
def test_venv_dir_searches_like_the_server(tmp_path: Path, folder: str, interpreter: str) -> None:
    manifest = parse_manifest(VALID)
    assert manifest.venv_dir(tmp_path) is None
    (tmp_path / folder / "bin").mkdir(parents=True)
    (tmp_path / folder / "bin" / interpreter).touch()
    assert manifest.venv_dir(tmp_path) == tmp_path / folder


def test_venv_dir_prefers_venv_over_dot_venv(tmp_path: Path) -> None:
    for folder in (".venv", "venv"):
        (tmp_path / folder / "bin").mkdir(parents=True)
        (tmp_path / folder / "bin" / "python").touch()
    assert parse_manifest(VALID).venv_dir(tmp_path) == tmp_path / "venv"


# --- Python version requirements -------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "version", "expected"),
    [
        ("3.9", (3, 11), True),
        ("3.9", (3, 9, 0), True),
        ("3.9", (3, 8, 18), False),
        (">=3.12", (3, 11), False),
        (">=3.12", (3, 12), True),
        (">=3.11", (3, 11, 0), True),
        (">=3.11.2", (3, 11), False),
        (">=3.10,<3.13", (3, 12, 5), True),
        (">=3.10,<3.13", (3, 13), False),
        (">= 3.10 , < 3.13", (3, 9), False),
        (">3.11", (3, 11, 0), False),
        (">3.11", (3, 11, 1), True),
        ("<=3.11", (3, 11, 0), True),
        ("<=3.11", (3, 11, 1), False),
        ("==3.11", (3, 11), True),
        ("==3.11", (3, 11, 4), False),
        ("==3.11.*", (3, 11, 4), True),
        ("==3.11.*", (3, 12), False),
        ("!=3.11.*", (3, 11, 1), False),
        ("!=3.11", (3, 12), True),
        ("~=3.10", (3, 12), True),
        ("~=3.10", (3, 9), False),
        ("~=3.10", (4, 0), False),
        ("~=3.10.2", (3, 10, 1), False),
        ("~=3.10.2", (3, 10, 9), True),
        ("~=3.10.2", (3, 11, 0), False),
        ("3", (3, 0), True),
    ],
)
def test_python_requirement(spec: str, version: tuple[int, ...], expected: bool) -> None:
    assert PythonRequirement.parse(spec).satisfied_by(version) is expected


def test_python_requirement_from_manifest() -> None:
    server = parse_manifest(_with("server.python_version", ">=3.10, <3.13")).server
    assert server is not None
    requirement = server.python_requirement()
    assert str(requirement) == "Python >=3.10, <3.13"
    assert requirement.spec == ">=3.10,<3.13"
    assert requirement.satisfied_by((3, 11))
    assert not requirement.satisfied_by((3, 13, 0))
    assert requirement.satisfied_by() is requirement.satisfied_by(sys.version_info[:3])


def test_no_python_version_accepts_any() -> None:
    server = parse_manifest(VALID).server
    assert server is not None
    requirement = server.python_requirement()
    assert str(requirement) == "any Python"
    assert requirement.satisfied_by((2, 7))
    assert requirement.satisfied_by()


def test_model_validates_when_built_in_code() -> None:
    assert Manifest(id="com.example.x").id == "com.example.x"
    with pytest.raises(ValueError, match="must start with a letter"):
        Manifest(id="-bad")
