"""What the dev server answers: the request check, Mattermost's REST routes it knows, and
the plugin's own HTTP (``_dev_proxy``). One :class:`DevRoutes` object is the application
of the HTTP front."""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from mattermost_plugin.host._dev_guard import RequestGuard
from mattermost_plugin.host._dev_interactive import route_interactive
from mattermost_plugin.host._dev_proxy import forward_to_plugin
from mattermost_plugin.host._http_front import BadRequest, ClientGone, Exchange, HTTPError
from mattermost_plugin.host.fake_server import FakeAppError
from mattermost_plugin.host.local import DISMISS_POST, CommandError, PostRejectedError
from mattermost_plugin.logging import REDACTED, Redactor

if TYPE_CHECKING:
    from mattermost_plugin.host.dev_server import DevServer

__all__ = ["MAX_JSON_BODY", "DevRoutes"]

MAX_JSON_BODY = 16 * 1024 * 1024
"""The largest JSON body the REST routes read (413 past it)."""
_POSTS_OF_CHANNEL = re.compile(r"^/api/v4/channels/([^/]+)/posts/?$")
_ONE_POST = re.compile(r"^/api/v4/posts/([^/]+)/?$")
_INVALID_BODY = "api.context.invalid_body_param.app_error"
_INVALID_PARAM = "api.context.invalid_param.app_error"


def _from_fake(exc: FakeAppError) -> HTTPError:
    return HTTPError(exc.status_code, exc.error_id, exc.message)


