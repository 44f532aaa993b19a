"""Channels, channel members and sidebar categories of the fake, through the SDK's client
over real gRPC."""

from __future__ import annotations

import pytest
from tests.fake.conftest import make_user
from tests.support.coverage import fails, ok

from mattermost_plugin import (
    AlreadyExistsError,
    NotFoundError,
    PermissionDeniedError,
    PluginAPIClient,
    ValidationError,
)
from mattermost_plugin.models import (
    Channel,
    ChannelMemberIdentifier,
    ChannelType,
    Post,
    SidebarCategoryWithChannels,
    Team,
    User,
)


def new_channel(api: PluginAPIClient, team: Team, name: str, private: bool = False) -> Channel:
    kind = ChannelType.PRIVATE if private else ChannelType.OPEN
    return api.create_channel(
        Channel(team_id=team.id, name=name, display_name=name.title(), type=kind)
    )


@ok(
    "CreateChannel",
    "GetChannel",
    "GetChannelByName",
    "GetChannelByNameForTeamName",
    "GetPublicChannelsForTeam",
    "GetChannelsForTeamForUser",
    "UpdateChannel",
    "DeleteChannel",
    "SearchChannels",
    "GetChannelStats",
)
def test_channel_lifecycle(api: PluginAPIClient, team: Team, alice: User) -> None:
    dev = new_channel(api, team, "dev-ops")
    secret = new_channel(api, team, "secret", private=True)
    assert api.get_channel(dev.id) == dev
    assert api.get_channel_by_name(team.id, "dev-ops").id == dev.id
    assert api.get_channel_by_name_for_team_name("core", "secret").id == secret.id
    public = [c.name for c in api.get_public_channels_for_team(team.id)]
    assert public == ["dev-ops", "off-topic", "town-square"]  # by display name
    assert [c.name for c in api.search_channels(team.id, "OPS")] == ["dev-ops"]
    api.add_channel_member(secret.id, alice.id)
    mine = {c.name for c in api.get_channels_for_team_for_user(team.id, alice.id)}
    assert mine == {"town-square", "off-topic", "secret"}
    dev.header = "the header"
    dev.total_msg_count = 99  # the server keeps counting itself
    updated = api.update_channel(dev)
    assert updated.header == "the header" and updated.total_msg_count == 0
    api.create_post(Post(channel_id=dev.id, user_id=alice.id, message="hi", is_pinned=True))
    stats = api.get_channel_stats(dev.id)
    assert (stats.member_count, stats.pinnedpost_count) == (0, 1)
    api.delete_channel(dev.id)
    assert api.get_channel(dev.id).delete_at > 0
    assert api.get_channel_by_name(team.id, "dev-ops", include_deleted=True).id == dev.id


@fails(
    "CreateChannel",
    "GetChannel",
    "GetChannelByName",
    "GetChannelByNameForTeamName",
    "GetPublicChannelsForTeam",
    "GetChannelsForTeamForUser",
    "UpdateChannel",
    "DeleteChannel",
    "SearchChannels",
    "GetChannelStats",
)
def test_channel_errors(api: PluginAPIClient, team: Team) -> None:
    with pytest.raises(AlreadyExistsError):
        new_channel(api, team, "town-square")
    with pytest.raises(ValidationError):
        new_channel(api, team, "Not A Name!")
    with pytest.raises(ValidationError):  # DMs come from GetDirectChannel
        api.create_channel(
            Channel(team_id=team.id, name="dm", display_name="DM", type=ChannelType.DIRECT)
        )
    with pytest.raises(NotFoundError):
        api.get_channel("x" * 26)
    with pytest.raises(NotFoundError):
        api.get_channel_by_name(team.id, "nothing")
    with pytest.raises(NotFoundError):
        api.get_channel_by_name_for_team_name("noteam", "town-square")
    assert api.get_public_channels_for_team("x" * 26) == []
    assert api.get_channels_for_team_for_user(team.id, "x" * 26) == []
    off_topic = api.get_channel_by_name(team.id, "off-topic")
    off_topic.name = "town-square"
    with pytest.raises(AlreadyExistsError):
        api.update_channel(off_topic)
    api.delete_channel(off_topic.id)
    with pytest.raises(ValidationError):  # deleted already
        api.delete_channel(off_topic.id)
    assert api.search_channels(team.id, "zzz") == []
    with pytest.raises(NotFoundError):
        api.get_channel_stats("x" * 26)


