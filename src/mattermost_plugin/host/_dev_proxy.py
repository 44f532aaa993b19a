"""``/plugins/<id>/...`` of the dev server: one HTTP exchange through the plugin's ServeHTTP.

The request streams to the plugin as it arrives; the answer streams back. What the plugin
answers is framed the way Go's ``net/http`` frames a handler's answer on a real server:

* an invalid ``Content-Length`` (not digits, or values that disagree) is dropped with a
  warning and the body goes out chunked;
* a body longer than the declared length is cut there (the connection then closes), a
  shorter one closes the connection without completing the answer, so the client sees a
  broken response instead of a wrong one;
* header names that are not tokens are dropped, and control characters (CR, LF, NUL, ...)
  in values become spaces, so a value can never start a header or a response of its own;
* a header value outside Latin-1 cannot be sent at all: the answer is 502 naming it.

A client that goes away (also before the plugin answered its headers) cancels the ServeHTTP
call: the plugin sees the request cancelled.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from mattermost_plugin.host._http_front import (
    BadRequest,
    ClientGone,
    Exchange,
    HTTPError,
)
from mattermost_plugin.host.http_bridge import BridgeError, BridgeResponse, PendingRequest
from mattermost_plugin.host.local import ANONYMOUS, LocalMattermost
from mattermost_plugin.http import Headers

__all__ = ["PluginAnswerError", "forward_to_plugin", "plugin_headers"]

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "content-length",
    }
)
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_DIGITS = re.compile(r"[0-9]{1,18}")
_NOT_FORWARDED = frozenset({"mattermost-user-id", "transfer-encoding"})


class PluginAnswerError(Exception):
    """The plugin's answer cannot be sent as HTTP (answered 502)."""


@dataclass
class PluginHeaders:
    """The plugin's headers made sendable: ``headers`` (Latin-1 bytes), the declared
    ``content_length`` (``None``: unknown), and ``notes`` on what was changed."""

    headers: list[tuple[str, bytes]] = field(default_factory=list)
    content_length: int | None = None
    notes: list[str] = field(default_factory=list)


def plugin_headers(headers: Headers) -> PluginHeaders:
    """Check and clean a plugin's response headers (see the module doc); raise
    :class:`PluginAnswerError` for a value outside Latin-1."""
    result = PluginHeaders()
    lengths: list[str] = []
    for name, value in headers.multi_items():
        if not _TOKEN.fullmatch(name):
            result.notes.append(f"dropped the header {name!r}: not a valid header name")
            continue
        if name.lower() == "content-length":
            lengths.append(value.strip())
            continue
        if name.lower() in _HOP_BY_HOP:
            continue
        clean = _CONTROL.sub(" ", value).strip(" \t")
        if clean != value.strip(" \t"):
            result.notes.append(
                f"replaced control characters (CR, LF, NUL, ...) in the header {name!r} with spaces"
            )
        try:
            encoded = clean.encode("latin-1")
        except UnicodeEncodeError:
            raise PluginAnswerError(
                f"the plugin's response header {name!r} has characters outside Latin-1 "
                f"({clean[:60]!r}); header values are bytes: send ASCII (percent-encode, "
                "or RFC 8187 filename*= for Content-Disposition)"
            ) from None
        result.headers.append((name, encoded))
    if lengths:
        if all(_DIGITS.fullmatch(v) for v in lengths) and len({int(v) for v in lengths}) == 1:
            result.content_length = int(lengths[0])
        else:
            result.notes.append(
                f"ignored the invalid Content-Length {', '.join(lengths)!r} (as Go's net/http "
                "does); the body is sent chunked"
            )
    return result


