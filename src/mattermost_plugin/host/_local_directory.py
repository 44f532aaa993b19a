"""Users, teams, channels and logins of the local Mattermost, with the hooks the server
runs for them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from mattermost_plugin._generated.converters import api_user_team as c_user_team
from mattermost_plugin._generated.converters import channel as c_channel
from mattermost_plugin._generated.converters import team as c_team
from mattermost_plugin._generated.converters import user as c_user
from mattermost_plugin._pb.pluginapi.v1 import (
    api_channel_post_pb2,
    api_user_team_pb2,
    channel_pb2,
    team_pb2,
    user_pb2,
)
from mattermost_plugin.host._local_core import LocalCore
from mattermost_plugin.host._local_types import (
    ChannelRef,
    LoginRejectedError,
    TeamRef,
    UserRef,
    _id,
)
from mattermost_plugin.host.fake_server import FakeAppError, HookRejection
from mattermost_plugin.models import Channel, Session, Team, User


class LocalDirectory(LocalCore):
    """Users, teams and channels, with the hooks the server runs for them."""

    def _create_defaults(self) -> None:
        fake = self.server
        with fake.transaction():
            team = next((t for t in fake.teams.values() if t.name == "local"), None)
            if team is None:
                team = self._invoke(
                    "CreateTeam",
                    api_user_team_pb2.CreateTeamRequest(
                        team=team_pb2.Team(
                            name="local", display_name="Local", type=team_pb2.TEAM_TYPE_OPEN
                        )
                    ),
                ).team
            user = fake._find_user(username="admin")
            if user is None:
                user = self._invoke(
                    "CreateUser",
                    api_user_team_pb2.CreateUserRequest(
                        user=user_pb2.User(
                            username="admin",
                            email="admin@localhost",
                            password="administrator",
                            roles="system_admin system_user",
                            first_name="Local",
                            last_name="Admin",
                        )
                    ),
                ).user
            member = fake.team_members.get((team.id, user.id))
            if member is None or member.delete_at:
                fake.join_team(team.id, user.id)
            channels = []
            for name, display in (("town-square", "Town Square"), ("off-topic", "Off-Topic")):
                channel = next(
                    (c for c in fake.channels.values() if c.team_id == team.id and c.name == name),
                    None,
                )
                if channel is None:  # a state file from before teams came with them
                    channel = fake.create_channel(
                        channel_pb2.Channel(
                            team_id=team.id,
                            name=name,
                            display_name=display,
                            type=channel_pb2.CHANNEL_TYPE_OPEN,
                            creator_id=user.id,
                        )
                    )
                if user.id not in fake._members(channel.id):
                    fake.join_channel(channel.id, user.id)
                channels.append(channel)
        self._team = c_team.team_from_pb(team)
        self._user = c_user.user_from_pb(user)
        self._channel = c_channel.channel_from_pb(channels[0])

    def create_user(
        self,
        username: str,
        *,
        email: str | None = None,
        password: str = "Password1!",
        first_name: str = "",
        last_name: str = "",
        roles: str = "system_user",
        team: TeamRef | None = None,
        join_default_team: bool = True,
    ) -> User:
        """Create a user (``UserHasBeenCreated`` runs) and add it to ``team``, or the default
        team unless ``join_default_team=False``."""
        with self._hooks_fired(wait=True):
            user = self._invoke(
                "CreateUser",
                api_user_team_pb2.CreateUserRequest(
                    user=user_pb2.User(
                        username=username,
                        email=email or f"{username}@example.com",
                        password=password,
                        first_name=first_name,
                        last_name=last_name,
                        roles=roles,
                    )
                ),
            ).user
        if team is not None or (join_default_team and self._team is not None):
            self.add_to_team(user, team)
        return c_user.user_from_pb(user)

    def create_team(
        self, name: str, *, display_name: str | None = None, private: bool = False
    ) -> Team:
        """Create a team with its default channels, ``town-square`` and ``off-topic``
        (``ChannelHasBeenCreated`` runs for each)."""
        with self._hooks_fired(wait=True):
            team = self._invoke(
                "CreateTeam",
                api_user_team_pb2.CreateTeamRequest(
                    team=team_pb2.Team(
                        name=name,
                        display_name=display_name or name,
                        type=team_pb2.TEAM_TYPE_INVITE if private else team_pb2.TEAM_TYPE_OPEN,
                    )
                ),
            ).team
        return c_team.team_from_pb(team)

    def add_to_team(
        self, user: UserRef, team: TeamRef | None = None, *, actor: UserRef | None = None
    ) -> None:
        """Add a user to a team (the default team by default) and its default channels;
        ``UserHasJoinedTeam`` runs, with ``actor`` (the user who added them; ``None``: they
        joined on their own)."""
        team_id = self._default(team, self._team, "team")
        with self._hooks_fired(wait=True):
            self._invoke(
                "CreateTeamMembers",
                api_user_team_pb2.CreateTeamMembersRequest(
                    team_id=team_id,
                    user_ids=[_id(user)],
                    requestor_id=_id(actor) if actor is not None else "",
                ),
            )

    def remove_from_team(
        self, user: UserRef, team: TeamRef | None = None, *, actor: UserRef | None = None
    ) -> None:
        """Remove a user from a team and its channels; ``UserHasLeftTeam`` runs with
        ``actor``."""
        team_id = self._default(team, self._team, "team")
        with self._hooks_fired(wait=True):
            self._invoke(
                "DeleteTeamMember",
                api_user_team_pb2.DeleteTeamMemberRequest(
                    team_id=team_id,
                    user_id=_id(user),
                    requestor_id=_id(actor) if actor is not None else "",
                ),
            )

    def create_channel(
        self,
        name: str,
        *,
        team: TeamRef | None = None,
        display_name: str | None = None,
        private: bool = False,
        members: Iterable[UserRef] = (),
        creator: UserRef | None = None,
    ) -> Channel:
        """Create an open (or private) channel in ``team`` (default: the default team);
        ``ChannelHasBeenCreated`` runs, then each member joins (``UserHasJoinedChannel``)."""
        team_id = self._default(team, self._team, "team")
        creator_id = _id(creator) if creator is not None else (self._user.id if self._user else "")
        with self._hooks_fired(wait=True):
            channel = self._invoke(
                "CreateChannel",
                api_channel_post_pb2.CreateChannelRequest(
                    channel=channel_pb2.Channel(
                        team_id=team_id,
                        name=name,
                        display_name=display_name or name,
                        type=channel_pb2.CHANNEL_TYPE_PRIVATE
                        if private
                        else channel_pb2.CHANNEL_TYPE_OPEN,
                        creator_id=creator_id,
                    )
                ),
            ).channel
        for member in members:
            self.add_to_channel(member, channel)
        return c_channel.channel_from_pb(channel)

    def add_to_channel(
        self, user: UserRef, channel: ChannelRef, *, actor: UserRef | None = None
    ) -> None:
        """Add a user to a channel (joining its team first if needed);
        ``UserHasJoinedChannel`` runs, with ``actor`` (``None``: they joined on their own)."""
        fake = self.server
        channel_id, user_id = _id(channel), _id(user)
        with fake.transaction():
            team_id = fake._channel(channel_id).team_id
            needs_team = bool(team_id) and not fake._active_member(team_id, user_id)
        if needs_team:
            self.add_to_team(user_id, team_id, actor=actor)
        with self._hooks_fired(wait=True):
            self._invoke(
                "AddUserToChannel",
                api_channel_post_pb2.AddUserToChannelRequest(
                    channel_id=channel_id,
                    user_id=user_id,
                    as_user_id=_id(actor) if actor is not None else "",
                ),
            )

    def remove_from_channel(self, user: UserRef, channel: ChannelRef) -> None:
        """The user leaves the channel (the server's rules: not the default channel, not a
        direct or group message, not the last member of a private channel);
        ``UserHasLeftChannel`` runs."""
        with self._hooks_fired(wait=True):
            self._invoke(
                "DeleteChannelMember",
                api_channel_post_pb2.DeleteChannelMemberRequest(
                    channel_id=_id(channel), user_id=_id(user)
                ),
            )

    def direct_channel(self, user1: UserRef, user2: UserRef) -> Channel:
        """The direct message of two users (created on first use:
        ``ChannelHasBeenCreated`` runs then)."""
        with self._hooks_fired(wait=True):
            channel = self._invoke(
                "GetDirectChannel",
                api_channel_post_pb2.GetDirectChannelRequest(
                    user_id_1=_id(user1), user_id_2=_id(user2)
                ),
            ).channel
        return c_channel.channel_from_pb(channel)

    def login(self, user: UserRef, password: str, *, device_id: str = "") -> Session:
        """Log ``user`` (an id, a username, an email, or a user) in with ``password`` the
        way the server does: the credentials are checked (401: :class:`FakeAppError`),
        ``UserWillLogIn`` runs (a rejection raises :class:`LoginRejectedError` with the
        plugin's reason; a failed call lets the login through), a session is created and
        ``UserHasLoggedIn`` runs (before this returns). Returns the session."""
        login_id = user if isinstance(user, str) else _id(user)
        try:
            with self._hooks_fired(wait=True):
                session = self.server.login(
                    login_id, password, device_id=device_id, context=self._context()
                )
        except HookRejection as exc:
            rejected = cast(user_pb2.User, exc.rejected)
            raise LoginRejectedError(exc.reason, c_user.user_from_pb(rejected)) from None
        self._emit("server", f"{session.user_id} logged in", level="debug")
        return c_user_team.session_from_pb(session)

    def resolve_channel(self, ref: str) -> str:
        """A channel id from an id or the name of a channel of the default team."""
        fake = self.server
        with fake.transaction():
            if ref in fake.channels:
                return ref
            team_id = self._team.id if self._team is not None else None
            for channel in fake.channels.values():
                if channel.name == ref and (team_id is None or channel.team_id == team_id):
                    return channel.id
        raise FakeAppError("app.channel.get.existing.app_error", f"channel not found: {ref!r}", 404)
