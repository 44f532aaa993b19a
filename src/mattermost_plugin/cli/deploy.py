"""``mattermost-plugin deploy [PATH | BUNDLE]``: bundle when needed, upload, enable, report.

Only the server's public REST API is used: ``POST /api/v4/plugins`` (multipart, ``force``),
``POST /api/v4/plugins/{id}/enable`` and ``GET /api/v4/plugins/statuses``, over HTTP(S)
with a personal access token or through the local-mode socket (:mod:`._server`).
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import time
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from mattermost_plugin.cli import EXIT_OK, EXIT_PROBLEMS, main
from mattermost_plugin.cli._common import CommandError, console, human_size
from mattermost_plugin.cli._server import AppError, Server, connect, server_options
from mattermost_plugin.host._bundle_rules import BundleRefused, read_manifest, unpack_bundle
from mattermost_plugin.manifest import Manifest

RUNNING, FAILED_TO_START, FAILED_TO_STAY_RUNNING = 2, 3, 4
STATE_NAMES = {
    0: "not running",
    1: "starting",
    2: "running",
    3: "failed to start",
    4: "failed to stay running",
    5: "stopping",
}
"""The server's ``model.PluginState*`` values, in words."""
_RESTART_FAILED = "app.plugin.restart.app_error"


@main.command()
@click.argument("path", default=".", type=click.Path(exists=True, path_type=Path))
@server_options
@click.option(
    "--mode",
    type=click.Choice(["bundled", "venv", "system"]),
    help="Dependency mode when PATH is a folder to bundle (default: the manifest's).",
)
@click.option("--no-check", is_flag=True, help="Skip the bundle's start check.")
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Seconds to wait for the plugin to run after enabling it.",
)
def deploy(
    path: Path,
    url: str | None,
    token: str | None,
    local: bool,
    local_socket: Path | None,
    timeout: float,
    mode: str | None,
    no_check: bool,
    wait: float,
) -> None:
    """Install the plugin in PATH (a plugin folder, bundled first, or a bundle .tar.gz) on a
    Mattermost server, replacing the installed version, enable it and report its status.

    \b
    Where to:  --url URL --token TOKEN  (or MM_SERVICESETTINGS_SITEURL, MM_ADMIN_TOKEN)
               --local [--local-socket PATH]  on the server's machine, no token
    The token is a system admin's personal access token; it is never printed. The server
    must allow uploads (PluginSettings.EnableUploads) unless in local mode.

    Exit codes: 0 the plugin runs, 1 it does not (or the server refused it), 2 bad usage.
    """
    archive = _archive(path, mode=mode, check=not no_check)
    data = archive.read_bytes()
    manifest = _inspect(archive, data)
    name = f"{manifest.id} {manifest.version or ''}".strip()
    with connect(
        url=url, token=token, local=local, local_socket=local_socket, timeout=timeout
    ) as server:
        server.check()
        _upload(server, archive.name, data, name)
        enable = server.request("POST", f"/api/v4/plugins/{manifest.id}/enable")
        if enable.status_code >= 400:
            raise server.failure(enable, f"enabling {manifest.id}")
        console.print(f"[green]✓[/green] enabled {escape(manifest.id)}")
        statuses = _wait_for(server, manifest.id, wait)
    failed = [s for s in statuses if s.get("state") != RUNNING]
    where = escape(server.where)
    if not failed:
        console.print(f"[green]✓[/green] {escape(name)} is running on {where}")
        raise SystemExit(EXIT_OK)
    for status in failed:
        state = STATE_NAMES.get(status.get("state", -1), f"state {status.get('state')}")
        node = f" on node {status['cluster_id']}" if status.get("cluster_id") else ""
        error = f": {status['error']}" if status.get("error") else ""
        console.print(f"[red]✗[/red] {escape(name)} {state}{escape(node)}{escape(error)}")
    hint = "mattermost-plugin logs --url ... shows the plugin's log lines"
    console.print(f"  [dim]→[/dim] {escape(hint)}")
    raise SystemExit(EXIT_PROBLEMS)


