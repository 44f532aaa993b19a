"""Helpers for the CLI tests (tests/cli): run a command, write plugin folders, start bundles.

``run_cli`` runs ``mattermost-plugin`` in process (click's runner, stdout and stderr apart).
``write_plugin`` makes a plugin folder from a plugin.py body, for validate's problem cases.
``clean_python`` makes a bare venv (no pip, nothing installed) to start bundles with, as a
server's python3 would be. ``start_plugin`` runs a folder under ``PluginSupervisor`` against
a fake Mattermost and reports how long the start took.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from mattermost_plugin.cli import main
from mattermost_plugin.host.fake_server import FakeMattermost, serve
from mattermost_plugin.host.supervisor import PluginSupervisor


def run_cli(*args: str | Path) -> Result:
    """``mattermost-plugin ARGS`` in this process; never raises for a failing command."""
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


GOOD_PLUGIN = """\
from mattermost_plugin import HookName, Plugin, hook


class MyPlugin(Plugin):
    @hook(HookName.OnActivate)
    def on_activate(self) -> None:
        self.logger.info("activated")


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(MyPlugin)
"""


def write_plugin(
    folder: Path, source: str = GOOD_PLUGIN, manifest: dict[str, Any] | None = None
) -> Path:
    """A plugin folder: ``plugin.json`` (``manifest`` merged over a valid one) and
    ``server/plugin.py`` with ``source`` (dedented)."""
    data: dict[str, Any] = {
        "id": "com.example.checked",
        "name": "Checked",
        "version": "1.2.3",
        "server": {"executable": "server/plugin.py", "runtime": "python"},
    }
    data.update(manifest or {})
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plugin.json").write_text(json.dumps(data, indent=2))
    (folder / "server").mkdir(exist_ok=True)
    (folder / "server" / "plugin.py").write_text(textwrap.dedent(source))
    return folder


def clean_python(folder: Path) -> str:
    """A venv with nothing installed, not even pip: the interpreter of a bare server."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(folder)],
        check=True,
        capture_output=True,
    )
    python = folder / "bin" / "python"
    probe = subprocess.run(
        [str(python), "-c", "import grpc"], capture_output=True, text=True, check=False
    )
    assert probe.returncode != 0, "the clean interpreter must not see any installed package"
    return str(python)


def unpack(archive: Path, dest: Path) -> Path:
    """Extract ``archive`` into the empty folder ``dest``; returns its single top folder."""
    dest.mkdir(parents=True, exist_ok=True)
    assert not any(dest.iterdir())
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):  # refuses unsafe members; keeps executable bits
            tar.extractall(dest, filter="data")
        else:  # pragma: no cover - Pythons before 3.10.12
            tar.extractall(dest)
    (top,) = list(dest.iterdir())
    return top


# Any attempt to reach the network through a proxy-aware client fails at once.
NO_NETWORK = dict.fromkeys(("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"), "http://127.0.0.1:9") | {
    "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
    "PIP_FIND_LINKS": "",
}


@dataclass
class Started:
    supervisor: PluginSupervisor
    fake: FakeMattermost
    seconds: float
    """From ``start()`` to OnActivate done."""


@contextmanager
def start_plugin(
    plugin_dir: Path, python: str | None, env: dict[str, str] | None = None
) -> Iterator[Started]:
    """The plugin started like the server starts it (``python=None``: its interpreter
    discovery, which prefers ``venv/bin/python``)."""
    fake = FakeMattermost()
    server, address = serve(fake)
    supervisor = PluginSupervisor(plugin_dir, api_target=address, python=python, env=env)
    try:
        started = time.monotonic()
        supervisor.start()
        yield Started(supervisor, fake, time.monotonic() - started)
    finally:
        supervisor.stop()
        server.stop(None)
