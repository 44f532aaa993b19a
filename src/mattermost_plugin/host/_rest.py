"""The dev server's REST API: the server's routes for what a plugin reacts to.

One module per area (``_rest_users``, ``_rest_teams``, ``_rest_channels``, ``_rest_posts``,
``_rest_files``, ``_rest_plugins``, ``_rest_system``) lists its :class:`Route` objects;
:data:`ROUTES` puts them in one table, which :func:`find_route` searches. A handler gets a
:class:`Call`: the path's parameters, the query, the JSON body read with typed accessors
(:class:`Body`), the acting user (:mod:`._rest_auth`) and the permission checks of the
server's default roles (:mod:`.fake_server.roles`, through the fake).

What the server does, the routes do: its paths, bodies, status codes (201 for creates,
``{"status": "OK"}`` for deletes and other actions) and its ``AppError`` JSON. A path
parameter named ``*_id`` must be an id (26 lower-case letters and digits) or the answer is
the server's 400 before anything is looked at; a body field of the wrong type is the
server's 400 ``api.context.invalid_body_param.app_error`` and changes nothing.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from google.protobuf.message import Message
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from mattermost_plugin.host._http_front import Exchange, HTTPError
from mattermost_plugin.host._rest_auth import Actor
from mattermost_plugin.host.fake_server import FakeAppError, FakeMattermost

if TYPE_CHECKING:
    from mattermost_plugin.host.dev_server import DevServer
    from mattermost_plugin.host.local import LocalMattermost

__all__ = [
    "INVALID_BODY",
    "INVALID_URL_PARAM",
    "MAX_JSON_BODY",
    "Body",
    "Call",
    "Form",
    "FormFile",
    "Route",
    "check_params",
    "fake_errors",
    "find_route",
    "forbidden",
    "from_fake",
    "invalid_body",
    "invalid_param",
    "query_int",
    "query_of",
    "route",
]

MAX_JSON_BODY = 16 * 1024 * 1024
"""The largest JSON body the REST routes read (413 past it)."""
INVALID_BODY = "api.context.invalid_body_param.app_error"
INVALID_URL_PARAM = "api.context.invalid_url_param.app_error"
PERMISSIONS = "api.context.permissions.app_error"
_ID = re.compile(r"^[a-z0-9]{26}$")
_PLUGIN_ID = re.compile(r"^[a-zA-Z0-9\-_.]{3,190}$")
_EMOJI_NAME = re.compile(r"^[a-zA-Z0-9\-+_]{1,64}$")
_PARAM = re.compile(r"\{([a-z_]+)\}")


def invalid_body(name: str, detail: str = "") -> HTTPError:
    """The server's 400 for a body field that is missing or has the wrong type."""
    return HTTPError(400, INVALID_BODY, f"Invalid or missing {name} in request body.", detail)


def invalid_param(name: str) -> HTTPError:
    """The server's 400 for a URL parameter that is not what it must be."""
    return HTTPError(400, INVALID_URL_PARAM, f"Invalid or missing {name} parameter in request URL.")


def forbidden(permission: str, user_id: str) -> HTTPError:
    """The server's 403 for a missing permission."""
    return HTTPError(
        403,
        PERMISSIONS,
        "You do not have the appropriate permissions.",
        f"userId={user_id}, permission={permission}",
    )


def from_fake(exc: FakeAppError) -> HTTPError:
    return HTTPError(exc.status_code, exc.error_id, exc.message, exc.detailed)


