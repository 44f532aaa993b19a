"""The server's default roles and what they permit: one table, used by the fake's
``HasPermissionTo*`` and by the dev server's REST front.

Mattermost gives every user system roles (``system_user``, ``system_admin``,
``system_guest``, ...), every team member team roles (``team_user``, ``team_admin``,
``team_guest``) and every channel member channel roles (``channel_user``,
``channel_admin``, ``channel_guest``). A permission is granted at a level when one of the
roles held at that level or above includes it: a channel check looks at the channel
member's roles, then the team member's, then the user's; a team check at the team
member's, then the user's. ``system_admin`` includes every permission the table knows.

The table is the scheme-less default of a recent server (no custom permission schemes, no
channel moderation) for the permissions plugins ask about; :data:`DOCUMENTED` lists the
ones the tests check level by level. Permissions are plain ids (``"create_post"``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

SYSTEM_USER = "system_user"
SYSTEM_ADMIN = "system_admin"
SYSTEM_GUEST = "system_guest"
TEAM_USER = "team_user"
TEAM_ADMIN = "team_admin"
TEAM_GUEST = "team_guest"
CHANNEL_USER = "channel_user"
CHANNEL_ADMIN = "channel_admin"
CHANNEL_GUEST = "channel_guest"

_CHANNEL_MEMBER = frozenset(
    {
        "read_channel",
        "read_channel_content",
        "add_reaction",
        "remove_reaction",
        "upload_file",
        "get_public_link",
        "create_post",
        "edit_post",
        "delete_post",
        "use_channel_mentions",
        "use_slash_commands",
        "manage_public_channel_members",
        "manage_private_channel_members",
        "manage_public_channel_properties",
        "manage_private_channel_properties",
        "delete_public_channel",
        "delete_private_channel",
    }
)

ROLE_PERMISSIONS: Mapping[str, frozenset[str]] = {
    SYSTEM_GUEST: frozenset({"create_direct_channel", "create_group_channel"}),
    SYSTEM_USER: frozenset(
        {
            "create_direct_channel",
            "create_group_channel",
            "create_team",
            "list_public_teams",
            "join_public_teams",
            "view_members",
            "create_emojis",
            "delete_emojis",
            "create_custom_group",
            "manage_custom_group_members",
            "edit_custom_group",
            "delete_custom_group",
            "restore_custom_group",
        }
    ),
    "system_post_all": frozenset({"create_post"}),
    "system_post_all_public": frozenset({"create_post_public"}),
    "system_user_access_token": frozenset(
        {"create_user_access_token", "read_user_access_token", "revoke_user_access_token"}
    ),
    TEAM_GUEST: frozenset({"view_team"}),
    TEAM_USER: frozenset(
        {
            "view_team",
            "list_team_channels",
            "join_public_channels",
            "read_public_channel",
            "create_public_channel",
            "create_private_channel",
            "invite_user",
            "add_user_to_team",
        }
    ),
    TEAM_ADMIN: frozenset(
        {
            "manage_team",
            "manage_team_roles",
            "manage_channel_roles",
            "remove_user_from_team",
            "import_team",
            "edit_others_posts",
            "delete_post",
            "delete_others_posts",
            "convert_public_channel_to_private",
            "convert_private_channel_to_public",
            "manage_slash_commands",
            "manage_others_slash_commands",
            "manage_incoming_webhooks",
            "manage_others_incoming_webhooks",
            "manage_outgoing_webhooks",
            "manage_others_outgoing_webhooks",
            "use_group_mentions",
        }
    ),
    CHANNEL_GUEST: frozenset(
        {
            "read_channel",
            "read_channel_content",
            "add_reaction",
            "remove_reaction",
            "upload_file",
            "create_post",
            "edit_post",
            "use_channel_mentions",
            "use_slash_commands",
        }
    ),
    CHANNEL_USER: _CHANNEL_MEMBER,
    CHANNEL_ADMIN: frozenset(
        {
            "manage_channel_roles",
            "use_group_mentions",
            "manage_public_channel_members",
            "manage_private_channel_members",
        }
    ),
}

SYSTEM_ONLY = frozenset(
    {
        "manage_system",
        "manage_roles",
        "manage_oauth",
        "manage_system_wide_oauth",
        "manage_bots",
        "manage_others_bots",
        "manage_jobs",
        "create_user_access_token",
        "edit_other_users",
        "list_private_teams",
        "join_private_teams",
        "delete_others_emojis",
        "sysconsole_read_plugins",
        "sysconsole_write_plugins",
        "sysconsole_write_user_management_users",
        "remove_others_reactions",
        "get_logs",
    }
)
"""Permissions only ``system_admin`` has by default."""

ALL_PERMISSIONS = frozenset().union(*ROLE_PERMISSIONS.values(), SYSTEM_ONLY)
"""Every permission the table knows; ``system_admin`` has them all."""

ROLE_PERMISSIONS = {**ROLE_PERMISSIONS, SYSTEM_ADMIN: ALL_PERMISSIONS}

DOCUMENTED = (
    "manage_system",
    "manage_team",
    "manage_channel_roles",
    "create_post",
    "read_channel",
    "edit_others_posts",
    "delete_others_posts",
    "create_public_channel",
    "create_private_channel",
)
"""The permissions whose answers the tests pin down for every kind of user, team member
and channel member (tests/fake/test_permissions.py)."""


def roles_grant(roles: Iterable[str], permission: str) -> bool:
    """Whether any of ``roles`` includes ``permission`` (the server's
    ``RolesGrantPermission``); unknown roles grant nothing."""
    return any(permission in ROLE_PERMISSIONS.get(role, ()) for role in roles)


def member_roles(roles: str, *, guest: bool, user: bool, admin: bool, scope: str) -> set[str]:
    """A team or channel member's roles: the explicit ones and those its scheme flags
    stand for (``scope`` is ``"team"`` or ``"channel"``)."""
    found = set(roles.split())
    if guest:
        found.add(f"{scope}_guest")
    if user:
        found.add(f"{scope}_user")
    if admin:
        found.add(f"{scope}_admin")
    return found
