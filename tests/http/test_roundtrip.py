"""Property tests: arbitrary bodies, chunkings and header values survive the bridge both ways."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.support.http import HookServer

from mattermost_plugin import Plugin
from mattermost_plugin.hooks import HookName, hook
from mattermost_plugin.http import Headers, HTTPRequest, HTTPResponse
from mattermost_plugin.models import PluginContext

TOKEN = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

header_names = st.text(alphabet=TOKEN, min_size=1, max_size=16).filter(
    lambda n: n.lower() != "host"  # Go moves Host out of the headers; so does the bridge
)
# Any text a proto string can hold, except the bytes HTTP forbids in a header value.
header_values = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\r\n\0"), max_size=40
)
headers_strategy = st.lists(st.tuples(header_names, header_values), max_size=8)
bodies = st.binary(max_size=200_000)
cuts = st.lists(st.integers(min_value=1, max_value=90_000), max_size=6)


def echo_headers(request: HTTPRequest) -> list[tuple[str, str]]:
    return [("X-Echo-" + name, value) for name, value in request.headers.multi_items()]


class SyncEcho(Plugin):
    @hook(HookName.ServeHTTP)
    def serve_http(self, context: PluginContext, request: HTTPRequest) -> Any:
        if request.path == "/whole":
            return {"status_code": 200, "headers": echo_headers(request), "body": request.body}
        return HTTPResponse(207, echo_headers(request), iter(request.stream()))


class AsyncEcho(Plugin):
    @hook(HookName.ServeHTTP)
    async def serve_http(self, context: PluginContext, request: HTTPRequest) -> Any:
        if request.path == "/whole":
            return HTTPResponse(200, echo_headers(request), await request.read())

        async def chunks() -> AsyncIterator[bytes]:
            async for chunk in request.astream():
                yield chunk

        return HTTPResponse(207, echo_headers(request), chunks())


@pytest.fixture(scope="module", params=[SyncEcho, AsyncEcho])
def echo_server(request: pytest.FixtureRequest) -> Iterator[HookServer]:
    server = HookServer(request.param())
    yield server
    server.close()


def split(body: bytes, cut_points: list[int]) -> list[bytes]:
    points = sorted({c for c in cut_points if c < len(body)})
    edges = [0, *points, len(body)]
    return [body[a:b] for a, b in itertools.pairwise(edges)]


def grouped(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name.lower(), []).append(value)
    return out


@given(body=bodies, cut_points=cuts, headers=headers_strategy, whole=st.booleans())
def test_body_and_headers_round_trip(
    echo_server: HookServer,
    body: bytes,
    cut_points: list[int],
    headers: list[tuple[str, str]],
    whole: bool,
) -> None:
    sent: bytes | Iterator[bytes] = body if whole else iter(split(body, cut_points))
    with echo_server.request(
        "POST", "/whole" if whole else "/stream", body=sent, headers=headers
    ) as r:
        received = r.read()
        assert r.status_code == (200 if whole else 207)
        echoed = [
            (name[len("X-Echo-") :], value)
            for name, value in r.headers.multi_items()
            if name.startswith("X-Echo-")
        ]
    assert received == body
    assert grouped(echoed) == grouped(headers)


@given(headers=headers_strategy)
def test_headers_model(headers: list[tuple[str, str]]) -> None:
    h = Headers(headers)
    for name, values in grouped(headers).items():
        assert h.get_all(name.upper()) == values
        assert h[name.swapcase()] == values[0]
        assert name in h
    assert len(h) == len(grouped(headers))
    by_name = sorted(h.multi_items(), key=lambda kv: kv[0].lower())  # stable per name
    assert h == Headers(by_name)
    assert h == {name.upper(): values for name, values in grouped(headers).items()}
    if any(v != v[::-1] for v in grouped(headers).values()):
        assert h != Headers(list(reversed(h.multi_items())))
