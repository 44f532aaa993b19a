"""What ``deploy`` and ``logs`` share: reaching a Mattermost server's REST API.

Over HTTP(S) with a personal access token (``--token``, or ``MM_ADMIN_TOKEN``: the name the
plugin starter template's ``make deploy`` reads, with ``MM_SERVICESETTINGS_SITEURL`` for the
URL), or through the server's local-mode unix socket (``--local``; needs
``ServiceSettings.EnableLocalMode``), which needs no token. Every failure becomes a
:class:`~mattermost_plugin.cli._common.CommandError` that says what went wrong and what to
do; the token is never printed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click
import httpx

from mattermost_plugin import __version__
from mattermost_plugin.cli._common import CommandError

__all__ = [
    "DEFAULT_LOCAL_SOCKET",
    "SOCKET_ENV",
    "TOKEN_ENV",
    "URL_ENV",
    "AppError",
    "Server",
    "connect",
    "server_options",
]

DEFAULT_LOCAL_SOCKET = "/var/tmp/mattermost_local.socket"
"""``ServiceSettings.LocalModeSocketLocation``'s default."""
TOKEN_ENV = "MM_ADMIN_TOKEN"
URL_ENV = "MM_SERVICESETTINGS_SITEURL"
SOCKET_ENV = "MM_LOCALSOCKETPATH"

F = TypeVar("F", bound=Callable[..., Any])


def server_options(command: F) -> F:
    """The options that say which server to talk to, and how."""
    options = [
        click.option(
            "--url",
            envvar=URL_ENV,
            metavar="URL",
            help=f"The server's address, e.g. https://chat.example.com [env {URL_ENV}].",
        ),
        click.option(
            "--token",
            envvar=TOKEN_ENV,
            metavar="TOKEN",
            show_envvar=False,
            help=f"A system admin's personal access token [env {TOKEN_ENV}]. Never printed.",
        ),
        click.option(
            "--local",
            is_flag=True,
            help="Talk to the server through its local-mode socket (on the server's machine, "
            "with ServiceSettings.EnableLocalMode on); no token needed.",
        ),
        click.option(
            "--local-socket",
            envvar=SOCKET_ENV,
            metavar="PATH",
            type=click.Path(dir_okay=False, path_type=Path),
            help=f"The local-mode socket (implies --local) [default: {DEFAULT_LOCAL_SOCKET}; "
            f"env {SOCKET_ENV}].",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=1),
            default=60.0,
            show_default=True,
            help="Seconds to wait for each answer of the server.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@dataclass(frozen=True)
class AppError:
    """A Mattermost error answer: its ``id``, ``message``, ``detailed_error`` and status."""

    id: str
    message: str
    detailed: str
    status: int

    def __str__(self) -> str:
        text = (
            f"{self.message} ({self.id})" if self.id and self.id != self.message else self.message
        )
        return f"{text}: {self.detailed}" if self.detailed else text

    @classmethod
    def of(cls, response: httpx.Response) -> AppError | None:
        try:
            data = response.json()
        except (ValueError, UnicodeDecodeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            return None
        return cls(
            data["id"],
            str(data.get("message") or data["id"]),
            str(data.get("detailed_error") or ""),
            response.status_code,
        )


class Server:
    """An HTTP client for one server's ``/api/v4``: :meth:`request` raises
    :class:`CommandError` for what cannot go on (no answer, 401, 403), and returns every
    other answer for the caller to read."""

    def __init__(self, client: httpx.Client, where: str, *, local: bool) -> None:
        self.client = client
        self.where = where
        self.local = local

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.TimeoutException:
            raise CommandError(
                f"{self.where} did not answer {method} {path} in time",
                "is the server busy or behind a slow proxy? --timeout waits longer",
            ) from None
        except httpx.TransportError as exc:
            raise CommandError(
                f"cannot reach {self.where}: {exc}",
                "check the address: is the server running, and is the URL (scheme, host, port) "
                "right?"
                if not self.local
                else "is the server running on this machine with local mode on?",
            ) from None
        if response.status_code == 401:
            error = AppError.of(response)
            raise CommandError(
                f"{self.where} refused the token (401{': ' + str(error) if error else ''})",
                f"check --token / {TOKEN_ENV}: a personal access token of a system admin "
                "(Profile > Security > Personal Access Tokens); it may be revoked or mistyped",
            )
        if response.status_code == 403:
            error = AppError.of(response)
            raise CommandError(
                f"{self.where} does not let this token's user {method} {path} "
                f"(403{': ' + str(error) if error else ''})",
                "use a system admin's personal access token",
            )
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON of a successful answer; :class:`CommandError` for any other."""
        response = self.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise self.failure(response, f"{method} {path}")
        try:
            return response.json()
        except ValueError:
            raise self.not_mattermost(response) from None

    def failure(self, response: httpx.Response, what: str) -> CommandError:
        error = AppError.of(response)
        if error is None:
            return self.not_mattermost(response)
        return CommandError(f"{self.where} answered {what} with {response.status_code}: {error}")

    def not_mattermost(self, response: httpx.Response) -> CommandError:
        kind = response.headers.get("content-type", "no content type")
        return CommandError(
            f"{self.where} answered {response.request.method} {response.request.url.path} with "
            f"{response.status_code} ({kind}), not as Mattermost does",
            "is this the address of a Mattermost server (the site URL, without /api/v4)?",
        )

    def check(self) -> None:
        """That a Mattermost server answers (``GET /api/v4/system/ping``)."""
        response = self.request("GET", "/api/v4/system/ping")
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code != 200 or not isinstance(data, dict) or "status" not in data:
            raise self.not_mattermost(response)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(
    *,
    url: str | None,
    token: str | None,
    local: bool,
    local_socket: Path | None,
    timeout: float,
) -> Server:
    """A :class:`Server` for the options of :func:`server_options`."""
    headers = {"User-Agent": f"mattermost-plugin/{__version__}"}
    limits = httpx.Timeout(timeout, connect=min(timeout, 10.0))
    if local or local_socket is not None:
        socket = local_socket or Path(DEFAULT_LOCAL_SOCKET)
        if not socket.exists():
            raise CommandError(
                f"no local-mode socket at {socket}",
                "run this on the server's machine with ServiceSettings.EnableLocalMode on "
                "(--local-socket gives another path), or use --url and --token",
            )
        transport = httpx.HTTPTransport(uds=str(socket))
        client = httpx.Client(
            transport=transport, base_url="http://localhost", headers=headers, timeout=limits
        )
        return Server(client, f"the local-mode socket {socket}", local=True)
    if not url:
        raise CommandError(
            "no server given",
            f"--url https://your.server (or {URL_ENV}), with --token; or --local on the "
            "server's machine",
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CommandError(
            f"{url!r} is not a server URL",
            "give the site URL with its scheme, e.g. https://chat.example.com or "
            "http://127.0.0.1:8065",
        )
    if not token:
        raise CommandError(
            f"no token for {url}",
            f"--token TOKEN or {TOKEN_ENV}: a system admin's personal access token (Profile > "
            "Security > Personal Access Tokens; ServiceSettings.EnableUserAccessTokens must be "
            "on); `mattermost-plugin dev` prints one for its admin",
        )
    headers["Authorization"] = f"Bearer {token}"
    base = url.rstrip("/")
    client = httpx.Client(base_url=base, headers=headers, timeout=limits)
    return Server(client, base, local=False)
