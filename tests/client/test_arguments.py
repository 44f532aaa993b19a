"""Bad arguments get clear errors before any call, from every method of both clients.

A wrong type raises ``TypeError`` naming the method, the parameter and the type given; an
empty required id (``codegen/signatures.py``: ids and KV keys) raises ``ValidationError``;
a value of the right type that cannot travel (a number out of range, text that is not
UTF-8) raises ``ValidationError`` too. Nothing from protobuf gets out. The clients point at
a closed port: a call that got through the checks fails with ``UnavailableError`` instead.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import socket
import types
from collections.abc import Callable, Iterator
from typing import Any, Union, cast, get_args, get_origin

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import JsonValue
from tests.support.signatures import go_name, hints, valid

from codegen.signatures import ID, MAY_BE_EMPTY, OPTIONAL_IDS
from mattermost_plugin import (
    AsyncPluginAPIClient,
    PluginAPIClient,
    UnavailableError,
    ValidationError,
)
from mattermost_plugin._generated.unserved import UNSERVED_METHODS
from mattermost_plugin.models import Post, User

HAND_WRITTEN = {"create_post", "kv_set", "kv_get", "kv_get_as", "get_plugin_id"}


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


TARGET = closed_port()
SYNC = PluginAPIClient(target=TARGET, retries=0, timeout=5)
ASYNC = AsyncPluginAPIClient(target=TARGET, retries=0, timeout=5)


def checked_methods() -> list[str]:
    """Every generated method that makes a call (the unserved ones raise 501 at once)."""
    unserved = {name for name in dir(SYNC) if _is_unserved(name)}
    return sorted(
        name
        for name, value in inspect.getmembers(PluginAPIClient, inspect.isfunction)
        if not name.startswith("_")
        and name not in HAND_WRITTEN | unserved | {"close"}
        and "self" in inspect.signature(value).parameters
    )


def _is_unserved(name: str) -> bool:
    doc = getattr(getattr(PluginAPIClient, name, None), "__doc__", None) or ""
    return "Not served:" in doc


METHODS = checked_methods()


# -- the oracle: does a value have an annotated type? (written apart from the SDK's check)
def conforms(value: object, hint: Any) -> bool:
    if hint is JsonValue:
        return is_json(value)
    if get_origin(hint) in (Union, types.UnionType):
        return any(conforms(value, option) for option in get_args(hint))
    if get_origin(hint) is list:
        (item,) = get_args(hint)
        return isinstance(value, list) and all(conforms(v, item) for v in value)
    if get_origin(hint) is dict:
        key, item = get_args(hint)
        return isinstance(value, dict) and all(
            conforms(k, key) and conforms(v, item) for k, v in value.items()
        )
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, int | float)
    if hint is int:  # protobuf refuses a bool for an integer field
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, hint)


def is_json(value: object) -> bool:
    if value is None or isinstance(value, str | bool | int | float):
        return True
    if isinstance(value, list | tuple):
        return all(is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_json(v) for k, v in value.items())
    return False


ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=4),
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=3),
    st.lists(st.text(max_size=2), max_size=3),
    st.tuples(st.text(max_size=2)),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.dictionaries(st.integers(), st.text(max_size=2), min_size=1, max_size=2),
    st.sets(st.integers(), max_size=2),
    st.builds(object),
    st.builds(Post, message=st.text(max_size=3)),
    st.builds(User),
    st.dictionaries(st.text(max_size=2), st.builds(object), min_size=1, max_size=1),
)


def call(name: str, flavor: str, args: list[Any], kwargs: dict[str, Any]) -> None:
    """Call a method of the sync or the async client; return when it raised nothing."""
    if flavor == "sync":
        getattr(SYNC, name)(*args, **kwargs)
    else:
        asyncio.run(getattr(ASYNC, name)(*args, **kwargs))


def arguments(name: str, bad: str, value: object) -> tuple[list[Any], dict[str, Any]]:
    """Valid arguments for ``name``, but ``value`` for the parameter ``bad``."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for param, hint in hints(name):
        if param.kind is param.VAR_KEYWORD:
            if bad == param.name:
                kwargs["some_field"] = value
            continue
        given_value = value if param.name == bad else valid(hint)
        if param.kind is param.KEYWORD_ONLY:
            kwargs[param.name] = given_value
        else:
            args.append(given_value)
    return args, kwargs


