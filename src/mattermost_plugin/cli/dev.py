"""``mattermost-plugin dev PATH``: run a plugin locally, reloading it when its files change."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click

from mattermost_plugin.cli import EXIT_PROBLEMS, main


@main.command()
@click.argument(
    "path", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path(".")
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8065,
    show_default=True,
    help="Port on 127.0.0.1 to serve HTTP on (0: any free port).",
)
@click.option(
    "--db",
    "db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="SQLite file that keeps the state across restarts "
    "[default: PATH/.mattermost-dev/state.db].",
)
@click.option("--in-memory", is_flag=True, help="Keep the state in memory only.")
@click.option(
    "--hook-timeout",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Deadline of each hook call in seconds (the server's is 30).",
)
@click.option("--no-reload", is_flag=True, help="Do not restart the plugin when files change.")
@click.option(
    "--python",
    "python",
    metavar="PATH",
    help="Interpreter to run the plugin with, e.g. a bare Python for an unpacked bundle "
    "[default: the plugin's venv/ or .venv/, else the one running this command].",
)
@click.option(
    "--setting",
    "settings",
    metavar="KEY=VALUE",
    multiple=True,
    help="Set one of the plugin's settings before it starts (repeatable). VALUE is read as "
    "JSON when it is JSON (5, false, [1]), else as text.",
)
@click.option(
    "--nodes",
    type=click.IntRange(1, 16),
    default=1,
    show_default=True,
    help="Run the plugin as a cluster of N processes on the one store: requests go to the "
    "nodes in turn (round robin), cluster events to the other nodes, and each printed line "
    "says which node served it.",
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Also print background hooks as they end, and every frame of tracebacks.",
)
def dev(
    path: Path,
    port: int,
    db: Path | None,
    in_memory: bool,
    hook_timeout: float,
    no_reload: bool,
    python: str | None,
    settings: tuple[str, ...],
    nodes: int,
    verbose: bool,
) -> None:
    """Run the plugin in PATH against a local fake Mattermost, without a server.

    Serves http://127.0.0.1:PORT: /plugins/<id>/... goes to the plugin's ServeHTTP, and
    the server's REST API (users, logins, teams, channels, posts, reactions, files,
    commands, config, logs, plugin uploads) runs the plugin's hooks as the server does;
    GET /dev/events streams what happens. Requests without a token act as the admin (the
    banner prints its token). The plugin restarts when its files change; hooks,
    rejections and the plugin's logs are printed as they happen (secrets redacted), a
    failing handler with its traceback. Requests through another host name, and
    state-changing requests from other sites' pages, are refused (403). Stop with Ctrl-C.
    """
    from mattermost_plugin.host.dev_server import DevServer, default_db_path
    from mattermost_plugin.host.store import StoreError
    from mattermost_plugin.host.supervisor import PluginStartError

    if db is not None and in_memory:
        raise click.UsageError("--db and --in-memory exclude each other")
    plugin_dir = path.resolve()
    if not ((plugin_dir / "plugin.json").is_file() or (plugin_dir / "plugin.yaml").is_file()):
        raise click.UsageError(f"{path} has no plugin.json or plugin.yaml")
    interpreter = _interpreter(python) if python is not None else None
    plugin_settings = dict(_setting(text) for text in settings)
    # The supervisor re-logs the plugin's lines; the dev server prints them itself.
    logging.getLogger("mattermost_plugin.host").addHandler(logging.NullHandler())
    logging.getLogger("mattermost_plugin.host").propagate = False
    state = None if in_memory else (db if db is not None else default_db_path(plugin_dir))
    try:
        server = DevServer(
            plugin_dir,
            port=port,
            db=state,
            hook_timeout=hook_timeout,
            reload=not no_reload,
            verbose=verbose,
            python=interpreter,
            settings=plugin_settings,
            nodes=nodes,
        )
    except OSError as exc:
        click.secho(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", fg="red", err=True)
        raise SystemExit(EXIT_PROBLEMS) from None
    except (PluginStartError, StoreError) as exc:
        click.secho(str(exc), fg="red", err=True)
        raise SystemExit(EXIT_PROBLEMS) from None

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        server.start()
    except StoreError as exc:
        click.secho(str(exc), fg="red", err=True)
        server.front.stop()
        raise SystemExit(EXIT_PROBLEMS) from None
    try:
        server.serve_until(stop)
    finally:
        server.console.print("[bold]stopping[/]")
        server.stop()


def _interpreter(python: str) -> str:
    """``--python``: a path to an executable, or a name on PATH."""
    found = python if os.sep in python else shutil.which(python)
    if found is None or not Path(found).is_file() or not os.access(found, os.X_OK):
        raise click.BadParameter(
            f"{python!r} is not an executable interpreter", param_hint="--python"
        )
    return str(Path(found).absolute())


def _setting(text: str) -> tuple[str, Any]:
    """``--setting KEY=VALUE``: VALUE as JSON when it parses, else the text itself."""
    key, equals, raw = text.partition("=")
    if not equals or not key.strip():
        raise click.BadParameter(f"{text!r} is not KEY=VALUE", param_hint="--setting")
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return key.strip(), value
