"""The dev server's server log: what ``GET /api/v4/logs`` answers.

The server writes ``mattermost.log`` as one JSON object a line (``timestamp``, ``level``,
``msg``, ``caller`` and the fields), and the API hands out those lines as strings. The
plugin's lines carry ``plugin_id`` (and ``source: plugin_stderr`` for what it wrote on
stderr); so do the lines about starting and stopping it. The dev server keeps the latest
:data:`MAX_LINES`, secrets already redacted.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from typing import Any

from mattermost_plugin.host._logring import LogRing
from mattermost_plugin.host.local import Event

__all__ = ["MAX_LINES", "ServerLog"]

MAX_LINES = 10_000
_CALLERS = {"api": "app/plugin_api.go", "stderr": "plugin/hclog_adapter.go"}
_LEVELS = {"debug": "debug", "info": "info", "warn": "warn", "error": "error"}


def _timestamp(seconds: float) -> str:
    """The server's log time format, ``2006-01-02 15:04:05.000 Z07:00``, in UTC."""
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d} Z"


class ServerLog:
    """The latest server log lines of a dev server running ``plugin_id``."""

    def __init__(self, plugin_id: str = "", max_lines: int = MAX_LINES) -> None:
        self.plugin_id = plugin_id
        self._lines: LogRing[str] = LogRing(max_lines)
        self._lock = threading.Lock()

    def add(self, event: Event) -> None:
        """Log what the dev server reports: the plugin's lines, its starts and stops, and
        the server's own messages; other events (hooks, requests) only when they warn."""
        if event.kind not in ("log", "plugin", "server") and event.level not in ("warn", "error"):
            return
        line: dict[str, Any] = {
            "timestamp": _timestamp(event.time),
            "level": _LEVELS.get(event.level, "info"),
            "msg": event.message,
        }
        fields = dict(event.fields)
        if event.kind == "log":
            source = fields.pop("source", "api")
            line["caller"] = _CALLERS.get(source, "app/plugin.go")
            line["plugin_id"] = self.plugin_id
            if source == "stderr":
                line["source"] = "plugin_stderr"
        elif event.kind == "plugin":
            line["caller"] = "app/plugin.go"
            line["plugin_id"] = self.plugin_id
        else:
            line["caller"] = f"dev/{event.kind}"
        for key, value in fields.items():
            line.setdefault(key, value)
        text = json.dumps(line, default=str, ensure_ascii=False)
        with self._lock:
            self._lines.append(text)

    def page(self, page: int, per_page: int) -> list[str]:
        """The lines of one page counted back from the end (page 0: the latest
        ``per_page``), oldest first."""
        with self._lock:
            lines = list(self._lines.since(0))
        end = len(lines) - page * per_page
        if end <= 0 or per_page <= 0:
            return []
        return lines[max(end - per_page, 0) : end]
