"""Who a REST request of the dev server acts as.

As on the server, a session token or a personal access token in ``Authorization: Bearer
<token>`` (or ``Token <token>``, or the ``access_token`` query parameter) acts as its user;
an unknown, expired or revoked token is a 401. The dev server's own conveniences come
after: a ``Mattermost-User-Id`` header acts as that user (empty: no user), and a request
with none of these acts as the default user, ``admin`` (a system admin), so that curl
lines work without logging in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mattermost_plugin.host._http_front import HTTPError, Request

if TYPE_CHECKING:
    from mattermost_plugin.host.local import LocalMattermost

__all__ = ["Actor", "authenticate", "token_of"]

SESSION_EXPIRED = "api.context.session_expired.app_error"


@dataclass(frozen=True)
class Actor:
    """The acting user (``""``: nobody) and, when a token said so, its session."""

    user_id: str
    session_id: str = ""


def token_of(request: Request, query: dict[str, str]) -> str | None:
    """The token a request carries: ``Authorization: Bearer|Token <token>``, else the
    ``access_token`` query parameter; ``None`` when it carries none."""
    header = request.header("Authorization")
    if header is not None:
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() not in ("bearer", "token") or not token.strip():
            raise HTTPError(
                401,
                SESSION_EXPIRED,
                "Invalid or expired session, please login again.",
                "the Authorization header is not 'Bearer <token>'",
            )
        return token.strip()
    return query.get("access_token") or None


def authenticate(local: LocalMattermost, request: Request, query: dict[str, str]) -> Actor:
    """The :class:`Actor` of a request (see the module doc); 401 for a bad token."""
    token = token_of(request, query)
    if token is not None:
        fake = local.server
        with fake.transaction():
            now = fake.now_ms()
            session = next((s for s in fake.sessions.values() if s.token == token), None)
            if session is not None and (not session.expires_at or session.expires_at > now):
                return Actor(session.user_id, session.id)
        raise HTTPError(
            401,
            SESSION_EXPIRED,
            "Invalid or expired session, please login again.",
            "the token is unknown, expired or revoked",
        )
    user_header = request.header("Mattermost-User-Id")
    if user_header is not None:
        return Actor(user_header.strip())
    default = local._user
    return Actor(default.id if default is not None else "")
