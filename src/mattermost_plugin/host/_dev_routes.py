"""What the dev server answers: the request check, the server's REST routes (one table,
:data:`REST_ROUTES`, of the ``_rest_*`` modules), the dev server's own ``/dev/`` routes, and
the plugin's HTTP (``_dev_proxy``). One :class:`DevRoutes` object is the application of the
HTTP front."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from mattermost_plugin.host import (
    _rest_channels,
    _rest_commands,
    _rest_files,
    _rest_plugins,
    _rest_posts,
    _rest_system,
    _rest_teams,
    _rest_users,
)
from mattermost_plugin.host._dev_events import serve_events
from mattermost_plugin.host._dev_guard import RequestGuard
from mattermost_plugin.host._dev_hooklog import shown_target
from mattermost_plugin.host._dev_interactive import route_interactive
from mattermost_plugin.host._dev_panels import PANEL_ROUTES
from mattermost_plugin.host._dev_playground import route_playground
from mattermost_plugin.host._dev_proxy import forward_to_plugin
from mattermost_plugin.host._http_front import BadRequest, ClientGone, Exchange, HTTPError
from mattermost_plugin.host._rest import (
    MAX_JSON_BODY,
    Call,
    Route,
    check_params,
    find_route,
    query_of,
)
from mattermost_plugin.host._rest_auth import Actor, authenticate

if TYPE_CHECKING:
    from mattermost_plugin.host.dev_server import DevServer

__all__ = ["REST_ROUTES", "DevRoutes"]

REST_ROUTES: tuple[Route, ...] = (
    *_rest_system.ROUTES,
    *_rest_users.ROUTES,
    *_rest_teams.ROUTES,
    *_rest_channels.ROUTES,
    *_rest_posts.ROUTES,
    *_rest_commands.ROUTES,
    *_rest_files.ROUTES,
    *_rest_plugins.ROUTES,
)
"""Every REST route of the dev server, searched in this order."""
_ROUTES = (*REST_ROUTES, *PANEL_ROUTES)  # and the /dev/ routes of the author's panels
_INVALID_BODY = "api.context.invalid_body_param.app_error"


class DevRoutes:
    """The dev server's application: see :mod:`mattermost_plugin.host.dev_server`."""

    def __init__(self, dev: DevServer, guard: RequestGuard) -> None:
        self.dev = dev
        self.guard = guard

    def __call__(self, exchange: Exchange) -> None:
        started = time.monotonic()
        request = exchange.request
        outcome = ""
        local = self.dev.local
        node = None
        try:
            self.guard.check(request)
            with local.serving() as node:  # on a cluster, one node serves the request
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
        target = shown_target(request.target, self.dev.local.redactor())
        self.dev.emit(
            "http",
            f"{request.method} {target} → {status or '-'}{outcome}",
            level,
            elapsed,
            node=node.index if node is not None and local.clustered else None,
        )

    def _route(self, exchange: Exchange) -> None:
        path = exchange.request.path
        prefix = f"/plugins/{self.dev.local.plugin_id}"
        if path == prefix or path.startswith(prefix + "/"):
            local, started = self.dev.local, time.monotonic()
            local._http_started()  # the hook log shows ServeHTTP calls
            try:
                forward_to_plugin(
                    exchange,
                    local,
                    self._user_id(exchange),
                    lambda level, message: self.dev.emit("http", message, level),
                )
            finally:
                target = exchange.request.target[len(prefix) :]
                target = target if target.startswith("/") else f"/{target}"
                method, status = exchange.request.method, exchange.status
                local._http_ended(method, target, status, time.monotonic() - started)
        elif path.startswith("/plugins/"):
            raise HTTPError(404, "api.plugin.not_found", "no such plugin")
        else:
            self._api(exchange, path)

    def _user_id(self, exchange: Exchange) -> str:
        """The user a request acts as (``""``: none); a bad token is no user here, as for
        the server's plugin routes."""
        try:
            actor = authenticate(
                self.dev.local, exchange.request, query_of(exchange.request.target)
            )
        except HTTPError:
            return ""
        return actor.user_id

    def _json_body(self, exchange: Exchange) -> dict[str, Any]:
        raw = exchange.read_body(MAX_JSON_BODY)
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            raise HTTPError(400, _INVALID_BODY, "the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise HTTPError(400, _INVALID_BODY, "the body is not a JSON object")
        return body

    # --- /api/v4 and /dev ------------------------------------------------------------------

    def _api(self, exchange: Exchange, path: str) -> None:
        method = exchange.request.method
        path = path.rstrip("/") or "/"
        if method == "GET" and path == "/dev/status":
            exchange.respond_json(200, self.dev.status())
        elif method == "GET" and path == "/dev/events":
            serve_events(
                exchange,
                self.dev.events,
                keep_alive=self.dev.events_keep_alive,
                on_drop=lambda reason: self.dev.emit("http", f"/dev/events: {reason}", "warn"),
            )
        elif (found := find_route(_ROUTES, method, path)) is not None:
            self._rest(exchange, *found)
        elif route_playground(exchange, method, path):
            pass
        elif not route_interactive(self, exchange, method, path):
            raise HTTPError(404, "api.context.404.app_error", f"no route for {method} {path}")

    def _rest(self, exchange: Exchange, route: Route, params: dict[str, str]) -> None:
        query = query_of(exchange.request.target)
        try:
            actor = authenticate(self.dev.local, exchange.request, query)
        except HTTPError:
            if route.session:
                raise
            actor = Actor("")
        check_params(params)
        route.handler(Call(self.dev, exchange, params, actor, query))
