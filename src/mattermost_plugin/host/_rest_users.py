"""``/api/v4/users``: accounts, login and logout, personal access tokens, roles, and a
user's teams and channels."""

from __future__ import annotations

from typing import Any

from mattermost_plugin._pb.pluginapi.v1 import api_user_team_pb2, user_pb2
from mattermost_plugin.host._http_front import HTTPError
from mattermost_plugin.host._rest import (
    Call,
    fake_errors,
    forbidden,
    invalid_body,
    query_int,
    route,
)
from mattermost_plugin.host._rest_json import channel_json, team_json, token_json, user_json
from mattermost_plugin.host.local import LoginRejectedError

_PATCHABLE_STRINGS = ("username", "email", "nickname", "first_name", "last_name", "position")


def user_view(call: Call, user: user_pb2.User) -> dict[str, Any]:
    """``user`` as the acting user may see it (the server's sanitizing)."""
    full = call.actor.user_id == user.id or call.is_admin()
    privacy = call.fake.config.get("PrivacySettings", {})
    show_email = privacy.get("ShowEmailAddress", True) is not False
    return user_json(user, full=full, show_email=show_email)


def _user(call: Call, user_id: str) -> user_pb2.User:
    with call.fake.transaction(), fake_errors():
        found = user_pb2.User()
        found.CopyFrom(call.fake._user(user_id))
        return found


def _require_self_or(call: Call, user_id: str, permission: str) -> None:
    if user_id != call.user_id:
        call.require(permission)


@route("POST", "/api/v4/users/login", session=False)
def login(call: Call) -> None:
    """``{"login_id", "password", "device_id"?}`` (or ``"id"`` for a user id): the user,
    with the session token in the ``Token`` header; ``UserWillLogIn`` and
    ``UserHasLoggedIn`` run."""
    body = call.body("login_id")
    login_id = body.string("login_id") or body.string("id")
    password = body.string("password")
    device_id = body.string("device_id")
    if not login_id:
        raise invalid_body("login_id")
    try:
        with fake_errors():
            session = call.local.login(login_id, password, device_id=device_id)
    except LoginRejectedError as exc:
        message = f"Login rejected by plugin: {exc.reason}"
        raise HTTPError(400, message, message) from None
    user = _user(call, session.user_id)
    call.respond(200, user_json(user), [("Token", session.token)])


@route("POST", "/api/v4/users/logout")
def logout(call: Call) -> None:
    """Ends the session the request's token belongs to."""
    if call.actor.session_id:
        with call.fake.transaction():
            call.fake.sessions.pop(call.actor.session_id, None)
    call.ok()


@route("POST", "/api/v4/users", session=False)
def create_user(call: Call) -> None:
    """A new user (``username``, ``email``, ``password``, names...); ``UserHasBeenCreated``
    runs. System admins may; others only with ``TeamSettings.EnableOpenServer``."""
    body = call.body("user")
    template = user_pb2.User(
        username=body.string("username", required=True),
        email=body.string("email", required=True),
        password=body.string("password"),
        nickname=body.string("nickname"),
        first_name=body.string("first_name"),
        last_name=body.string("last_name"),
        position=body.string("position"),
        locale=body.string("locale"),
        roles="system_user",
    )
    props = body.string_map("props")
    notify_props = body.string_map("notify_props")
    open_server = call.fake.config.get("TeamSettings", {}).get("EnableOpenServer") is True
    if not open_server and not (call.actor.user_id and call.is_admin()):
        raise HTTPError(
            403,
            "api.user.create_user.no_open_server",
            "This server does not allow open signups. Please speak with your Administrator "
            "to receive an invitation.",
        )
    template.props.update(props or {})
    template.notify_props.update(notify_props or {})
    created = call.invoke("CreateUser", api_user_team_pb2.CreateUserRequest(user=template)).user
    call.dev.emit("server", f"created user {created.username} ({created.id})")
    call.respond(201, user_json(created))


@route("GET", "/api/v4/users")
def get_users(call: Call) -> None:
    """Users a page at a time (``page``, ``per_page``), filtered by ``in_team``,
    ``not_in_team``, ``in_channel``, ``not_in_channel``, ``active``, ``inactive``."""
    call.require_session()
    query = call.query
    request = api_user_team_pb2.GetUsersRequest(
        in_team_id=query.get("in_team", ""),
        not_in_team_id=query.get("not_in_team", ""),
        in_channel_id=query.get("in_channel", ""),
        not_in_channel_id=query.get("not_in_channel", ""),
        active=query.get("active") == "true",
        inactive=query.get("inactive") == "true",
        page=query_int(call, "page", 0),
        per_page=query_int(call, "per_page", 60, maximum=200),
    )
    users = call.invoke("GetUsers", request).users
    call.respond(200, [user_view(call, u) for u in users])


@route("GET", "/api/v4/users/username/{username}")
def get_user_by_username(call: Call) -> None:
    call.require_session()
    user = call.invoke(
        "GetUserByUsername",
        api_user_team_pb2.GetUserByUsernameRequest(name=call.params["username"]),
    ).user
    call.respond(200, user_view(call, user))


@route("GET", "/api/v4/users/{user_id}")
def get_user(call: Call) -> None:
    """A user (``me``: the acting user)."""
    call.respond(200, user_view(call, _user(call, call.param_user())))


