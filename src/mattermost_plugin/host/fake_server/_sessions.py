"""Sessions, logins (with the plugin's ``UserWillLogIn`` and ``UserHasLoggedIn``) and user
access tokens."""

from __future__ import annotations

from typing import cast

from mattermost_plugin._pb.pluginapi.v1 import (
    api_user_team_pb2,
    hooks_common_pb2,
    hooks_user_channel_pb2,
    user_pb2,
)
from mattermost_plugin.host.fake_server._rpc import (
    Ctx,
    FakeAppError,
    HookRejection,
    bad_request,
    not_found,
    status,
)
from mattermost_plugin.host.fake_server._state import FakeState, check_password, new_id

_HOUR_MS = 3600 * 1000
_SESSION_HOURS = 720  # ServiceSettings.SessionLengthWebInHours, the server's default


def _invalid_credentials() -> FakeAppError:
    # One answer for an unknown login and a wrong password, as the server gives.
    return FakeAppError(
        "api.user.login.invalid_credentials_email_username",
        "enter a valid email or username and/or password",
        401,
    )


class SessionsAPI(FakeState):
    def _session(self, session_id: str) -> api_user_team_pb2.Session:
        session = self.sessions.get(session_id)
        if session is None:
            raise not_found("app.session.get.app_error", "session", session_id)
        return session

    def new_session(self, user_id: str, *, device_id: str = "") -> api_user_team_pb2.Session:
        """Store a session of a user (no check, no hook)."""
        now = self.now_ms()
        hours = self.config.get("ServiceSettings", {}).get("SessionLengthWebInHours")
        hours = hours if isinstance(hours, int) and hours > 0 else _SESSION_HOURS
        session = api_user_team_pb2.Session(
            id=new_id(),
            token=new_id(),
            user_id=user_id,
            device_id=device_id,
            roles=self._user(user_id).roles,
            create_at=now,
            last_activity_at=now,
            expires_at=now + hours * _HOUR_MS,
        )
        self.sessions[session.id] = session
        return session

    def login(
        self,
        login_id: str,
        password: str,
        *,
        device_id: str = "",
        context: hooks_common_pb2.PluginContext | None = None,
    ) -> api_user_team_pb2.Session:
        """The server's login: the user (by id, username or email) and the password are
        checked first (401 for either), then a deactivated user or a bot is refused (401);
        ``UserWillLogIn`` runs (a reason rejects: :class:`HookRejection`, 400, "Login
        rejected by plugin: <reason>"; a failed call lets the login through), a session is
        created, and ``UserHasLoggedIn`` runs in the background. Returns the session."""
        context = context or self.plugin_context()
        with self.transaction():
            key = login_id.lower()
            user = self.users.get(login_id) or self._find_user(username=key, email=key)
            stored = self.passwords.get(user.id) if user is not None else None
            if user is None or stored is None or not check_password(password, stored):
                raise _invalid_credentials()
            if user.delete_at:
                raise FakeAppError(
                    "api.user.login.inactive.app_error", "the account is deactivated", 401
                )
            if user.is_bot:
                raise FakeAppError(
                    "api.user.login.bot_login_forbidden.app_error", "bots cannot log in", 401
                )
            snapshot = user_pb2.User()
            snapshot.CopyFrom(user)
        answer = self.run_hook(
            "UserWillLogIn",
            hooks_user_channel_pb2.UserWillLogInRequest(plugin_context=context, user=snapshot),
        )
        if answer is not None:
            reason = cast(hooks_user_channel_pb2.UserWillLogInResponse, answer).rejection_reason
            if reason:
                error_id = f"Login rejected by plugin: {reason}"
                raise HookRejection("UserWillLogIn", reason, snapshot, error_id, 400)
        with self.transaction():
            session = self.new_session(snapshot.id, device_id=device_id)
            self.statuses[snapshot.id] = api_user_team_pb2.Status(
                user_id=snapshot.id, status="online", last_activity_at=self.now_ms()
            )
            self.fire(
                "UserHasLoggedIn",
                lambda: hooks_user_channel_pb2.UserHasLoggedInRequest(
                    plugin_context=context, user=snapshot
                ),
            )
            result = api_user_team_pb2.Session()
            result.CopyFrom(session)
        return result

    @status
    def CreateSession(
        self, request: api_user_team_pb2.CreateSessionRequest, context: Ctx
    ) -> api_user_team_pb2.CreateSessionResponse:
        """Creates a session for an existing user (new id and token; the expiry given, or
        the server's default session length)."""
        template = request.session
        if not template.user_id:
            raise bad_request(
                "model.session.is_valid.user_id.app_error", "the session needs a user"
            )
        session = self.new_session(template.user_id, device_id=template.device_id)
        session.is_oauth = template.is_oauth
        if template.expires_at:
            session.expires_at = template.expires_at
        session.roles = template.roles or session.roles
        return api_user_team_pb2.CreateSessionResponse(session=session)

    @status
    def GetSession(
        self, request: api_user_team_pb2.GetSessionRequest, context: Ctx
    ) -> api_user_team_pb2.GetSessionResponse:
        """A session by id (an expired or revoked one is not found)."""
        session = self._session(request.session_id)
        if session.expires_at and session.expires_at <= self.now_ms():
            raise not_found("app.session.get.app_error", "session", request.session_id)
        return api_user_team_pb2.GetSessionResponse(session=session)

    @status
    def ExtendSessionExpiry(
        self, request: api_user_team_pb2.ExtendSessionExpiryRequest, context: Ctx
    ) -> api_user_team_pb2.ExtendSessionExpiryResponse:
        """Sets a session's expiry (milliseconds since the epoch)."""
        self._session(request.session_id).expires_at = request.new_expiry
        return api_user_team_pb2.ExtendSessionExpiryResponse()

    @status
    def RevokeSession(
        self, request: api_user_team_pb2.RevokeSessionRequest, context: Ctx
    ) -> api_user_team_pb2.RevokeSessionResponse:
        """Ends a session."""
        self._session(request.session_id)
        del self.sessions[request.session_id]
        return api_user_team_pb2.RevokeSessionResponse()

    @status
    def CreateUserAccessToken(
        self, request: api_user_team_pb2.CreateUserAccessTokenRequest, context: Ctx
    ) -> api_user_team_pb2.CreateUserAccessTokenResponse:
        """Creates a personal access token (and its session) for a user, when
        ``ServiceSettings.EnableUserAccessTokens`` is on (501 otherwise, as the server
        answers with its default config)."""
        if not self.config.get("ServiceSettings", {}).get("EnableUserAccessTokens"):
            raise FakeAppError(
                "app.user_access_token.disabled", "personal access tokens are disabled", 501
            )
        template = request.token
        user = self._user(template.user_id)
        if user.delete_at:
            raise bad_request("app.user_access_token.inactive_user", "the user is deactivated")
        if len(template.description) > 255:
            raise bad_request(
                "model.user_access_token.is_valid.description.app_error", "description too long"
            )
        session = self.new_session(user.id)
        token = api_user_team_pb2.UserAccessToken(
            id=new_id(),
            token=session.token,
            user_id=user.id,
            description=template.description,
            is_active=True,
        )
        self.access_tokens[token.id] = token
        return api_user_team_pb2.CreateUserAccessTokenResponse(token=token)

    @status
    def RevokeUserAccessToken(
        self, request: api_user_team_pb2.RevokeUserAccessTokenRequest, context: Ctx
    ) -> api_user_team_pb2.RevokeUserAccessTokenResponse:
        """Deletes a personal access token and ends its session."""
        token = self.access_tokens.get(request.token_id)
        if token is None:
            raise not_found("app.user_access_token.get.app_error", "token", request.token_id)
        del self.access_tokens[token.id]
        for session in [s for s in self.sessions.values() if s.token == token.token]:
            del self.sessions[session.id]
        return api_user_team_pb2.RevokeUserAccessTokenResponse()
