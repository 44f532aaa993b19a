"""What ASGI and WSGI mounts share: a mount is the ServeHTTP handler of its class."""

from __future__ import annotations

from collections.abc import (
    Callable,
)
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass


# -- mounts: common ---------------------------------------------------------------------------
class _Mount:
    """A mounted application, usable as a Plugin's ServeHTTP handler in the class body."""

    __mattermost_hook__ = "ServeHTTP"
    _func: Callable[..., Any]

    @property
    def __func__(self) -> Callable[..., Any]:
        """The plugin method this mount stands for: ``(self, context, request)``.

        ``Plugin`` reads the hook name and the signature from it when the class is defined.
        """
        return self._func

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        return self


def _split_host_port(value: str, default_port: int | None) -> tuple[str, int | None] | None:
    if not value:
        return None
    host, port = value, default_port
    if value.startswith("["):  # [::1]:8065
        end = value.find("]")
        host = value[1:end] if end > 0 else value
        rest = value[end + 1 :] if end > 0 else ""
        if rest.startswith(":") and rest[1:].isdigit():
            port = int(rest[1:])
    elif value.count(":") == 1:
        name, _, digits = value.partition(":")
        if digits.isdigit():
            host, port = name, int(digits)
    return host, port


def _latin1(value: str) -> bytes:
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode()
