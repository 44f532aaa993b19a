"""The playground: the page at ``/`` that acts like Mattermost, from files in the package.

* ``GET /``: ``playground/index.html``;
* ``GET /playground/<file>``: a file of the ``playground`` folder beside this module, and
  only those: a name of letters, digits, ``-``, ``_`` and ``.`` (no folders, no hidden
  files) with a known extension; anything else is a 404.

The page talks to the dev server like any client, through the REST API and the ``/dev/``
routes. Its answers forbid what the page does not need (scripts, styles and connections
of other origins, being framed), so that a message of the plugin cannot bring in code.
"""

from __future__ import annotations

import re
from importlib import resources

from mattermost_plugin.host._http_front import Exchange, HTTPError

__all__ = ["CONTENT_TYPES", "PLAYGROUND_PREFIX", "route_playground"]

PLAYGROUND_PREFIX = "/playground/"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}
"""The files served, by extension, and their ``Content-Type``."""
_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*$")
_HEADERS = (
    ("Cache-Control", "no-cache"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    (
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'; form-action 'none'",
    ),
)


def route_playground(exchange: Exchange, method: str, path: str) -> bool:
    """Answer ``exchange`` if ``path`` is the page or one of its files; ``False`` if not."""
    if path == "/":
        name = "index.html"
    elif path.startswith(PLAYGROUND_PREFIX):
        name = path[len(PLAYGROUND_PREFIX) :]
    else:
        return False
    if method not in ("GET", "HEAD"):
        raise HTTPError(405, "api.context.405.app_error", f"{method} {path}: only GET is served")
    content_type = _content_type(name)
    if content_type is None:
        raise HTTPError(404, "api.context.404.app_error", f"no playground file {name!r}")
    body = playground_file(name)
    if body is None:
        raise HTTPError(404, "api.context.404.app_error", f"no playground file {name!r}")
    exchange.respond(200, [("Content-Type", content_type), *_HEADERS], body)
    return True


def _content_type(name: str) -> str | None:
    if not _NAME.match(name) or ".." in name:
        return None
    dot = name.rfind(".")
    return CONTENT_TYPES.get(name[dot:].lower()) if dot > 0 else None


def playground_file(name: str) -> bytes | None:
    """The content of ``playground/<name>`` in the package; ``None`` when it is not there
    (``name`` is one checked by the route: no separators)."""
    entry = resources.files("mattermost_plugin.host").joinpath("playground").joinpath(name)
    try:
        return entry.read_bytes() if entry.is_file() else None
    except OSError:
        return None