@route("PUT", "/api/v4/users/{user_id}/patch")
def patch_user(call: Call) -> None:
    """Changes the fields the body sets (``username``, ``email``, names, ``position``,
    ``locale``, ``props``, ``notify_props``); a user patches themself, a system admin
    anyone (``edit_other_users``)."""
    user_id = call.param_user()
    body = call.body("user")
    changes = {name: body.string(name) for name in _PATCHABLE_STRINGS if body.has(name)}
    locale = body.string("locale") if body.has("locale") else None
    props = body.string_map("props")
    notify_props = body.string_map("notify_props")
    _require_self_or(call, user_id, "edit_other_users")
    user = _user(call, user_id)
    for name, value in changes.items():
        setattr(user, name, value)
    if locale is not None:
        user.locale = locale
    if props is not None:
        user.ClearField("props")
        user.props.update(props)
    if notify_props is not None:
        user.ClearField("notify_props")
        user.notify_props.update(notify_props)
    updated = call.invoke("UpdateUser", api_user_team_pb2.UpdateUserRequest(user=user)).user
    call.respond(200, user_json(updated))


@route("PUT", "/api/v4/users/{user_id}/active")
def update_user_active(call: Call) -> None:
    """``{"active": bool}``: (de)activates a user (a deactivation ends their sessions and
    runs ``UserHasBeenDeactivated``). Admins may; a user may deactivate themself when
    ``ServiceSettings.EnableUserDeactivation`` is on."""
    user_id = call.param_user()
    body = call.body("active")
    if not body.has("active"):
        raise invalid_body("active")
    active = body.boolean("active")
    if not active and user_id == call.user_id and not call.is_admin():
        settings = call.fake.config.get("ServiceSettings", {})
        if settings.get("EnableUserDeactivation") is not True:
            raise HTTPError(
                401,
                "api.user.update_active.not_enable.app_error",
                "You cannot deactivate yourself because this feature is not enabled.",
            )
    elif not call.is_admin():
        raise forbidden("sysconsole_write_user_management_users", call.user_id)
    _user(call, user_id)
    call.invoke(
        "UpdateUserActive",
        api_user_team_pb2.UpdateUserActiveRequest(user_id=user_id, active=active),
    )
    call.ok()


@route("PUT", "/api/v4/users/{user_id}/roles")
def update_user_roles(call: Call) -> None:
    """``{"roles": "system_user system_admin"}``: a user's system roles (``manage_roles``)."""
    user_id = call.param_user()
    roles = call.body("roles").string("roles", required=True)
    call.require("manage_roles")
    call.invoke(
        "UpdateUserRoles",
        api_user_team_pb2.UpdateUserRolesRequest(user_id=user_id, new_roles=roles),
    )
    call.ok()


@route("POST", "/api/v4/users/{user_id}/tokens")
def create_token(call: Call) -> None:
    """``{"description"}``: a personal access token of the user, with its token (the only
    time it is shown). Needs ``create_user_access_token`` (and ``edit_other_users`` for
    someone else) and ``ServiceSettings.EnableUserAccessTokens`` (the dev server turns it
    on)."""
    user_id = call.param_user()
    description = call.body("description").string("description", required=True)
    call.require("create_user_access_token")
    _require_self_or(call, user_id, "edit_other_users")
    token = call.invoke(
        "CreateUserAccessToken",
        api_user_team_pb2.CreateUserAccessTokenRequest(
            token=api_user_team_pb2.UserAccessToken(user_id=user_id, description=description)
        ),
    ).token
    call.respond(200, token_json(token, with_token=True))


@route("GET", "/api/v4/users/{user_id}/tokens")
def get_tokens(call: Call) -> None:
    """The user's personal access tokens, without the tokens themselves."""
    user_id = call.param_user()
    call.require("read_user_access_token")
    _require_self_or(call, user_id, "edit_other_users")
    with call.fake.transaction():
        tokens = [t for t in call.fake.access_tokens.values() if t.user_id == user_id]
        shown = [token_json(t, with_token=False) for t in tokens]
    call.respond(200, shown)


@route("POST", "/api/v4/users/tokens/revoke")
def revoke_token(call: Call) -> None:
    """``{"token_id"}``: revokes a personal access token and ends its session."""
    token_id = call.body("token_id").string("token_id", required=True)
    with call.fake.transaction():
        token = call.fake.access_tokens.get(token_id)
    if token is None:
        raise HTTPError(404, "app.user_access_token.get_by_user.app_error", "token not found")
    call.require("revoke_user_access_token")
    _require_self_or(call, token.user_id, "edit_other_users")
    call.invoke(
        "RevokeUserAccessToken",
        api_user_team_pb2.RevokeUserAccessTokenRequest(token_id=token_id),
    )
    call.ok()


@route("GET", "/api/v4/users/{user_id}/teams")
def get_teams_for_user(call: Call) -> None:
    user_id = call.param_user()
    _require_self_or(call, user_id, "manage_system")
    teams = call.invoke(
        "GetTeamsForUser", api_user_team_pb2.GetTeamsForUserRequest(user_id=user_id)
    ).teams
    call.respond(200, [team_json(t) for t in teams])


@route("GET", "/api/v4/users/{user_id}/teams/{team_id}/channels")
def get_channels_for_user(call: Call) -> None:
    """The user's channels in a team, with their direct and group messages."""
    user_id = call.param_user()
    team_id = call.params["team_id"]
    _require_self_or(call, user_id, "manage_system")
    with call.fake.transaction(), fake_errors():
        call.fake._team(team_id)
        channels = [
            channel_json(c)
            for c in call.fake.channels.values()
            if c.team_id in (team_id, "")
            and user_id in call.fake._members(c.id)
            and not c.delete_at
        ]
    call.respond(200, channels)


ROUTES = [
    login,
    logout,
    create_user,
    get_users,
    get_user_by_username,
    create_token,
    get_tokens,
    revoke_token,
    get_user,
    patch_user,
    update_user_active,
    update_user_roles,
    get_teams_for_user,
    get_channels_for_user,
]
