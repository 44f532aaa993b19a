"""How a Plugin API request becomes a Python signature: the rule, stated once.

Every generated client method follows it, and ``docs/api-signatures.md`` lists its outcome
(``python -m codegen`` writes that file). The request fields are numbered in the order of
the Go method's parameters, so "Go's order" is the field order.

1. **Positional**, in Go's order: the fields that say what the call acts on or writes —
   ids, names, keys, values, models (``get_user(user_id)``,
   ``update_channel_member_roles(channel_id, user_id, new_roles)``).
2. **Keyword-only, with a default the server accepts**: paging (``page``, ``per_page=60``,
   ``limit=100``, ``sort``, ``sort_by``), filters (``in_…``, ``not_in_…``, ``include_…``,
   ``allow_…``, ``without_…``, ``inactive``, ``group_constrained``, ``updated_after``),
   options (message types named ``…Options``/``…Opts``/``…Restrictions``, proto3-optional
   scalars, the flags ``replace`` and ``share_if_not_shared``, an HTTP call's ``headers`` and
   ``body``), and every field of a request that Go takes as one options struct
   (``GetUsers``; ``SearchUsers`` but its search ``term``). Defaults are the zero value
   (``""``, ``0``, ``False``, ``None``), but ``per_page=60`` and ``limit=100``.
3. **``**fields``**: a list of key/value pairs (Go's variadic ``keyValuePairs ...any``, the
   log methods): ``log_info("joined", user_id=uid)``.
4. Every method also takes ``timeout=`` (seconds), keyword-only.

Required ids: a positional ``str`` named ``id``, ``…_id`` or ``…_id_N``, and a KV ``key``,
must not be empty (``ValidationError`` before any call), except an actor or thread parent that
Go lets be empty (``requestor_id``, ``requester_id``, ``as_user_id``, ``parent_id``,
``root_id``) and the few ids for which the server reads "" as "all" or "none"
(``MAY_BE_EMPTY``). Every argument is checked against its annotation (``TypeError`` naming
the method, the parameter and the type given).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from codegen.ir import FieldIR, Kind, ProtoIR

PAGING = frozenset({"page", "per_page", "limit", "sort", "sort_by"})
FILTER_PREFIXES = ("in_", "not_in_", "include_", "allow_", "without_")
FILTERS = frozenset({"inactive", "group_constrained", "updated_after"})
OPTION_NAMES = frozenset(
    {"options", "opts", "view_restrictions", "replace", "share_if_not_shared", "headers", "body"}
)
OPTION_TYPE_SUFFIXES = ("Options", "Opts", "Restrictions")
# Methods whose Go signature takes one options struct (UserGetOptions, UserSearch), which the
# protocol spells out field by field: all of it is keyword-only but the fields listed here.
OPTIONS_STRUCTS: dict[str, frozenset[str]] = {
    "GetUsers": frozenset(),
    "SearchUsers": frozenset({"term"}),
}
# Named like options, but what the call writes: ``RegisterPluginOpts`` is the registration.
WRITTEN = frozenset({"RegisterPluginForSharedChannels.opts"})
# Defaults that differ from the zero value: an empty page is never what a caller wants
# (Mattermost's own defaults: 60 per page, 100 search results).
DEFAULTS = {"per_page": "60", "limit": "100"}
VARIADIC_MESSAGE = "KeyValuePair"

ID = re.compile(r"(^|_)id(_\d)?$")
OPTIONAL_IDS = frozenset({"requestor_id", "requester_id", "as_user_id", "parent_id", "root_id"})
# Ids for which the server reads "" as "every team", "global" or "no target".
MAY_BE_EMPTY = frozenset(
    {
        "GetChannelsForTeamForUser.team_id",  # the user's channels in all teams
        "SearchPostsInTeamForUser.team_id",  # search all teams
        "UnregisterCommand.team_id",  # a command registered for every team
        "ListPluginCommands.team_id",  # the commands registered for every team
        "GetPropertyFieldByName.target_id",  # a field with no target
    }
)


class Role(str, Enum):
    POSITIONAL = "positional"
    KEYWORD = "keyword"
    VARIADIC = "variadic"  # **fields


@dataclass(frozen=True)
class Param:
    """One request field as a Python parameter."""

    field: FieldIR
    name: str
    role: Role
    required: bool  # a non-empty str is required (ids and keys)


def param_name(f: FieldIR) -> str:
    if f.kind is Kind.MESSAGE and f.repeated and f.ref.endswith("." + VARIADIC_MESSAGE):
        return "fields"
    return f.name.removesuffix("_json") if is_json_blob(f) else f.name


def is_json_blob(f: FieldIR) -> bool:
    return f.kind is Kind.SCALAR and f.py_type == "bytes" and f.name.endswith("_json")


def role_of(method: str, f: FieldIR, ir: ProtoIR) -> Role:
    if f.kind is Kind.MESSAGE and f.repeated and f.ref.endswith("." + VARIADIC_MESSAGE):
        return Role.VARIADIC
    if f"{method}.{f.name}" in WRITTEN:
        return Role.POSITIONAL
    if method in OPTIONS_STRUCTS:
        return Role.POSITIONAL if f.name in OPTIONS_STRUCTS[method] else Role.KEYWORD
    filtering = f.name in FILTERS or f.name.startswith(FILTER_PREFIXES)
    option_type = f.kind is Kind.MESSAGE and ir.messages[f.ref].class_name.endswith(
        OPTION_TYPE_SUFFIXES
    )
    scalar_optional = f.optional and f.kind is not Kind.MESSAGE
    if f.name in PAGING or filtering or f.name in OPTION_NAMES or option_type or scalar_optional:
        return Role.KEYWORD
    return Role.POSITIONAL


def is_required(method: str, f: FieldIR, role: Role) -> bool:
    if role is not Role.POSITIONAL or f.kind is not Kind.SCALAR or f.py_type != "str":
        return False
    if f.repeated or f.name in OPTIONAL_IDS or f"{method}.{f.name}" in MAY_BE_EMPTY:
        return False
    return f.name == "key" or bool(ID.search(f.name))


def params_of(method: str, request_fields: list[FieldIR], ir: ProtoIR) -> list[Param]:
    """The request's fields as parameters, in field (Go) order; the caller sorts by role."""
    out = []
    for f in request_fields:
        role = role_of(method, f, ir)
        out.append(Param(f, param_name(f), role, is_required(method, f, role)))
    return out


# PROTOCOL.md §6: methods the server's API service does not answer (UNIMPLEMENTED). The
# generated client raises for them without a call; the fake answers them UNIMPLEMENTED.
# Shrink this list as the server grows.
UNSERVED = (
    "GetPluginID",  # on purpose: the plugin knows its id (the client answers it locally)
    "CreatePropertyField",
    "RegisterPropertyGroup",
    "LogAuditRec",
    "InviteRemoteToChannel",
    "GetGroups",
    "RestoreGroup",
    "UpdateGroup",
    "UpsertGroupMembers",
    "GetGroupByRemoteID",
    "GetGroupSyncables",
)
