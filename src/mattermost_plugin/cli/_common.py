"""What the ``new``, ``validate`` and ``bundle`` commands share: problems, consoles, errors.

Human output goes to stderr (rich); what a script wants (an archive path, JSON) goes to
stdout. A command that fails raises :class:`CommandError`, which prints what went wrong and
what to do, and exits with ``EXIT_PROBLEMS``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import click
from rich.console import Console
from rich.markup import escape

from mattermost_plugin.cli import EXIT_PROBLEMS

Severity = Literal["error", "warning"]

# The console for people: stderr, so stdout stays clean for what scripts read.
console = Console(stderr=True, highlight=False)


@dataclass(frozen=True)
class Problem:
    """One finding: ``where`` is ``"plugin.json: server.executable"`` or
    ``"server/plugin.py:12"`` (empty for the whole plugin)."""

    severity: Severity
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def print_problems(problems: Sequence[Problem]) -> None:
    """One line per problem, errors first, each with its severity."""
    ordered = sorted(problems, key=lambda p: p.severity != "error")
    for problem in ordered:
        style, label = ("red", "error") if problem.severity == "error" else ("yellow", "warning")
        console.print(f"[{style}]{label}[/{style}] {escape(str(problem))}", soft_wrap=True)


class CommandError(click.ClickException):
    """A failure the user can act on: ``message`` says what went wrong, ``hint`` what to do."""

    exit_code = EXIT_PROBLEMS

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def show(self, file: Any = None) -> None:
        console.print(f"[red]error[/red] {escape(self.message)}", soft_wrap=True)
        if self.hint:
            console.print(f"  [dim]→[/dim] {escape(self.hint)}", soft_wrap=True)


def human_size(size: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if size < 1024 or unit == "MiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def python_version_text(version: Sequence[int]) -> str:
    return ".".join(str(part) for part in version)