class Body:
    """A JSON object body, read field by field with the type each field must have (as Go's
    JSON decoding into the server's structs: a wrong type fails, ``null`` or a missing
    field is the zero value, unknown fields are ignored)."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def has(self, name: str) -> bool:
        return self.data.get(name) is not None

    def _typed(self, name: str, kind: type | tuple[type, ...], what: str) -> Any:
        value = self.data.get(name)
        if value is None:
            return None
        # bool is an int in Python, not in JSON.
        if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _kinds(kind)):
            raise invalid_body(name, f"{name}: expected {what}, got {_json_kind(value)}")
        return value

    def string(self, name: str, *, required: bool = False) -> str:
        value = self._typed(name, str, "a string")
        if required and not value:
            raise invalid_body(name, f"{name} is required")
        return value or ""

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self._typed(name, bool, "true or false")
        return default if value is None else bool(value)

    def integer(self, name: str, default: int = 0) -> int:
        value = self._typed(name, (int, float), "a number")
        if value is None:
            return default
        if isinstance(value, float) and not value.is_integer():
            raise invalid_body(name, f"{name}: expected an integer, got {value}")
        return int(value)

    def strings(self, name: str) -> list[str] | None:
        value: list[str] | None = self._typed(name, list, "a list of strings")
        if value is not None and not all(isinstance(item, str) for item in value):
            raise invalid_body(name, f"{name}: expected a list of strings")
        return value

    def obj(self, name: str) -> dict[str, Any] | None:
        value: dict[str, Any] | None = self._typed(name, dict, "an object")
        return value

    def string_map(self, name: str) -> dict[str, str] | None:
        value = self.obj(name)
        if value is not None and not all(isinstance(v, str) for v in value.values()):
            raise invalid_body(name, f"{name}: expected an object of strings")
        return value


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


@dataclass
class Call:
    """One REST request for a handler: see the module doc."""

    dev: DevServer
    exchange: Exchange
    params: dict[str, str]
    actor: Actor
    query: dict[str, str] = field(default_factory=dict)

    @property
    def local(self) -> LocalMattermost:
        return self.dev.local

    @property
    def fake(self) -> FakeMattermost:
        return self.dev.local.server

    @property
    def user_id(self) -> str:
        """The acting user (a session is required for every route that reads it)."""
        if not self.actor.user_id:
            raise HTTPError(
                401,
                "api.context.session_expired.app_error",
                "Invalid or expired session, please login again.",
            )
        return self.actor.user_id

    def invoke(self, method: str, request: Message) -> Any:
        """A Plugin API method of the fake, in process (its hooks run as for the plugin's
        call); its errors are the server's HTTP answers."""
        with fake_errors():
            return self.local._invoke(method, request)

    def require_session(self) -> None:
        """401 unless the request acts as a user."""
        _ = self.user_id

    # --- the body ------------------------------------------------------------------------

    def json(self) -> Any:
        raw = self.exchange.read_body(MAX_JSON_BODY)
        try:
            return json.loads(raw) if raw.strip() else None
        except ValueError as exc:
            raise HTTPError(
                400, INVALID_BODY, "Invalid or missing body in request body.", str(exc)
            ) from None

    def form(self, limit: int) -> Form:
        """A ``multipart/form-data`` body, read as it arrives (413 past ``limit`` bytes;
        400 when it is not multipart or its framing is broken)."""
        content_type = self.exchange.request.header("Content-Type") or ""
        kind, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if kind != b"multipart/form-data" or not boundary:
            raise HTTPError(
                400,
                "api.context.invalid_body_param.app_error",
                "Invalid or missing multipart form in request body.",
                f"Content-Type is {content_type!r}, not multipart/form-data with a boundary",
            )
        reader = _FormReader()
        parser = MultipartParser(boundary, reader.callbacks())
        size = 0
        try:
            for chunk in self.exchange.body():
                size += len(chunk)
                if size > limit:
                    self.exchange.close_connection = True
                    raise HTTPError(
                        413,
                        "api.context.request_body_too_large.app_error",
                        f"the request body is larger than {limit} bytes",
                    )
                parser.write(chunk)
            parser.finalize()
        except MultipartParseError as exc:
            raise HTTPError(
                400, INVALID_BODY, "Invalid or missing multipart form in request body.", str(exc)
            ) from None
        return reader.form

    def body(self, name: str = "body") -> Body:
        """The body, a JSON object (``name`` is what the server calls it in its error)."""
        data = self.json()
        if not isinstance(data, dict):
            raise invalid_body(name, f"{name}: expected a JSON object")
        return Body(data)

    # --- the answer ----------------------------------------------------------------------

    def respond(self, status: int, value: Any, headers: Sequence[tuple[str, str]] = ()) -> None:
        data = json.dumps(value).encode()
        self.exchange.respond(status, [("Content-Type", "application/json"), *headers], data)

    def ok(self) -> None:
        """The server's answer to an action: ``200 {"status": "OK"}``."""
        self.respond(200, {"status": "OK"})

    # --- ids and permissions ---------------------------------------------------------------

    def param_user(self, name: str = "user_id") -> str:
        """A user id parameter; ``me`` is the acting user, as on the server."""
        value = self.params[name]
        return self.user_id if value == "me" else value

    def channel_ref(self, ref: str, name: str = "channel_id") -> str:
        """A channel id, or (the dev server's shortcut) a channel name of the default team."""
        if _ID.match(ref):
            return ref
        try:
            return self.local.resolve_channel(ref)
        except FakeAppError:
            raise invalid_param(name) from None

    def is_admin(self) -> bool:
        with self.fake.transaction():
            return self.fake.has_permission_to(self.user_id, "manage_system")

    def require(self, permission: str) -> None:
        with self.fake.transaction():
            allowed = self.fake.has_permission_to(self.user_id, permission)
        if not allowed:
            raise forbidden(permission, self.user_id)

    def require_team(self, team_id: str, permission: str) -> None:
        with self.fake.transaction():
            allowed = self.fake.has_permission_to_team(self.user_id, team_id, permission)
        if not allowed:
            raise forbidden(permission, self.user_id)

    def require_channel(self, channel_id: str, permission: str) -> None:
        with self.fake.transaction():
            allowed = self.fake.has_permission_to_channel(self.user_id, channel_id, permission)
        if not allowed:
            raise forbidden(permission, self.user_id)

    def require_read_channel(self, channel_id: str) -> None:
        """The server's rule for reading a channel (404 for an unknown one first)."""
        with self.fake.transaction(), fake_errors():
            self.fake._channel(channel_id)
            allowed = self.fake.can_read_channel(self.user_id, channel_id)
        if not allowed:
            raise forbidden("read_channel", self.user_id)


