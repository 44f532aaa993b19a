"""``mattermost-plugin manifest``: write the settings model's ``settings_schema`` into the
manifest, keeping everything else in it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import click
import yaml
from rich.markup import escape

from mattermost_plugin.cli import EXIT_OK, EXIT_PROBLEMS, main
from mattermost_plugin.cli._common import CommandError, console, errors, print_problems
from mattermost_plugin.cli.validate import DEFAULT_TIMEOUT, check_plugin

__all__ = ["manifest", "read_manifest_data", "write_manifest_data"]


def read_manifest_data(path: Path) -> dict[str, Any]:
    """plugin.json or plugin.yaml as plain data."""
    text = path.read_text("utf-8")
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict):
        raise CommandError(f"{path} does not hold a manifest object")
    return data


def write_manifest_data(path: Path, data: dict[str, Any]) -> None:
    """Write a manifest in its own format, keys in their order (YAML comments are lost)."""
    if path.suffix == ".json":
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    path.write_text(text, "utf-8")


@main.command()
@click.argument("path", default=".", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--check", is_flag=True, help="Change nothing; exit 1 when the schema is stale.")
@click.option(
    "--python",
    "python",
    metavar="PATH",
    help="Interpreter to import the plugin with (default: as `validate`).",
)
@click.option("--timeout", type=float, default=DEFAULT_TIMEOUT, show_default=True)
def manifest(path: Path, check: bool, python: str | None, timeout: float) -> None:
    """Write the plugin's settings_schema, generated from its settings model.

    The plugin declares its settings as `class MyPlugin(Plugin[MySettings])`; this command
    imports it as `validate` does, builds the schema from MySettings and writes it into
    plugin.json (or plugin.yaml), keeping everything else. `validate` fails while the two
    disagree; `bundle` writes the generated schema into the archive.

    Exit codes: 0 written (or up to date), 1 problems (nothing written), 2 bad usage.
    """
    if python is not None and os.sep in python:
        python = str(Path(python).absolute())
    with console.status("Importing the plugin…"):
        report = check_plugin(path, python=python, timeout=timeout)
    generated = report.settings_schema
    blocking = [p for p in errors(report.problems) if "settings_schema" not in p.where]
    if blocking or report.manifest is None:
        print_problems(report.problems)
        raise CommandError("the plugin could not be checked; nothing was written")
    if generated is None:
        console.print(
            f"{escape(report.served or 'The plugin')} declares no settings model "
            "(`class MyPlugin(Plugin[MySettings])`): nothing to write."
        )
        raise SystemExit(EXIT_OK)
    stale = [p for p in report.problems if "settings_schema" in p.where]
    file = report.plugin_dir / report.manifest_file
    if not stale:
        console.print(
            f"[green]✓[/green] {escape(report.manifest_file)}: settings_schema is up to date"
        )
        raise SystemExit(EXIT_OK)
    if check:
        print_problems(stale)
        raise SystemExit(EXIT_PROBLEMS)
    data = read_manifest_data(file)
    data["settings_schema"] = generated
    write_manifest_data(file, data)
    count = sum(
        len(group.get("settings", [])) for group in [generated, *generated.get("sections", [])]
    )
    console.print(
        f"[green]✓[/green] {escape(report.manifest_file)}: wrote settings_schema "
        f"({count} setting{'s' * (count != 1)}, {len(stale)} change{'s' * (len(stale) != 1)})"
    )
    raise SystemExit(EXIT_OK)
