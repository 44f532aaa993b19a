"""``mattermost-plugin logs [PATH]``: the plugin's own lines of the server log.

The server hands its log to system admins as ``GET /api/v4/logs`` (the latest lines of
``mattermost.log``, each a JSON object as text, when ``LogSettings.EnableFile`` is on); the
plugin's lines are those whose ``plugin_id`` is its id. ``--follow`` asks again every
``--interval`` seconds and prints the lines that came after the last one it printed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from mattermost_plugin.cli import EXIT_OK, main
from mattermost_plugin.cli._common import CommandError, console
from mattermost_plugin.cli._server import Server, connect, server_options
from mattermost_plugin.manifest import ManifestError, load_manifest

# The plugin's lines go to stdout (a script may read them); notices go to stderr.
_stdout = Console(highlight=False, soft_wrap=True)
WINDOW = 10_000
"""How many of the latest server log lines each request asks for (the server's maximum)."""
_LEVEL_STYLE = {"debug": "dim", "info": "", "warn": "yellow", "error": "bold red"}
_NOT_FIELDS = frozenset({"timestamp", "level", "msg", "caller", "plugin_id", "source"})


@main.command()
@click.argument("path", default=".", type=click.Path(exists=True, path_type=Path))
@server_options
@click.option("--plugin-id", metavar="ID", help="The plugin's id [default: PATH's manifest's].")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines (Ctrl-C stops).")
@click.option(
    "-n",
    "--lines",
    type=click.IntRange(min=0),
    default=100,
    show_default=True,
    help="How many of the plugin's latest lines to print first.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=1.0,
    show_default=True,
    help="Seconds between two requests with --follow.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the lines as the server has them.")
def logs(
    path: Path,
    url: str | None,
    token: str | None,
    local: bool,
    local_socket: Path | None,
    timeout: float,
    plugin_id: str | None,
    follow: bool,
    lines: int,
    interval: float,
    as_json: bool,
) -> None:
    """Print the plugin's log lines from a Mattermost server's log, with their levels.

    The plugin is the one in PATH (a plugin folder; default: the current one) or
    --plugin-id. The server is given as for `deploy` (--url and --token, or --local); the
    token's user must be a system admin, and the server must write its log file
    (LogSettings.EnableFile).
    """
    wanted = plugin_id or _plugin_id(path)
    with connect(
        url=url, token=token, local=local, local_socket=local_socket, timeout=timeout
    ) as server:
        window = _window(server)
        if not window:
            console.print(
                f"[yellow]![/yellow] {escape(server.where)} answered no log lines: is "
                "LogSettings.EnableFile on?"
            )
        mine = [line for line in window if _is_plugins(line, wanted)]
        for raw in mine[len(mine) - lines :] if lines else []:
            _print(raw, as_json)
        if not follow:
            raise SystemExit(EXIT_OK)
        try:
            while True:
                time.sleep(interval)
                newer = _window(server)
                fresh, complete = new_lines(window, newer)
                if not complete:
                    console.print("[yellow]![/yellow] some lines may be missing (the log moved on)")
                for raw in fresh:
                    if _is_plugins(raw, wanted):
                        _print(raw, as_json)
                window = newer
        except KeyboardInterrupt:
            raise SystemExit(EXIT_OK) from None


def _plugin_id(path: Path) -> str:
    try:
        return load_manifest(path).id
    except ManifestError as exc:
        raise CommandError(
            f"cannot tell the plugin's id from {path}: {exc}",
            "run it in the plugin's folder, or give --plugin-id",
        ) from None


def _window(server: Server) -> list[str]:
    data = server.json("GET", "/api/v4/logs", params={"page": 0, "logs_per_page": WINDOW})
    if not isinstance(data, list):
        raise CommandError(
            f"{server.where} answered GET /api/v4/logs with something else than a list"
        )
    return [line for line in data if isinstance(line, str)]


def new_lines(seen: Sequence[str], window: Sequence[str]) -> tuple[list[str], bool]:
    """The lines of ``window`` (the log's latest lines now) after those of ``seen`` (its
    latest lines before), and whether the two overlap (else lines may have been missed).
    The overlap is the longest end of ``seen`` that starts ``window``."""
    if not seen:
        return list(window), True
    last = seen[-1]
    for end in range(len(window), 0, -1):  # the latest match is the one that counts
        if window[end - 1] != last:
            continue
        overlap = min(end, len(seen))
        if list(window[end - overlap : end]) == list(seen[len(seen) - overlap :]):
            return list(window[end:]), True
    return list(window), False


def _parse(raw: str) -> dict[str, Any] | None:
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _is_plugins(raw: str, plugin_id: str) -> bool:
    data = _parse(raw)
    return data is not None and data.get("plugin_id") == plugin_id


def _print(raw: str, as_json: bool) -> None:
    if as_json:
        click.echo(raw)
        return
    data = _parse(raw) or {}
    level = str(data.get("level", "info")).lower()
    stamp = str(data.get("timestamp", ""))[11:19]
    fields = "  ".join(
        f"{key}={value if isinstance(value, str) else json.dumps(value)}"
        for key, value in data.items()
        if key not in _NOT_FIELDS
    )
    style = _LEVEL_STYLE.get(level, "")
    head = f"[{style}]{level.upper():<5}[/]" if style else f"{level.upper():<5}"
    line = f"[dim]{escape(stamp)}[/dim] {head} {escape(str(data.get('msg', '')))}"
    if fields:
        line += f"  [dim]{escape(fields)}[/dim]"
    _stdout.print(line)
