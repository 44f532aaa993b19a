"""The client methods' signatures, read back for tests: parameters, Go names, valid values."""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Callable
from typing import Any, Union, get_args, get_origin

from pydantic import JsonValue

from mattermost_plugin import PluginAPIClient


def go_name(method: Callable[..., Any]) -> str:
    """The Go name a method's docstring gives (``Go: ``plugin.API.GetUser``.``)."""
    found = re.search(r"plugin\.API\.(\w+)", method.__doc__ or "")
    assert found, method
    return found[1]


def hints(name: str) -> list[tuple[inspect.Parameter, Any]]:
    """The parameters of ``PluginAPIClient.<name>`` (``self`` aside) with their types."""
    method = getattr(PluginAPIClient, name)
    signature = inspect.signature(method)
    return [
        (p, eval(p.annotation, method.__globals__))  # generated annotations, lazy models
        for p in list(signature.parameters.values())[1:]
    ]


def valid(hint: Any) -> Any:
    """A value of the annotated type that passes every check (not necessarily the server's)."""
    if hint is JsonValue:
        return None
    if get_origin(hint) in (Union, types.UnionType):
        return None if type(None) in get_args(hint) else valid(get_args(hint)[0])
    if get_origin(hint) is list:
        return []
    if get_origin(hint) is dict:
        return {}
    return {str: "x", int: 1, bool: True, bytes: b"x", float: 1.0}.get(hint) or hint()


def valid_arguments(name: str) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments of the right types for ``name``."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for param, hint in hints(name):
        if param.kind is param.POSITIONAL_OR_KEYWORD:
            args.append(valid(hint))
        elif param.kind is param.KEYWORD_ONLY:
            kwargs[param.name] = valid(hint)
    return args, kwargs