@st.composite
def wrong_argument(draw: st.DrawFn) -> tuple[str, str, str, object]:
    name = draw(st.sampled_from(METHODS))
    param, hint = draw(st.sampled_from(hints(name)))
    item_hint = JsonValue if param.kind is param.VAR_KEYWORD else hint
    value = draw(ANY_VALUE.filter(lambda v: not conforms(v, item_hint)))
    label = "some_field" if param.kind is param.VAR_KEYWORD else param.name
    return name, param.name, label, value


@pytest.mark.parametrize("flavor", ["sync", "async"])
@given(case=wrong_argument())
def test_any_wrong_type_is_a_type_error_naming_method_parameter_and_type(
    flavor: str, case: tuple[str, str, str, object]
) -> None:
    name, param, label, value = case
    args, kwargs = arguments(name, param, value)
    with pytest.raises(TypeError) as raised:
        call(name, flavor, args, kwargs)
    message = str(raised.value)
    assert message.startswith(f"{name}(): {label} must be "), message
    given_type = "None" if value is None else type(value).__name__
    assert re.search(rf"\bnot (a )?{given_type}\b", message), message


@pytest.mark.parametrize("flavor", ["sync", "async"])
@given(data=st.data())
def test_any_value_gives_a_clear_error_or_reaches_the_server(flavor: str, data: Any) -> None:
    """Nothing but the SDK's errors: TypeError naming the method, ValidationError, or (the
    arguments were fine) the call itself, which fails here for want of a server."""
    name = data.draw(st.sampled_from(METHODS))
    param, _ = data.draw(st.sampled_from(hints(name)))
    value = data.draw(st.one_of(ANY_VALUE, st.text(alphabet=st.characters(), max_size=4)))
    args, kwargs = arguments(name, param.name, value)
    try:
        call(name, flavor, args, kwargs)
    except TypeError as error:
        assert str(error).startswith(f"{name}(): "), error
    except (ValidationError, UnavailableError):
        pass


def required_ids() -> list[tuple[str, str]]:
    """(method, parameter) for every id the rule in codegen/signatures.py calls required."""
    out = []
    for name in METHODS:
        for param, hint in hints(name):
            qualified = f"{go_name(getattr(PluginAPIClient, name))}.{param.name}"
            if (
                hint is str
                and param.kind is param.POSITIONAL_OR_KEYWORD
                and (param.name == "key" or ID.search(param.name))
                and param.name not in OPTIONAL_IDS
                and qualified not in MAY_BE_EMPTY
            ):
                out.append((name, param.name))
    return out


REQUIRED = required_ids()


def test_the_rule_finds_required_ids() -> None:
    assert ("get_user", "user_id") in REQUIRED
    assert ("get_team_member", "team_id") in REQUIRED
    assert ("kv_delete", "key") in REQUIRED
    assert ("publish_user_typing", "parent_id") not in REQUIRED  # empty: not in a thread
    assert ("unregister_command", "team_id") not in REQUIRED  # empty: a global command
    assert len(REQUIRED) > 150


@pytest.mark.parametrize("flavor", ["sync", "async"])
@given(case=st.sampled_from(REQUIRED))
def test_an_empty_required_id_is_a_validation_error(flavor: str, case: tuple[str, str]) -> None:
    name, param = case
    args, kwargs = arguments(name, param, "")
    with pytest.raises(ValidationError) as raised:
        call(name, flavor, args, kwargs)
    error = raised.value
    assert str(error.message) == f"{name}(): {param} must not be empty"
    assert error.status_code == 400
    assert error.method == go_name(getattr(PluginAPIClient, name))


