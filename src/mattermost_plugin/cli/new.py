"""``mattermost-plugin new NAME``: a working plugin folder whose tests pass straight away.

The files come from ``templates/plugin/`` (package data): every ``*.tmpl`` file is copied
without its suffix, with ``{{placeholders}}`` filled in; ``gitignore.tmpl`` becomes
``.gitignore``. The manifest is checked with the SDK's own manifest model before anything
is written.
"""

from __future__ import annotations

import json
import re
import sys
from importlib import resources
from pathlib import Path

import click
from rich.markup import escape

from mattermost_plugin import __version__
from mattermost_plugin.cli import main
from mattermost_plugin.cli._common import CommandError, console
from mattermost_plugin.manifest import DEPENDENCY_MODES, ManifestError, parse_manifest

if sys.version_info >= (3, 11):
    from importlib.resources.abc import Traversable
else:
    from importlib.abc import Traversable

__all__ = ["new", "render_plugin"]

_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
_RENAMES = {"gitignore": ".gitignore"}


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _class_name(slug: str) -> str:
    words = [w for w in re.split(r"[^a-zA-Z0-9]+", slug) if w]
    if words and words[-1].lower() == "plugin":
        words.pop()
    stem = "".join(w[:1].upper() + w[1:] for w in words) or "My"
    if stem[0].isdigit():
        stem = "P" + stem
    return f"{stem}Plugin"


def _templates() -> Traversable:
    return resources.files("mattermost_plugin.cli").joinpath("templates").joinpath("plugin")


def _walk(folder: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    found: list[tuple[str, Traversable]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            if entry.name != "__pycache__":
                found += _walk(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".tmpl"):
            name = entry.name.removesuffix(".tmpl")
            found.append((prefix + _RENAMES.get(name, name), entry))
    return found


def render_plugin(values: dict[str, str]) -> dict[str, str]:
    """The scaffold's files (relative path → text) with ``values`` filled in."""

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"template placeholder {{{{{key}}}}} has no value")
        return values[key]

    return {
        path: _PLACEHOLDER.sub(fill, entry.read_text("utf-8"))
        for path, entry in _walk(_templates())
    }


@main.command()
@click.argument("name")
@click.option(
    "--id",
    "plugin_id",
    metavar="ID",
    help="Plugin id (default: com.example.<name>). Letters, digits, '.', '-', '_'.",
)
@click.option(
    "--display-name", metavar="TEXT", help="Name shown in the System Console (default: NAME)."
)
@click.option("--description", default="A Mattermost plugin written in Python.", show_default=True)
@click.option(
    "--mode",
    type=click.Choice(DEPENDENCY_MODES),
    default="bundled",
    show_default=True,
    help="server.python.dependency_mode: how `bundle` ships the dependencies.",
)
@click.option(
    "-d",
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to create (default: ./NAME).",
)
@click.option(
    "--force", is_flag=True, help="Write into an existing, non-empty folder (overwrites)."
)
def new(
    name: str,
    plugin_id: str | None,
    display_name: str | None,
    description: str,
    mode: str,
    directory: Path | None,
    force: bool,
) -> None:
    """Create a plugin called NAME: manifest, server/plugin.py, requirements, tests, README.

    server/requirements.txt is what the plugin needs at run time (bundles ship it);
    requirements-dev.txt adds the CLI and the test tools for working on it.

    The new plugin registers a slash command and answers it; its tests run the handler
    directly and start the whole plugin under the SDK's supervisor against a fake
    Mattermost server. Next steps are printed at the end.

    Exit codes: 0 created, 1 the folder exists or a value is invalid, 2 bad usage.
    """
    slug = _slug(Path(name).name)
    if not slug:
        raise CommandError(
            f"{name!r} has no letters or digits to build a plugin name from",
            "pick a name like my-plugin",
        )
    target = directory or Path(name)
    plugin_id = plugin_id or f"com.example.{slug}"
    trigger = re.sub(r"-?plugin$", "", slug) or slug
    values = {
        "id": plugin_id,
        "name": display_name or Path(name).name,
        "description": description,
        "class_name": _class_name(slug),
        "trigger": trigger,
        "mode": mode,
        "sdk_version": __version__,
        "python_floor": "3.10",
    }
    # JSON-escape what lands in plugin.json, Python-escape nothing: names are plain text.
    files = render_plugin({k: json.dumps(v)[1:-1] for k, v in values.items()})
    try:
        parse_manifest(json.loads(files["plugin.json"]))
    except ManifestError as exc:
        raise CommandError(str(exc), "choose another value with --id") from None
    except json.JSONDecodeError as exc:  # pragma: no cover - the template is ours
        raise CommandError(f"the plugin.json template is broken: {exc}") from None

    if target.exists() and any(target.iterdir()) and not force:
        raise CommandError(
            f"{target} already exists and is not empty",
            "choose another NAME or --directory, or pass --force to write into it",
        )
    for relative, text in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")

    console.print(f"[green]✓[/green] created {escape(str(target))} ({plugin_id})")
    for relative in files:
        console.print(f"    {escape(relative)}", style="dim")
    console.print(
        "\nNext:\n"
        f"  cd {escape(str(target))}\n"
        "  python3 -m venv .venv && .venv/bin/pip install -r requirements-dev.txt\n"
        "  .venv/bin/pytest\n"
        "  .venv/bin/mattermost-plugin validate .\n"
        "  .venv/bin/mattermost-plugin bundle .",
        soft_wrap=True,
    )