def _archive(path: Path, *, mode: str | None, check: bool) -> Path:
    """The bundle to upload: PATH itself, or PATH bundled (into PATH/dist)."""
    if path.is_file():
        return path
    from mattermost_plugin.cli.bundle import build_bundle

    return build_bundle(path, mode=mode, check=check).archive


def _inspect(archive: Path, data: bytes) -> Manifest:
    """The bundle's manifest, refusing (before uploading) what the server would refuse."""
    with tempfile.TemporaryDirectory(prefix="mattermost-deploy-") as folder:
        try:
            return read_manifest(unpack_bundle(data, Path(folder)))
        except BundleRefused as exc:
            raise CommandError(
                f"{archive}: the server would refuse this bundle: {exc.message} "
                f"({exc.error_id}): {exc.detail}",
                "build it with `mattermost-plugin bundle`, or deploy the plugin's folder",
            ) from None


class _Reading(io.BytesIO):
    """The bundle's bytes, advancing a progress bar (if any) as the upload reads them."""

    def __init__(self, data: bytes, name: str, progress: Progress | None) -> None:
        super().__init__(data)
        self.progress = progress
        self.task = progress.add_task(escape(name), total=len(data)) if progress else None

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, completed=self.tell())
        return chunk


def _upload(server: Server, filename: str, data: bytes, name: str) -> None:
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        progress = None
        if console.is_terminal:  # a bar for people; nothing in logs
            progress = stack.enter_context(
                Progress(
                    TextColumn("uploading {task.description}"),
                    BarColumn(),
                    DownloadColumn(),
                    TransferSpeedColumn(),
                    console=console,
                    transient=True,
                )
            )
        response = server.request(
            "POST",
            "/api/v4/plugins",
            files={"plugin": (filename, _Reading(data, name, progress), "application/gzip")},
            data={"force": "true"},
        )
    error = AppError.of(response)
    if response.status_code >= 400 and error is not None and error.id == _RESTART_FAILED:
        # Installed, but the new version did not start: the status says why.
        console.print(f"[yellow]![/yellow] uploaded {escape(name)}, which did not start")
        return
    if response.status_code == 501 and error is not None:
        raise CommandError(
            f"{server.where} does not take plugin uploads: {error}",
            "turn on PluginSettings.EnableUploads (System Console > Plugins > Plugin "
            "Management), or deploy on the server's machine with --local",
        )
    if response.status_code >= 400:
        if error is None:
            raise server.not_mattermost(response)
        raise CommandError(
            f"{server.where} refused the bundle ({response.status_code}): {error}",
            None if response.status_code >= 500 else "fix the bundle and deploy again",
        )
    seconds = time.monotonic() - started
    console.print(
        f"[green]✓[/green] uploaded {escape(name)} ({human_size(len(data))}, {seconds:.1f} s)"
    )


def _wait_for(server: Server, plugin_id: str, wait: float) -> list[dict[str, Any]]:
    """The plugin's statuses (one per node) once none is starting, or after ``wait``."""
    deadline = time.monotonic() + wait
    with console.status(f"waiting for {escape(plugin_id)} to start…"):
        while True:
            statuses = [
                s
                for s in server.json("GET", "/api/v4/plugins/statuses") or []
                if isinstance(s, dict) and s.get("plugin_id") == plugin_id
            ]
            settled = statuses and all(
                s.get("state") in (RUNNING, FAILED_TO_START, FAILED_TO_STAY_RUNNING)
                for s in statuses
            )
            if settled or time.monotonic() >= deadline:
                break
            time.sleep(0.25)
    if not statuses:
        raise CommandError(
            f"{server.where} lists no status for {plugin_id} after enabling it",
            "is the plugin installed? see the System Console > Plugins",
        )
    return statuses
