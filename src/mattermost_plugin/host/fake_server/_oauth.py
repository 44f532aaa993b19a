"""OAuth 2.0 apps (Mattermost as the OAuth provider)."""

from __future__ import annotations

import re

from mattermost_plugin._pb.pluginapi.v1 import api_remaining_pb2
from mattermost_plugin.host.fake_server._rpc import Ctx, bad_request, not_found, status
from mattermost_plugin.host.fake_server._state import FakeState, new_id

_URL_RE = re.compile(r"^https?://[^\s/]+\S*$")


class OAuthAPI(FakeState):
    def _check_app(self, app: api_remaining_pb2.OAuthApp) -> None:
        """The server's ``OAuthApp.IsValid``: a name, callback URLs, a homepage (400)."""
        if not app.name or len(app.name) > 64:
            raise bad_request("model.oauth.is_valid.name.app_error", "a name is required")
        urls = app.callback_urls.split()
        if not urls or not all(_URL_RE.match(u) for u in urls):
            raise bad_request(
                "model.oauth.is_valid.callback.app_error", "callback URLs must be http(s) URLs"
            )
        if not _URL_RE.match(app.homepage):
            raise bad_request("model.oauth.is_valid.homepage.app_error", "an http(s) homepage")
        if app.icon_url and not _URL_RE.match(app.icon_url):
            raise bad_request("model.oauth.is_valid.icon_url.app_error", "an http(s) icon URL")

    def _app(self, app_id: str) -> api_remaining_pb2.OAuthApp:
        app = self.oauth_apps.get(app_id)
        if app is None:
            raise not_found("app.oauth.get_app.find.app_error", "OAuth app", app_id)
        return app

    @status
    def CreateOAuthApp(
        self, request: api_remaining_pb2.CreateOAuthAppRequest, context: Ctx
    ) -> api_remaining_pb2.CreateOAuthAppResponse:
        """Registers an OAuth app (a name, space-separated callback URLs, a homepage) with
        a new id and client secret."""
        app = api_remaining_pb2.OAuthApp()
        app.CopyFrom(request.app)
        self._check_app(app)
        app.id, app.client_secret = new_id(), new_id()
        app.create_at = app.update_at = self.now_ms()
        self.oauth_apps[app.id] = app
        return api_remaining_pb2.CreateOAuthAppResponse(app=app)

    @status
    def GetOAuthApp(
        self, request: api_remaining_pb2.GetOAuthAppRequest, context: Ctx
    ) -> api_remaining_pb2.GetOAuthAppResponse:
        """An OAuth app by id."""
        return api_remaining_pb2.GetOAuthAppResponse(app=self._app(request.app_id))

    @status
    def UpdateOAuthApp(
        self, request: api_remaining_pb2.UpdateOAuthAppRequest, context: Ctx
    ) -> api_remaining_pb2.UpdateOAuthAppResponse:
        """Changes an OAuth app (its id, secret, creator and creation time stay)."""
        current = self._app(request.app.id)
        app = api_remaining_pb2.OAuthApp()
        app.CopyFrom(request.app)
        for name in ("client_secret", "creator_id", "create_at"):
            setattr(app, name, getattr(current, name))
        self._check_app(app)
        app.update_at = self.now_ms()
        self.oauth_apps[app.id] = app
        return api_remaining_pb2.UpdateOAuthAppResponse(app=app)

    @status
    def DeleteOAuthApp(
        self, request: api_remaining_pb2.DeleteOAuthAppRequest, context: Ctx
    ) -> api_remaining_pb2.DeleteOAuthAppResponse:
        """Deletes an OAuth app."""
        self._app(request.app_id)
        del self.oauth_apps[request.app_id]
        return api_remaining_pb2.DeleteOAuthAppResponse()