class _Cancel:
    """Cancels the ServeHTTP call, also when asked before the call exists."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: PendingRequest | None = None
        self.cancelled = False

    def attach(self, pending: PendingRequest) -> None:
        with self._lock:
            self._pending = pending
            if self.cancelled:
                pending.cancel()

    def __call__(self) -> None:
        with self._lock:
            self.cancelled = True
            if self._pending is not None:
                self._pending.cancel()


def forward_to_plugin(
    exchange: Exchange,
    local: LocalMattermost,
    user_id: str,
    emit: Callable[[str, str], None],
) -> None:
    """Send ``exchange`` through the plugin, as ``user_id`` (empty: no user), and its answer
    back; ``emit(level, message)`` reports what went wrong on the way."""
    request = exchange.request
    if not local.running:
        reason = local.last_error or "the plugin is not running"
        raise HTTPError(503, "app.plugin.not_active.app_error", reason)
    if not local.implements("ServeHTTP"):  # what the server answers then
        raise HTTPError(404, "api.plugin.serve_http.not_implemented", "404 page not found")
    headers = [(k, v) for k, v in request.headers if k.lower() not in _NOT_FORWARDED]
    cancel = _Cancel()
    body_errors: list[Exception] = []
    received = exchange.body()  # claimed now: the answer may start before it is read

    def body() -> Iterator[bytes]:
        try:
            yield from received
        except (BadRequest, ClientGone) as exc:
            # End the call before the body would be marked complete: the plugin must not
            # take a cut body for a whole one.
            body_errors.append(exc)
            cancel()

    try:
        pending = local.start_stream(
            request.method,
            request.path,
            query=request.query,
            headers=headers,
            body=body(),
            user=user_id or ANONYMOUS,
            remote_addr=f"{request.client[0]}:{request.client[1]}",
        )
    except RuntimeError as exc:
        raise HTTPError(503, "app.plugin.not_active.app_error", str(exc)) from None
    cancel.attach(pending)
    with exchange.watch(cancel):
        try:
            response = pending.response()
        except BridgeError as exc:
            if body_errors:
                raise body_errors[0] from None
            if cancel.cancelled:
                raise ClientGone("the client went away before the plugin answered") from None
            raise HTTPError(
                503, "app.plugin.serve_http.app_error", f"the plugin did not answer: {exc}"
            ) from None
        with response:
            _send_answer(exchange, response, cancel, emit)


def _send_answer(
    exchange: Exchange,
    response: BridgeResponse,
    cancel: _Cancel,
    emit: Callable[[str, str], None],
) -> None:
    status = response.status_code
    if status < 200:
        raise HTTPError(
            502,
            "app.plugin.serve_http.bad_status",
            f"the plugin answered the informational status {status} as its final answer",
        )
    try:
        cleaned = plugin_headers(response.headers)
    except PluginAnswerError as exc:
        emit("error", str(exc))
        raise HTTPError(502, "app.plugin.serve_http.bad_header", str(exc)) from None
    for note in cleaned.notes:
        emit("warn", f"ServeHTTP answer: {note}")
    declared = cleaned.content_length
    no_body = exchange.request.method == "HEAD" or status in (204, 304)
    headers: list[tuple[str, bytes | str]] = list(cleaned.headers)
    if declared is not None and status != 204:
        headers.append(("Content-Length", str(declared)))
    exchange.start(status, headers)
    if no_body:
        exchange.end()
        return
    sent = 0
    try:
        for part in response.iter_parts():
            data = part.data
            if declared is not None and sent + len(data) > declared:
                exchange.write(data[: declared - sent])
                exchange.end()
                exchange.close_connection = True
                emit(
                    "warn",
                    f"ServeHTTP answer: the plugin sent more than its Content-Length of "
                    f"{declared} bytes; cut there and closed the connection",
                )
                return
            exchange.write(data)
            sent += len(data)
    except BridgeError as exc:
        if cancel.cancelled:
            raise ClientGone("the client went away during the answer") from None
        # Headers are out: end without completing the answer, so the client sees it broken.
        emit("error", f"ServeHTTP broke off: {exc}")
        exchange.close_connection = True
        return
    if declared is not None and sent < declared:
        emit(
            "warn",
            f"ServeHTTP answer: the plugin sent {sent} of the {declared} bytes its "
            "Content-Length announced; closed the connection",
        )
        exchange.close_connection = True
        return
    exchange.end()