@dataclass
class FormFile:
    """A file part of a multipart form."""

    field: str
    filename: str
    data: bytes


@dataclass
class Form:
    """A multipart form: its text fields (every value of each, in order) and its files."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    files: list[FormFile] = field(default_factory=list)

    def value(self, name: str) -> str:
        """The first value of a text field (``""`` when it is missing)."""
        values = self.fields.get(name)
        return values[0] if values else ""


class _FormReader:
    """Collects the parts python-multipart finds."""

    def __init__(self) -> None:
        self.form = Form()
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._data = bytearray()

    def callbacks(self) -> Any:
        def on_part_begin() -> None:
            self._headers, self._data = {}, bytearray()

        def on_part_data(data: bytes, start: int, end: int) -> None:
            self._data += data[start:end]

        def on_header_field(data: bytes, start: int, end: int) -> None:
            self._header_name += data[start:end]

        def on_header_value(data: bytes, start: int, end: int) -> None:
            self._header_value += data[start:end]

        def on_header_end() -> None:
            self._headers[self._header_name.lower()] = self._header_value
            self._header_name = self._header_value = b""

        return {
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_part_end": self._part_end,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
        }

    def _part_end(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is not None:
            self.form.files.append(
                FormFile(name, filename.decode("utf-8", "replace"), bytes(self._data))
            )
        else:
            value = bytes(self._data).decode("utf-8", "replace")
            self.form.fields.setdefault(name, []).append(value)


@contextlib.contextmanager
def fake_errors() -> Iterator[None]:
    """The fake's errors as the server's HTTP answers."""
    try:
        yield
    except FakeAppError as exc:
        raise from_fake(exc) from None


Handler = Callable[[Call], None]


@dataclass(frozen=True)
class Route:
    """``method`` and a path ``template`` (``/api/v4/users/{user_id}/patch``) answered by
    ``handler``."""

    method: str
    template: str
    handler: Handler
    session: bool = True
    """Whether a bad token is a 401 (routes that need no session ignore one, as the
    server's do)."""
    pattern: re.Pattern[str] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        parts = _PARAM.split(self.template)  # literal, name, literal, name, ...
        regex = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts)
        )
        object.__setattr__(self, "pattern", re.compile(f"^{regex}/?$"))


def route(method: str, template: str, *, session: bool = True) -> Callable[[Handler], Route]:
    """``@route("GET", "/api/v4/users/{user_id}")`` makes a handler a :class:`Route`."""
    return lambda handler: Route(method, template, handler, session)


def check_params(params: dict[str, str]) -> None:
    """The server's checks of URL parameters, before anything is looked at."""
    for name, value in params.items():
        if name == "user_id" and value == "me":
            continue
        if name == "channel_id":
            continue  # an id, or a channel name of the default team (Call.channel_ref)
        if name.endswith("_id") and name != "plugin_id" and not _ID.match(value):
            raise invalid_param(name)
        if name == "plugin_id" and not _PLUGIN_ID.match(value):
            raise invalid_param(name)
        if name == "emoji_name" and not _EMOJI_NAME.match(value):
            raise invalid_param(name)


def find_route(
    routes: Sequence[Route], method: str, path: str
) -> tuple[Route, dict[str, str]] | None:
    """The route for ``method`` and ``path`` with its parameters; ``None`` when no route
    has the path; 405 when routes have it, for other methods."""
    methods = []
    for candidate in routes:
        match = candidate.pattern.match(path)
        if match is None:
            continue
        if candidate.method == method or (method == "HEAD" and candidate.method == "GET"):
            return candidate, match.groupdict()
        methods.append(candidate.method)
    if methods:
        raise HTTPError(
            405,
            "api.context.405.app_error",
            f"{method} is not allowed on {path} (allowed: {', '.join(sorted(set(methods)))})",
        )
    return None


def query_of(target: str) -> dict[str, str]:
    """The first value of each query parameter."""
    _, _, query = target.partition("?")
    found: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        found.setdefault(key, value)
    return found


def query_int(call: Call, name: str, default: int, *, maximum: int | None = None) -> int:
    """An integer query parameter (``page``, ``per_page``): 400 when it is not one."""
    raw = call.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid_param(name) from None
    if value < 0:
        raise invalid_param(name)
    return min(value, maximum) if maximum is not None else value