@ok("GetDirectChannel", "GetGroupChannel")
def test_direct_and_group_messages(api: PluginAPIClient, alice: User, bob: User) -> None:
    carol = make_user(api, "carol")
    dm = api.get_direct_channel(alice.id, bob.id)
    assert dm.type is ChannelType.DIRECT and dm.name == "__".join(sorted([alice.id, bob.id]))
    assert api.get_direct_channel(bob.id, alice.id).id == dm.id
    assert len(api.get_channel_members(api.get_direct_channel(alice.id, alice.id).id)) == 1
    gm = api.get_group_channel([alice.id, bob.id, carol.id])
    assert gm.type is ChannelType.GROUP and len(api.get_channel_members(gm.id)) == 3


@fails("GetDirectChannel", "GetGroupChannel")
def test_direct_and_group_message_errors(api: PluginAPIClient, alice: User, bob: User) -> None:
    with pytest.raises(NotFoundError):
        api.get_direct_channel(alice.id, "x" * 26)
    with pytest.raises(ValidationError):
        api.get_group_channel([alice.id, bob.id])
    with pytest.raises(NotFoundError):
        api.get_group_channel([alice.id, bob.id, "x" * 26])


@ok(
    "AddChannelMember",
    "AddUserToChannel",
    "GetChannelMember",
    "GetChannelMembers",
    "GetChannelMembersByIds",
    "GetChannelMembersForUser",
    "DeleteChannelMember",
    "UpdateChannelMemberRoles",
    "UpdateChannelMemberNotifications",
    "PatchChannelMembersNotifications",
)
def test_channel_members(api: PluginAPIClient, team: Team, alice: User, bob: User) -> None:
    dev = new_channel(api, team, "dev")
    member = api.add_channel_member(dev.id, alice.id)
    assert (member.roles, member.scheme_user) == ("channel_user", True)
    api.add_user_to_channel(dev.id, bob.id, alice.id)
    assert api.get_channel_member(dev.id, bob.id).user_id == bob.id
    assert {m.user_id for m in api.get_channel_members(dev.id)} == {alice.id, bob.id}
    assert [m.user_id for m in api.get_channel_members_by_ids(dev.id, [bob.id, "x" * 26])] == [
        bob.id
    ]
    assert len(api.get_channel_members_for_user(team.id, alice.id)) == 3  # + the defaults
    admin = api.update_channel_member_roles(dev.id, alice.id, "channel_user channel_admin")
    assert admin.scheme_admin and admin.roles == "channel_user channel_admin"
    muted = api.update_channel_member_notifications(dev.id, alice.id, {"desktop": "none"})
    assert muted.notify_props["desktop"] == "none" and muted.notify_props["push"] == "default"
    api.patch_channel_members_notifications(
        [ChannelMemberIdentifier(channel_id=dev.id, user_id=bob.id)], {"push": "mention"}
    )
    assert api.get_channel_member(dev.id, bob.id).notify_props["push"] == "mention"
    api.delete_channel_member(dev.id, bob.id)
    assert [m.user_id for m in api.get_channel_members(dev.id)] == [alice.id]