# -- the examples, and the hand-written methods ------------------------------------
Call = Callable[[PluginAPIClient], object]
EXAMPLES: list[tuple[Call, type[Exception], str]] = [
    (lambda api: api.get_user(""), ValidationError, "get_user(): user_id must not be empty"),
    (lambda api: api.get_user(123), TypeError, "get_user(): user_id must be str, not int"),  # type: ignore[arg-type]
    (lambda api: api.get_user(None), TypeError, "get_user(): user_id must be str, not None"),  # type: ignore[arg-type]
    (
        lambda api: api.create_post(channel_id="", message="hi"),
        ValidationError,
        "create_post(): channel_id must not be empty",
    ),
    (
        lambda api: api.create_post({"channel_id": "c", "message": "hi"}),  # type: ignore[arg-type]
        TypeError,
        "create_post(): post must be Post or None, not dict",
    ),
    (
        lambda api: api.create_post(Post(message="no channel")),
        ValidationError,
        "create_post(): post.channel_id must not be empty",
    ),
    (
        lambda api: api.create_post(channel_id="c", message=b"hi"),  # type: ignore[arg-type]
        TypeError,
        "create_post(): message must be str or None, not bytes",
    ),
    (lambda api: api.kv_get(""), ValidationError, "kv_get(): key must not be empty"),
    (lambda api: api.kv_get(7), TypeError, "kv_get(): key must be str, not int"),  # type: ignore[arg-type]
    (lambda api: api.kv_set("", b"v"), ValidationError, "kv_set(): key must not be empty"),
    (
        lambda api: api.kv_set("k", {1, 2}),
        TypeError,
        "kv_set(): value must be bytes, str, a model or a JSON value, not set",
    ),
    (
        lambda api: api.kv_set("k", b"v", expires_in="soon"),  # type: ignore[arg-type]
        TypeError,
        "kv_set(): expires_in must be int, float, timedelta or None, not str",
    ),
    (
        lambda api: api.get_users(page=2**40),
        ValidationError,
        "get_users(): page must fit in int32 (-2147483648..2147483647), got 1099511627776",
    ),
    (
        lambda api: api.get_users_by_ids(["a", 2]),  # type: ignore[list-item]
        TypeError,
        "get_users_by_ids(): user_ids must be list[str], not a list with int at index 1",
    ),
    (
        lambda api: api.get_user("\ud800"),
        ValidationError,
        "get_user(): user_id is not valid text: surrogates not allowed at position 0",
    ),
    (
        lambda api: api.save_plugin_config({"a": {1}}),  # type: ignore[dict-item]
        TypeError,
        "save_plugin_config(): config must be dict[str, a JSON value], not a dict with set",
    ),
    (
        lambda api: api.log_info("hello", user={1}),  # type: ignore[arg-type]
        TypeError,
        "log_info(): user must be a JSON value, not set",
    ),
    (
        lambda api: api.get_user("u", timeout="1"),  # type: ignore[arg-type]
        TypeError,
        "get_user(): timeout must be float or None, not str",
    ),
]


@pytest.fixture(params=["sync", "async"])
def client(request: pytest.FixtureRequest) -> Iterator[PluginAPIClient]:
    """A client of a closed port: the examples must fail before they call."""
    from tests.support.api_client import AsyncBridge, LoopThread

    if request.param == "sync":
        yield SYNC
        return
    loop = LoopThread()
    try:
        yield cast(PluginAPIClient, AsyncBridge(AsyncPluginAPIClient(target=TARGET), loop))
    finally:
        loop.stop()


@pytest.mark.parametrize(("make_call", "error", "message"), EXAMPLES)
def test_examples(
    client: PluginAPIClient, make_call: Call, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as raised:
        make_call(client)
    text = raised.value.message if isinstance(raised.value, ValidationError) else str(raised.value)
    assert text.startswith(message), text


def test_the_right_arguments_reach_the_server() -> None:
    """The checks let good calls through: here they fail only for want of a server."""
    with pytest.raises(UnavailableError):
        SYNC.get_user("u")
    with pytest.raises(UnavailableError):
        SYNC.get_users(page=1, roles=["system_user"], view_restrictions=None)
    with pytest.raises(UnavailableError):
        SYNC.create_post(channel_id="c", message="hi", timeout=True)  # a bool is an int
    with pytest.raises(UnavailableError):
        asyncio.run(ASYNC.log_info("hello", user="u", count=2, tags=["a"], extra=None))


def test_unserved_methods_are_excluded_only_from_the_checks() -> None:
    unserved = {go_name(getattr(PluginAPIClient, n)) for n in dir(SYNC) if _is_unserved(n)}
    assert unserved == UNSERVED_METHODS - {"GetPluginID"}
