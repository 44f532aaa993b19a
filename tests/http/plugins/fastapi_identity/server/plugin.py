"""A FastAPI app using the Mattermost identity dependencies (tests/http/test_fastapi_identity.py):
the user id, the current user, system admins, calls from other plugins, the plugin object
and its clients, and the SDK's errors as HTTP statuses."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI

from mattermost_plugin import NotFoundError, PermissionDeniedError, Plugin, mount_asgi
from mattermost_plugin.integrations.fastapi import (
    API,
    AsyncAPI,
    CallingPluginId,
    CurrentUser,
    OptionalUserId,
    PluginObject,
    SystemAdmin,
    UserId,
    handle_api_errors,
    plugin_of,
)

app = FastAPI()
handle_api_errors(app)


class IdentityPlugin(Plugin):
    serve_http = mount_asgi(app)
    greeting = "hello from the plugin object"


This = Annotated[IdentityPlugin, Depends(plugin_of(IdentityPlugin))]


@app.get("/whoami")
def whoami(user_id: UserId) -> dict[str, Any]:
    return {"user_id": user_id}


@app.get("/maybe")
def maybe(user_id: OptionalUserId) -> dict[str, Any]:
    return {"user_id": user_id}


@app.get("/me")
async def me(user: CurrentUser) -> dict[str, Any]:
    return {"id": user.id, "username": user.username}


@app.post("/admin/reindex")
async def reindex(admin_id: SystemAdmin) -> dict[str, Any]:
    return {"reindexed_by": admin_id}


@app.post("/inter-plugin")
def inter_plugin(caller: CallingPluginId) -> dict[str, Any]:
    return {"caller": caller}


@app.get("/plugin")
def plugin_info(plugin: This, base: PluginObject, api: API) -> dict[str, Any]:
    return {
        "greeting": plugin.greeting,
        "same": plugin is base,
        "server_version": api.get_server_version(),
    }


@app.get("/users/{user_id}")
async def user_by_id(user_id: str, api: AsyncAPI) -> dict[str, Any]:
    user = await api.get_user(user_id)  # NotFoundError → 404
    return {"username": user.username}


@app.get("/secrets")
async def secrets(user_id: UserId, api: AsyncAPI) -> dict[str, Any]:
    if not await api.has_permission_to(user_id, "manage_system"):
        raise PermissionDeniedError("only admins see secrets", status_code=403)
    return {"secret": 42}


@app.get("/missing")
def missing() -> None:
    raise NotFoundError("no such thing", status_code=404)


if __name__ == "__main__":
    from mattermost_plugin.server import run_plugin

    run_plugin(IdentityPlugin)