@fails(
    "AddChannelMember",
    "AddUserToChannel",
    "GetChannelMember",
    "GetChannelMembers",
    "GetChannelMembersByIds",
    "GetChannelMembersForUser",
    "DeleteChannelMember",
    "UpdateChannelMemberRoles",
    "UpdateChannelMemberNotifications",
    "PatchChannelMembersNotifications",
)
def test_channel_member_errors(api: PluginAPIClient, team: Team, alice: User) -> None:
    dev = new_channel(api, team, "dev")
    outsider = make_user(api, "outsider")
    with pytest.raises(PermissionDeniedError):  # not in the team
        api.add_channel_member(dev.id, outsider.id)
    with pytest.raises(NotFoundError):  # an unknown actor
        api.add_user_to_channel(dev.id, alice.id, "x" * 26)
    with pytest.raises(NotFoundError):
        api.get_channel_member(dev.id, alice.id)
    with pytest.raises(NotFoundError):
        api.get_channel_members("x" * 26)
    with pytest.raises(NotFoundError):
        api.get_channel_members_by_ids("x" * 26, [alice.id])
    with pytest.raises(NotFoundError):
        api.get_channel_members_for_user(team.id, "x" * 26)
    with pytest.raises(NotFoundError):
        api.delete_channel_member(dev.id, alice.id)
    api.add_channel_member(dev.id, alice.id)
    with pytest.raises(ValidationError):
        api.update_channel_member_roles(dev.id, alice.id, "team_admin")
    with pytest.raises(ValidationError):
        api.update_channel_member_notifications(dev.id, alice.id, {"desktop": "loud"})
    with pytest.raises(NotFoundError):  # all or nothing
        api.patch_channel_members_notifications(
            [
                ChannelMemberIdentifier(channel_id=dev.id, user_id=alice.id),
                ChannelMemberIdentifier(channel_id=dev.id, user_id=outsider.id),
            ],
            {"push": "none"},
        )
    assert api.get_channel_member(dev.id, alice.id).notify_props["push"] == "default"


@ok(
    "GetChannelSidebarCategories",
    "CreateChannelSidebarCategory",
    "UpdateChannelSidebarCategories",
)
def test_sidebar_categories(api: PluginAPIClient, team: Team, alice: User, bob: User) -> None:
    dm = api.get_direct_channel(alice.id, bob.id)
    ordered = api.get_channel_sidebar_categories(alice.id, team.id)
    kinds = [c.type for c in ordered.categories]
    assert kinds == ["favorites", "channels", "direct_messages"] and len(ordered.order) == 3
    channels = ordered.categories[1]
    town_square = api.get_channel_by_name(team.id, "town-square")
    assert town_square.id in channels.channel_ids
    assert ordered.categories[2].channel_ids == [dm.id]

    work = api.create_channel_sidebar_category(
        alice.id,
        team.id,
        SidebarCategoryWithChannels(display_name="Work", channel_ids=[town_square.id]),
    )
    assert work.type == "custom" and work.channel_ids == [town_square.id]
    after = api.get_channel_sidebar_categories(alice.id, team.id).categories
    assert [c.display_name for c in after] == ["Favorites", "Work", "Channels", "Direct Messages"]
    assert town_square.id not in after[2].channel_ids  # a channel is in one category

    favorites = after[0]
    favorites.channel_ids = [town_square.id]
    (updated,) = api.update_channel_sidebar_categories(alice.id, team.id, [favorites])
    assert updated.channel_ids == [town_square.id]
    work_now = api.get_channel_sidebar_categories(alice.id, team.id).categories[1]
    assert work_now.channel_ids == []


@fails(
    "GetChannelSidebarCategories",
    "CreateChannelSidebarCategory",
    "UpdateChannelSidebarCategories",
)
def test_sidebar_category_errors(api: PluginAPIClient, team: Team, alice: User) -> None:
    outsider = make_user(api, "outsider")
    with pytest.raises(NotFoundError):
        api.get_channel_sidebar_categories(outsider.id, team.id)
    with pytest.raises(ValidationError):
        api.create_channel_sidebar_category(
            alice.id, team.id, SidebarCategoryWithChannels(display_name="")
        )
    with pytest.raises(NotFoundError):
        api.update_channel_sidebar_categories(
            alice.id, team.id, [SidebarCategoryWithChannels(id="nope", display_name="x")]
        )
