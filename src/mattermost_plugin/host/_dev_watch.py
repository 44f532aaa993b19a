"""The dev server's file watcher: polls a plugin folder for changes (no dependency, works
everywhere) and reports them once the folder has been quiet for a moment."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

__all__ = ["STATE_DIR", "WATCH_INTERVAL", "FileWatcher"]

STATE_DIR = ".mattermost-dev"
WATCH_INTERVAL = 0.5
_IGNORED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".tox",
        ".nox",
        ".venv",
        "venv",
        "__pycache__",
        "node_modules",
        "dist",  # what `bundle` and `deploy` write: build output, not the plugin's source
        STATE_DIR,
    }
)
_IGNORED_SUFFIXES = (".pyc", ".pyo", ".swp", ".swx", "~", ".tmp")


class FileWatcher:
    """Polls the modification times of a folder's files (no dependency, works everywhere)."""

    def __init__(self, root: Path, on_change: Callable[[list[str]], None]) -> None:
        self.root = root
        self.on_change = on_change
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._snapshot = self.snapshot()

    def snapshot(self) -> dict[str, tuple[int, int]]:
        found: dict[str, tuple[int, int]] = {}
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if d not in _IGNORED_DIRS and not d.endswith(".egg-info")]
            for name in files:
                if name.endswith(_IGNORED_SUFFIXES) or name.startswith(".#"):
                    continue
                path = os.path.join(folder, name)
                try:
                    stat = os.stat(path)
                except OSError:
                    continue
                found[os.path.relpath(path, self.root)] = (stat.st_mtime_ns, stat.st_size)
        return found

    def changed(self) -> list[str]:
        """The files added, removed or modified since the last call."""
        current = self.snapshot()
        old = self._snapshot
        self._snapshot = current
        return sorted(
            name for name in current.keys() | old.keys() if current.get(name) != old.get(name)
        )

    def start(self, interval: float = WATCH_INTERVAL) -> None:
        def run() -> None:
            while not self._stop.wait(interval):
                changes = self.changed()
                if not changes:
                    continue
                # Let an editor (or a git checkout) finish writing: wait for a quiet tick.
                while not self._stop.wait(interval / 2):
                    more = self.changed()
                    if not more:
                        break
                    changes = sorted(set(changes) | set(more))
                if not self._stop.is_set():
                    self.on_change(changes)

        self._thread = threading.Thread(target=run, name="dev-file-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
