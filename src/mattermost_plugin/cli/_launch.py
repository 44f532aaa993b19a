"""The ``mattermost-plugin`` entry point: say what to install when the ``cli`` extra is missing.

Kept free of third-party imports so that it can always run.
"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from mattermost_plugin.cli import main as cli
    except ModuleNotFoundError as exc:
        if exc.name not in ("click", "rich", "httpx", "h11", "python_multipart"):
            raise
        sys.stderr.write(
            f"mattermost-plugin: the command line needs {exc.name!r}; install it with\n"
            "    pip install 'mattermost-plugin-sdk[cli]'\n"
        )
        raise SystemExit(2) from None
    cli()
