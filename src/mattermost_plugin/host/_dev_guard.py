"""Which requests the dev server accepts: its own host name, and no cross-site writes.

A browser with the dev server's port open is a way in: any web page can send a "simple"
cross-origin request (a ``text/plain`` POST needs no preflight) and the dev server acts as
a system admin; a page on a rebound DNS name (``evil.example`` resolving to 127.0.0.1) can
even read the answers. So, like the Go server in front of a real Mattermost, the dev server
refuses every request whose ``Host`` is not its own address (``127.0.0.1:PORT`` or
``localhost:PORT``), and every state-changing request that a browser marks as coming from
another site: an ``Origin`` other than the dev server's own, or ``Sec-Fetch-Site:
cross-site``. Requests without those browser headers (curl, scripts, tests) pass.
"""

from __future__ import annotations

from mattermost_plugin.host._http_front import HTTPError, Request

__all__ = ["SAFE_METHODS", "RequestGuard"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods that must not change state; every other one is checked for its origin."""
_LOOPBACK_NAMES = ("127.0.0.1", "localhost")


class RequestGuard:
    """Checks requests to a dev server listening on loopback ``port``."""

    def __init__(self, port: int) -> None:
        self.port = port
        hosts = {f"{name}:{port}" for name in _LOOPBACK_NAMES}
        if port == 80:  # a client leaves out the default port
            hosts |= set(_LOOPBACK_NAMES)
        self.hosts = frozenset(hosts)
        self.origins = frozenset(f"http://{host}" for host in hosts)

    def check(self, request: Request) -> None:
        """Raise :class:`HTTPError` 403 (400 for a missing ``Host``) when refused."""
        host = request.header("Host")
        if host is None:
            if request.http_version != "1.0":  # h11 already refuses this; kept for clarity
                raise HTTPError(400, "api.dev.host.missing", "the request has no Host header")
        elif host.strip().lower() not in self.hosts:
            raise HTTPError(
                403,
                "api.dev.host_not_allowed",
                f"Host {host!r} is not this dev server's address (expected "
                f"127.0.0.1:{self.port} or localhost:{self.port}); requests through other "
                "names are refused, as a page could rebind its DNS name to 127.0.0.1",
            )
        if request.method in SAFE_METHODS:
            return
        origin = request.header("Origin")
        if origin is not None and origin.strip().lower().rstrip("/") not in self.origins:
            raise HTTPError(
                403,
                "api.dev.cross_origin",
                f"a {request.method} request from the web origin {origin!r} is refused: only "
                f"pages of this dev server (http://127.0.0.1:{self.port}) may change state "
                "(tools without an Origin header, such as curl, are not affected)",
            )
        if (request.header("Sec-Fetch-Site") or "").strip().lower() == "cross-site":
            raise HTTPError(
                403,
                "api.dev.cross_site",
                f"a cross-site {request.method} request (Sec-Fetch-Site: cross-site) is "
                "refused: a page of another site may not change state here",
            )
