"""FastAPI (and Starlette) routes that know the Mattermost user, for apps mounted with
:func:`~mattermost_plugin.mount_asgi`.

The server puts the logged-in user's id in the ``Mattermost-User-Id`` header of every
request it passes to a plugin (and removes one a client sent); a request another plugin
sends (``PluginHTTP``) carries that plugin's id in ``Mattermost-Plugin-ID`` instead. The
mount puts the plugin object in the ASGI scope (``scope["mattermost.plugin"]``). These
dependencies read both::

    from fastapi import FastAPI
    from mattermost_plugin import Plugin, mount_asgi
    from mattermost_plugin.integrations.fastapi import CurrentUser, SystemAdmin, handle_api_errors

    app = FastAPI()
    handle_api_errors(app)            # NotFoundError → 404, PermissionDeniedError → 403


    @app.get("/me")
    async def me(user: CurrentUser) -> dict[str, str]:        # 401 without a session
        return {"username": user.username}


    @app.post("/admin/reindex")
    async def reindex(admin_id: SystemAdmin) -> None: ...      # 403 unless system admin


    class MyPlugin(Plugin):
        serve_http = mount_asgi(app)

Every dependency is a function of the request, so a Starlette app calls them directly:
``user = await current_user(request)``. In a unit test of the app alone (no plugin), override
them with ``app.dependency_overrides``.

Needs the ``fastapi`` extra: ``pip install 'mattermost-plugin-sdk[fastapi]'``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

try:
    from fastapi import Depends, HTTPException, Request
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without FastAPI
    raise ImportError(
        "mattermost_plugin.integrations.fastapi needs FastAPI, which is not installed: "
        "pip install 'mattermost-plugin-sdk[fastapi]'"
    ) from exc

# Imported for real, not for type checking only: FastAPI reads the route annotations
# (``api: API``) at run time, in the route's module.
from mattermost_plugin.client import AsyncPluginAPIClient, PluginAPIClient
from mattermost_plugin.errors import NotFoundError, PermissionDeniedError
from mattermost_plugin.models import User
from mattermost_plugin.plugin import Plugin

__all__ = [
    "API",
    "AsyncAPI",
    "CallingPluginId",
    "CurrentUser",
    "OptionalUserId",
    "PluginObject",
    "SystemAdmin",
    "UserId",
    "api",
    "async_api",
    "calling_plugin_id",
    "current_user",
    "get_plugin",
    "handle_api_errors",
    "optional_user_id",
    "plugin_of",
    "require_system_admin",
    "user_id",
]

P = TypeVar("P", bound=Plugin)

USER_HEADER = "Mattermost-User-Id"
PLUGIN_HEADER = "Mattermost-Plugin-ID"
SYSTEM_ADMIN_PERMISSION = "manage_system"
SCOPE_KEY = "mattermost.plugin"


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail)


def optional_user_id(request: Request) -> str | None:
    """The logged-in user's id, or ``None`` for an anonymous request."""
    return request.headers.get(USER_HEADER) or None


def user_id(request: Request) -> str:
    """The logged-in user's id; 401 when the request has no Mattermost session."""
    found = request.headers.get(USER_HEADER)
    if not found:
        raise _unauthorized("not logged in to Mattermost")
    return found


def calling_plugin_id(request: Request) -> str:
    """The id of the plugin that sent the request (``PluginHTTP``); 401 when it did not
    come from another plugin. The server removes the header from requests of browsers and
    other clients, so only plugins can set it."""
    found = request.headers.get(PLUGIN_HEADER)
    if not found:
        raise _unauthorized("only other plugins may call this")
    return found


def get_plugin(request: Request) -> Plugin:
    """The plugin object serving the request (from the ASGI scope the mount builds)."""
    plugin = request.scope.get(SCOPE_KEY)
    if not isinstance(plugin, Plugin):
        raise RuntimeError(
            "no Mattermost plugin in this request's scope: mount the app in the plugin class "
            "(serve_http = mount_asgi(app)), or override the dependency in tests"
        )
    return plugin


def plugin_of(plugin_class: type[P]) -> Callable[[Request], P]:
    """A dependency returning the plugin object typed as ``plugin_class``:
    ``Annotated[MyPlugin, Depends(plugin_of(MyPlugin))]``."""

    def dependency(request: Request) -> P:
        plugin = get_plugin(request)
        if not isinstance(plugin, plugin_class):
            raise RuntimeError(
                f"the app is mounted in {type(plugin).__name__}, not {plugin_class.__name__}"
            )
        return plugin

    dependency.__name__ = f"plugin_of_{plugin_class.__name__}"
    return dependency


def api(request: Request) -> PluginAPIClient:
    """The plugin's blocking API client (for ``def`` routes, which FastAPI runs in threads)."""
    return get_plugin(request).api


def async_api(request: Request) -> AsyncPluginAPIClient:
    """The plugin's async API client (for ``async def`` routes)."""
    return get_plugin(request).async_api


async def current_user(request: Request) -> User:
    """The logged-in user, fetched with the API; 401 without a session (or when the
    session's user no longer exists)."""
    found = user_id(request)
    try:
        user: User = await async_api(request).get_user(found)
    except NotFoundError:
        raise _unauthorized("the session's user does not exist") from None
    return user


async def require_system_admin(request: Request) -> str:
    """The id of the logged-in user if they are a system admin (``manage_system``, checked
    with the permission API); 401 without a session, 403 otherwise."""
    found = user_id(request)
    allowed = await async_api(request).has_permission_to(found, SYSTEM_ADMIN_PERMISSION)
    if not allowed:
        raise HTTPException(status_code=403, detail="system admins only")
    return found


UserId = Annotated[str, Depends(user_id)]
"""The logged-in user's id (401 without a session)."""
OptionalUserId = Annotated[str | None, Depends(optional_user_id)]
"""The logged-in user's id, or ``None``."""
CurrentUser = Annotated[User, Depends(current_user)]
"""The logged-in user as a ``User`` (401 without a session)."""
SystemAdmin = Annotated[str, Depends(require_system_admin)]
"""The id of the logged-in system admin (401 without a session, 403 for other users)."""
CallingPluginId = Annotated[str, Depends(calling_plugin_id)]
"""The id of the plugin that sent the request (401 for any other caller)."""
PluginObject = Annotated[Plugin, Depends(get_plugin)]
"""The plugin object (``plugin_of(MyPlugin)`` gives it your class's type)."""
API = Annotated[PluginAPIClient, Depends(api)]
"""The plugin's blocking API client."""
AsyncAPI = Annotated[AsyncPluginAPIClient, Depends(async_api)]
"""The plugin's async API client."""


def _detail(exc: Exception) -> str:
    return getattr(exc, "message", "") or str(exc)


async def _not_found(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": _detail(exc)}, status_code=404)


async def _forbidden(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": _detail(exc)}, status_code=403)


def handle_api_errors(app: Starlette) -> None:
    """Answer the SDK's :class:`~mattermost_plugin.NotFoundError` raised in a route with
    404, and :class:`~mattermost_plugin.PermissionDeniedError` with 403, instead of 500. The
    body is ``{"detail": <the error's message>}``, as for ``HTTPException``."""
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(PermissionDeniedError, _forbidden)
