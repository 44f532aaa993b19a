"""Users: accounts, lookups and searches, activation."""

from __future__ import annotations

from collections.abc import Iterable

from mattermost_plugin._pb.pluginapi.v1 import (
    api_user_team_pb2,
    hooks_user_channel_pb2,
    user_pb2,
)
from mattermost_plugin.host.fake_server._rpc import (
    Ctx,
    FakeAppError,
    bad_request,
    not_found,
    status,
)
from mattermost_plugin.host.fake_server._state import (
    EMAIL_RE,
    FakeState,
    default_image,
    hash_password,
    is_image,
    new_id,
    paged,
    validate_username,
)


class UsersAPI(FakeState):
    def _check_user(self, user: user_pb2.User, *, exclude_id: str = "") -> None:
        """Validate and normalize (lower-case) a user before it is stored."""
        user.username = user.username.lower()
        user.email = user.email.lower()
        validate_username(user.username)
        if not EMAIL_RE.match(user.email) or len(user.email) > 128:
            raise bad_request(
                "model.user.is_valid.email.app_error", f"invalid email {user.email!r}"
            )
        other = self._find_user(username=user.username)
        if other is not None and other.id != exclude_id:
            raise FakeAppError(
                "app.user.save.username_exists.app_error",
                f"an account with username {user.username!r} already exists",
                409,
            )
        other = self._find_user(email=user.email)
        if other is not None and other.id != exclude_id:
            raise FakeAppError(
                "app.user.save.email_exists.app_error",
                f"an account with email {user.email!r} already exists",
                409,
            )

    def _users_sorted(self, users: Iterable[user_pb2.User]) -> list[user_pb2.User]:
        return sorted(users, key=lambda u: u.username)

    # ----------------------------------------------------------------------- users (status)

    @status(hooks=("UserHasBeenCreated",))
    def CreateUser(
        self, request: api_user_team_pb2.CreateUserRequest, context: Ctx
    ) -> api_user_team_pb2.CreateUserResponse:
        """Creates a user (username and email lower-cased and unique, password long enough;
        the password is kept as a hash for logins); UserHasBeenCreated runs."""
        user = user_pb2.User()
        user.CopyFrom(request.user)
        if user.id:
            raise bad_request("app.user.save.existing.app_error", "the user already has an id")
        self._check_user(user)
        if not user.auth_service:
            minimum = int(self.config.get("PasswordSettings", {}).get("MinimumLength", 8))
            if len(user.password) < minimum:
                raise bad_request(
                    "model.user.is_valid.pwd_length.app_error",
                    f"the password must be at least {minimum} characters",
                )
        now = self.now_ms()
        user.id = new_id()
        user.create_at = user.update_at = now
        user.last_password_update = now
        if user.password:
            self.passwords[user.id] = hash_password(user.password)
        user.password = ""  # the server keeps a hash and never sends it back
        user.roles = user.roles or "system_user"
        user.locale = user.locale or "en"
        self.users[user.id] = user
        self.publish("new_user", {"user_id": user.id})
        self.fire(
            "UserHasBeenCreated",
            lambda: hooks_user_channel_pb2.UserHasBeenCreatedRequest(
                plugin_context=self.plugin_context(), user=user
            ),
        )
        return api_user_team_pb2.CreateUserResponse(user=user)

    @status
    def GetUser(
        self, request: api_user_team_pb2.GetUserRequest, context: Ctx
    ) -> api_user_team_pb2.GetUserResponse:
        """A user by id (deactivated ones too)."""
        return api_user_team_pb2.GetUserResponse(user=self._user(request.user_id))

    @status
    def GetUserByUsername(
        self, request: api_user_team_pb2.GetUserByUsernameRequest, context: Ctx
    ) -> api_user_team_pb2.GetUserByUsernameResponse:
        """A user by username (any case)."""
        user = self._find_user(username=request.name.lower())
        if user is None:
            raise not_found("app.user.get_by_username.app_error", "user", request.name)
        return api_user_team_pb2.GetUserByUsernameResponse(user=user)

    @status
    def GetUserByEmail(
        self, request: api_user_team_pb2.GetUserByEmailRequest, context: Ctx
    ) -> api_user_team_pb2.GetUserByEmailResponse:
        """A user by email (any case)."""
        user = self._find_user(email=request.email.lower())
        if user is None:
            raise not_found("app.user.missing_account.const", "user", request.email)
        return api_user_team_pb2.GetUserByEmailResponse(user=user)

    @status(never_fails=True)
    def GetUsersByIds(
        self, request: api_user_team_pb2.GetUsersByIdsRequest, context: Ctx
    ) -> api_user_team_pb2.GetUsersByIdsResponse:
        """The users with these ids (unknown ids are skipped)."""
        found = [self.users[i] for i in request.user_ids if i in self.users]
        return api_user_team_pb2.GetUsersByIdsResponse(users=found)

    @status(never_fails=True)
    def GetUsersByUsernames(
        self, request: api_user_team_pb2.GetUsersByUsernamesRequest, context: Ctx
    ) -> api_user_team_pb2.GetUsersByUsernamesResponse:
        """The users with these usernames (unknown ones are skipped), by username."""
        names = {n.lower() for n in request.usernames}
        found = [u for u in self.users.values() if u.username in names]
        return api_user_team_pb2.GetUsersByUsernamesResponse(users=self._users_sorted(found))

    @status(never_fails=True)
    def GetUsers(
        self, request: api_user_team_pb2.GetUsersRequest, context: Ctx
    ) -> api_user_team_pb2.GetUsersResponse:
        """Users by team, channel, role, activity and update time, by username, a page at a time."""

        def keep(user: user_pb2.User) -> bool:
            r = request
            in_channel = self.channel_members.get(r.in_channel_id or r.not_in_channel_id, {})
            roles = set(user.roles.split())
            wanted_roles = set(r.roles) | ({r.role} if r.role else set())
            return not (
                (r.in_team_id and not self._active_member(r.in_team_id, user.id))
                or (r.not_in_team_id and self._active_member(r.not_in_team_id, user.id))
                or (r.in_channel_id and user.id not in in_channel)
                or (r.not_in_channel_id and user.id in in_channel)
                or (r.without_team and any(self._active_member(t, user.id) for t in self.teams))
                or (r.active and user.delete_at)
                or (r.inactive and not user.delete_at)
                or (wanted_roles and not roles & wanted_roles)
                or (r.updated_after and user.update_at <= r.updated_after)
            )

        users = self._users_sorted(filter(keep, self.users.values()))
        return api_user_team_pb2.GetUsersResponse(
            users=paged(users, request.page, request.per_page)
        )

    @status
    def GetUsersInTeam(
        self, request: api_user_team_pb2.GetUsersInTeamRequest, context: Ctx
    ) -> api_user_team_pb2.GetUsersInTeamResponse:
        """A team's members as users, by username, a page at a time."""
        self._team(request.team_id)
        users = [u for u in self.users.values() if self._active_member(request.team_id, u.id)]
        page = paged(self._users_sorted(users), request.page, request.per_page)
        return api_user_team_pb2.GetUsersInTeamResponse(users=page)

    @status
    def GetUsersInChannel(
        self, request: api_user_team_pb2.GetUsersInChannelRequest, context: Ctx
    ) -> api_user_team_pb2.GetUsersInChannelResponse:
        """A channel's members as users, by username, a page at a time."""
        self._channel(request.channel_id)
        members = self.channel_members.get(request.channel_id, {})
        users = self._users_sorted(self.users[i] for i in members if i in self.users)
        return api_user_team_pb2.GetUsersInChannelResponse(
            users=paged(users, request.page, request.per_page)
        )

    @status
    def UpdateUser(
        self, request: api_user_team_pb2.UpdateUserRequest, context: Ctx
    ) -> api_user_team_pb2.UpdateUserResponse:
        """Changes a user (a valid, free username and email); password, times and bot flag stay."""
        old = self._user(request.user.id)
        user = user_pb2.User()
        user.CopyFrom(request.user)
        self._check_user(user, exclude_id=old.id)
        # Fields a plain update cannot change, as in app.UpdateUser.
        user.create_at = old.create_at
        user.delete_at = old.delete_at
        user.password = ""
        user.last_password_update = old.last_password_update
        user.is_bot = old.is_bot
        user.update_at = self.now_ms()
        self.users[user.id] = user
        self.publish("user_updated", {"user": user})
        return api_user_team_pb2.UpdateUserResponse(user=user)

    def set_active(self, user: user_pb2.User, active: bool) -> None:
        """The server's ``UpdateActive``: (de)activate, and announce a deactivation with
        ``UserHasBeenDeactivated`` (also for a user who was inactive already: the server
        does not compare)."""
        user.delete_at = 0 if active else self.now_ms()
        user.update_at = self.now_ms()
        self.publish("user_updated", {"user": user})
        if not active:
            self.sessions_of_user_revoked(user.id)
            self.fire(
                "UserHasBeenDeactivated",
                lambda: hooks_user_channel_pb2.UserHasBeenDeactivatedRequest(
                    plugin_context=self.plugin_context(), user=user
                ),
            )

    @status(hooks=("UserHasBeenDeactivated",))
    def UpdateUserActive(
        self, request: api_user_team_pb2.UpdateUserActiveRequest, context: Ctx
    ) -> api_user_team_pb2.UpdateUserActiveResponse:
        """Activates or deactivates a user (``delete_at``); a deactivation revokes the
        user's sessions and runs UserHasBeenDeactivated."""
        self.set_active(self._user(request.user_id), request.active)
        return api_user_team_pb2.UpdateUserActiveResponse()

    @status(hooks=("UserHasBeenDeactivated",))
    def DeleteUser(
        self, request: api_user_team_pb2.DeleteUserRequest, context: Ctx
    ) -> api_user_team_pb2.DeleteUserResponse:
        """Deactivates the user, as the plugin API's DeleteUser does: the user stays
        readable with ``delete_at`` set; UserHasBeenDeactivated runs."""
        self.set_active(self._user(request.user_id), False)
        return api_user_team_pb2.DeleteUserResponse()

    @status(never_fails=True)
    def SearchUsers(
        self, request: api_user_team_pb2.SearchUsersRequest, context: Ctx
    ) -> api_user_team_pb2.SearchUsersResponse:
        """Users whose username, names, nickname or email start with the term (any case),
        with the request's team, channel and role filters; active ones unless
        ``allow_inactive``; at most ``limit`` (100 by default), by username."""
        r = request
        term = r.term.lower().lstrip("@")
        in_channel = self._members(r.in_channel_id) if r.in_channel_id else {}
        not_in_channel = self._members(r.not_in_channel_id) if r.not_in_channel_id else {}
        wanted_roles = set(r.roles) | ({r.role} if r.role else set())

        def keep(user: user_pb2.User) -> bool:
            fields = (user.username, user.first_name, user.last_name, user.nickname, user.email)
            return not (
                (term and not any(f.lower().startswith(term) for f in fields))
                or (user.delete_at and not r.allow_inactive)
                or (r.team_id and not self._active_member(r.team_id, user.id))
                or (r.not_in_team_id and self._active_member(r.not_in_team_id, user.id))
                or (r.in_channel_id and user.id not in in_channel)
                or (r.not_in_channel_id and user.id in not_in_channel)
                or (r.without_team and any(self._active_member(t, user.id) for t in self.teams))
                or (wanted_roles and not wanted_roles & set(user.roles.split()))
            )

        found = self._users_sorted(filter(keep, self.users.values()))
        limit = r.limit if r.limit > 0 else 100
        return api_user_team_pb2.SearchUsersResponse(users=found[:limit])

    @status
    def GetProfileImage(
        self, request: api_user_team_pb2.GetProfileImageRequest, context: Ctx
    ) -> api_user_team_pb2.GetProfileImageResponse:
        """The user's profile image: the one set, else a generated PNG (the server draws
        the initials; the fake, a plain square)."""
        user = self._user(request.user_id)
        image = self.profile_images.get(user.id) or default_image(user.id)
        return api_user_team_pb2.GetProfileImageResponse(image=image)

    @status
    def SetProfileImage(
        self, request: api_user_team_pb2.SetProfileImageRequest, context: Ctx
    ) -> api_user_team_pb2.SetProfileImageResponse:
        """Sets the user's profile image (PNG, JPEG, GIF, BMP or WebP, else 400)."""
        user = self._user(request.user_id)
        if not is_image(request.data):
            raise bad_request(
                "api.user.upload_profile_user.decode.app_error", "the image cannot be decoded"
            )
        if self.profile_images.get(user.id) != request.data:  # as the server: no rewrite
            self.profile_images[user.id] = request.data
            user.last_picture_update = self.now_ms()
        return api_user_team_pb2.SetProfileImageResponse()

    @status
    def UpdateUserAuth(
        self, request: api_user_team_pb2.UpdateUserAuthRequest, context: Ctx
    ) -> api_user_team_pb2.UpdateUserAuthResponse:
        """Moves a user to another sign-in method (an SSO service and the user's id there;
        the password is dropped); the auth data must be unused (409)."""
        user = self._user(request.user_id)
        auth = request.user_auth
        data = auth.auth_data if auth.HasField("auth_data") else ""
        for other in self.users.values():
            same = other.auth_service == auth.auth_service and other.auth_data == data
            if data and same and other.id != user.id:
                raise FakeAppError(
                    "app.user.update_auth_data.email_exists.app_error",
                    "another account uses this sign-in already",
                    409,
                )
        user.auth_service = auth.auth_service
        user.auth_data = data
        if auth.auth_service:
            self.passwords.pop(user.id, None)
        user.update_at = self.now_ms()
        return api_user_team_pb2.UpdateUserAuthResponse(user_auth=auth)
