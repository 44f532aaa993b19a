"""How the dev server prints what happens: one readable, colored line per event (rich)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from mattermost_plugin.host._tracebacks import readable_traceback, split_stacktrace
from mattermost_plugin.host.local import Event
from mattermost_plugin.logging import Redactor

__all__ = ["EventPrinter"]

_LEVEL_STYLE = {"debug": "dim", "info": "", "warn": "yellow", "error": "bold red"}
_KIND_STYLE = {
    "server": "bold",
    "plugin": "magenta",
    "hook": "cyan",
    "log": "blue",
    "post": "green",
    "command": "green",
    "http": "dim",
    "action": "green",
    "dialog": "green",
}


class EventPrinter:
    """Prints :class:`Event` objects as readable, colored lines (rich). ``redactor`` gives
    what hides secrets in messages and fields (the plugin's settings may change).

    A log line with a ``stacktrace`` (a failing handler) is followed by its traceback,
    readable: the plugin's file and line first, SDK frames folded (all frames with
    ``verbose``); ``plugin_dir`` tells the plugin's files from the rest."""

    def __init__(
        self,
        console: Console | None = None,
        *,
        verbose: bool = False,
        redactor: Callable[[], Redactor] | None = None,
        plugin_dir: Path | None = None,
    ) -> None:
        self.console = console or Console(highlight=False, soft_wrap=True)
        self.verbose = verbose
        self.redactor = redactor or Redactor
        self.plugin_dir = plugin_dir
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        if event.level == "debug" and event.kind == "hook" and not self.verbose:
            return
        stamp = datetime.fromtimestamp(event.time).strftime("%H:%M:%S")
        style = _LEVEL_STYLE.get(event.level, "")
        kind_style = _KIND_STYLE.get(event.kind, "")
        redactor = self.redactor()
        fields = redactor.fields({k: v for k, v in event.fields.items() if k != "source"})
        node = fields.pop("node", None)  # on a cluster: which node served it
        head_node = f"[dim]{escape(f'[node {node}]')}[/] " if node is not None else ""
        stacktrace = None
        if event.kind == "log":
            fields, stacktrace = split_stacktrace(fields)
            level = event.level.upper()
            head = f"[{kind_style}]log    [/][{style or 'default'}]{level:<5}[/] "
        else:
            head = f"[{kind_style}]{event.kind:<7}[/]"
        extra = "  ".join(
            f"[dim]{escape(str(k))}=[/]{escape(_short(v))}" for k, v in fields.items()
        )
        message = escape(redactor.text(event.message))
        if style and event.kind != "log":
            message = f"[{style}]{message}[/]"
        line = f"[dim]{stamp}[/] {head}{head_node}{message}" + (f"  {extra}" if extra else "")
        if stacktrace is not None:
            line += "\n" + self._traceback(stacktrace, style)
        with self._lock:
            self.console.print(line)

    def _traceback(self, stacktrace: str, style: str) -> str:
        text = readable_traceback(stacktrace, plugin_dir=self.plugin_dir, verbose=self.verbose)
        first, *rest = (f"    {line}" for line in text.splitlines() or [""])
        return "\n".join([f"[{style or 'default'}]{escape(first)}[/]", *map(escape, rest)])


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 200 else text[:197] + "..."
