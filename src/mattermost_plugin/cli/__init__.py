"""The ``mattermost-plugin`` command line: ``new``, ``validate``, ``manifest``, ``bundle``, ``dev``,
``deploy``, ``logs``.

Each command lives in a module of this package and registers itself on ``main``; every
command has ``--help``, and exit codes are shared: 0 success, 1 the command found problems
(validation errors, a failed build), 2 bad usage (click's own).
"""

from __future__ import annotations

import click

from mattermost_plugin import __version__

EXIT_OK = 0
EXIT_PROBLEMS = 1


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mattermost-plugin")
def main() -> None:
    """Create, check, run and package Mattermost plugins written in Python."""


def _register() -> None:
    # Commands register themselves on import; each module owns one command.
    from mattermost_plugin.cli import commands  # noqa: F401


_register()