class DevRoutes:
    """The dev server's application: see :mod:`mattermost_plugin.host.dev_server`."""

    def __init__(self, dev: DevServer, guard: RequestGuard) -> None:
        self.dev = dev
        self.guard = guard

    def __call__(self, exchange: Exchange) -> None:
        started = time.monotonic()
        request = exchange.request
        outcome = ""
        try:
            self.guard.check(request)
            self._route(exchange)
        except HTTPError as exc:
            outcome = f" ({exc.message})" if exc.status == 403 else ""
            if exchange.started:
                exchange.close_connection = True
            else:
                exchange.close_connection |= isinstance(exc, BadRequest)
                exchange.respond_json(exc.status, exc.body())
        except ClientGone:
            exchange.close_connection = True
            outcome = " (the client went away)"
        status = exchange.status
        level = "warn" if status >= 400 or outcome else "debug"
        elapsed = (time.monotonic() - started) * 1000
        target = _shown_target(request.target, self.dev.local.redactor())
        self.dev.emit(
            "http", f"{request.method} {target} → {status or '-'}{outcome}", level, elapsed
        )

    def _route(self, exchange: Exchange) -> None:
        path = exchange.request.path
        prefix = f"/plugins/{self.dev.local.plugin_id}"
        if path == prefix or path.startswith(prefix + "/"):
            forward_to_plugin(
                exchange,
                self.dev.local,
                self._user_id(exchange),
                lambda level, message: self.dev.emit("http", message, level),
            )
        elif path.startswith("/plugins/"):
            raise HTTPError(404, "api.plugin.not_found", "no such plugin")
        else:
            self._api(exchange, path)

    def _user_id(self, exchange: Exchange) -> str:
        header = exchange.request.header("Mattermost-User-Id")
        if header is not None:
            return header.strip()
        user = self.dev.local._user
        return user.id if user is not None else ""

    def _json_body(self, exchange: Exchange) -> dict[str, Any]:
        raw = exchange.read_body(MAX_JSON_BODY)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise HTTPError(400, _INVALID_BODY, "the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise HTTPError(400, _INVALID_BODY, "the body is not a JSON object")
        return body

    # --- /api/v4 ---------------------------------------------------------------------------

    def _api(self, exchange: Exchange, path: str) -> None:
        local = self.dev.local
        method = exchange.request.method
        path = path.rstrip("/") or "/"
        if method == "GET" and path == "/api/v4/system/ping":
            exchange.respond_json(200, {"status": "OK", "plugin": self.dev.status()["state"]})
        elif method == "GET" and path == "/dev/status":
            exchange.respond_json(200, self.dev.status())
        elif method == "POST" and path == "/api/v4/posts":
            self._create_post(exchange, self._json_body(exchange))
        elif method == "POST" and path == "/api/v4/commands/execute":
            self._execute_command(exchange, self._json_body(exchange))
        elif path in ("/api/v4/config", "/api/v4/config/patch"):
            self._config(exchange, method, path)
        elif method == "GET" and (match := _ONE_POST.match(path)):
            try:
                post = local.get_post(match[1])
            except FakeAppError as exc:
                raise _from_fake(exc) from None
            exchange.respond_json(200, _post_json(post))
        elif method == "GET" and (match := _POSTS_OF_CHANNEL.match(path)):
            try:
                posts = local.posts(local.resolve_channel(match[1]))
            except FakeAppError as exc:
                raise _from_fake(exc) from None
            newest_first = list(reversed(posts))
            exchange.respond_json(
                200,
                {
                    "order": [p.id for p in newest_first],
                    "posts": {p.id: _post_json(p) for p in newest_first},
                },
            )
        elif not route_interactive(self, exchange, method, path):
            raise HTTPError(404, "api.context.404.app_error", f"no route for {method} {path}")

    def _create_post(self, exchange: Exchange, body: dict[str, Any]) -> None:
        local = self.dev.local
        channel = body.get("channel_id")
        if not isinstance(channel, str) or not channel:
            raise HTTPError(400, _INVALID_PARAM, "channel_id is required")
        props = body.get("props")
        try:
            post = local.create_post(
                local.resolve_channel(channel),
                str(body.get("message", "")),
                user=body.get("user_id") or self._user_id(exchange),
                root_id=str(body.get("root_id", "")),
                props=props if isinstance(props, dict) else None,
                file_ids=[str(i) for i in body.get("file_ids") or []],
                wait=False,
            )
        except PostRejectedError as exc:
            error_id = DISMISS_POST if exc.reason == DISMISS_POST else str(exc)
            raise HTTPError(400, error_id, str(exc)) from None
        except FakeAppError as exc:
            raise _from_fake(exc) from None
        exchange.respond_json(201, _post_json(post))

    def _execute_command(self, exchange: Exchange, body: dict[str, Any]) -> None:
        local = self.dev.local
        command, channel = body.get("command"), body.get("channel_id")
        if not isinstance(command, str) or not command.strip():
            raise HTTPError(400, _INVALID_PARAM, "command is required")
        if not isinstance(channel, str) or not channel:
            raise HTTPError(400, _INVALID_PARAM, "channel_id is required")
        try:
            response = local.execute_command(
                command,
                channel=local.resolve_channel(channel),
                user=body.get("user_id") or self._user_id(exchange),
                root_id=str(body.get("root_id", "")),
                team=body.get("team_id") or None,
            )
        except CommandError as exc:
            raise HTTPError(exc.status_code, exc.error_id, exc.message) from None
        except FakeAppError as exc:
            raise _from_fake(exc) from None
        exchange.respond_json(200, response.model_dump(mode="json"))

    def _config(self, exchange: Exchange, method: str, path: str) -> None:
        """``GET /api/v4/config`` and ``PUT /api/v4/config/patch``, for a logged-in user
        (the dev server has no permissions: every user is an admin here)."""
        local = self.dev.local
        if (method, path) not in (("GET", "/api/v4/config"), ("PUT", "/api/v4/config/patch")):
            raise HTTPError(405, "api.context.405.app_error", f"{method} is not allowed here")
        if not self._user_id(exchange):
            raise HTTPError(401, "api.context.session_expired.app_error", "log in first")
        if method == "GET":
            exchange.respond_json(200, local.get_config())
            return
        patch = self._json_body(exchange)
        try:
            config = local.patch_config(patch)
        except FakeAppError as exc:
            raise _from_fake(exc) from None
        self.dev.emit("server", f"configuration patched: {_patched_keys(patch)}")
        exchange.respond_json(200, config)


def _patched_keys(patch: dict[str, Any], prefix: str = "") -> str:
    """The paths a patch sets, for the console (values left out: they may be secrets)."""
    paths = []
    for key, value in patch.items():
        if isinstance(value, dict) and value:
            paths.append(_patched_keys(value, f"{prefix}{key}."))
        else:
            paths.append(f"{prefix}{key}")
    return ", ".join(paths)


def _shown_target(target: str, redactor: Redactor) -> str:
    """The request target for the console, with secret-looking query values hidden."""
    path, _, query = target.partition("?")
    if not query:
        return target
    pairs = parse_qsl(query, keep_blank_values=True)
    shown = [(k, REDACTED if redactor.is_secret(k) else v) for k, v in pairs]
    return f"{path}?{urlencode(shown, safe='[]')}" if shown != pairs else target


def _post_json(post: Any) -> dict[str, Any]:
    data: dict[str, Any] = post.model_dump(mode="json", exclude_none=True)
    return data
